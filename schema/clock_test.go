package schema

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recursiveAllOf costs 2^depth evaluations on [[[…]]]: both branches of
// the allOf recurse into the items.
const recursiveAllOf = `{"allOf": [{"items": {"$ref": "#"}}, {"items": {"$ref": "#"}}]}`

func nested(depth int) []byte {
	return []byte(strings.Repeat("[", depth) + strings.Repeat("]", depth))
}

// TestValidateByStopsAtDeadline: a validation whose cost grows as 2^depth
// gives up at its deadline with ErrTimeLimit (40 levels would take hours),
// the copy it used serves again, and a shallow body still gets its answer.
func TestValidateByStopsAtDeadline(t *testing.T) {
	v, err := Compile("application/json", recursiveAllOf)
	if err != nil {
		t.Fatal(err)
	}
	_, vs, err := v.ValidateBy(nested(40), time.Now().Add(100*time.Millisecond))
	if !errors.Is(err, ErrTimeLimit) || len(vs) != 0 {
		t.Fatalf("40 levels: %v %v", vs, err)
	}
	for range 3 {
		_, vs, err = v.ValidateBy(nested(4), time.Now().Add(time.Minute))
		if err != nil || len(vs) != 0 {
			t.Fatalf("4 levels: %v %v", vs, err)
		}
	}
	_, vs, err = v.ValidateBy([]byte(`[[1], "x"]`), time.Now().Add(time.Minute))
	if err != nil || len(vs) != 0 {
		t.Fatalf("valid mixed: %v %v", vs, err)
	}
	if n := len(v.(*jsonValidator).copies.idle); n != 1 {
		t.Fatalf("%d idle copies after validations one at a time", n)
	}
}

// TestValidateByConcurrent: validations of one schema at once each get a
// copy of their own (run with -race): one stopped at its deadline does not
// stop the others.
func TestValidateByConcurrent(t *testing.T) {
	v, err := Compile("application/json", `{"type": "array", "allOf": [{"items": {"$ref": "#"}}, {"items": {"$ref": "#"}}], "maxItems": 3}`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				if _, _, err := v.ValidateBy(nested(40), time.Now().Add(50*time.Millisecond)); !errors.Is(err, ErrTimeLimit) {
					errs <- fmt.Sprintf("deep: %v", err)
				}
				return
			}
			_, vs, err := v.ValidateBy([]byte(`[[], [], [], []]`), time.Now().Add(time.Minute))
			if err != nil || len(vs) != 1 || vs[0].Type != "maxItems" {
				errs <- "shallow answered wrongly"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
