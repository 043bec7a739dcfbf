package tests

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCaddyfileExamples: example blocks of a Caddyfile define become the
// declared record's examples; they run on demand, pass when the answer
// holds what they expect and fail, naming what differs, when it does not.
func TestCaddyfileExamples(t *testing.T) {
	p := startCaddy(t, config{App: `
		user bot
		define greet {
			route /greet/{who}
			auth public
			exec_as bot
			code ` + "`" + `result = {"payload": {"hello": request.path_params["who"]}, "headers": {"X-Greeter": "bot"}}` + "`" + `
			example bob {
				path /greet/bob
				status 200
				expect_header X-Greeter bot
				json ` + "`" + `{"hello": "bob"}` + "`" + `
			}
			example wrong {
				path /greet/ann
				json ` + "`" + `{"hello": "bob"}` + "`" + `
			}
		}`})

	rec := expect(t, p.admin("GET", "/endpoint/endpoints/greet", nil), 200).JSON(t)
	exs, _ := rec["examples"].([]any)
	if len(exs) != 2 {
		t.Fatalf("want the 2 examples of the Caddyfile on the record, got %v", rec["examples"])
	}

	a := expect(t, p.admin("POST", "/endpoint/endpoints/greet/test", map[string]any{"examples": true}), 200)
	var results []map[string]any
	if err := json.Unmarshal(a.Body, &results); err != nil {
		t.Fatalf("examples answer is not a list (%v): %s", err, a)
	}
	passed := map[string]bool{}
	for _, r := range results {
		passed[r["name"].(string)], _ = r["passed"].(bool)
	}
	if !passed["bob"] || passed["wrong"] || len(passed) != 2 {
		t.Fatalf("want bob passed and wrong failed, got %s", a)
	}
	if !strings.Contains(string(a.Body), "ann") {
		t.Fatalf("the failed example should show what it got, got %s", a)
	}
}
