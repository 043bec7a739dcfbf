package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func raws(bodies ...string) []json.RawMessage {
	out := make([]json.RawMessage, len(bodies))
	for i, b := range bodies {
		out[i] = json.RawMessage(b)
	}
	return out
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("keep", "/keep"))
	f.create(rec("old", "/old"))
	f.sync()

	res, err := f.r.Apply(ctx, ApplyOptions{Records: raws(
		rec("keep", "/keep"),
		rec("new", "/new"),
		rec("old", "/old", "code_snippet", "changed"),
	)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Created, []string{"new"}) || !slices.Equal(res.Updated, []string{"old"}) ||
		!slices.Equal(res.Unchanged, []string{"keep"}) || len(res.Deleted) != 0 || res.Revision != 1 {
		t.Fatalf("apply = %+v", res)
	}
	if served(f.r, "GET", "/new") != "" {
		t.Fatal("an apply without sync published")
	}

	// prune + sync + message, after a dry run that stores nothing
	opts := ApplyOptions{Records: raws(rec("new", "/new")), Prune: true, Sync: true, Origin: Origin{Message: "only new", Source: "cli"}}
	opts.DryRun = true
	dry, err := f.r.Apply(ctx, opts)
	if err != nil || !slices.Equal(dry.Deleted, []string{"keep", "old"}) || dry.Revision != 1 {
		t.Fatalf("dry run = %+v %v", dry, err)
	}
	if len(f.r.List(Filter{})) != 3 || f.r.Status().Revision != 1 {
		t.Fatal("a dry run stored something")
	}
	opts.DryRun = false
	res, err = f.r.Apply(ctx, opts)
	if err != nil || res.Revision != 2 || !slices.Equal(res.Deleted, []string{"keep", "old"}) || !slices.Equal(res.Unchanged, []string{"new"}) {
		t.Fatalf("apply prune sync = %+v %v", res, err)
	}
	if served(f.r, "GET", "/new") == "" || served(f.r, "GET", "/keep") != "" {
		t.Fatal("apply with sync did not publish the pruned set")
	}
	if ri := f.r.Revisions()[0]; ri.Kind != RevisionApply || ri.Message != "only new" || ri.Source != "cli" {
		t.Fatalf("apply revision = %+v", ri)
	}
}

func TestApplyAllOrNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.create(rec("x", "/x"))
	var good []string
	for i := range 999 {
		good = append(good, rec(fmt.Sprintf("e%03d", i), fmt.Sprintf("/e/%d", i)))
	}
	cases := map[string][]string{
		"one invalid":     append(slices.Clone(good), rec("bad", "no-slash")),
		"duplicate name":  append(slices.Clone(good), rec("e001", "/dup")),
		"route conflict":  append(slices.Clone(good), rec("clash", "/e/5")),
		"clash with kept": append(slices.Clone(good[:3]), rec("y", "/x")),
		"unknown field":   {rec("a", "/a", "colour", "red")},
		"no name":         {`{"route": "/a", "code_snippet": "c"}`},
	}
	for name, bodies := range cases {
		_, err := f.r.Apply(ctx, ApplyOptions{Records: raws(bodies...)})
		if kindOf(err) != KindInvalid || len(detailsOf(err)) == 0 {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := len(f.r.List(Filter{})); got != 1 {
			t.Fatalf("%s: %d records stored by a refused apply", name, got)
		}
	}
	_, err := f.r.Apply(ctx, ApplyOptions{Records: raws(append(slices.Clone(good), rec("bad", "no-slash"))...)})
	if d := detailsOf(err); len(d) != 1 || d[0].Name != "bad" || d[0].Field != "routes[0]" {
		t.Fatalf("details = %+v", d)
	}
	res, err := f.r.Apply(ctx, ApplyOptions{Records: raws(good...), Sync: true})
	if err != nil || len(res.Created) != 999 || res.Revision != 1 {
		t.Fatalf("1000-record apply: %v %+v", err, len(res.Created))
	}
	if f.reopen().Status().Revision != 1 || len(f.reopen().List(Filter{})) != 1000 {
		t.Fatal("the apply is not in storage")
	}
}

// exampleFixture runs examples on fakeProgram: the answer is 200 with the
// code as body.
func exampleFixture(t *testing.T) *fixture {
	return newFixture(t, func(o *Options) {
		o.RunExamples = func(_ context.Context, e *Entry, ex Example) (ExampleAnswer, error) {
			ans, err := e.Program.Run(context.Background(), nil)
			if err != nil {
				return ExampleAnswer{}, err
			}
			return ExampleAnswer{Status: ans.Status, Header: map[string][]string{"Content-Type": {"text/plain"}}, Body: ans.Body}, nil
		}
	})
}

