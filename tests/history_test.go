package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func jsonList(t *testing.T, a answer) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal(a.Body, &out); err != nil {
		t.Fatalf("answer is not a JSON array (%v): %s", err, a.Body)
	}
	return out
}

// TestSelectiveSyncAndHistory: a sync publishes only the records it names
// and keeps its message and source; revisions show their records and
// diffs; keep_revisions prunes and a rollback to a pruned one is 404; each
// admin write, sync and rollback logs one endpoint.admin line.
func TestSelectiveSyncAndHistory(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + "\n\t\tkeep_revisions 3\n"})
	c.create(publicRecord("a", "/a", "result = {\"payload\": \"a1\"}\n"))
	c.create(publicRecord("b", "/b", `result = {"payload": "b1"}`))
	c.sync()

	expect(t, c.admin("PATCH", "/endpoint/endpoints/a", map[string]any{"code_snippet": "result = {\"payload\": \"a2\"}\n"}), 200)
	expect(t, c.admin("PATCH", "/endpoint/endpoints/b", map[string]any{"code_snippet": `result = {"payload": "b2"}`}), 200)

	// bad sync bodies: unknown field, unknown name, wrong type; nothing moves
	for _, body := range []any{
		map[string]any{"only": []string{"a"}, "mesage": "typo"},
		map[string]any{"only": []string{"a", "nope"}},
		map[string]any{"only": "a"},
		`{"only": ["a"]} {}`,
	} {
		var a answer
		if s, ok := body.(string); ok {
			a = c.admin("POST", "/endpoint/sync", s, "Content-Type", "application/json")
		} else {
			a = c.admin("POST", "/endpoint/sync", body)
		}
		expect(t, a, http.StatusBadRequest)
		if m := a.JSON(t); m["error"] == "" {
			t.Fatalf("no error message: %s", a)
		}
	}
	bad := c.admin("POST", "/endpoint/sync", map[string]any{"only": []string{"a", "nope"}}).JSON(t)
	if d := bad["details"].([]any)[0].(map[string]any); d["field"] != "only[1]" || !strings.Contains(d["message"].(string), "nope") {
		t.Fatalf("unknown name details: %v", bad)
	}
	if got := string(c.get("/a").Body); !strings.Contains(got, "a1") {
		t.Fatalf("a refused sync published a: %s", got)
	}

	res := expect(t, c.admin("POST", "/endpoint/sync", map[string]any{"only": []string{"a"}, "message": "ship a only"}), 200).JSON(t)
	if res["revision"] != float64(2) || fmt.Sprint(res["changed"]) != "[a]" {
		t.Fatalf("selective sync: %v", res)
	}
	if got := string(c.get("/a").Body); !strings.Contains(got, "a2") {
		t.Fatalf("a after selective sync: %s", got)
	}
	if got := string(c.get("/b").Body); !strings.Contains(got, "b1") {
		t.Fatalf("b was published by a sync that did not name it: %s", got)
	}
	b := expect(t, c.admin("GET", "/endpoint/endpoints/b", nil), 200).JSON(t)
	if b["sync_state"] != "to_sync" {
		t.Fatalf("b after a sync of a: %v", b)
	}

	revs := jsonList(t, expect(t, c.admin("GET", "/endpoint/revisions", nil), 200))
	top := revs[0]
	if top["revision"] != float64(2) || top["kind"] != "sync" || top["message"] != "ship a only" ||
		!strings.HasPrefix(top["source"].(string), "127.0.0.1:") || top["endpoints"] != float64(2) {
		t.Fatalf("revision list: %v", revs)
	}

	one := expect(t, c.admin("GET", "/endpoint/revisions/1", nil), 200).JSON(t)
	recs := one["records"].([]any)
	if one["revision"] != float64(1) || len(recs) != 2 || recs[0].(map[string]any)["code_snippet"] != "result = {\"payload\": \"a1\"}\n" {
		t.Fatalf("revision 1: %v", one)
	}
	expect(t, c.admin("GET", "/endpoint/revisions/99", nil), http.StatusNotFound)
	expect(t, c.admin("GET", "/endpoint/revisions/x", nil), http.StatusBadRequest)

	diff := expect(t, c.admin("GET", "/endpoint/revisions/1/diff", nil), 200).JSON(t)
	changed := diff["changed"].([]any)
	if diff["to"] != float64(2) || len(changed) != 1 {
		t.Fatalf("diff 1 → live: %v", diff)
	}
	ch := changed[0].(map[string]any)
	if ch["name"] != "a" || fmt.Sprint(ch["fields"]) != "[code_snippet]" ||
		!strings.Contains(ch["code_diff"].(string), "-result = {\"payload\": \"a1\"}") ||
		!strings.Contains(ch["code_diff"].(string), "+result = {\"payload\": \"a2\"}") {
		t.Fatalf("diff of a: %v", ch)
	}
	back := expect(t, c.admin("GET", "/endpoint/revisions/2/diff?to=1", nil), 200).JSON(t)
	if back["from"] != float64(2) || back["to"] != float64(1) || len(back["changed"].([]any)) != 1 {
		t.Fatalf("diff 2 → 1: %v", back)
	}
	expect(t, c.admin("GET", "/endpoint/revisions/1/diff?to=42", nil), http.StatusNotFound)

	// rollback with a message; then enough syncs to prune revision 1
	rb := expect(t, c.admin("POST", "/endpoint/rollback", map[string]any{"revision": 1, "message": "undo a"}), 200).JSON(t)
	if rb["revision"] != float64(3) {
		t.Fatalf("rollback: %v", rb)
	}
	revs = jsonList(t, c.admin("GET", "/endpoint/revisions", nil))
	if revs[0]["kind"] != "rollback" || revs[0]["message"] != "undo a" {
		t.Fatalf("rollback revision: %v", revs[0])
	}
	expect(t, c.admin("POST", "/endpoint/rollback", map[string]any{"revision": 1, "mesage": "x"}), http.StatusBadRequest)
	expect(t, c.admin("PATCH", "/endpoint/endpoints/b", map[string]any{"code_snippet": `result = {"payload": "b3"}`}), 200)
	c.sync()
	revs = jsonList(t, c.admin("GET", "/endpoint/revisions", nil))
	if len(revs) != 3 || revs[2]["revision"] != float64(2) {
		t.Fatalf("keep_revisions 3 kept: %v", revs)
	}
	expect(t, c.admin("POST", "/endpoint/rollback", map[string]any{"revision": 1}), http.StatusNotFound)
	expect(t, c.admin("GET", "/endpoint/revisions/1", nil), http.StatusNotFound)
	expect(t, c.admin("GET", "/endpoint/revisions/1/diff", nil), http.StatusNotFound)
	if got := string(c.get("/b").Body); !strings.Contains(got, "b3") {
		t.Fatalf("b after the last sync: %s", got)
	}

	c.waitLog(`"logger":"endpoint.admin"`)
	c.waitLog(`"action":"rollback"`)
	var lines []map[string]any
	for _, line := range strings.Split(c.Logs(), "\n") {
		if !strings.Contains(line, `"logger":"endpoint.admin"`) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("admin log line is not JSON: %s", line)
		}
		lines = append(lines, m)
		if strings.Contains(line, "payload") || strings.Contains(line, "code_snippet") {
			t.Fatalf("admin log line holds code: %s", line)
		}
		if !strings.HasPrefix(fmt.Sprint(m["source"]), "127.0.0.1:") {
			t.Fatalf("admin log line without source: %s", line)
		}
	}
	var actions []string
	for _, m := range lines {
		actions = append(actions, fmt.Sprint(m["action"]))
	}
	if got := strings.Join(actions, " "); got != "create create sync patch patch sync rollback patch sync" {
		t.Fatalf("admin log actions = %q", got)
	}
}
