package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests of this file are about storage: two Caddy processes on one
// storage, faults injected by the endpoint_faults storage of the test
// binary (tests/faultstore), and files damaged on disk.

// faults is what the endpoint_faults storage reads before each call.
type faults struct {
	FailStore []string `json:"fail_store,omitempty"`
	FailLoad  []string `json:"fail_load,omitempty"`
	HangStore []string `json:"hang_store,omitempty"`
}

func setFaults(t *testing.T, file string, f faults) {
	t.Helper()
	b, _ := json.Marshal(f)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitHit waits until the storage behind file hangs in a Store.
func waitHit(t *testing.T, file string) string {
	t.Helper()
	var key []byte
	waitFor(t, func() bool {
		b, err := os.ReadFile(file + ".hit")
		key = b
		return err == nil && len(b) > 0
	})
	return string(key)
}

// sharedData makes a storage directory for several instances.
func sharedData(t *testing.T) string {
	t.Helper()
	data := filepath.Join(t.TempDir(), "shared")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	return data
}

// raceClient has a bound on every call, so that a call blocked for ever
// fails the test instead of hanging it.
var raceClient = &http.Client{Timeout: 60 * time.Second}

// send is do for goroutines: it reports instead of failing the test.
func send(method, url string, body any, headers ...string) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := raceClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: b}, err
}

// race sends one request to each instance at the same moment and returns
// the two statuses, sorted.
func race(t *testing.T, reqs ...func() (answer, error)) []int {
	t.Helper()
	start := make(chan struct{})
	out := make([]answer, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], errs[i] = r()
		}()
	}
	close(start)
	wg.Wait()
	var st []int
	for i := range out {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		st = append(st, out[i].Status)
	}
	slices.Sort(st)
	return st
}

// TestClusterRacingWrites: the same create and the same If-Match sent to
// two instances at once: exactly one wins, the other gets 409 or 412.
func TestClusterRacingWrites(t *testing.T) {
	data := sharedData(t)
	a := startCaddy(t, config{App: appUsers, Data: data})
	b := startCaddy(t, config{App: appUsers, Data: data})
	for i := 0; i < 20; i++ {
		rec := publicRecord(fmt.Sprintf("race%d", i), fmt.Sprintf("/race%d", i), `result = {}`)
		got := race(t,
			func() (answer, error) { return send("POST", a.Admin+"/endpoint/endpoints", rec) },
			func() (answer, error) { return send("POST", b.Admin+"/endpoint/endpoints", rec) })
		if !slices.Equal(got, []int{201, 409}) {
			t.Fatalf("round %d: two creates of one name answered %v", i, got)
		}
	}
	for i := 0; i < 20; i++ {
		etag := expect(t, a.admin("GET", "/endpoint/endpoints/race0", nil), 200).Header.Get("ETag")
		got := race(t,
			func() (answer, error) {
				return send("PATCH", a.Admin+"/endpoint/endpoints/race0", map[string]any{"route_group": fmt.Sprint("a", i)}, "If-Match", etag)
			},
			func() (answer, error) {
				return send("PATCH", b.Admin+"/endpoint/endpoints/race0", map[string]any{"route_group": fmt.Sprint("b", i)}, "If-Match", etag)
			})
		if !slices.Equal(got, []int{200, 412}) {
			t.Fatalf("round %d: two patches with one ETag answered %v", i, got)
		}
	}
}

