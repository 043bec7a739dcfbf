package tests

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// uiSite is a site block with basic_auth in front of endpoint_ui under
// /ops and the endpoint handler for everything else.
func uiSite(t *testing.T, user, password string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return `handle /ops* {
		basic_auth {
			` + user + ` ` + string(hash) + `
		}
		endpoint_ui /ops
	}
	handle {
		endpoint
	}`
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

const uiApp = `user bot {
			role integrations
		}`

// TestUIGuards: endpoint_ui answers only an authenticated user, takes
// writes only with the site's own Origin and a JSON body, refuses what a
// browser marks as sent by another site, and sends its CSP everywhere.
func TestUIGuards(t *testing.T) {
	p := startCaddy(t, config{App: uiApp, Site: uiSite(t, "ops", "ops-pw") + `
	handle_path /open/* {
		endpoint_ui {
			allow_unauthenticated
		}
	}`})
	ui := p.HTTP + "/ops/"
	own := p.HTTP
	auth := func(headers ...string) []string {
		return append([]string{"Authorization", basicAuth("ops", "ops-pw")}, headers...)
	}
	rec := map[string]any{"name": "guarded", "route": "/guarded", "auth_type": "public", "exec_as_user": "bot",
		"code_snippet": `result = {"payload": 1}`}

	// basic_auth itself answers 401 without credentials
	expect(t, do(t, "GET", ui, nil), http.StatusUnauthorized)

	for _, tt := range []struct {
		name    string
		method  string
		path    string
		body    any
		headers []string
		want    int
	}{
		{"page", "GET", "", nil, auth(), http.StatusOK},
		{"bundle", "GET", "app.js", nil, auth(), http.StatusOK},
		{"api read", "GET", "endpoint/sync", nil, auth(), http.StatusOK},
		{"api read from a cross-site page", "GET", "endpoint/endpoints", nil, auth("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors"), http.StatusForbidden},
		{"api read from a no-cors cross-site tag", "GET", "endpoint/endpoints", nil, auth("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "no-cors"), http.StatusForbidden},
		{"navigation from another site", "GET", "", nil, auth("Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"), http.StatusOK},
		{"write without Origin", "POST", "endpoint/endpoints", rec, auth(), http.StatusForbidden},
		{"write with a foreign Origin", "POST", "endpoint/endpoints", rec, auth("Origin", "http://evil.example"), http.StatusForbidden},
		{"write with a null Origin", "POST", "endpoint/endpoints", rec, auth("Origin", "null"), http.StatusForbidden},
		{"write with another port's Origin", "POST", "endpoint/endpoints", rec, auth("Origin", "http://127.0.0.1:1"), http.StatusForbidden},
		{"write as a form post", "POST", "endpoint/endpoints", `name=guarded`, auth("Origin", own, "Content-Type", "application/x-www-form-urlencoded"), http.StatusUnsupportedMediaType},
		{"write as text/plain", "POST", "endpoint/endpoints", `{"name":"guarded"}`, auth("Origin", own, "Content-Type", "text/plain"), http.StatusUnsupportedMediaType},
		{"cross-site write with the right Origin", "POST", "endpoint/endpoints", rec, auth("Origin", own, "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors"), http.StatusForbidden},
		{"preflight from another site", "OPTIONS", "endpoint/endpoints", nil, auth("Origin", "http://evil.example", "Access-Control-Request-Method", "PUT"), http.StatusForbidden},
		{"delete with a foreign Origin", "DELETE", "endpoint/endpoints/guarded", nil, auth("Origin", "http://evil.example", "Content-Type", "application/json"), http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, tt.method, ui+tt.path, tt.body, tt.headers...)
			if a.Status != tt.want {
				t.Fatalf("want %d, got %s", tt.want, a)
			}
			if got := a.Header.Get("Content-Security-Policy"); got != "default-src 'self'" {
				t.Errorf("Content-Security-Policy = %q", got)
			}
			if a.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("a CORS header was sent: %v", a.Header)
			}
		})
	}
	// none of the refused writes stored anything
	expect(t, p.admin("GET", "/endpoint/endpoints/guarded", nil), http.StatusNotFound)

	// the same write from the UI's own page goes through, and its sync
	// records the user as the revision's source
	expect(t, do(t, "POST", ui+"endpoint/endpoints", rec, auth("Origin", own, "Sec-Fetch-Site", "same-origin", "Sec-Fetch-Mode", "cors")...), http.StatusCreated)
	res := expect(t, do(t, "POST", ui+"endpoint/sync", map[string]any{"message": "from the ui"}, auth("Origin", own)...), http.StatusOK).JSON(t)
	if res["revision"] != float64(1) {
		t.Fatalf("sync: %v", res)
	}
	expect(t, p.get("/guarded"), http.StatusOK)
	revs := expect(t, do(t, "GET", ui+"endpoint/revisions", nil, auth()...), http.StatusOK)
	if !strings.Contains(string(revs.Body), `"source":"ui:ops"`) || !strings.Contains(string(revs.Body), `"message":"from the ui"`) {
		t.Fatalf("the revision does not name the UI's user: %s", revs.Body)
	}

	// without an authentication handler in front: 403, unless allowed
	noAuth := startCaddy(t, config{App: uiApp, Site: "endpoint_ui /ops"})
	a := expect(t, do(t, "GET", noAuth.HTTP+"/ops/", nil), http.StatusForbidden)
	if !strings.Contains(string(a.Body), "no authenticated user") {
		t.Fatalf("403 without a reason: %s", a)
	}
	expect(t, do(t, "GET", noAuth.HTTP+"/ops/endpoint/endpoints", nil), http.StatusForbidden)
	expect(t, do(t, "GET", p.HTTP+"/open/", nil), http.StatusOK)
	expect(t, do(t, "GET", p.HTTP+"/open/endpoint/sync", nil), http.StatusOK)

	// outside its prefix the next handler answers; the bare prefix redirects
	expect(t, do(t, "GET", noAuth.HTTP+"/elsewhere", nil), http.StatusOK)
	req, _ := http.NewRequest("GET", p.HTTP+"/ops", nil)
	req.Header.Set("Authorization", basicAuth("ops", "ops-pw"))
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != "/ops/" {
		t.Fatalf("GET /ops: %d %v", resp.StatusCode, resp.Header)
	}
}
