package pipeline

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/singleflight"

	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/registry"
)

// User is a configured identity.
type User struct {
	// Password is the user's HTTP Basic password as `caddy hash-password`
	// prints it: an argon2id or bcrypt hash, optionally base64-encoded.
	Password string `json:"password,omitempty"`
	// TokenHash is "sha256:<hex>" of the user's Bearer token.
	TokenHash string `json:"token_hash,omitempty"`
	// Roles the user holds, checked against a record's allowed_roles.
	Roles []string `json:"roles,omitempty"`
	// Grants are what snippets running as this user may reach.
	Grants *env.Grants `json:"grants,omitempty"`
}

// authUser is a configured user prepared for the request path.
type authUser struct {
	name     string
	password *passwordHash // nil when unset
	token    []byte        // sha256 of the token, nil when unset
	identity execmode.Identity
	grants   *env.Grants
}

// authenticator checks a request's credentials against the users.
type authenticator struct {
	users map[string]*authUser
	// tokens lists the users that have a token, scanned in constant time.
	tokens []*authUser
	// verified caches successful Basic checks (HMAC of user and password
	// under a per-process key) so that a client that sends its password on
	// every request costs one bcrypt check, not one per request.
	verified  sync.Map
	verifiedN atomic.Int64
	verifyKey [32]byte
	// flights lets concurrent first checks of one credential share one
	// hash computation, as Caddy's basic_auth does.
	flights singleflight.Group
	// dummy is checked for a user that does not exist or has no password:
	// same algorithm and cost as the users' hashes, so that an unknown
	// name takes as long as a wrong password.
	dummy *passwordHash
}

// maxVerified bounds the Basic check cache; when full it is emptied.
const maxVerified = 1024

// passwordHash is a password hash in one of the formats of Caddy's hash
// modules, with the module that checks it.
type passwordHash struct {
	hash     []byte
	comparer caddyauth.Comparer
	// params is the algorithm and cost part ("$2a$14$",
	// "$argon2id$v=19$m=47104,t=1,p=1$"): hashes with equal params take
	// equally long to check.
	params string
}

// parsePasswordHash reads what `caddy hash-password` prints: a bcrypt or
// argon2id hash in modular crypt format, or the same base64-encoded.
func parsePasswordHash(s string) (*passwordHash, error) {
	if !strings.HasPrefix(s, "$") {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil && strings.HasPrefix(string(b), "$") {
			s = string(b)
		}
	}
	switch {
	case strings.HasPrefix(s, "$argon2id$"):
		if _, _, err := caddyauth.DecodeHash([]byte(s)); err != nil {
			return nil, fmt.Errorf("reading the argon2id hash: %v", err)
		}
		parts := strings.SplitAfter(s, "$") // "", "argon2id$", "v=19$", "m=…,t=…,p=…$", salt, key
		return &passwordHash{hash: []byte(s), comparer: caddyauth.Argon2idHash{}, params: strings.Join(parts[:4], "")}, nil
	case strings.HasPrefix(s, "$2"):
		if _, err := bcrypt.Cost([]byte(s)); err != nil {
			return nil, fmt.Errorf("reading the bcrypt hash: %v", err)
		}
		return &passwordHash{hash: []byte(s), comparer: caddyauth.BcryptHash{}, params: s[:len(s)-bcryptSaltAndHash]}, nil
	}
	return nil, fmt.Errorf("not a bcrypt or argon2id hash")
}

// dummyFor makes a hash with the given params and a random salt and key,
// which no password matches and which costs as much to check as a real
// hash with those params.
func dummyFor(params string) (*passwordHash, error) {
	var b [48]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	var s string
	if strings.HasPrefix(params, "$argon2id$") {
		enc := base64.RawStdEncoding
		s = params + enc.EncodeToString(b[:16]) + "$" + enc.EncodeToString(b[16:48])
	} else {
		// bcrypt: 22 characters of salt and 31 of hash in its own alphabet
		const alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		enc := base64.NewEncoding(alphabet).WithPadding(base64.NoPadding)
		s = params + enc.EncodeToString(b[:40])[:bcryptSaltAndHash]
	}
	return parsePasswordHash(s)
}

// bcryptSaltAndHash is the length of a bcrypt hash after its params.
const bcryptSaltAndHash = 22 + 31

// fallbackDummy is the dummy when no user has a password: Caddy's default
// bcrypt cost.
const fallbackDummy = "$2a$14$"