// TestClusterWriteStress: 200 races, each one name created on both
// instances at once, all running together: one winner per race, and both
// instances list every name once.
func TestClusterWriteStress(t *testing.T) {
	data := sharedData(t)
	a := startCaddy(t, config{App: appUsers, Data: data})
	b := startCaddy(t, config{App: appUsers, Data: data})
	const races = 200
	status := make([][2]int, races)
	errs := make(chan error, 2*races)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < races; i++ {
		rec := publicRecord(fmt.Sprintf("s%03d", i), fmt.Sprintf("/s%03d", i), `result = {}`)
		for j, p := range []*caddyProc{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ans, err := send("POST", p.Admin+"/endpoint/endpoints", rec)
				if err != nil {
					errs <- err
					return
				}
				status[i][j] = ans.Status
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, st := range status {
		got := []int{st[0], st[1]}
		slices.Sort(got)
		if !slices.Equal(got, []int{201, 409}) {
			t.Fatalf("race %d: answers %v", i, got)
		}
	}
	for _, p := range []*caddyProc{a, b} {
		p.sync()
		var recs []map[string]any
		if err := json.Unmarshal(expect(t, p.admin("GET", "/endpoint/endpoints", nil), 200).Body, &recs); err != nil {
			t.Fatal(err)
		}
		if len(recs) != races {
			t.Fatalf("%s lists %d records, want %d", p.Admin, len(recs), races)
		}
	}
}

// TestDraftLoadErrorIsNotAbsent: a draft the storage fails to read is a
// 500 naming it, not a free name to create over.
func TestDraftLoadErrorIsNotAbsent(t *testing.T) {
	data := sharedData(t)
	ff := filepath.Join(t.TempDir(), "faults.json")
	a := startCaddy(t, config{App: appUsers, Data: data})
	b := startCaddy(t, config{App: appUsers, Data: data, Faults: ff})
	a.create(publicRecord("x", "/x", `result = {"payload": "a"}`))
	setFaults(t, ff, faults{FailLoad: []string{"endpoint/drafts/"}})
	got := b.admin("POST", "/endpoint/endpoints", publicRecord("x", "/x2", `result = {"payload": "b"}`))
	if got.Status != 500 || !strings.Contains(string(got.Body), "endpoint/drafts/x.json") {
		t.Fatalf("create over an unreadable draft: %s", got)
	}
	got = b.admin("PUT", "/endpoint/endpoints/x", publicRecord("x", "/x2", `result = {}`), "If-None-Match", "*")
	if got.Status != 500 {
		t.Fatalf("put over an unreadable draft: %s", got)
	}
	setFaults(t, ff, faults{})
	d := expect(t, a.admin("GET", "/endpoint/endpoints/x", nil), 200).JSON(t)
	if r := fmt.Sprint(d["route"], d["routes"]); !strings.Contains(r, "/x") || strings.Contains(r, "/x2") {
		t.Fatalf("draft overwritten: %v", d)
	}
}

// rollbackFixture publishes revision 1 (/v says 1) and 2 (/v says 2).
func rollbackFixture(t *testing.T, c *caddyProc) {
	t.Helper()
	c.create(publicRecord("v", "/v", `result = {"payload": 1}`))
	c.sync()
	expect(t, c.admin("PATCH", "/endpoint/endpoints/v", map[string]any{"code_snippet": `result = {"payload": 2}`}), 200)
	c.sync()
}

func revisionOf(t *testing.T, c *caddyProc) float64 {
	t.Helper()
	return expect(t, c.admin("GET", "/endpoint/sync", nil), 200).JSON(t)["revision"].(float64)
}

// TestFailedRollbackKeepsLaterWrites: the disk fills during a rollback.
// One that did not publish answers an error and changed nothing; one that
// published answers 200 with its revision, and the drafts it did not get
// to rewrite never later undo writes confirmed after it.
func TestFailedRollbackKeepsLaterWrites(t *testing.T) {
	ff := filepath.Join(t.TempDir(), "faults.json")
	c := startCaddy(t, config{App: appUsers, Faults: ff})
	rollbackFixture(t, c)

	for _, prefix := range []string{"endpoint/revisions/", "endpoint/current"} {
		setFaults(t, ff, faults{FailStore: []string{prefix}})
		got := c.admin("POST", "/endpoint/rollback", map[string]any{"revision": 1})
		if got.Status != 500 {
			t.Fatalf("rollback with %s failing: %s", prefix, got)
		}
		setFaults(t, ff, faults{})
		if rev := revisionOf(t, c); rev != 2 {
			t.Fatalf("a rollback that failed at %s moved the revision to %v", prefix, rev)
		}
		if got := string(c.get("/v").Body); got != "2" {
			t.Fatalf("a rollback that failed at %s changed what is served: %s", prefix, got)
		}
		if n := len(c.admin("GET", "/endpoint/revisions", nil).JSON2(t)); n != 2 {
			t.Fatalf("a rollback that failed at %s left %d revisions", prefix, n)
		}
	}

	setFaults(t, ff, faults{FailStore: []string{"endpoint/drafts/"}})
	got := c.admin("POST", "/endpoint/rollback", map[string]any{"revision": 1})
	if got.Status != 200 || got.JSON(t)["revision"] != float64(3) {
		t.Fatalf("a rollback that published (drafts not rewritten): %s", got)
	}
	if got := string(c.get("/v").Body); got != "1" {
		t.Fatalf("after the rollback /v says %s", got)
	}
	setFaults(t, ff, faults{})
	expect(t, c.admin("PATCH", "/endpoint/endpoints/v", map[string]any{"code_snippet": `result = {"payload": "later"}`}), 200)
	c.create(publicRecord("w", "/w", `result = {"payload": "w"}`))
	res := c.sync()
	if fmt.Sprint(res["added"], res["changed"]) != "[w] [v]" {
		t.Fatalf("sync after the rollback: %v", res)
	}
	if got := string(c.get("/v").Body); got != `"later"` {
		t.Fatalf("the PATCH after the rollback was undone: /v says %s", got)
	}
	expect(t, c.get("/w"), 200)
}

// JSON2 decodes an array answer.
func (a answer) JSON2(t *testing.T) []any {
	t.Helper()
	var v []any
	if err := json.Unmarshal(a.Body, &v); err != nil {
		t.Fatalf("answer is not a JSON array (%v): %s", err, a.Body)
	}
	return v
}

// TestClusterInterruptedRollback: instance a dies while its rollback
// rewrites the drafts; b accepts a PATCH and a create meanwhile; finishing
// the rollback must not undo them.
func TestClusterInterruptedRollback(t *testing.T) {
	data := sharedData(t)
	fa := filepath.Join(t.TempDir(), "faults-a.json")
	a := startCaddy(t, config{App: appUsers + "\n\t\tsync_interval 200ms", Data: data, Faults: fa})
	b := startCaddy(t, config{App: appUsers + "\n\t\tsync_interval 200ms", Data: data})
	rollbackFixture(t, a)

	setFaults(t, fa, faults{HangStore: []string{"endpoint/drafts/"}})
	go send("POST", a.Admin+"/endpoint/rollback", map[string]any{"revision": 1})
	waitHit(t, fa)
	a.kill()

	waitFor(t, func() bool { return revisionOf(t, b) == 3 })
	expect(t, b.admin("PATCH", "/endpoint/endpoints/v", map[string]any{"code_snippet": `result = {"payload": "later"}`}), 200)
	b.create(publicRecord("w", "/w", `result = {"payload": "w"}`))
	// let b's polling see the unfinished rollback
	b.waitLog("interrupted rollback")
	d := expect(t, b.admin("GET", "/endpoint/endpoints/v", nil), 200).JSON(t)
	if !strings.Contains(d["code_snippet"].(string), "later") {
		t.Fatalf("the PATCH was undone: %v", d)
	}
	b.sync()
	if got := string(b.get("/v").Body); got != `"later"` {
		t.Fatalf("/v says %s", got)
	}
	expect(t, b.get("/w"), 200)
}

// publishTwo publishes revision 1 (/a says 1) and 2 (/a says 2) and stops.
func publishTwo(t *testing.T, c *caddyProc) {
	t.Helper()
	c.create(publicRecord("a", "/a", `result = {"payload": 1}`))
	c.sync()
	expect(t, c.admin("PATCH", "/endpoint/endpoints/a", map[string]any{"code_snippet": `result = {"payload": 2}`}), 200)
	c.sync()
	c.stop()
}

// TestStartSurvivesDamagedFiles: a torn or missing index or live revision
// falls back to the newest revision that reads whole, the error names the
// file, and the next revision takes a new number.
func TestStartSurvivesDamagedFiles(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		remove              bool
		serves              string
		logs                string
	}{
		{"index truncated", "current", `{"revision": 2, "revi`, false, "2", "endpoint/current"},
		{"index garbage", "current", "\x00\x01garbage", false, "2", "endpoint/current"},
		{"index deleted", "current", "", true, "2", ""},
		{"live revision truncated", "revisions/2.json", `{"revision": 2, "rec`, false, "1", "endpoint/revisions/2.json"},
		{"live revision deleted", "revisions/2.json", "", true, "1", "endpoint/revisions/2.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := startCaddy(t, config{App: appUsers})
			publishTwo(t, c)
			file := filepath.Join(c.data, "endpoint", filepath.FromSlash(tc.file))
			if tc.remove {
				if err := os.Remove(file); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(file, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			rev1, err := os.ReadFile(filepath.Join(c.data, "endpoint", "revisions", "1.json"))
			if err != nil {
				t.Fatal(err)
			}
			c.restart()
			if got := string(expect(t, c.get("/a"), 200).Body); got != tc.serves {
				t.Fatalf("serves %s, want %s", got, tc.serves)
			}
			if tc.logs != "" {
				c.waitLog(tc.logs)
			}
			expect(t, c.admin("PATCH", "/endpoint/endpoints/a", map[string]any{"code_snippet": `result = {"payload": 3}`}), 200)
			if res := c.sync(); res["revision"] != float64(3) {
				t.Fatalf("the next sync published revision %v, want 3", res["revision"])
			}
			if got := string(c.get("/a").Body); got != "3" {
				t.Fatalf("after the sync /a says %s", got)
			}
			after, _ := os.ReadFile(filepath.Join(c.data, "endpoint", "revisions", "1.json"))
			if !bytes.Equal(rev1, after) {
				t.Fatal("revision 1 was overwritten")
			}
			if n := len(c.admin("GET", "/endpoint/revisions", nil).JSON2(t)); n < 2 {
				t.Fatalf("%d revisions listed after the fallback", n)
			}
		})
	}
}

// TestSyncRefusesUnreadableDraft: a draft file that does not decode is
// never taken as deleted: a sync refuses, naming the file, and what is
// served stays.
func TestSyncRefusesUnreadableDraft(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("a", "/a", `result = {"payload": "a"}`))
	c.create(publicRecord("b", "/b", `result = {"payload": "b"}`))
	c.sync()
	expect(t, c.admin("PATCH", "/endpoint/endpoints/a", map[string]any{"code_snippet": `result = {"payload": "a2"}`}), 200)
	if err := os.WriteFile(filepath.Join(c.data, "endpoint", "drafts", "b.json"), []byte(`{"name": "b", "rou`), 0o600); err != nil {
		t.Fatal(err)
	}
	// the damage is found when the drafts are read: at start, or by an
	// instance that had not read them yet
	other := startCaddy(t, config{App: appUsers, Data: c.data})
	c.stop()
	c.restart()
	for i, p := range []*caddyProc{c, other, c} {
		got := p.admin("POST", "/endpoint/sync", nil)
		if got.Status < 400 || !strings.Contains(string(got.Body), "endpoint/drafts/b.json") {
			t.Fatalf("sync %d over an unreadable draft: %s", i, got)
		}
		expect(t, c.get("/b"), 200)
		if got := string(c.get("/a").Body); got != `"a"` {
			t.Fatalf("/a says %s", got)
		}
	}
}

// TestClusterLockOfDeadProcess: instance a hangs in a sync holding the
// storage lock. Meanwhile b's admin reads answer while b's sync waits;
// once a is killed, b takes the lock over from the dead process at once
// rather than waiting for it to go stale.
func TestClusterLockOfDeadProcess(t *testing.T) {
	data := sharedData(t)
	fa := filepath.Join(t.TempDir(), "faults-a.json")
	a := startCaddy(t, config{App: appUsers, Data: data, Faults: fa})
	b := startCaddy(t, config{App: appUsers, Data: data})
	a.create(publicRecord("x", "/x", `result = {"payload": "x"}`))
	setFaults(t, fa, faults{HangStore: []string{"endpoint/revisions/"}})
	go send("POST", a.Admin+"/endpoint/sync", nil)
	waitHit(t, fa)

	type result struct {
		a   answer
		err error
	}
	done := make(chan result, 1)
	go func() {
		ans, err := send("POST", b.Admin+"/endpoint/sync", nil)
		done <- result{ans, err}
	}()
	time.Sleep(300 * time.Millisecond) // let b's sync reach the lock
	for _, path := range []string{"/endpoint/endpoints", "/endpoint/sync", "/endpoint/revisions"} {
		if ans, err := send("GET", b.Admin+path, nil); err != nil || ans.Status != 200 {
			t.Fatalf("GET %s while a sync waits for the lock: %v %v", path, ans, err)
		}
	}
	select {
	case r := <-done:
		t.Fatalf("b's sync did not wait for a's lock: %v %v", r.a, r.err)
	default:
	}
	a.kill()
	r := <-done
	if r.err != nil || r.a.Status != 200 || r.a.JSON(t)["revision"] != float64(1) {
		t.Fatalf("b's sync after a died: %v %v", r.a, r.err)
	}
	b.waitLog("taking over the storage lock")
	expect(t, b.get("/x"), 200)
}

// TestDamagedLockFile: a lock file holding broken JSON does not block
// syncs for ever.
func TestDamagedLockFile(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("x", "/x", `result = {}`))
	lock := filepath.Join(c.data, "locks", "endpointsync.lock")
	if err := os.MkdirAll(filepath.Dir(lock), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lock, []byte(`{"created": "2026-`), 0o600); err != nil {
		t.Fatal(err)
	}
	got := c.admin("POST", "/endpoint/sync", nil)
	if got.Status != 200 {
		t.Fatalf("sync with a damaged lock file: %s", got)
	}
	c.waitLog("damaged")
	expect(t, c.get("/x"), 200)
}

