package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// appUsers is a common user block for tests: bob/demo-password with the
// token demo-token, role staff; bot runs public endpoints.
const appUsers = `
		user bob {
			password $2a$10$fJBEB6hZPNZ1xG4llkmlv.cNxD7enMAk2NjTFBdeoGCwCvUVU5S86
			token_hash sha256:7c43ef5ae21d43ce2743f770c68e24def1a43ee2f416d2438410c8af7af2ff2c
			role staff
		}
		user bot {
			role integrations
		}
`

// bobBasic and bobBearer are bob's credentials (demo-password / demo-token
// hashes above).
var (
	bobBasic  = []string{"Authorization", "Basic Ym9iOmRlbW8tcGFzc3dvcmQ="}
	bobBearer = []string{"Authorization", "Bearer demo-token"}
)

func publicRecord(name, route, code string) map[string]any {
	return map[string]any{
		"name": name, "route": route, "auth_type": "public", "exec_as_user": "bot",
		"code_snippet": code,
	}
}

// TestWalkThrough is the README's walk-through: drafts are not served until
// a sync, changes stay staged, and a rollback publishes an old revision.
func TestWalkThrough(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})

	created := c.create(publicRecord("hi", "/hi/{who}", `result = {"payload": {"hi": request.path_params["who"]}}`)).JSON(t)
	if created["sync_state"] != "to_sync" || created["version"] != float64(1) {
		t.Fatalf("new record: %v", created)
	}
	expect(t, c.get("/hi/bob"), http.StatusNotFound)
	status := expect(t, c.admin("GET", "/endpoint/sync", nil), 200).JSON(t)
	if status["in_sync"] != false || fmt.Sprint(status["pending"].(map[string]any)["added"]) != "[hi]" {
		t.Fatalf("sync status before sync: %v", status)
	}

	res := c.sync()
	if res["revision"] != float64(1) || fmt.Sprint(res["added"]) != "[hi]" {
		t.Fatalf("first sync: %v", res)
	}
	if got := string(expect(t, c.get("/hi/bob"), 200).Body); !strings.Contains(got, `"hi":"bob"`) {
		t.Fatalf("after sync: %s", got)
	}

	// change the code: the old answer stays until the next sync
	expect(t, c.admin("PATCH", "/endpoint/endpoints/hi", map[string]any{
		"code_snippet": `result = {"payload": {"hello": request.path_params["who"]}}`,
	}), 200)
	if got := string(c.get("/hi/bob").Body); !strings.Contains(got, `"hi":"bob"`) {
		t.Fatalf("draft served before sync: %s", got)
	}
	list := expect(t, c.admin("GET", "/endpoint/endpoints?sync_state=to_sync", nil), 200)
	if !strings.Contains(string(list.Body), `"name":"hi"`) {
		t.Fatalf("to_sync filter: %s", list.Body)
	}
	res = c.sync()
	if res["revision"] != float64(2) || fmt.Sprint(res["changed"]) != "[hi]" {
		t.Fatalf("second sync: %v", res)
	}
	if got := string(c.get("/hi/bob").Body); !strings.Contains(got, `"hello":"bob"`) {
		t.Fatalf("after second sync: %s", got)
	}

	// nothing pending: same revision
	if res := c.sync(); res["revision"] != float64(2) {
		t.Fatalf("empty sync: %v", res)
	}

	revs := expect(t, c.admin("GET", "/endpoint/revisions", nil), 200)
	if !strings.HasPrefix(string(revs.Body), `[{"revision":2,`) {
		t.Fatalf("revisions newest first: %s", revs.Body)
	}

	rb := expect(t, c.admin("POST", "/endpoint/rollback", map[string]any{"revision": 1}), 200).JSON(t)
	if rb["revision"] != float64(3) {
		t.Fatalf("rollback: %v", rb)
	}
	if got := string(c.get("/hi/bob").Body); !strings.Contains(got, `"hi":"bob"`) {
		t.Fatalf("after rollback: %s", got)
	}
	draft := expect(t, c.admin("GET", "/endpoint/endpoints/hi", nil), 200).JSON(t)
	if !strings.Contains(draft["code_snippet"].(string), `"hi"`) || draft["sync_state"] != "in_sync" {
		t.Fatalf("drafts after rollback: %v", draft)
	}
	expect(t, c.admin("POST", "/endpoint/rollback", map[string]any{"revision": 99}), 404)

	// archive and delete are staged too
	expect(t, c.admin("PATCH", "/endpoint/endpoints/hi", map[string]any{"active": false}), 200)
	expect(t, c.get("/hi/bob"), 200)
	c.sync()
	expect(t, c.get("/hi/bob"), 404)
	c.create(publicRecord("gone", "/gone", `result = {"payload": 1}`))
	c.sync()
	expect(t, c.get("/gone"), 200)
	expect(t, c.admin("DELETE", "/endpoint/endpoints/gone", nil), 204)
	expect(t, c.get("/gone"), 200)
	if res := c.sync(); fmt.Sprint(res["removed"]) != "[gone]" {
		t.Fatalf("delete sync: %v", res)
	}
	expect(t, c.get("/gone"), 404)
}

