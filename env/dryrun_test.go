package env

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-endpoint/endpoint/execmode"
)

func TestDryRunOverlay(t *testing.T) {
	s := newTestService(t, t.TempDir(), nil)
	ctx := context.Background()
	g := &Grants{Store: map[string]string{"orders": Write, "config": Read}}
	live := s.For("bot", g)
	for _, k := range []string{"kept", "gone", "changed"} {
		if err := live.StorePut(ctx, "orders", k, []byte(`"live"`)); err != nil {
			t.Fatal(err)
		}
	}

	dry, overlay := s.DryRun("bot", g, false)
	steps := []error{
		dry.StorePut(ctx, "orders", "changed", []byte(`"draft"`)),
		dry.StorePut(ctx, "orders", "new", []byte(`{"a":1}`)),
		dry.StoreDelete(ctx, "orders", "gone"),
		dry.StorePut(ctx, "orders", "temp", []byte(`1`)),
		dry.StoreDelete(ctx, "orders", "temp"),
	}
	for i, err := range steps {
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	if err := dry.StorePut(ctx, "config", "x", []byte(`1`)); err == nil || !strings.Contains(err.Error(), "has no write grant") {
		t.Fatalf("dry run bypassed the grants: %v", err)
	}

	reads := map[string]string{"kept": `"live"`, "changed": `"draft"`, "new": `{"a":1}`, "gone": "", "temp": ""}
	for k, want := range reads {
		v, found, err := dry.StoreGet(ctx, "orders", k)
		if err != nil || found != (want != "") || string(v) != want {
			t.Errorf("dry StoreGet(%q) = %q, %v, %v; want %q", k, v, found, err, want)
		}
	}
	keys, err := dry.StoreList(ctx, "orders", "")
	if err != nil || !reflect.DeepEqual(keys, []string{"changed", "kept", "new"}) {
		t.Fatalf("dry StoreList = %v, %v", keys, err)
	}

	// Nothing reached the storage.
	for k, want := range map[string]string{"kept": `"live"`, "changed": `"live"`, "gone": `"live"`, "new": ""} {
		v, found, err := live.StoreGet(ctx, "orders", k)
		if err != nil || found != (want != "") || string(v) != want {
			t.Errorf("live StoreGet(%q) = %q, %v, %v; want %q", k, v, found, err, want)
		}
	}

	got, err := json.Marshal(overlay.Changes())
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"op":"put","namespace":"orders","key":"changed","value":"draft"},` +
		`{"op":"delete","namespace":"orders","key":"gone"},` +
		`{"op":"put","namespace":"orders","key":"new","value":{"a":1}},` +
		`{"op":"delete","namespace":"orders","key":"temp"}]`
	if string(got) != want {
		t.Fatalf("Changes =\n%s\nwant\n%s", got, want)
	}
}

func TestDryRunOverlayLimit(t *testing.T) {
	s := newTestService(t, t.TempDir(), func(c *Config) { c.OverlayMaxSize = 10 })
	dry, _ := s.DryRun("bot", &Grants{Store: map[string]string{"orders": Write}}, false)
	ctx := context.Background()
	if err := dry.StorePut(ctx, "orders", "a", []byte(`"123456"`)); err != nil {
		t.Fatal(err)
	}
	// Overwriting a key counts only its new size.
	if err := dry.StorePut(ctx, "orders", "a", []byte(`"1234567"`)); err != nil {
		t.Fatal(err)
	}
	if err := dry.StorePut(ctx, "orders", "b", []byte(`"12"`)); err == nil || !strings.Contains(err.Error(), "over its limit of 10 bytes") {
		t.Fatalf("overlay limit: error = %v", err)
	}
	if err := dry.StoreDelete(ctx, "orders", "a"); err != nil {
		t.Fatal(err)
	}
	if err := dry.StorePut(ctx, "orders", "b", []byte(`"12"`)); err != nil {
		t.Fatalf("after freeing space: %v", err)
	}
}

func TestDryRunHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("live"))
	}))
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	s := newTestService(t, t.TempDir(), nil)
	g := &Grants{HTTP: []string{host}, Secrets: []string{"webhook_key"}}
	req := &execmode.OutboundRequest{URL: "http://" + host + "/"}

	dry, _ := s.DryRun("bot", g, false)
	if _, err := dry.HTTP(context.Background(), req); err == nil || !strings.Contains(err.Error(), `"live_http"`) {
		t.Fatalf("dry run without live_http: error = %v", err)
	}
	if v, err := dry.Secret("webhook_key"); err != nil || v != "s3cr3t-value" {
		t.Fatalf("dry run secret = %q, %v", v, err)
	}
	liveDry, _ := s.DryRun("bot", g, true)
	resp, err := liveDry.HTTP(context.Background(), req)
	if err != nil || string(resp.Body) != "live" {
		t.Fatalf("dry run with live_http = %v, %v", resp, err)
	}
	other, _ := s.DryRun("bot", &Grants{}, true)
	if _, err := other.HTTP(context.Background(), req); err == nil || !strings.Contains(err.Error(), "is not granted") {
		t.Fatalf("live_http bypassed the grants: %v", err)
	}
}
