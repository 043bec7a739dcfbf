package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// Timing of the storage lock. A holder rewrites its owner record every
// lockBeat; a waiter takes the lock over from an owner whose record has
// not changed for lockLease, at once from a process of this host that is
// gone, and from a lock whose file stays unreadable for lockDamaged.
const (
	lockTry     = 150 * time.Millisecond
	lockPause   = 40 * time.Millisecond
	lockBeat    = time.Second
	lockLease   = 5 * time.Second
	lockDamaged = time.Second
)

// lockOwner is the record a holder of the storage lock keeps next to it,
// so that others can tell a live holder from a dead one.
type lockOwner struct {
	// ID is unique to one holding.
	ID string `json:"id"`
	// Host names the machine: host name and boot id.
	Host string `json:"host"`
	// PID is the holder's process, Process a random id of that process
	// (a restarted container may get the same pid).
	PID     int    `json:"pid"`
	Process string `json:"process"`
	// Beat grows every time the holder refreshes the record.
	Beat  int64     `json:"beat"`
	Since time.Time `json:"since"`
}

var (
	thisProcess = randomID()
	thisHost    = hostID()
)

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func hostID() string {
	h, _ := os.Hostname()
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		h += "/" + strings.TrimSpace(string(b))
	}
	return h
}

// storageLock is the cluster-wide lock of the registry's writes, on top
// of the storage's own Lock: it names its owner and refreshes itself.
type storageLock struct {
	storage  certmagic.Storage
	name     string
	ownerKey string
	log      func() *zap.Logger
}

// held is one holding of the lock.
type held struct {
	l     *storageLock
	owner lockOwner
	mu    sync.Mutex
	stop  chan struct{}
	done  chan struct{}
}

// waitState is what a waiter saw of the lock's owner, by its own clock.
type waitState struct {
	owner      lockOwner
	seen       bool
	since      time.Time
	damagedAt  time.Time
	damagedErr error
}

