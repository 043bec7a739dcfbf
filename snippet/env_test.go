package snippet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// fakeEnv is an in-memory execmode.Env that records every call. Namespaces
// in writable may be written, those in readable read; secrets and hosts
// are granted when present in the maps.
type fakeEnv struct {
	mu       sync.Mutex
	data     map[string][]byte
	readable map[string]bool
	writable map[string]bool
	secrets  map[string]string
	answers  map[string]*execmode.OutboundResponse
	calls    []string
	requests []*execmode.OutboundRequest
	deadline bool
}

func newFakeEnv() *fakeEnv {
	return &fakeEnv{
		data:     map[string][]byte{},
		readable: map[string]bool{"orders": true, "config": true},
		writable: map[string]bool{"orders": true},
		secrets:  map[string]string{"webhook_key": "s3cret"},
		answers:  map[string]*execmode.OutboundResponse{},
	}
}

func (e *fakeEnv) record(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, fmt.Sprintf(format, args...))
}

func (e *fakeEnv) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

func (e *fakeEnv) checkCtx(ctx context.Context) {
	if _, ok := ctx.Deadline(); ok {
		e.mu.Lock()
		e.deadline = true
		e.mu.Unlock()
	}
}

func (e *fakeEnv) StoreGet(ctx context.Context, ns, key string) ([]byte, bool, error) {
	e.checkCtx(ctx)
	e.record("get %s/%s", ns, key)
	if !e.readable[ns] && !e.writable[ns] {
		return nil, false, fmt.Errorf("user bot has no grant to read store namespace %q (grant store %s read)", ns, ns)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.data[ns+"/"+key]
	return v, ok, nil
}

func (e *fakeEnv) StorePut(ctx context.Context, ns, key string, value []byte) error {
	e.checkCtx(ctx)
	e.record("put %s/%s %s", ns, key, value)
	if !e.writable[ns] {
		return fmt.Errorf("user bot has no grant to write store namespace %q (grant store %s write)", ns, ns)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.data[ns+"/"+key] = value
	return nil
}

func (e *fakeEnv) StoreDelete(ctx context.Context, ns, key string) error {
	e.record("delete %s/%s", ns, key)
	if !e.writable[ns] {
		return fmt.Errorf("user bot has no grant to write store namespace %q", ns)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.data, ns+"/"+key)
	return nil
}

func (e *fakeEnv) StoreList(ctx context.Context, ns, prefix string) ([]string, error) {
	e.record("list %s %s", ns, prefix)
	if !e.readable[ns] && !e.writable[ns] {
		return nil, fmt.Errorf("user bot has no grant to read store namespace %q", ns)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var keys []string
	for k := range e.data {
		if rest, ok := strings.CutPrefix(k, ns+"/"); ok && strings.HasPrefix(rest, prefix) {
			keys = append(keys, rest)
		}
	}
	slices.Sort(keys)
	return keys, nil
}

func (e *fakeEnv) Secret(name string) (string, error) {
	e.record("secret %s", name)
	v, ok := e.secrets[name]
	if !ok {
		return "", fmt.Errorf("user bot has no grant for secret %q (grant secret %s)", name, name)
	}
	return v, nil
}

func (e *fakeEnv) HTTP(ctx context.Context, req *execmode.OutboundRequest) (*execmode.OutboundResponse, error) {
	e.checkCtx(ctx)
	e.record("http %s %s", req.Method, req.URL)
	e.mu.Lock()
	e.requests = append(e.requests, req)
	e.mu.Unlock()
	resp, ok := e.answers[req.URL]
	if !ok {
		return nil, errors.New("user bot has no grant for http host (grant http api.example.com)")
	}
	return resp, nil
}

var _ execmode.Env = (*fakeEnv)(nil)
