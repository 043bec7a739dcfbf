package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMetricsCodesGaugesAndPruning: the code label holds the status code,
// 405 is counted, the gauges follow the registry, and the series of a
// deleted endpoint go away after the sync.
func TestMetricsCodesGaugesAndPruning(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("m-a", "/m-a", `result = {"payload": 1}`))
	c.create(publicRecord("m-b", "/m-b", `result = {"payload": 2}`))
	c.sync()
	expect(t, c.get("/m-a"), 200)
	expect(t, do(t, "POST", c.HTTP+"/m-a", "x"), 405)
	expect(t, c.get("/m-b"), 200)
	for series, want := range map[string]float64{
		`caddy_endpoint_requests_total{code="200",endpoint="m-a"}`: 1,
		`caddy_endpoint_requests_total{code="405",endpoint="m-a"}`: 1,
		`caddy_endpoint_requests_total{code="200",endpoint="m-b"}`: 1,
		`caddy_endpoint_live_revision`:                             1,
		`caddy_endpoint_pending_drafts`:                            0,
		`caddy_endpoint_unservable_records`:                        0,
	} {
		if got := c.metric(series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	c.create(publicRecord("m-c", "/m-c", `result = {"payload": 3}`))
	expect(t, c.admin("DELETE", "/endpoint/endpoints/m-b", nil), 204)
	if got := c.metric(`caddy_endpoint_pending_drafts`); got != 2 {
		t.Errorf("pending drafts %v, want 2", got)
	}
	c.sync()
	page := string(expect(t, c.admin("GET", "/metrics", nil), 200).Body)
	if strings.Contains(page, `endpoint="m-b"`) {
		t.Errorf("series of the deleted endpoint remain after the sync")
	}
	if !strings.Contains(page, `endpoint="m-a"`) || c.metric(`caddy_endpoint_live_revision`) != 2 {
		t.Errorf("live series or revision wrong after the sync")
	}
}

// TestMetricsUnservable: a published record whose exec_as_user is gone
// after a restart is counted as unservable.
func TestMetricsUnservable(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(publicRecord("as-bot", "/as-bot", `result = {"payload": 1}`))
	c.sync()
	c.stop()
	path := filepath.Join(c.dir, "Caddyfile")
	cf, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	without := strings.Replace(string(cf), "user bot {\n\t\t\trole integrations\n\t\t}", "", 1)
	if without == string(cf) {
		t.Fatal("could not remove user bot from the Caddyfile")
	}
	if err := os.WriteFile(path, []byte(without), 0o644); err != nil {
		t.Fatal(err)
	}
	c.restart()
	expect(t, c.get("/as-bot"), 404)
	if got := c.metric(`caddy_endpoint_unservable_records`); got != 1 {
		t.Fatalf("unservable records %v, want 1", got)
	}
}
