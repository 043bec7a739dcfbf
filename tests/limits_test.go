package tests

import (
	"strings"
	"testing"
)

// TestBoundedNumbers: a body number beyond the digit or exponent bound is
// json_invalid before the schema checks it (1e999999 used to be checked
// as a million-digit rational, and passed), and a number the schema
// accepts but a snippet cannot hold (1e400) is a 400, not a 500.
func TestBoundedNumbers(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(schemaRecord("ints", "/ints", "application/json",
		`{"type": "array", "items": {"type": "integer", "minimum": 0}}`,
		`result = {"payload": len(request.json())}`))
	c.create(schemaRecord("nums", "/nums", "application/json",
		`{"type": "object", "properties": {"a": {"type": "number"}}}`,
		`result = {"payload": request.json()["a"]}`))
	c.sync()
	post := func(path, body string) answer {
		return do(t, "POST", c.HTTP+path, body, "Content-Type", "application/json")
	}

	a := expect(t, post("/ints", "[1, 1e999999]"), 400)
	detail := a.JSON(t)["detail"].([]any)
	first := detail[0].(map[string]any)
	if len(detail) != 1 || first["type"] != "json_invalid" || !strings.Contains(first["msg"].(string), "exponent") ||
		len(first["loc"].([]any)) != 2 || first["loc"].([]any)[1] != float64(1) {
		t.Fatalf("1e999999: %s", a)
	}
	a = expect(t, post("/ints", "["+strings.Repeat("9", 101)+"]"), 400)
	if !strings.Contains(string(a.Body), "digits") {
		t.Fatalf("101 digits: %s", a)
	}
	// a body of max_body_size full of them answers, with the first 64
	body := "[" + strings.TrimSuffix(strings.Repeat("1e999999,", (1<<20-2)/9), ",") + "]"
	a = expect(t, post("/ints", body), 400)
	if n := len(a.JSON(t)["detail"].([]any)); n != 64 {
		t.Fatalf("1 MiB of 1e999999: %d violations", n)
	}
	expect(t, post("/ints", "[0, 12, "+strings.Repeat("9", 100)+"]"), 200)
	// inside the bounds, valid for the schema, too large for a float
	expect(t, post("/ints", "[0, 1e1000]"), 400)

	a = expect(t, post("/nums", `{"a": 1e400}`), 400)
	if !strings.Contains(string(a.Body), "out of the range") {
		t.Fatalf("1e400: %s", a)
	}
	expect(t, post("/nums", `{"a": 1.5e300}`), 200)
}
