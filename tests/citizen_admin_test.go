package tests

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminListFiltersRefuseUnknown: unknown filter values and names are
// 400, as ?active=maybe always was.
func TestAdminListFiltersRefuseUnknown(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	for _, q := range []string{"?sync_state=bogus", "?active=maybe", "?syncstate=to_sync"} {
		a := expect(t, c.admin("GET", "/endpoint/endpoints"+q, nil), 400)
		if !strings.Contains(string(a.Body), "error") {
			t.Fatalf("%s: %s", q, a)
		}
	}
	for _, q := range []string{"?sync_state=to_sync", "?sync_state=in_sync", "?active=false", "?route_group=x"} {
		expect(t, c.admin("GET", "/endpoint/endpoints"+q, nil), 200)
	}
}

// TestAdminInvalidRecordNamed: the error of a refused write names the
// record.
func TestAdminInvalidRecordNamed(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	a := expect(t, c.admin("POST", "/endpoint/endpoints", map[string]any{"name": "broken-one", "route": "/b", "request_methods": []string{"BREW"}, "code_snippet": "result = {}"}), 400)
	if msg, _ := a.JSON(t)["error"].(string); !strings.Contains(msg, `"broken-one"`) {
		t.Fatalf("error does not name the record: %s", a)
	}
	a = expect(t, c.admin("PUT", "/endpoint/endpoints/other-one", map[string]any{"route": "/b", "bogus_field": 1, "code_snippet": "result = {}"}), 400)
	if msg, _ := a.JSON(t)["error"].(string); !strings.Contains(msg, `"other-one"`) {
		t.Fatalf("error does not name the record: %s", a)
	}
}

// TestDryRunKeepsRepeatedHeaders: two WWW-Authenticate challenges of a
// 401 stay two in the dry run's answer.
func TestDryRunKeepsRepeatedHeaders(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	c.create(map[string]any{"name": "private", "route": "/private", "code_snippet": `result = {"payload": 1}`})
	var ans struct {
		Status  int                 `json:"status"`
		Headers map[string][]string `json:"headers"`
	}
	a := expect(t, c.admin("POST", "/endpoint/endpoints/private/test", map[string]any{}), 200)
	if err := json.Unmarshal(a.Body, &ans); err != nil {
		t.Fatalf("dry run answer: %v: %s", err, a)
	}
	if ans.Status != 401 || len(ans.Headers["Www-Authenticate"]) != 2 {
		t.Fatalf("want 401 with two challenges, got %s", a)
	}
}

// TestAdminRefusesAnnouncedOversizeBody: a Content-Length beyond the limit
// is answered 413 without waiting for the body.
func TestAdminRefusesAnnouncedOversizeBody(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	conn, err := net.Dial("tcp", c.adminAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// a safety bound, not an assertion: the answer must come before any body
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	_, err = conn.Write([]byte("POST /endpoint/endpoints HTTP/1.1\r\nHost: " + c.adminAddr +
		"\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{\"name\":"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", resp.StatusCode)
	}
}