func TestExamplesGatePublication(t *testing.T) {
	ctx := context.Background()
	f := exampleFixture(t)
	ex := `[{"name": "hello", "request": {"path": "/a"}, "expect": {"status": 200, "body": "good", "headers": {"content-type": "text/plain"}}}]`
	f.create(rec("a", "/a", "code_snippet", "good", "examples", ex))
	f.sync()
	if served(f.r, "GET", "/a") != "good" {
		t.Fatal("a passing example did not publish")
	}

	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "bad answer"}`), nil); err != nil {
		t.Fatal(err)
	}
	for name, publish := range map[string]func() error{
		"sync": func() error { _, err := f.r.Sync(ctx, SyncOptions{}); return err },
		"apply": func() error {
			_, err := f.r.Apply(ctx, ApplyOptions{Records: raws(rec("a", "/a", "code_snippet", "bad answer", "examples", ex)), Sync: true})
			return err
		},
	} {
		err := publish()
		ds := detailsOf(err)
		if kindOf(err) != KindInvalid || len(ds) != 1 || ds[0].Name != "a" || ds[0].Example != "hello" ||
			ds[0].Expected == nil || *ds[0].Expected.Body != "good" || ds[0].Got == nil || *ds[0].Got.Body != "bad answer" {
			t.Fatalf("%s with a failing example: %v %+v", name, err, ds)
		}
		if served(f.r, "GET", "/a") != "good" || f.r.Status().Revision != 1 {
			t.Fatalf("%s published despite a failing example", name)
		}
	}
	results, err := f.r.RunExamples(ctx, "a", "")
	if err != nil || len(results) != 1 || results[0].Passed {
		t.Fatalf("RunExamples = %+v %v", results, err)
	}
	if _, err := f.r.RunExamples(ctx, "a", "nope"); kindOf(err) != KindNotFound {
		t.Fatalf("unknown example: %v", err)
	}

	// a rollback to a revision whose examples fail is refused too
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "good", "examples": null}`), nil); err != nil {
		t.Fatal(err)
	}
	f.sync()
	if _, err := f.r.Patch(ctx, "a", []byte(`{"code_snippet": "fine"}`), nil); err != nil {
		t.Fatal(err)
	}
	f.sync()
	if _, err := f.r.Rollback(ctx, 2, Origin{}); err != nil {
		t.Fatalf("rollback without examples: %v", err)
	}
}

func TestExampleRules(t *testing.T) {
	f := exampleFixture(t)
	var many []string
	for i := range 33 {
		many = append(many, fmt.Sprintf(`{"name": "e%d"}`, i))
	}
	cases := map[string]struct{ examples, field string }{
		"unknown field":         {`[{"name": "x", "colour": 1}]`, "examples[0]"},
		"unknown request field": {`[{"name": "x", "request": {"verb": "GET"}}]`, "examples[0]"},
		"unknown expect field":  {`[{"name": "x", "expect": {"code": 200}}]`, "examples[0]"},
		"path off the route":    {`[{"name": "x", "request": {"path": "/other"}}]`, "examples[0].request.path"},
		"method not served":     {`[{"name": "x", "request": {"method": "POST"}}]`, "examples[0].request.method"},
		"33 examples":           {"[" + strings.Join(many, ",") + "]", "examples"},
		"no name":               {`[{"request": {}}]`, "examples[0].name"},
		"same name":             {`[{"name": "x"}, {"name": "x"}]`, "examples[1].name"},
		"json and body":         {`[{"name": "x", "expect": {"json": {}, "body": ""}}]`, "examples[0].expect"},
		"bad status":            {`[{"name": "x", "expect": {"status": 42}}]`, "examples[0].expect.status"},
		"not a list":            {`{"name": "x"}`, "examples"},
	}
	for name, c := range cases {
		_, err := f.r.Create(context.Background(), []byte(rec("a", "/items/{id}", "examples", c.examples)))
		if kindOf(err) != KindInvalid || !slices.Contains(fieldsOf(err), c.field) {
			t.Errorf("%s: want a detail on %s, got %v", name, c.field, err)
		}
	}
	if len(f.r.List(Filter{})) != 0 {
		t.Fatal("a refused record was stored")
	}
	if _, err := f.r.Create(context.Background(), []byte(rec("a", "/items/{id}", "examples",
		`[{"name": "one", "request": {"path": "/items/7", "method": "get"}, "expect": {"json": {"id": "7"}}}]`))); err != nil {
		t.Fatal(err)
	}
}

func TestJudgeSubsets(t *testing.T) {
	ex := Example{Name: "x", Expect: ExampleExpect{JSON: json.RawMessage(`{"a": 1, "b": {"c": [1, 2]}}`)}}
	pass := judge(ex, ExampleAnswer{Status: 200, Body: []byte(`{"a": 1, "b": {"c": [1, 2], "d": 0}, "e": true}`)})
	fail := judge(ex, ExampleAnswer{Status: 200, Body: []byte(`{"a": 1, "b": {"c": [1]}}`)})
	notJSON := judge(ex, ExampleAnswer{Status: 200, Body: []byte(`oops`)})
	status := judge(ex, ExampleAnswer{Status: 500, Body: []byte(`{"a": 1, "b": {"c": [1, 2]}}`)})
	if !pass.Passed || fail.Passed || notJSON.Passed || status.Passed || *notJSON.Got.Body != "oops" || status.Got.Status != 500 {
		t.Fatalf("judge: %v %v %v %v", pass, fail, notJSON, status)
	}
}
