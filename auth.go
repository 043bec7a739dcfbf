package endpoint

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/registry"
)

// authUser is a configured user prepared for the request path.
type authUser struct {
	name     string
	password []byte // bcrypt hash, nil when unset
	token    []byte // sha256 of the token, nil when unset
	identity execmode.Identity
	grants   *env.Grants
}

// authenticator checks the credentials of SPEC §5.3 against the users.
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
}

// maxVerified bounds the Basic check cache; when full it is emptied.
const maxVerified = 1024

// dummyHash keeps the time of a Basic check for an unknown user close to
// that of a known one.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("caddy-endpoint"), bcrypt.MinCost)

func newAuthenticator(users map[string]*User) (*authenticator, error) {
	a := &authenticator{users: make(map[string]*authUser, len(users))}
	if _, err := rand.Read(a.verifyKey[:]); err != nil {
		return nil, fmt.Errorf("seeding the Basic auth cache: %v", err)
	}
	for name, u := range users {
		au := &authUser{
			name:     name,
			identity: execmode.Identity{Name: name, Roles: append([]string(nil), u.Roles...)},
			grants:   u.Grants,
		}
		if u.Password != "" {
			if _, err := bcrypt.Cost([]byte(u.Password)); err != nil {
				return nil, fmt.Errorf("user %q: password must be a bcrypt hash: %v", name, err)
			}
			au.password = []byte(u.Password)
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
	return a, nil
}

// authResult is the outcome of a credential check.
type authResult int

const (
	authNone authResult = iota // no credentials of an accepted kind
	authOK
	authBad // credentials given but wrong
)

// basic checks HTTP Basic credentials against the users' bcrypt hashes.
func (a *authenticator) basic(name, password string) (*authUser, authResult) {
	u := a.users[name]
	if u == nil || u.password == nil {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(password))
		return nil, authBad
	}
	mac := hmac.New(sha256.New, a.verifyKey[:])
	mac.Write([]byte(name))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	key := string(mac.Sum(nil))
	if _, ok := a.verified.Load(key); ok {
		return u, authOK
	}
	if bcrypt.CompareHashAndPassword(u.password, []byte(password)) != nil {
		return nil, authBad
	}
	if a.verifiedN.Add(1) > maxVerified {
		a.verified.Clear()
		a.verifiedN.Store(1)
	}
	a.verified.Store(key, struct{}{})
	return u, authOK
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

// authenticate applies SPEC §5.3; a non-zero status is the answer.
func (a *App) authenticate(r *http.Request, entry *registry.Entry) (*authUser, int, string) {
	rec := entry.Record
	if rec.AuthType == registry.AuthPublic {
		return nil, 0, ""
	}
	var caller *authUser
	if rec.AuthType != registry.AuthBearer {
		if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
			if id, _ := repl.GetString("http.auth.user.id"); id != "" {
				caller = a.auth.users[id]
				if caller == nil {
					caller = &authUser{name: id, identity: execmode.Identity{Name: id}}
				}
			}
		}
	}
	if caller == nil {
		u, res := a.auth.fromRequest(r, rec.AuthType == registry.AuthBearer)
		switch res {
		case authNone:
			return nil, http.StatusUnauthorized, "authentication required"
		case authBad:
			return nil, http.StatusUnauthorized, "invalid credentials"
		}
		caller = u
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
