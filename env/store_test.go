package env

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/certmagic"
)

func newTestService(t *testing.T, dir string, mod func(*Config)) *Service {
	t.Helper()
	cfg := Config{
		Storage: &certmagic.FileStorage{Path: dir},
		Secrets: map[string]string{"webhook_key": "s3cr3t-value", "other": "other-value"},
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestNewRequiresStorage(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without storage: want an error")
	}
}

func TestStoreSharedBetweenServices(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	g := &Grants{Store: map[string]string{"orders": Write}}
	a := newTestService(t, dir, nil).For("bot", g)
	b := newTestService(t, dir, nil).For("bot", g)

	if err := a.StorePut(ctx, "orders", "o-1", []byte(`{"n":1}`)); err != nil {
		t.Fatal(err)
	}
	v, found, err := b.StoreGet(ctx, "orders", "o-1")
	if err != nil || !found || string(v) != `{"n":1}` {
		t.Fatalf("b.StoreGet = %q, %v, %v; want the value a wrote", v, found, err)
	}
	if err := b.StorePut(ctx, "orders", "o-1", []byte(`{"n":2}`)); err != nil {
		t.Fatal(err)
	}
	v, _, _ = a.StoreGet(ctx, "orders", "o-1")
	if string(v) != `{"n":2}` {
		t.Fatalf("a.StoreGet after b's write = %q, want {\"n\":2}", v)
	}
	if err := b.StoreDelete(ctx, "orders", "o-1"); err != nil {
		t.Fatal(err)
	}
	if _, found, err := a.StoreGet(ctx, "orders", "o-1"); err != nil || found {
		t.Fatalf("a.StoreGet after b's delete: found=%v err=%v; want not found", found, err)
	}
	if err := a.StoreDelete(ctx, "orders", "never-there"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "endpoint", "kv", "orders")); err != nil {
		t.Fatalf("namespace folder under the default prefix: %v", err)
	}
}

