// Package faultstore is a test-only Caddy storage module,
// `caddy.storage.endpoint_faults`, built into the integration tests' Caddy:
// Caddy's file storage with faults injected on demand. A JSON file (the
// `faults` option) says which keys fail or hang; it is read again on every
// call, so a test changes the faults of a running Caddy by rewriting it:
//
//	{"fail_store": ["endpoint/drafts/"], "fail_load": [], "hang_store": []}
//
// A failing Store or Delete answers "no space left on device", as a full
// disk would; a failing Load answers an I/O error; a hanging Store waits
// (up to two minutes) until its prefix is gone from the file, after it
// wrote the key to the `<faults>.hit` file so that a test knows the
// process is stuck there. Each entry is a key prefix.
package faultstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/certmagic"
)

func init() {
	caddy.RegisterModule(Storage{})
}

// Storage configures the module.
type Storage struct {
	// Root is the directory of the file storage.
	Root string `json:"root,omitempty"`
	// Faults is the JSON file that lists the faults.
	Faults string `json:"faults,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Storage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.storage.endpoint_faults",
		New: func() caddy.Module { return new(Storage) },
	}
}

// CertMagicStorage returns the storage.
func (s *Storage) CertMagicStorage() (certmagic.Storage, error) {
	if s.Root == "" || s.Faults == "" {
		return nil, fmt.Errorf("endpoint_faults storage: root and faults are required")
	}
	return &faulty{FileStorage: &certmagic.FileStorage{Path: s.Root}, faults: s.Faults}, nil
}

// UnmarshalCaddyfile reads `storage endpoint_faults { root DIR; faults FILE }`.
func (s *Storage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	for d.NextBlock(0) {
		var dst *string
		switch d.Val() {
		case "root":
			dst = &s.Root
		case "faults":
			dst = &s.Faults
		default:
			return d.Errf("unknown option %q", d.Val())
		}
		if !d.NextArg() {
			return d.ArgErr()
		}
		*dst = d.Val()
	}
	return nil
}

type faultList struct {
	FailStore []string `json:"fail_store"`
	FailLoad  []string `json:"fail_load"`
	HangStore []string `json:"hang_store"`
}

type faulty struct {
	*certmagic.FileStorage
	faults string
}

func (f *faulty) read() faultList {
	var fl faultList
	if b, err := os.ReadFile(f.faults); err == nil {
		_ = json.Unmarshal(b, &fl)
	}
	return fl
}

func matches(prefixes []string, key string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

func (f *faulty) hang(key string) {
	if !matches(f.read().HangStore, key) {
		return
	}
	_ = os.WriteFile(f.faults+".hit", []byte(key), 0o600)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		if !matches(f.read().HangStore, key) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *faulty) Store(ctx context.Context, key string, value []byte) error {
	f.hang(key)
	if matches(f.read().FailStore, key) {
		return &os.PathError{Op: "write", Path: key, Err: syscall.ENOSPC}
	}
	return f.FileStorage.Store(ctx, key, value)
}

func (f *faulty) Delete(ctx context.Context, key string) error {
	if matches(f.read().FailStore, key) {
		return &os.PathError{Op: "remove", Path: key, Err: syscall.ENOSPC}
	}
	return f.FileStorage.Delete(ctx, key)
}

func (f *faulty) Load(ctx context.Context, key string) ([]byte, error) {
	if matches(f.read().FailLoad, key) {
		return nil, &os.PathError{Op: "read", Path: key, Err: syscall.EIO}
	}
	return f.FileStorage.Load(ctx, key)
}

func (f *faulty) String() string { return "endpoint_faults:" + f.Root() }

// Root is the storage directory.
func (f *faulty) Root() string { return f.Path }

// Interface guards
var (
	_ caddy.StorageConverter = (*Storage)(nil)
	_ caddyfile.Unmarshaler  = (*Storage)(nil)
)
