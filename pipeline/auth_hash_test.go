package pipeline

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/caddyauth"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// argon2idHash hashes a password in the format `caddy hash-password
// --algorithm argon2id` prints, with little memory to keep tests fast.
func argon2idHash(t testing.TB, password string) string {
	t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	key := argon2.IDKey([]byte(password), salt, 1, 1024, 1, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=1024,t=1,p=1$%s$%s", argon2.Version, enc.EncodeToString(salt), enc.EncodeToString(key))
}

// TestBasicCaddyHashes: every format `caddy hash-password` prints is
// accepted and checked.
func TestBasicCaddyHashes(t *testing.T) {
	bc := bcryptHash(t, "bc-pw")
	tests := []struct{ name, hash, password string }{
		{"bcrypt", bc, "bc-pw"},
		{"bcrypt base64", base64.StdEncoding.EncodeToString([]byte(bc)), "bc-pw"},
		{"argon2id", argon2idHash(t, "ar-pw"), "ar-pw"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newAuthenticator(map[string]*User{"u": {Password: tt.hash}})
			if err != nil {
				t.Fatalf("newAuthenticator: %v", err)
			}
			if _, res := a.basic("u", tt.password); res != authOK {
				t.Fatal("right password refused")
			}
			if _, res := a.basic("u", tt.password+"x"); res != authBad {
				t.Fatal("wrong password accepted")
			}
		})
	}
}

// countingComparer records what the hash module was asked to compare.
type countingComparer struct {
	inner   caddyauth.Comparer
	calls   atomic.Int64
	mu      sync.Mutex
	hashes  []string
	release chan struct{} // when set, the first call waits for it
}

func (c *countingComparer) Compare(hashed, plain []byte) (bool, error) {
	if c.calls.Add(1) == 1 && c.release != nil {
		<-c.release
	}
	c.mu.Lock()
	c.hashes = append(c.hashes, string(hashed))
	c.mu.Unlock()
	return c.inner.Compare(hashed, plain)
}

// TestBasicUnknownUserCostsAWrongPassword: the dummy hash checked for an
// unknown name has the algorithm and cost of the users' hashes.
func TestBasicUnknownUserCostsAWrongPassword(t *testing.T) {
	cost5, err := bcrypt.GenerateFromPassword([]byte("pw"), 5)
	if err != nil {
		t.Fatal(err)
	}
	cost6, err := bcrypt.GenerateFromPassword([]byte("pw"), 6)
	if err != nil {
		t.Fatal(err)
	}
	ar := argon2idHash(t, "pw")
	arParams := ar[:strings.LastIndexByte(ar[:strings.LastIndexByte(ar, '$')], '$')+1]
	tests := []struct {
		name       string
		users      map[string]*User
		wantPrefix string
	}{
		{"bcrypt", map[string]*User{"a": {Password: string(cost6)}}, "$2a$06$"},
		{"most users' cost", map[string]*User{"a": {Password: string(cost5)}, "b": {Password: string(cost6)}, "c": {Password: string(cost6)}}, "$2a$06$"},
		{"argon2id", map[string]*User{"a": {Password: ar}}, arParams},
		{"no passwords: Caddy's default", map[string]*User{"a": {TokenHash: tokenHash("t")}}, "$2a$14$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := newAuthenticator(tt.users)
			if err != nil {
				t.Fatal(err)
			}
			d := string(a.dummy.hash)
			if !strings.HasPrefix(d, tt.wantPrefix) || a.dummy.params != tt.wantPrefix {
				t.Fatalf("dummy %q, want params %q", d, tt.wantPrefix)
			}
			if strings.HasPrefix(d, "$2") {
				if cost, err := bcrypt.Cost(a.dummy.hash); err != nil || fmt.Sprintf("$2a$%02d$", cost) != tt.wantPrefix {
					t.Fatalf("dummy cost %d (%v)", cost, err)
				}
			} else if _, _, err := caddyauth.DecodeHash(a.dummy.hash); err != nil {
				t.Fatalf("dummy is no argon2id hash: %v", err)
			}
			if tt.wantPrefix == "$2a$14$" {
				return // a cost-14 check is too slow for a unit test
			}
			cc := &countingComparer{inner: a.dummy.comparer}
			a.dummy.comparer = cc
			if _, res := a.basic("mallory", "pw"); res != authBad {
				t.Fatal("unknown user accepted")
			}
			if cc.calls.Load() != 1 || cc.hashes[0] != d {
				t.Fatalf("unknown user: %d checks of %v, want one of the dummy", cc.calls.Load(), cc.hashes)
			}
		})
	}
}

// TestBasicConcurrentFirstChecks: concurrent first checks of one
// credential share one hash computation.
func TestBasicConcurrentFirstChecks(t *testing.T) {
	a, err := newAuthenticator(map[string]*User{"u": {Password: bcryptHash(t, "pw")}})
	if err != nil {
		t.Fatal(err)
	}
	cc := &countingComparer{inner: a.users["u"].password.comparer, release: make(chan struct{})}
	a.users["u"].password.comparer = cc
	const n = 8
	var wg sync.WaitGroup
	results := make([]authResult, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = a.basic("u", "pw")
		}()
	}
	// the first check is now held inside the hash module; give the others
	// time to arrive (they either join it or, if late, find it cached)
	for i := 0; i < 200 && cc.calls.Load() == 0; i++ {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	close(cc.release)
	wg.Wait()
	for i, res := range results {
		if res != authOK {
			t.Fatalf("check %d refused", i)
		}
	}
	if got := cc.calls.Load(); got != 1 {
		t.Fatalf("%d concurrent checks made %d hash computations, want 1", n, got)
	}
}
