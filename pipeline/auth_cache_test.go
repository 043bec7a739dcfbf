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
	// fill past the bound through the cache's own insert
	for i := 0; i < maxVerified+10; i++ {
		a.remember(fmt.Sprint(i))
		if n := a.verifiedN.Load(); n > maxVerified {
			t.Fatalf("cache grew to %d", n)
		}
	}
	stored := 0
	a.verified.Range(func(any, any) bool { stored++; return true })
	if int64(stored) != a.verifiedN.Load() {
		t.Fatalf("cache holds %d entries but counts %d", stored, a.verifiedN.Load())
	}
	if _, res := a.basic("u", "right"); res != authOK {
		t.Fatal("right password refused after the cache was emptied")
	}
}
