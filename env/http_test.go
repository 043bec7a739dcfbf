package env

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// mapResolver answers from a fixed table and refuses every other name.
type mapResolver map[string][]string

func (m mapResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	ips, ok := m[strings.ToLower(host)]
	if !ok {
		return net.DefaultResolver.LookupIPAddr(context.Background(), host)
	}
	out := make([]net.IPAddr, len(ips))
	for i, s := range ips {
		out[i] = net.IPAddr{IP: net.ParseIP(s)}
	}
	return out, nil
}

// testServer answers /ok with a small JSON body, /big with n bytes,
// /redirect?to=URL with a 302, /loop with an endless chain of redirects,
// /slow after the client gives up. It counts the requests it got.
func testServer(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Seen-Auth", r.Header.Get("Authorization"))
		fmt.Fprintf(w, `{"method":%q}`, r.Method)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 2048)))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestHTTP(t *testing.T) {
	srv, _ := testServer(t)
	addr := srv.Listener.Addr().(*net.TCPAddr)
	port := fmt.Sprint(addr.Port)
	exact := "127.0.0.1:" + port

	s := newTestService(t, t.TempDir(), func(c *Config) {
		c.HTTPMaxResponse = 1024
		c.HTTPTimeout = 5 * time.Second
		c.Resolver = mapResolver{
			"api.test":    {"127.0.0.1"},
			"meta.test":   {"169.254.169.254"},
			"mixed.test":  {"203.0.113.7", "10.0.0.1"},
			"public.test": {"203.0.113.7"},
		}
	})
	// public.test resolves to a documentation address; route it to the
	// test server so the allowed path for a public IP runs for real.
	s.dial = func(ctx context.Context, network, a string) (net.Conn, error) {
		if strings.HasPrefix(a, "203.0.113.7:") {
			a = exact
		}
		var d net.Dialer
		return d.DialContext(ctx, network, a)
	}

	tests := []struct {
		name    string
		grants  []string
		url     string
		method  string
		wantErr string
		want    string
	}{
		{name: "exact ip and port", grants: []string{exact}, url: "http://" + exact + "/ok", want: `{"method":"GET"}`},
		{name: "exact ip any port", grants: []string{"127.0.0.1"}, url: "http://" + exact + "/ok", method: "post", want: `{"method":"POST"}`},
		{name: "public name", grants: []string{"public.test"}, url: "http://public.test:" + port + "/ok", want: `{"method":"GET"}`},
		{name: "public name case-insensitive", grants: []string{"Public.Test"}, url: "http://PUBLIC.test:" + port + "/ok", want: `{"method":"GET"}`},
		{name: "wrong port", grants: []string{"127.0.0.1:1"}, url: "http://" + exact + "/ok", wantErr: `host "127.0.0.1:` + port + `" is not granted to user "bot"`},
		{name: "not granted", grants: []string{"api.example.com"}, url: "http://" + exact + "/ok", wantErr: "is not granted"},
		{name: "no grants", url: "http://" + exact + "/ok", wantErr: "is not granted"},
		{name: "name resolving to loopback", grants: []string{"api.test"}, url: "http://api.test:" + port + "/ok", wantErr: `host "api.test" resolves to 127.0.0.1, a loopback address`},
		{name: "localhost", grants: []string{"localhost"}, url: "http://localhost:" + port + "/ok", wantErr: "loopback"},
		{name: "name resolving to metadata", grants: []string{"meta.test"}, url: "http://meta.test/", wantErr: "link-local"},
		{name: "mixed answer", grants: []string{"mixed.test"}, url: "http://mixed.test:" + port + "/ok", wantErr: "10.0.0.1, a private address"},
		{name: "redirect to metadata", grants: []string{exact}, url: "http://" + exact + "/redirect?to=" + url.QueryEscape("http://169.254.169.254/latest/meta-data/"), wantErr: `redirect refused: http: host "169.254.169.254:80" is not granted`},
		{name: "redirect to loopback name", grants: []string{exact, "api.test"}, url: "http://" + exact + "/redirect?to=" + url.QueryEscape("http://api.test:"+port+"/ok"), wantErr: "loopback"},
		{name: "redirect to granted", grants: []string{exact, "public.test"}, url: "http://" + exact + "/redirect?to=" + url.QueryEscape("http://public.test:"+port+"/ok"), want: `{"method":"GET"}`},
		{name: "redirect loop", grants: []string{exact}, url: "http://" + exact + "/loop", wantErr: "stopped after 5 redirects"},
		{name: "response cap", grants: []string{exact}, url: "http://" + exact + "/big", wantErr: "response larger than 1024 bytes"},
		{name: "userinfo", grants: []string{exact}, url: "http://u:p@" + exact + "/ok", wantErr: "user info"},
		{name: "file scheme", grants: []string{exact}, url: "file:///etc/passwd", wantErr: `scheme "file" is not allowed`},
		{name: "bad method", grants: []string{exact}, url: "http://" + exact + "/ok", method: "CONNECT", wantErr: "not supported"},
		{name: "bad url", grants: []string{exact}, url: "http://[::1", wantErr: "not valid"},
		{name: "no host", grants: []string{exact}, url: "http:///ok", wantErr: "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := s.For("bot", &Grants{HTTP: tt.grants})
			resp, err := e.HTTP(context.Background(), &execmode.OutboundRequest{Method: tt.method, URL: tt.url})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || string(resp.Body) != tt.want {
				t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, resp.Body, tt.want)
			}
			if ct := http.Header(resp.Header).Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type = %q", ct)
			}
		})
	}
}

