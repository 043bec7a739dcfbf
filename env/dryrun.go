package env

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Change is one store key a dry run wrote or deleted, with its final
// state.
type Change struct {
	// Op is "put" or "delete".
	Op        string `json:"op"`
	Namespace string `json:"namespace"`
	Key       string `json:"key"`
	// Value is the JSON value put; absent for a delete.
	Value json.RawMessage `json:"value,omitempty"`
}

// Overlay is the scratch store of a dry run: it holds the writes and
// deletes so that nothing reaches the storage. It is safe for concurrent
// use.
type Overlay struct {
	mu      sync.Mutex
	max     int
	size    int
	entries map[overlayKey]overlayEntry
}

type overlayKey struct{ ns, key string }

type overlayEntry struct {
	value   []byte
	deleted bool
}

func newOverlay(max int) *Overlay {
	return &Overlay{max: max, entries: make(map[overlayKey]overlayEntry)}
}

func (o *Overlay) get(ns, key string) (value []byte, deleted, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	e, ok := o.entries[overlayKey{ns, key}]
	return e.value, e.deleted, ok
}

func (o *Overlay) put(ns, key string, value []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := overlayKey{ns, key}
	size := o.size - len(o.entries[k].value) + len(value)
	if size > o.max {
		return fmt.Errorf("store namespace %q key %q: the dry-run overlay would hold %d bytes, over its limit of %d bytes", ns, key, size, o.max)
	}
	o.size = size
	o.entries[k] = overlayEntry{value: append([]byte(nil), value...)}
	return nil
}

func (o *Overlay) delete(ns, key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	k := overlayKey{ns, key}
	o.size -= len(o.entries[k].value)
	o.entries[k] = overlayEntry{deleted: true}
}

// mergeList applies the overlay to keys listed from the storage.
func (o *Overlay) mergeList(ns, prefix string, keys []string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := keys[:0]
	for _, k := range keys {
		if e, ok := o.entries[overlayKey{ns, k}]; ok && e.deleted {
			continue
		}
		out = append(out, k)
	}
	listed := make(map[string]bool, len(out))
	for _, k := range out {
		listed[k] = true
	}
	for k, e := range o.entries {
		if k.ns == ns && !e.deleted && strings.HasPrefix(k.key, prefix) && !listed[k.key] {
			out = append(out, k.key)
		}
	}
	return out
}

// Changes lists the final state of every key the dry run wrote or
// deleted, sorted by namespace and key.
func (o *Overlay) Changes() []Change {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]Change, 0, len(o.entries))
	for k, e := range o.entries {
		c := Change{Op: "put", Namespace: k.ns, Key: k.key, Value: append(json.RawMessage(nil), e.value...)}
		if e.deleted {
			c = Change{Op: "delete", Namespace: k.ns, Key: k.key}
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Key < out[j].Key
	})
	return out
}
