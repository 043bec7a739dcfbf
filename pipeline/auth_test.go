package pipeline

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// bcryptHash hashes a password at the lowest cost, to keep tests fast.
func bcryptHash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// tokenHash is the token_hash config value of a Bearer token.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return "sha256:" + hex.EncodeToString(sum[:])
}

func TestNewAuthenticatorErrors(t *testing.T) {
	good := tokenHash("tok")
	tests := []struct {
		name    string
		user    User
		wantErr string
	}{
		{"plain password", User{Password: "secret"}, "password must be a bcrypt or argon2id hash"},
		{"truncated bcrypt", User{Password: "$2a$04$abc"}, "password must be a bcrypt or argon2id hash"},
		{"token without prefix", User{TokenHash: strings.TrimPrefix(good, "sha256:")}, "token_hash must be"},
		{"token wrong prefix", User{TokenHash: "sha512:" + strings.TrimPrefix(good, "sha256:")}, "token_hash must be"},
		{"token not hex", User{TokenHash: "sha256:" + strings.Repeat("zz", 32)}, "token_hash must be"},
		{"token too short", User{TokenHash: "sha256:" + strings.Repeat("ab", 31)}, "token_hash must be"},
		{"token too long", User{TokenHash: "sha256:" + strings.Repeat("ab", 33)}, "token_hash must be"},
		{"token odd digits", User{TokenHash: good + "a"}, "token_hash must be"},
		{"token empty after prefix", User{TokenHash: "sha256:"}, "token_hash must be"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.user
			_, err := newAuthenticator(map[string]*User{"alice": &u})
			if err == nil {
				t.Fatal("newAuthenticator accepted the user")
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), `"alice"`) {
				t.Errorf("error %q: want it to name the user and say %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewAuthenticatorValid(t *testing.T) {
	// upper-case hex digits are accepted
	a, err := newAuthenticator(map[string]*User{
		"alice": {Password: bcryptHash(t, "pw"), TokenHash: tokenHash("tok"), Roles: []string{"staff"}},
		"bob":   {Password: bcryptHash(t, "pw2")},
		"bot":   {Roles: []string{"integrations"}},
		"ci":    {TokenHash: "sha256:" + strings.ToUpper(tokenHash("ci-token")[len("sha256:"):])},
	})
	if err != nil {
		t.Fatalf("newAuthenticator: %v", err)
	}
	if len(a.users) != 4 {
		t.Errorf("users: got %d, want 4", len(a.users))
	}
	if len(a.tokens) != 2 {
		t.Errorf("token users: got %d, want 2 (alice, ci)", len(a.tokens))
	}
	alice := a.users["alice"]
	if alice.identity.Name != "alice" || len(alice.identity.Roles) != 1 || alice.identity.Roles[0] != "staff" {
		t.Errorf("alice identity: %+v", alice.identity)
	}
	if a.users["bot"].password != nil || a.users["bot"].token != nil {
		t.Error("bot has no credentials but got some")
	}
}

func TestNewAuthenticatorCopiesRoles(t *testing.T) {
	roles := []string{"staff"}
	a, err := newAuthenticator(map[string]*User{"alice": {Roles: roles}})
	if err != nil {
		t.Fatal(err)
	}
	roles[0] = "admin"
	if got := a.users["alice"].identity.Roles[0]; got != "staff" {
		t.Errorf("identity roles follow the config slice: got %q", got)
	}
}

func testAuthenticator(t *testing.T) *authenticator {
	t.Helper()
	a, err := newAuthenticator(map[string]*User{
		"alice": {Password: bcryptHash(t, "alice-pw"), TokenHash: tokenHash("alice-token")},
		"bob":   {Password: bcryptHash(t, "bob-pw")},
		"carol": {TokenHash: tokenHash("carol-token")},
		"bot":   {},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestBasic(t *testing.T) {
	a := testAuthenticator(t)
	tests := []struct {
		name, user, password string
		want                 authResult
	}{
		{"right password", "alice", "alice-pw", authOK},
		{"other user right password", "bob", "bob-pw", authOK},
		{"wrong password", "alice", "bob-pw", authBad},
		{"empty password", "alice", "", authBad},
		{"password of a prefix", "alice", "alice-p", authBad},
		{"unknown user", "mallory", "alice-pw", authBad},
		{"user without password", "carol", "", authBad},
		{"user without credentials", "bot", "anything", authBad},
		{"empty user", "", "", authBad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, res := a.basic(tt.user, tt.password)
			if res != tt.want {
				t.Fatalf("result %d, want %d", res, tt.want)
			}
			if tt.want == authOK && (u == nil || u.name != tt.user) {
				t.Errorf("user %+v, want %q", u, tt.user)
			}
			if tt.want != authOK && u != nil {
				t.Errorf("got user %q on failure", u.name)
			}
		})
	}
}

func TestBearer(t *testing.T) {
	a := testAuthenticator(t)
	tests := []struct {
		name, token, wantUser string
		want                  authResult
	}{
		{"alice token", "alice-token", "alice", authOK},
		{"carol token", "carol-token", "carol", authOK},
		{"wrong token", "alice-token2", "", authBad},
		{"password is not a token", "alice-pw", "", authBad},
		{"hash is not a token", tokenHash("alice-token"), "", authBad},
		{"empty token", "", "", authBad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, res := a.bearer(tt.token)
			if res != tt.want {
				t.Fatalf("result %d, want %d", res, tt.want)
			}
			if tt.want == authOK && (u == nil || u.name != tt.wantUser) {
				t.Errorf("user %+v, want %q", u, tt.wantUser)
			}
		})
	}
}

func basicHeader(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func TestFromRequest(t *testing.T) {
	a := testAuthenticator(t)
	tests := []struct {
		name       string
		header     string // Authorization; "" sends none
		bearerOnly bool
		want       authResult
		wantUser   string
	}{
		{"no header", "", false, authNone, ""},
		{"no header bearer only", "", true, authNone, ""},
		{"basic ok", basicHeader("alice", "alice-pw"), false, authOK, "alice"},
		{"basic lower-case scheme", "basic " + base64.StdEncoding.EncodeToString([]byte("bob:bob-pw")), false, authOK, "bob"},
		{"basic wrong password", basicHeader("alice", "nope"), false, authBad, ""},
		{"basic unknown user", basicHeader("mallory", "alice-pw"), false, authBad, ""},
		{"basic ignored when bearer only", basicHeader("alice", "alice-pw"), true, authNone, ""},
		{"basic not base64", "Basic !!!not-base64!!!", false, authBad, ""},
		{"basic without colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice")), false, authBad, ""},
		{"basic empty credentials", "Basic ", false, authBad, ""},
		{"bearer ok", "Bearer alice-token", false, authOK, "alice"},
		{"bearer ok bearer only", "Bearer carol-token", true, authOK, "carol"},
		{"bearer upper-case scheme", "BEARER carol-token", true, authOK, "carol"},
		{"bearer extra spaces", "Bearer   alice-token  ", false, authOK, "alice"},
		{"bearer wrong token", "Bearer alice-pw", false, authBad, ""},
		{"bearer without token", "Bearer", false, authBad, ""},
		{"bearer blank token", "Bearer    ", true, authBad, ""},
		{"unknown scheme", "Digest username=alice", false, authNone, ""},
		{"token without scheme", "alice-token", false, authNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			u, res := a.fromRequest(r, tt.bearerOnly)
			if res != tt.want {
				t.Fatalf("result %d, want %d", res, tt.want)
			}
			if tt.wantUser != "" && (u == nil || u.name != tt.wantUser) {
				t.Errorf("user %+v, want %q", u, tt.wantUser)
			}
			if tt.want != authOK && u != nil {
				t.Errorf("got user %q without valid credentials", u.name)
			}
		})
	}
}