func TestHTTPTimeout(t *testing.T) {
	srv, _ := testServer(t)
	host := srv.Listener.Addr().String()
	s := newTestService(t, t.TempDir(), nil)
	e := s.For("bot", &Grants{HTTP: []string{host}})

	_, err := e.HTTP(context.Background(), &execmode.OutboundRequest{URL: "http://" + host + "/slow", Timeout: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("request timeout: error = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = e.HTTP(ctx, &execmode.OutboundRequest{URL: "http://" + host + "/slow"})
	if err == nil || !strings.Contains(err.Error(), "no answer within") {
		t.Fatalf("run deadline: error = %v", err)
	}
}

func TestHTTPSendsHeadersAndBody(t *testing.T) {
	var got struct {
		method, ct, body string
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 100)
		n, _ := r.Body.Read(b)
		got.method, got.ct, got.body = r.Method, r.Header.Get("Content-Type"), string(b[:n])
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	e := newTestService(t, t.TempDir(), nil).For("bot", &Grants{HTTP: []string{host}})
	resp, err := e.HTTP(context.Background(), &execmode.OutboundRequest{
		Method: "PUT",
		URL:    "http://" + host + "/x",
		Header: map[string][]string{"Content-Type": {"application/json"}},
		Body:   []byte(`{"a":1}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || got.method != "PUT" || got.ct != "application/json" || got.body != `{"a":1}` {
		t.Fatalf("status %d, server saw %+v", resp.StatusCode, got)
	}
}

func TestHTTPErrorsHideURL(t *testing.T) {
	e := newTestService(t, t.TempDir(), nil).For("bot", &Grants{HTTP: []string{"127.0.0.1:1"}})
	_, err := e.HTTP(context.Background(), &execmode.OutboundRequest{URL: "http://127.0.0.1:1/x?token=s3cr3t-value"})
	if err == nil {
		t.Fatal("want a connection error")
	}
	if strings.Contains(err.Error(), "s3cr3t-value") {
		t.Fatalf("error %q holds the URL's query", err)
	}
	if !strings.Contains(err.Error(), `host "127.0.0.1:1"`) {
		t.Fatalf("error %q does not name the host", err)
	}
}

func TestAddrClass(t *testing.T) {
	tests := map[string]string{
		"8.8.8.8":                "",
		"203.0.113.7":            "",
		"2606:4700::1111":        "",
		"127.0.0.1":              "loopback",
		"127.8.9.10":             "loopback",
		"::1":                    "loopback",
		"::ffff:127.0.0.1":       "loopback",
		"64:ff9b::7f00:1":        "loopback",
		"10.1.2.3":               "private",
		"172.16.0.1":             "private",
		"192.168.1.1":            "private",
		"fd00::1":                "private",
		"169.254.169.254":        "link-local",
		"fe80::1":                "link-local",
		"0.0.0.0":                "unspecified",
		"::":                     "unspecified",
		"224.0.0.1":              "multicast",
		"ff02::1":                "multicast",
		"100.100.100.200":        "reserved",
		"0.1.2.3":                "reserved",
		"255.255.255.255":        "reserved",
		"::ffff:169.254.169.254": "link-local",
	}
	for ip, want := range tests {
		if got := addrClass(netip.MustParseAddr(ip)); got != want {
			t.Errorf("addrClass(%s) = %q, want %q", ip, got, want)
		}
	}
}