// acquire takes the lock, waiting as long as ctx allows.
func (l *storageLock) acquire(ctx context.Context) (*held, error) {
	var w waitState
	for {
		tctx, cancel := context.WithTimeout(ctx, lockTry)
		err := l.storage.Lock(tctx, l.name)
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("waiting for the storage lock %s: %w", l.name, ctx.Err())
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			w.damagedAt = time.Time{}
			if reason := l.stale(ctx, &w, false); reason != "" {
				l.takeOver(ctx, &w, reason)
				continue
			}
		} else {
			// the storage could not read its lock (a lock file holding
			// broken JSON): give a writer a moment, then take it over
			if w.damagedAt.IsZero() {
				w.damagedAt, w.damagedErr = time.Now(), err
			}
			if time.Since(w.damagedAt) >= lockDamaged {
				if reason := l.stale(ctx, &w, true); reason != "" {
					l.log().Error("removing a damaged storage lock", zap.String("lock", l.name),
						zap.String("storage", fmt.Sprint(l.storage)), zap.Error(w.damagedErr))
					l.takeOver(ctx, &w, reason)
					w.damagedAt = time.Time{}
					continue
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the storage lock %s: %w", l.name, ctx.Err())
		case <-time.After(lockPause):
		}
	}
	h := &held{l: l, stop: make(chan struct{}), done: make(chan struct{})}
	h.owner = lockOwner{ID: randomID(), Host: thisHost, PID: os.Getpid(), Process: thisProcess, Since: time.Now().UTC()}
	if err := l.writeOwner(ctx, h.owner); err != nil {
		_ = l.storage.Unlock(context.WithoutCancel(ctx), l.name)
		return nil, err
	}
	go h.refresh()
	return h, nil
}

func (l *storageLock) writeOwner(ctx context.Context, o lockOwner) error {
	b, _ := json.Marshal(o)
	if err := l.storage.Store(ctx, l.ownerKey, b); err != nil {
		return fmt.Errorf("storing the owner of the storage lock in %s: %w", l.ownerKey, err)
	}
	return nil
}

// readOwner returns the owner record; ok is false when there is none or
// it does not decode.
func (l *storageLock) readOwner(ctx context.Context) (lockOwner, bool) {
	var o lockOwner
	b, err := l.storage.Load(ctx, l.ownerKey)
	if err != nil || json.Unmarshal(b, &o) != nil || o.ID == "" {
		return lockOwner{}, false
	}
	return o, true
}

// stale says why the current holder of the lock is gone, or "" while it
// may be alive. Without an owner record the lock is stale once it stayed
// so for lockLease (at once when the storage's lock itself is damaged).
func (l *storageLock) stale(ctx context.Context, w *waitState, damaged bool) string {
	o, ok := l.readOwner(ctx)
	now := time.Now()
	if !w.seen || o.ID != w.owner.ID || o.Beat != w.owner.Beat {
		w.owner, w.seen, w.since = o, true, now
	}
	if !ok {
		if damaged {
			return "its lock file cannot be read and no owner claims it"
		}
		if now.Sub(w.since) >= lockLease {
			return fmt.Sprintf("no owner has claimed it for %s", lockLease)
		}
		return ""
	}
	if o.Host == thisHost {
		if o.PID == os.Getpid() && o.Process != thisProcess {
			return fmt.Sprintf("its owner, an earlier process with pid %d, is gone", o.PID)
		}
		if o.PID != os.Getpid() && !processAlive(o.PID) {
			return fmt.Sprintf("its owner, process %d on this host, is no longer running", o.PID)
		}
	}
	if now.Sub(w.since) >= lockLease {
		return fmt.Sprintf("its owner %s (pid %d) stopped refreshing it %s ago", o.Host, o.PID, lockLease)
	}
	return ""
}

// takeOver removes the lock of a holder found gone, if the owner record
// still names that holder.
func (l *storageLock) takeOver(ctx context.Context, w *waitState, reason string) {
	if o, ok := l.readOwner(ctx); ok != (w.owner.ID != "") || o.ID != w.owner.ID || o.Beat != w.owner.Beat {
		w.seen = false // changed meanwhile: look again
		return
	}
	l.log().Warn("taking over the storage lock", zap.String("lock", l.name), zap.String("reason", reason))
	if err := l.storage.Unlock(context.WithoutCancel(ctx), l.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.log().Error("removing a stale storage lock", zap.String("lock", l.name), zap.Error(err))
	}
	if w.owner.ID != "" {
		_ = l.storage.Delete(ctx, l.ownerKey)
	}
	w.seen = false
}

// refresh rewrites the owner record every lockBeat until release.
func (h *held) refresh() {
	defer close(h.done)
	t := time.NewTicker(lockBeat)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
			h.mu.Lock()
			h.owner.Beat++
			o := h.owner
			h.mu.Unlock()
			if err := h.l.writeOwner(context.Background(), o); err != nil {
				h.l.log().Warn("refreshing the storage lock", zap.String("lock", h.l.name), zap.Error(err))
			}
		}
	}
}

// check reports an error when another process took the lock over: a
// holder calls it before a write that commits.
func (h *held) check(ctx context.Context) error {
	o, ok := h.l.readOwner(ctx)
	if ok && o.ID == h.owner.ID {
		return nil
	}
	return fmt.Errorf("lost the storage lock %s to another process (this one was presumed gone)", h.l.name)
}

// release ends the holding.
func (h *held) release(ctx context.Context) {
	close(h.stop)
	<-h.done
	ctx = context.WithoutCancel(ctx)
	if o, ok := h.l.readOwner(ctx); ok && o.ID == h.owner.ID {
		if err := h.l.storage.Delete(ctx, h.l.ownerKey); err != nil {
			h.l.log().Warn("removing the owner of the storage lock", zap.String("key", h.l.ownerKey), zap.Error(err))
		}
	}
	if err := h.l.storage.Unlock(ctx, h.l.name); err != nil {
		h.l.log().Error("unlocking storage", zap.String("lock", h.l.name), zap.Error(err))
	}
}