func TestStoreGrants(t *testing.T) {
	s := newTestService(t, t.TempDir(), nil)
	ctx := context.Background()
	seed := s.For("admin", &Grants{Store: map[string]string{"orders": Write, "config": Write}})
	for _, ns := range []string{"orders", "config"} {
		if err := seed.StorePut(ctx, ns, "k", []byte(`1`)); err != nil {
			t.Fatal(err)
		}
	}
	g := &Grants{Store: map[string]string{"orders": Write, "config": Read}}
	tests := []struct {
		name    string
		user    string
		grants  *Grants
		op      func(e interface{}) error
		wantErr string
	}{
		{"read with write grant", "bot", g, get("orders"), ""},
		{"read with read grant", "bot", g, get("config"), ""},
		{"read without grant", "bot", g, get("secret"), `store namespace "secret": user "bot" has no read grant`},
		{"write with write grant", "bot", g, put("orders"), ""},
		{"write with read grant", "bot", g, put("config"), `store namespace "config": user "bot" has no write grant`},
		{"write without grant", "bot", g, put("secret"), `store namespace "secret": user "bot" has no write grant`},
		{"delete with read grant", "bot", g, del("config"), `store namespace "config": user "bot" has no write grant`},
		{"delete with write grant", "bot", g, del("orders"), ""},
		{"list with read grant", "bot", g, list("config"), ""},
		{"list without grant", "bot", g, list("secret"), `store namespace "secret": user "bot" has no read grant`},
		{"nil grants", "bot", nil, get("orders"), `store namespace "orders": user "bot" has no read grant`},
		{"anonymous", "", nil, get("orders"), `store namespace "orders": user "anonymous" has no read grant`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op(s.For(tt.user, tt.grants))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

type storeEnv interface {
	StoreGet(ctx context.Context, ns, key string) ([]byte, bool, error)
	StorePut(ctx context.Context, ns, key string, value []byte) error
	StoreDelete(ctx context.Context, ns, key string) error
	StoreList(ctx context.Context, ns, prefix string) ([]string, error)
}

func get(ns string) func(interface{}) error {
	return func(e interface{}) error {
		_, _, err := e.(storeEnv).StoreGet(context.Background(), ns, "k")
		return err
	}
}

func put(ns string) func(interface{}) error {
	return func(e interface{}) error {
		return e.(storeEnv).StorePut(context.Background(), ns, "k", []byte(`2`))
	}
}

func del(ns string) func(interface{}) error {
	return func(e interface{}) error {
		return e.(storeEnv).StoreDelete(context.Background(), ns, "k")
	}
}

func list(ns string) func(interface{}) error {
	return func(e interface{}) error {
		_, err := e.(storeEnv).StoreList(context.Background(), ns, "")
		return err
	}
}

func TestStoreNameSyntax(t *testing.T) {
	long := strings.Repeat("a", 128)
	tests := []struct {
		ns, key string
		ok      bool
	}{
		{"orders", "o-1", true},
		{"orders", "A_b.c-9", true},
		{"orders", long, true},
		{"orders", long + "a", false},
		{"orders", "", false},
		{"orders", ".hidden", false},
		{"orders", "-x", false},
		{"orders", "a..b", false},
		{"orders", "a/b", false},
		{"orders", "../x", false},
		{"orders", "a b", false},
		{"orders", "ä", false},
		{"orders", "a\x00", false},
		{"../orders", "k", false},
		{"", "k", false},
	}
	s := newTestService(t, t.TempDir(), nil)
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.ns+"/"+tt.key, func(t *testing.T) {
			e := s.For("bot", &Grants{Store: map[string]string{tt.ns: Write}})
			err := e.StorePut(ctx, tt.ns, tt.key, []byte(`true`))
			if tt.ok != (err == nil) {
				t.Fatalf("StorePut(%q, %q) error = %v, want ok=%v", tt.ns, tt.key, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "is not valid") {
				t.Fatalf("error %q does not say what is wrong", err)
			}
		})
	}
}

func TestStoreValueLimits(t *testing.T) {
	s := newTestService(t, t.TempDir(), func(c *Config) { c.MaxValueSize = 100 })
	e := s.For("bot", &Grants{Store: map[string]string{"orders": Write}})
	ctx := context.Background()
	huge := []byte(`"` + strings.Repeat("x", 200) + `"`)
	err := e.StorePut(ctx, "orders", "big", huge)
	if err == nil || !strings.Contains(err.Error(), "value of 202 bytes exceeds the store limit of 100 bytes") {
		t.Fatalf("huge value: error = %v", err)
	}
	if _, found, _ := e.StoreGet(ctx, "orders", "big"); found {
		t.Fatal("a refused value was stored")
	}
	if err := e.StorePut(ctx, "orders", "bad", []byte(`{not json`)); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("invalid JSON: error = %v", err)
	}
	if s2 := newTestService(t, t.TempDir(), nil); s2.cfg.MaxValueSize != DefaultMaxValueSize {
		t.Fatalf("default MaxValueSize = %d", s2.cfg.MaxValueSize)
	}
}

func TestStoreList(t *testing.T) {
	dir := t.TempDir()
	s := newTestService(t, dir, func(c *Config) { c.MaxKeysListed = 3 })
	e := s.For("bot", &Grants{Store: map[string]string{"orders": Write, "empty": Read}})
	ctx := context.Background()
	for _, k := range []string{"b-2", "a-1", "b-1", "c-1", "b-3"} {
		if err := e.StorePut(ctx, "orders", k, []byte(`1`)); err != nil {
			t.Fatal(err)
		}
	}
	// A stray file that is not a valid key is not listed, nor a temporary
	// file of the storage (FileStorage names them with digits).
	for _, stray := range []string{".tmp-x", "2718281828", "x.json.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, "endpoint", "kv", "orders", stray), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		ns, prefix string
		want       []string
		wantErr    bool
	}{
		{"orders", "b-", []string{"b-1", "b-2", "b-3"}, false},
		{"orders", "", []string{"a-1", "b-1", "b-2"}, false},
		{"orders", "c", []string{"c-1"}, false},
		{"orders", "zzz", []string{}, false},
		{"empty", "", []string{}, false},
		{"orders", "../", nil, true},
		{"orders", "a/b", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.ns+"/"+tt.prefix, func(t *testing.T) {
			got, err := e.StoreList(ctx, tt.ns, tt.prefix)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("StoreList = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	s := newTestService(t, t.TempDir(), nil)
	e := s.For("bot", &Grants{Secrets: []string{"webhook_key", "ghost"}})
	v, err := e.Secret("webhook_key")
	if err != nil || v != "s3cr3t-value" {
		t.Fatalf("granted secret = %q, %v", v, err)
	}
	for _, name := range []string{"other", "ghost", ""} {
		_, err := e.Secret(name)
		if err == nil {
			t.Fatalf("Secret(%q): want an error", name)
		}
		for _, value := range []string{"s3cr3t-value", "other-value"} {
			if strings.Contains(err.Error(), value) {
				t.Fatalf("error %q holds a secret value", err)
			}
		}
	}
	_, err = e.Secret("other")
	if want := `secret "other": user "bot" has no secret grant for it`; err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
	if _, err := s.For("bot", nil).Secret("webhook_key"); err == nil {
		t.Fatal("nil grants read a secret")
	}
}

func TestStoreConcurrent(t *testing.T) {
	s := newTestService(t, t.TempDir(), nil)
	g := &Grants{Store: map[string]string{"orders": Write}}
	ctx := context.Background()
	dry, overlay := s.DryRun("bot", g, false)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			live := s.For("bot", g)
			key := fmt.Sprintf("k-%d", i)
			for j := 0; j < 20; j++ {
				v := []byte(fmt.Sprint(j))
				if err := live.StorePut(ctx, "orders", key, v); err != nil {
					t.Error(err)
					return
				}
				if err := dry.StorePut(ctx, "orders", key, v); err != nil {
					t.Error(err)
					return
				}
				if _, _, err := live.StoreGet(ctx, "orders", key); err != nil {
					t.Error(err)
					return
				}
				if _, err := dry.StoreList(ctx, "orders", ""); err != nil {
					t.Error(err)
					return
				}
				overlay.Changes()
			}
		}(i)
	}
	wg.Wait()
	keys, err := s.For("bot", g).StoreList(ctx, "orders", "k-")
	if err != nil || len(keys) != 8 {
		t.Fatalf("after concurrent writes: %v, %v", keys, err)
	}
	if n := len(overlay.Changes()); n != 8 {
		t.Fatalf("overlay holds %d changes, want 8", n)
	}
}

func BenchmarkStorePutGet(b *testing.B) {
	s, err := New(Config{Storage: &certmagic.FileStorage{Path: b.TempDir()}})
	if err != nil {
		b.Fatal(err)
	}
	e := s.For("bot", &Grants{Store: map[string]string{"orders": Write}})
	ctx := context.Background()
	v := []byte(`{"id":1,"items":[1,2,3]}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := e.StorePut(ctx, "orders", "o-1", v); err != nil {
			b.Fatal(err)
		}
		if _, _, err := e.StoreGet(ctx, "orders", "o-1"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestStoreQuota(t *testing.T) {
	dir := t.TempDir()
	s := newTestService(t, dir, func(c *Config) { c.MaxKeys, c.MaxBytes = 3, 20 })
	e := s.For("bot", &Grants{Store: map[string]string{"orders": Write, "other": Write}})
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		if err := e.StorePut(ctx, "orders", k, []byte(`1`)); err != nil {
			t.Fatal(err)
		}
	}
	err := e.StorePut(ctx, "orders", "d", []byte(`1`))
	if err == nil || !strings.Contains(err.Error(), `store namespace "orders" is full`) || !strings.Contains(err.Error(), "store_max_keys") {
		t.Fatalf("a fourth key: %v", err)
	}
	// overwriting and other namespaces are not held up by the cap
	if err := e.StorePut(ctx, "orders", "a", []byte(`2`)); err != nil {
		t.Fatal(err)
	}
	if err := e.StorePut(ctx, "other", "d", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	if err := e.StoreDelete(ctx, "orders", "b"); err != nil {
		t.Fatal(err)
	}
	if err := e.StorePut(ctx, "orders", "d", []byte(`1`)); err != nil {
		t.Fatalf("after a delete: %v", err)
	}
	err = e.StorePut(ctx, "orders", "a", []byte(`"0123456789abcdefghij"`))
	if err == nil || !strings.Contains(err.Error(), "store_max_bytes") {
		t.Fatalf("a value past the byte cap: %v", err)
	}
	// a new service (a reload) counts what is stored
	s2 := newTestService(t, dir, func(c *Config) { c.MaxKeys = 3 })
	if err := s2.For("bot", &Grants{Store: map[string]string{"orders": Write}}).StorePut(ctx, "orders", "e", []byte(`1`)); err == nil {
		t.Fatal("a new service let a fourth key in")
	}
	if d := newTestService(t, t.TempDir(), nil).cfg; d.MaxKeys != DefaultMaxKeys || d.MaxBytes != DefaultMaxBytes {
		t.Fatalf("defaults: %d keys, %d bytes", d.MaxKeys, d.MaxBytes)
	}
}

func TestStoreQuotaConcurrent(t *testing.T) {
	s := newTestService(t, t.TempDir(), func(c *Config) { c.MaxKeys = 10 })
	e := s.For("bot", &Grants{Store: map[string]string{"orders": Write}})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = e.StorePut(ctx, "orders", fmt.Sprintf("k%d", i), []byte(`1`))
		}()
	}
	wg.Wait()
	keys, err := e.StoreList(ctx, "orders", "")
	if err != nil || len(keys) != 10 {
		t.Fatalf("%d keys stored under a cap of 10 (%v)", len(keys), err)
	}
}

func TestMigrateStore(t *testing.T) {
	dir := t.TempDir()
	legacy := filepath.Join(dir, "endpoint", "store", "orders")
	if err := os.MkdirAll(legacy, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"a": `1`, "b.json": `"b"`, "2718281828": `"half`} {
		if err := os.WriteFile(filepath.Join(legacy, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := newTestService(t, dir, nil)
	e := s.For("bot", &Grants{Store: map[string]string{"orders": Write}})
	ctx := context.Background()
	// written after an interrupted move began: kept
	if err := e.StorePut(ctx, "orders", "a", []byte(`"newer"`)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := s.MigrateStore(ctx); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := e.StoreList(ctx, "orders", "")
	if err != nil || fmt.Sprint(keys) != "[a b.json]" {
		t.Fatalf("keys after the move: %v, %v", keys, err)
	}
	if v, _, _ := e.StoreGet(ctx, "orders", "a"); string(v) != `"newer"` {
		t.Fatalf("a = %s", v)
	}
	if v, _, _ := e.StoreGet(ctx, "orders", "b.json"); string(v) != `"b"` {
		t.Fatalf("b.json = %s", v)
	}
	if _, err := os.Stat(filepath.Join(dir, "endpoint", "store")); !os.IsNotExist(err) {
		t.Fatalf("the legacy folder is still there: %v", err)
	}
}
