package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// reloadLine is what Caddy logs when the background refresh loads a
// revision from storage.
const reloadLine = "published revision loaded from storage"

// TestRefreshKeepsOwnRevision: the background refresh never reloads the
// revision this instance itself published. Syncs run while the refresh
// ticks every 5ms; after them, and after many more refresh intervals, the
// log shows no reload. A revision published by another instance on the
// same storage is still loaded (and logged), once.
func TestRefreshKeepsOwnRevision(t *testing.T) {
	c := startCaddy(t, config{App: appUsers + "\n\t\tsync_interval 5ms"})
	for i := 0; i < 40; i++ {
		c.create(publicRecord(fmt.Sprintf("r%02d", i), fmt.Sprintf("/r/%02d", i), `result = {"payload": 1}`))
		c.sync()
	}
	// well over the refresh interval: dozens of refresh ticks
	time.Sleep(300 * time.Millisecond)
	expect(t, c.get("/r/39"), 200)
	if n := strings.Count(c.Logs(), reloadLine); n != 0 {
		t.Fatalf("the refresh reloaded this instance's own revisions %d times:\n%s", n, c.Logs())
	}

	// another instance publishes on the same storage: that one is loaded
	other := startCaddy(t, config{App: appUsers + "\n\t\tsync_interval 1h", Data: c.data})
	other.create(publicRecord("elsewhere", "/elsewhere", `result = {"payload": 2}`))
	other.sync()
	waitFor(t, func() bool { return c.get("/elsewhere").Status == 200 })
	c.waitLog(reloadLine)
	time.Sleep(300 * time.Millisecond)
	if n := strings.Count(c.Logs(), reloadLine); n != 1 {
		t.Fatalf("the revision of the other instance was loaded %d times, want 1:\n%s", n, c.Logs())
	}
}