func newAuthenticator(users map[string]*User) (*authenticator, error) {
	a := &authenticator{users: make(map[string]*authUser, len(users))}
	if _, err := rand.Read(a.verifyKey[:]); err != nil {
		return nil, fmt.Errorf("seeding the Basic auth cache: %v", err)
	}
	paramsCount := map[string]int{}
	for name, u := range users {
		au := &authUser{
			name:     name,
			identity: execmode.Identity{Name: name, Roles: append([]string(nil), u.Roles...)},
			grants:   u.Grants,
		}
		if u.Password != "" {
			ph, err := parsePasswordHash(u.Password)
			if err != nil {
				return nil, fmt.Errorf("user %q: password must be a bcrypt or argon2id hash as `caddy hash-password` prints: %v", name, err)
			}
			au.password = ph
			paramsCount[ph.params]++
		}
		if u.TokenHash != "" {
			hexSum, ok := strings.CutPrefix(u.TokenHash, "sha256:")
			sum, err := hex.DecodeString(hexSum)
			if !ok || err != nil || len(sum) != sha256.Size {
				return nil, fmt.Errorf("user %q: token_hash must be \"sha256:\" followed by 64 hex digits", name)
			}
			au.token = sum
			a.tokens = append(a.tokens, au)
		}
		a.users[name] = au
	}
	// the dummy takes the params most users have (ties: the first in order)
	params := fallbackDummy
	for _, p := range slices.Sorted(maps.Keys(paramsCount)) {
		if paramsCount[p] > paramsCount[params] {
			params = p
		}
	}
	dummy, err := dummyFor(params)
	if err != nil {
		return nil, fmt.Errorf("making the dummy password hash: %v", err)
	}
	a.dummy = dummy
	return a, nil
}

// authResult is the outcome of a credential check.
type authResult int

const (
	authNone authResult = iota // no credentials of an accepted kind
	authOK
	authBad // credentials given but wrong
)

// basic checks HTTP Basic credentials against the users' password hashes.
// A name without a password is checked against the dummy hash, so that it
// costs what a wrong password costs.
func (a *authenticator) basic(name, password string) (*authUser, authResult) {
	u := a.users[name]
	hash := a.dummy
	if u != nil && u.password != nil {
		hash = u.password
	}
	mac := hmac.New(sha256.New, a.verifyKey[:])
	mac.Write([]byte(name))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	key := string(mac.Sum(nil))
	if _, ok := a.verified.Load(key); ok {
		return u, authOK
	}
	same, _, _ := a.flights.Do(key, func() (any, error) {
		ok, err := hash.comparer.Compare(hash.hash, []byte(password))
		ok = ok && err == nil && hash != a.dummy
		if ok {
			a.remember(key)
		}
		return ok, nil
	})
	if !same.(bool) {
		return nil, authBad
	}
	return u, authOK
}

// remember caches a verified Basic check; a full cache is emptied first.
func (a *authenticator) remember(key string) {
	if a.verifiedN.Add(1) > maxVerified {
		a.verified.Clear()
		a.verifiedN.Store(1)
	}
	a.verified.Store(key, struct{}{})
}

// bearer finds the user whose token hash matches, comparing every hash in
// constant time.
func (a *authenticator) bearer(token string) (*authUser, authResult) {
	sum := sha256.Sum256([]byte(token))
	var found *authUser
	for _, u := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], u.token) == 1 {
			found = u
		}
	}
	if found == nil {
		return nil, authBad
	}
	return found, authOK
}

// fromRequest reads the Authorization header: Basic (unless bearerOnly)
// or Bearer.
func (a *authenticator) fromRequest(r *http.Request, bearerOnly bool) (*authUser, authResult) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, authNone
	}
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		if cred == "" {
			return nil, authBad
		}
		return a.bearer(cred)
	case strings.EqualFold(scheme, "Basic") && !bearerOnly:
		name, pass, ok := r.BasicAuth()
		if !ok {
			return nil, authBad
		}
		return a.basic(name, pass)
	}
	return nil, authNone
}

// authenticate is the auth rule: a record that is not public needs a
// caller, authenticated by an earlier Caddy handler, HTTP Basic or a
// Bearer token (bearer records: the token only), holding one of its
// allowed_roles. No identity or a bad one is 401, a missing role 403.
func (p *Pipeline) authenticate(c *call) int {
	caller, status, msg := p.callerOf(c.r, c.entry)
	if status != 0 {
		if status == http.StatusUnauthorized {
			challenge(c.w.Header(), c.entry.Record.AuthType)
		}
		return writeError(c.w, status, msg)
	}
	c.caller = caller
	return 0
}

// callerOf finds the caller of r; a non-zero status is the answer.
func (p *Pipeline) callerOf(r *http.Request, entry *registry.Entry) (*authUser, int, string) {
	rec := entry.Record
	if rec.AuthType == registry.AuthPublic {
		return nil, 0, ""
	}
	var caller *authUser
	if rec.AuthType != registry.AuthBearer {
		if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
			if id, _ := repl.GetString("http.auth.user.id"); id != "" {
				caller = p.auth.users[id]
				if caller == nil {
					caller = &authUser{name: id, identity: execmode.Identity{Name: id}}
				}
			}
		}
	}
	if caller == nil {
		u, res := p.auth.fromRequest(r, rec.AuthType == registry.AuthBearer)
		switch res {
		case authNone:
			return nil, http.StatusUnauthorized, "authentication required"
		case authBad:
			return nil, http.StatusUnauthorized, "invalid credentials"
		}
		caller = u
		// as Caddy's authentication handler does, so that the access log
		// and later handlers see who called
		if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
			repl.Set("http.auth.user.id", u.name)
		}
	}
	if !entry.AllowsRoles(caller.identity.Roles) {
		return nil, http.StatusForbidden, "forbidden: missing role"
	}
	return caller, 0, ""
}

func challenge(h http.Header, authType string) {
	if authType != registry.AuthBearer {
		h.Add("WWW-Authenticate", `Basic realm="caddy-endpoint"`)
	}
	h.Add("WWW-Authenticate", `Bearer realm="caddy-endpoint"`)
}
