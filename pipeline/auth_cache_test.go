package pipeline

import (
	"fmt"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestBasicCache: a verified password is remembered, a wrong one never
// is, and the cache stays bounded.
func TestBasicCache(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("right"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newAuthenticator(map[string]*User{"u": {Password: string(hash)}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, res := a.basic("u", "right"); res != authOK {
			t.Fatalf("round %d: right password refused", i)
		}
		if _, res := a.basic("u", "wrong"); res != authBad {
			t.Fatalf("round %d: wrong password accepted", i)
		}
	}
	if n := a.verifiedN.Load(); n != 1 {
		t.Fatalf("cache holds %d entries, want 1", n)
	}
	// fill past the bound with distinct (fake) verified keys
	for i := 0; i < maxVerified+10; i++ {
		a.verified.Store(fmt.Sprint(i), struct{}{})
		if a.verifiedN.Add(1) > maxVerified {
			a.verified.Clear()
			a.verifiedN.Store(1)
		}
	}
	if n := a.verifiedN.Load(); n > maxVerified {
		t.Fatalf("cache grew to %d", n)
	}
	if _, res := a.basic("u", "right"); res != authOK {
		t.Fatal("right password refused after the cache was emptied")
	}
}
