package command

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// exampleResult is one entry of the answer to a test with examples.
type exampleResult struct {
	Name     string          `json:"name"`
	Passed   bool            `json:"passed"`
	Expected json.RawMessage `json:"expected"`
	Got      json.RawMessage `json:"got"`
	// Error says why the example could not run.
	Error string `json:"error"`
}

// dryRunAnswer is the answer to a test with a request.
type dryRunAnswer struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers"`
	Body    string              `json:"body"`
	Logs    []logLine           `json:"logs"`
	Steps   uint64              `json:"steps"`
	Error   string              `json:"error"`
}

func testVerb() verb {
	return verb{
		use:   "test <name> [--example <name>] | test <name> [-X <method>] [--path <path>] [-H 'K: V'] [-d <body>]",
		short: "Runs a draft's examples, or one request, as a dry run",
		long: `
Runs the draft of an endpoint without touching anything live: no store
writes, no outbound HTTP, nothing published.

Without request flags it runs the record's examples (or only --example)
and prints which passed; the exit status is 1 when one fails.

With -X, --path, -H or -d it sends one request to the draft and prints the
status, headers, body, log lines and steps the snippet took. --path may
hold a query (/orders?limit=5); -d @file reads the body from a file.
`,
		example: `  $ caddy endpoint test orders
  $ caddy endpoint test orders -X POST --path /orders -H 'Content-Type: application/json' -d '{"id": 1}'`,
		args: cobra.ExactArgs(1),
		flags: func(c *cobra.Command) {
			c.Flags().String("example", "", "Run only this example")
			c.Flags().StringP("request", "X", "", "Method of the request (default: the record's first)")
			c.Flags().String("path", "", "Path of the request, with an optional query (default: the record's route)")
			c.Flags().StringArrayP("header", "H", nil, "A request header 'Name: value' (repeatable)")
			c.Flags().StringP("data", "d", "", "The request body; @file reads it from a file")
		},
		run: func(s *session, args []string) error {
			name := args[0]
			adHoc := false
			for _, f := range []string{"request", "path", "header", "data"} {
				adHoc = adHoc || s.cmd.Flags().Changed(f)
			}
			if adHoc && s.cmd.Flags().Changed("example") {
				return fmt.Errorf("--example runs a stored example; it does not go with -X, --path, -H or -d")
			}
			path := "/endpoint/endpoints/" + url.PathEscape(name) + "/test"
			if !adHoc {
				return s.runExamples(name, path)
			}
			req, err := s.testRequest()
			if err != nil {
				return err
			}
			var ans dryRunAnswer
			if err := s.api.post(s.ctx, path, req, &ans); err != nil {
				return fmt.Errorf("testing %s: %w", name, err)
			}
			if s.json {
				return s.printJSON(ans)
			}
			s.printDryRun(ans)
			return nil
		},
	}
}

// testRequest builds the request of an ad-hoc test from the flags.
func (s *session) testRequest() (map[string]any, error) {
	req := map[string]any{}
	if m := s.flagString("request"); m != "" {
		req["method"] = strings.ToUpper(m)
	}
	if p := s.flagString("path"); p != "" {
		p, rawQuery, _ := strings.Cut(p, "?")
		req["path"] = p
		if rawQuery != "" {
			q, err := url.ParseQuery(rawQuery)
			if err != nil {
				return nil, fmt.Errorf("--path: reading the query: %v", err)
			}
			first := map[string]string{}
			for k, v := range q {
				first[k] = v[0]
			}
			req["query"] = first
		}
	}
	hs, _ := s.cmd.Flags().GetStringArray("header")
	if len(hs) > 0 {
		headers := map[string]string{}
		for _, h := range hs {
			k, v, ok := strings.Cut(h, ":")
			if !ok || strings.TrimSpace(k) == "" {
				return nil, fmt.Errorf("-H %q: want 'Name: value'", h)
			}
			headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
		req["headers"] = headers
	}
	if s.cmd.Flags().Changed("data") {
		body := s.flagString("data")
		if file, ok := strings.CutPrefix(body, "@"); ok {
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("-d: reading the body: %v", err)
			}
			body = string(b)
		}
		req["body"] = body
	}
	return req, nil
}

func (s *session) runExamples(name, path string) error {
	req := map[string]any{"examples": true}
	if e := s.flagString("example"); e != "" {
		req = map[string]any{"example": e}
	}
	var results []exampleResult
	if err := s.api.post(s.ctx, path, req, &results); err != nil {
		return fmt.Errorf("running the examples of %s: %w", name, err)
	}
	failed := 0
	for _, r := range results {
		if !r.Passed {
			failed++
		}
	}
	if s.json {
		if results == nil {
			results = []exampleResult{}
		}
		if err := s.printJSON(results); err != nil {
			return err
		}
	} else {
		if len(results) == 0 {
			fmt.Fprintf(s.out, "%s has no examples\n", name)
		}
		for _, r := range results {
			if r.Passed {
				fmt.Fprintf(s.out, "%s  %s\n", s.paint(green, "PASS"), r.Name)
				continue
			}
			fmt.Fprintf(s.out, "%s  %s\n", s.paint(red, "FAIL"), r.Name)
			fmt.Fprintf(s.out, "      expected: %s\n", compactJSON(r.Expected))
			fmt.Fprintf(s.out, "      got:      %s\n", compactJSON(r.Got))
			if r.Error != "" {
				fmt.Fprintf(s.out, "      error:    %s\n", r.Error)
			}
		}
		if len(results) > 0 {
			fmt.Fprintf(s.out, "%d passed, %d failed\n", len(results)-failed, failed)
		}
	}
	if failed > 0 {
		return exitStatus(1)
	}
	return nil
}

func compactJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "-"
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (s *session) printDryRun(a dryRunAnswer) {
	colour := green
	if a.Status >= 400 {
		colour = red
	}
	fmt.Fprintf(s.out, "%s\n", s.paint(colour, fmt.Sprintf("status %d", a.Status)))
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range a.Headers {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, v := range a.Headers[k] {
			fmt.Fprintf(s.out, "%s: %s\n", k, v)
		}
	}
	fmt.Fprintln(s.out)
	fmt.Fprint(s.out, a.Body)
	if a.Body != "" && !strings.HasSuffix(a.Body, "\n") {
		fmt.Fprintln(s.out)
	}
	if a.Error != "" {
		fmt.Fprintf(s.out, "\n%s %s\n", s.paint(red, "error:"), a.Error)
	}
	if len(a.Logs) > 0 {
		fmt.Fprintf(s.out, "\n%s\n", s.paint(bold, "logs:"))
		for _, l := range a.Logs {
			fmt.Fprintf(s.out, "  %-5s %s\n", l.Level, l.Message)
		}
	}
	fmt.Fprintf(s.out, "\nsteps: %d\n", a.Steps)
}
