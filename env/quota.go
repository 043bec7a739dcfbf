package env

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"
)

// recountEvery is how old a namespace's count may grow before it is
// taken from the storage again (it drifts by what other instances wrote).
const recountEvery = time.Minute

// usage is the number of keys and bytes of one namespace. The hot path
// takes mu only for arithmetic; counting from storage happens under
// countMu, which no put waits on once a count exists.
type usage struct {
	countMu sync.Mutex
	mu      sync.Mutex
	counted time.Time
	keys    int
	bytes   int64
}

func (s *Service) usageOf(ns string) *usage {
	u, _ := s.usage.LoadOrStore(ns, new(usage))
	return u.(*usage)
}

// count makes sure u holds a count not older than recountEvery.
func (e *boundEnv) count(ctx context.Context, ns string, u *usage) error {
	u.mu.Lock()
	fresh := !u.counted.IsZero() && time.Since(u.counted) < recountEvery
	u.mu.Unlock()
	if fresh {
		return nil
	}
	u.countMu.Lock()
	defer u.countMu.Unlock()
	u.mu.Lock()
	fresh = !u.counted.IsZero() && time.Since(u.counted) < recountEvery
	u.mu.Unlock()
	if fresh {
		return nil
	}
	st := e.s.cfg.Storage
	found, err := st.List(ctx, path.Join(e.s.cfg.Prefix, ns), false)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("counting store namespace %q: %v", ns, err)
	}
	keys, bytes := 0, int64(0)
	for _, full := range found {
		if _, ok := keyOf(full); !ok {
			continue
		}
		info, err := st.Stat(ctx, full)
		if err != nil {
			continue // deleted meanwhile
		}
		keys++
		bytes += info.Size
	}
	u.mu.Lock()
	u.keys, u.bytes, u.counted = keys, bytes, time.Now()
	u.mu.Unlock()
	return nil
}

// reserve books a put of size bytes over a value of old bytes (existed
// false: a new key) against the namespace's quota; the returned function
// gives the booking back when the write fails.
func (e *boundEnv) reserve(ctx context.Context, ns, key string, size int64) (undo func(), err error) {
	u := e.s.usageOf(ns)
	if err := e.count(ctx, ns, u); err != nil {
		return nil, err
	}
	var old int64
	existed := false
	if info, err := e.s.cfg.Storage.Stat(ctx, e.storeKey(ns, key)); err == nil {
		old, existed = info.Size, true
	}
	dk, db := 1, size-old
	if existed {
		dk = 0
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if dk > 0 && u.keys+dk > e.s.cfg.MaxKeys {
		return nil, fmt.Errorf("store namespace %q is full: it holds %d keys, the limit (store_max_keys) is %d", ns, u.keys, e.s.cfg.MaxKeys)
	}
	if db > 0 && u.bytes+db > e.s.cfg.MaxBytes {
		return nil, fmt.Errorf("store namespace %q is full: its values hold %d bytes, this one adds %d, the limit (store_max_bytes) is %d", ns, u.bytes, db, e.s.cfg.MaxBytes)
	}
	u.keys += dk
	u.bytes += db
	return func() {
		u.mu.Lock()
		u.keys -= dk
		u.bytes -= db
		u.mu.Unlock()
	}, nil
}

// released books the deletion of a key of size bytes.
func (e *boundEnv) released(ns string, size int64) {
	u := e.s.usageOf(ns)
	u.mu.Lock()
	if !u.counted.IsZero() {
		u.keys = max(u.keys-1, 0)
		u.bytes = max(u.bytes-size, 0)
	}
	u.mu.Unlock()
}

// keyOf returns the store key a storage key holds, if it holds one: the
// storage's temporary files and anything else in the folder are not keys.
func keyOf(full string) (string, bool) {
	k, ok := strings.CutSuffix(path.Base(full), valueSuffix)
	if !ok || checkName("", k) != nil {
		return "", false
	}
	return k, true
}