// storeApp grants bot the notes namespace.
const storeApp = `
		user bot {
			grant store notes write
		}`

func storeEndpoints(t *testing.T, c *caddyProc) {
	t.Helper()
	c.create(publicRecord("put", "/put/{k}", `env.store.put("notes", request.path_params["k"], request.query.get("v", "x"))
result = {"payload": "ok"}`))
	c.create(publicRecord("del", "/del/{k}", `env.store.delete("notes", request.path_params["k"])
result = {"payload": "ok"}`))
	c.create(publicRecord("list", "/list", `result = {"payload": env.store.list("notes")}`))
	c.sync()
}

// TestStoreListHidesTempFiles: env.store.list never lists the storage's
// temporary files, neither those of writes under way nor one left by a
// crash.
func TestStoreListHidesTempFiles(t *testing.T) {
	c := startCaddy(t, config{App: storeApp})
	storeEndpoints(t, c)
	expect(t, c.get("/put/k1"), 200)
	// a crash leaves the temporary file of a write next to the values
	var dir string
	_ = filepath.Walk(filepath.Join(c.data, "endpoint"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasPrefix(filepath.Base(p), "k1") {
			dir = filepath.Dir(p)
		}
		return nil
	})
	if dir == "" {
		t.Fatal("no stored value found for k1")
	}
	if err := os.WriteFile(filepath.Join(dir, "3141592653"), []byte(`"half`), 0o600); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, _ = send("GET", c.HTTP+fmt.Sprintf("/put/w%d?v=%d", w, i), nil)
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	for i := 0; i < 50; i++ {
		var keys []string
		if err := json.Unmarshal(expect(t, c.get("/list"), 200).Body, &keys); err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			if k != "k1" && !(len(k) == 2 && k[0] == 'w') {
				t.Fatalf("list holds %q: %v", k, keys)
			}
		}
	}
}

// TestStoreQuota: store_max_keys and store_max_bytes cap a namespace;
// overwriting and deleting still work at the cap.
func TestStoreQuota(t *testing.T) {
	c := startCaddy(t, config{App: storeApp + "\n\t\tstore_max_keys 3\n\t\tstore_max_bytes 100"})
	storeEndpoints(t, c)
	for _, k := range []string{"a", "b", "c"} {
		expect(t, c.get("/put/"+k), 200)
	}
	if got := c.get("/put/d"); got.Status != 500 {
		t.Fatalf("a fourth key: %s", got)
	}
	c.waitLog(`store namespace \"notes\" is full`)
	expect(t, c.get("/put/a?v=again"), 200)
	expect(t, c.get("/del/b"), 200)
	expect(t, c.get("/put/d"), 200)
	// bytes: 3 small values, one grows past 100 bytes in total
	if got := c.get("/put/a?v=" + strings.Repeat("x", 120)); got.Status != 500 {
		t.Fatalf("a value past store_max_bytes: %s", got)
	}
	var keys []string
	if err := json.Unmarshal(expect(t, c.get("/list"), 200).Body, &keys); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(keys) != "[a c d]" {
		t.Fatalf("keys: %v", keys)
	}
}
