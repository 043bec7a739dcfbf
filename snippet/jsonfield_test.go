package snippet

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/internal/jsonwalk"
)

// outcome is what a run answered, for comparing two runs.
func outcome(t *testing.T, src string, inv *execmode.Invocation) string {
	t.Helper()
	res, ee := runSnippet(t, src, inv)
	if ee != nil {
		return fmt.Sprintf("%s %d %q", ee.Kind, ee.Status, ee.Message)
	}
	return fmt.Sprintf("%d %s", res.Status, res.Body)
}

// TestJSONFieldReadIsTheSame runs each rewritten field read and the same
// read through a variable (which Compile leaves alone) on bodies of every
// kind: both must answer alike, errors included.
func TestJSONFieldReadIsTheSame(t *testing.T) {
	withJSON := func(v any) *execmode.Invocation {
		inv := testInvocation()
		inv.Body = []byte("not the parsed body")
		inv.JSON, inv.HasJSON = v, true
		return inv
	}
	raw := func(body string) *execmode.Invocation {
		inv := testInvocation()
		inv.Body = []byte(body)
		return inv
	}
	invs := map[string]*execmode.Invocation{
		"object": withJSON(map[string]any{"id": json.Number("7"), "name": "Ada",
			"address": map[string]any{"city": "London"}, "tags": []any{"a", json.Number("2.5")}}),
		"unconvertible number elsewhere": withJSON(map[string]any{"id": json.Number("7"), "x": json.Number("1e400")}),
		"array":                          withJSON([]any{json.Number("1")}),
		"null":                           withJSON(nil),
		"raw object":                     raw(`{"id": 9}`),
		"raw not JSON":                   raw(`{"id": `),
		"raw unconvertible":              raw(`{"id": 1, "x": 1e400}`),
		"raw fields":                     raw(`{"id": 7, "name": "Ada", "address": {"city": "London"}, "tags": ["a", 2.5]}`),
		"raw duplicate key":              raw(`{"id": 1, "id": 2}`),
		"raw nested duplicate":           raw(`{"address": {"c": 1, "c": 2}, "id": 3}`),
		"raw escaped key":                raw(`{"\u0069d": 4, "tags": "t"}`),
		"raw lone surrogate key":         raw(`{"\ud800": 7, "id": 1}`),
		"raw array":                      raw(`[{"id": 1}]`),
		"raw null":                       raw(`null`),
		"raw control character":          raw("{\"id\": \"a\tb\"}"),
		"raw escaped control":            raw(`{"id": "a\tb"}`),
		"raw too deep":                   raw(`{"id": 1, "x": ` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`),
		"raw trailing data":              raw(`{"id": 1} {}`),
		"raw empty":                      raw(``),
	}
	// the same bodies with the shape the schema's walk would hand over
	shaped := map[string]*execmode.Invocation{}
	for name, inv := range invs {
		if !inv.HasJSON {
			given := *inv
			given.Shape = execmode.BodyShape(jsonwalk.ShapeOf(inv.Body))
			shaped[name+", shape given"] = &given
		}
	}
	maps.Copy(invs, shaped)
	reads := []string{
		`request.json()["id"]`,
		`request.json()["nope"]`,
		`request.json()["address"]`,
		`request.json().get("id")`,
		`request.json().get("nope")`,
		`request.json().get("nope", 5)`,
		`request.json().get("nope", None)`,
		`request.json().get("\ufffd", 1)`,
		`request.json().get("tags", "x")`,
	}
	for _, read := range reads {
		rewritten := "result = {\"payload\": " + read + "}"
		plain := "j = request.json()\nresult = {\"payload\": j" + strings.TrimPrefix(read, "request.json()") + "}"
		for name, inv := range invs {
			if got, want := outcome(t, rewritten, inv), outcome(t, plain, inv); got != want {
				t.Errorf("%s on %s: %s, through a variable %s", read, name, got, want)
			}
		}
	}

	// each read converts afresh, as request.json() does
	src := "a = request.json()[\"address\"]\na[\"city\"] = \"Paris\"\nresult = {\"payload\": [a, request.json()[\"address\"]]}"
	if got := outcome(t, src, invs["object"]); got != `200 [{"city":"Paris"},{"city":"London"}]` {
		t.Errorf("mutating a field read: %s", got)
	}
	// a local named request is not the request: the original expression
	// runs
	if ok, _ := jsonHas(nil, nil, starlark.Tuple{starlark.NewDict(0), starlark.String("id")}, nil); ok != starlark.False {
		t.Error("$jhas said yes for a value that is not the request")
	}
}

// TestJSONFieldReadConvertsOneField checks the rewrite applies: reading a
// field of a large body allocates for that field, not for the body.
func TestJSONFieldReadConvertsOneField(t *testing.T) {
	obj := map[string]any{"id": json.Number("7")}
	for i := range 200 {
		obj[fmt.Sprintf("field%d", i)] = fmt.Sprintf("value %d", i)
	}
	inv := testInvocation()
	inv.JSON, inv.HasJSON = obj, true
	allocs := func(src string) float64 {
		p, err := Compile(src)
		if err != nil {
			t.Fatal(err)
		}
		return testing.AllocsPerRun(20, func() {
			if _, err := p.Run(context.Background(), inv); err != nil {
				t.Fatal(err)
			}
		})
	}
	field := allocs(`result = {"payload": request.json()["id"]}`)
	whole := allocs("j = request.json()\nresult = {\"payload\": j[\"id\"]}")
	if field >= 50 || whole < 400 {
		t.Errorf("allocations: %v reading the field, %v converting the body", field, whole)
	}
}

// TestRawFieldReads: the walk that lets $jhas read fields of an unparsed
// body from its bytes says yes for plain objects only, and says the same
// when it is given the shape another walk of the body saw (the schema's).
func TestRawFieldReads(t *testing.T) {
	many := make([]string, jsonwalk.MaxTopKeys+1)
	for i := range many {
		many[i] = fmt.Sprintf("%q: %d", fmt.Sprint("k", i), i)
	}
	for body, want := range map[string]bool{
		`{"id": 7, "tags": ["a", 2.5], "a": {"id": 1}}`: true,
		`{"\u0069d": 4, "x": "\u00e9"}`:                 true,
		`{}`:                                            true,
		`{"id": 1, "id": 2}`:                            false,
		`{"id": 1, "x": 1e400}`:                         false,
		`{"id": 1, "x": 1e40}`:                          true,
		`[1]`:                                           false,
		`"id"`:                                          false,
		`{"id": 1`:                                      false,
		"{\"id\": \"\x01\"}":                            false,
		`{` + strings.Join(many, ", ") + `}`:            false,
		`{` + strings.Join(many[:jsonwalk.MaxTopKeys], ", ") + `}`:           true,
		`{"x": ` + strings.Repeat("[", 202) + strings.Repeat("]", 202) + `}`: false,
		`{"x": ` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`: true,
	} {
		c := &rawCheck{}
		if got := c.readable(&starlark.Thread{}, []byte(body), execmode.BodyShape{}); got != want {
			t.Errorf("readable(%.60s) = %v, want %v", body, got, want)
		}
		shape := jsonwalk.ShapeOf([]byte(body))
		c = &rawCheck{}
		if got := c.readable(&starlark.Thread{}, []byte(body), execmode.BodyShape(shape)); got != want {
			t.Errorf("readable(%.60s) given the shape %+v = %v, want %v", body, shape, got, want)
		}
	}
}