// TestAdminCRUD covers the record API: ETag/If-Match, PUT create/replace,
// merge patch, filters, JSON errors.
func TestAdminCRUD(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	rec := publicRecord("a", "/a", `result = {"payload": 1}`)
	rec["route_group"] = "g1"
	c.create(rec)
	expect(t, c.admin("POST", "/endpoint/endpoints", rec), http.StatusConflict)

	got := expect(t, c.admin("GET", "/endpoint/endpoints/a", nil), 200)
	etag := got.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	expect(t, c.admin("GET", "/endpoint/endpoints/nope", nil), 404)

	// PUT replace with the right ETag, then the stale one → 412
	rec["route"] = "/a2"
	put := expect(t, c.admin("PUT", "/endpoint/endpoints/a", rec, "If-Match", etag), 200)
	if put.Header.Get("ETag") == etag {
		t.Fatal("ETag did not change")
	}
	expect(t, c.admin("PUT", "/endpoint/endpoints/a", rec, "If-Match", etag), http.StatusPreconditionFailed)
	expect(t, c.admin("PATCH", "/endpoint/endpoints/a", map[string]any{"route": "/a3"}, "If-Match", etag), http.StatusPreconditionFailed)
	// PUT create
	expect(t, c.admin("PUT", "/endpoint/endpoints/b", publicRecord("b", "/b", `result = {}`)), 201)

	// merge patch: null removes a field, version increases
	p := expect(t, c.admin("PATCH", "/endpoint/endpoints/a", map[string]any{"route_group": nil}), 200).JSON(t)
	if _, ok := p["route_group"]; ok || p["version"] != float64(3) {
		t.Fatalf("merge patch: %v", p)
	}

	// filters
	expect(t, c.admin("PATCH", "/endpoint/endpoints/b", map[string]any{"route_group": "g2", "active": false}), 200)
	for q, want := range map[string]string{
		"?route_group=g2":      `[b]`,
		"?active=false":        `[b]`,
		"?sync_state=to_sync":  `[a b]`,
		"":                     `[a b]`,
		"?route_group=nothing": `[]`,
	} {
		a := expect(t, c.admin("GET", "/endpoint/endpoints"+q, nil), 200)
		if names := recordNames(t, a); names != want {
			t.Errorf("list%s = %s, want %s", q, names, want)
		}
	}

	// JSON everywhere, including 404 and 405
	for _, a := range []answer{
		c.admin("GET", "/endpoint/nothing-here", nil),
		c.admin("DELETE", "/endpoint/sync", nil),
		c.admin("PATCH", "/endpoint/endpoints", map[string]any{}),
	} {
		if a.Status != 404 && a.Status != 405 {
			t.Errorf("want 404/405, got %s", a)
		}
		if a.JSON(t)["error"] == "" {
			t.Errorf("no error text: %s", a)
		}
	}
	if a := c.admin("DELETE", "/endpoint/sync", nil); a.Header.Get("Allow") == "" {
		t.Error("405 without Allow")
	}

	// CSRF barrier: writes need a JSON content type
	a := do(t, "POST", c.Admin+"/endpoint/endpoints", `{"name":"x","route":"/x","code_snippet":"result={}"}`, "Content-Type", "text/plain")
	if a.Status != http.StatusUnsupportedMediaType && a.Status != http.StatusBadRequest {
		t.Fatalf("text/plain write: %s", a)
	}
	a = do(t, "POST", c.Admin+"/endpoint/sync", "", "Content-Type", "application/x-www-form-urlencoded")
	if a.Status < 400 {
		t.Fatalf("form-encoded sync accepted: %s", a)
	}

	// delete with a stale ETag
	expect(t, c.admin("DELETE", "/endpoint/endpoints/b", nil, "If-Match", `"stale"`), http.StatusPreconditionFailed)
	expect(t, c.admin("DELETE", "/endpoint/endpoints/b", nil), 204)
	expect(t, c.admin("DELETE", "/endpoint/endpoints/b", nil), 404)
}

func recordNames(t *testing.T, a answer) string {
	t.Helper()
	var recs []map[string]any
	if err := json.Unmarshal(a.Body, &recs); err != nil {
		t.Fatalf("list: %v: %s", err, a.Body)
	}
	names := make([]string, len(recs))
	for i, r := range recs {
		names[i] = r["name"].(string)
	}
	return fmt.Sprint(names)
}

// TestRacingWriters: two writers with the same ETag, one wins, the other
// gets 412.
func TestRacingWriters(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("r", "/r", `result = {}`))
	etag := c.admin("GET", "/endpoint/endpoints/r", nil).Header.Get("ETag")
	for round := 0; round < 5; round++ {
		var wg sync.WaitGroup
		statuses := make([]int, 2)
		for i := range statuses {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				a := do(t, "PATCH", c.Admin+"/endpoint/endpoints/r", map[string]any{"route_group": fmt.Sprintf("w%d-%d", round, i)}, "If-Match", etag)
				statuses[i] = a.Status
			}(i)
		}
		wg.Wait()
		ok, stale := 0, 0
		for _, s := range statuses {
			switch s {
			case 200:
				ok++
			case 412:
				stale++
			}
		}
		if ok != 1 || stale != 1 {
			t.Fatalf("round %d: statuses %v, want one 200 and one 412", round, statuses)
		}
		etag = c.admin("GET", "/endpoint/endpoints/r", nil).Header.Get("ETag")
	}
}
