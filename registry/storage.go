package registry

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Storage layout under Options.Prefix:
//
//	drafts/<name>.json     one draft record per key
//	revisions/<n>.json     the record set published as revision n
//	current                the index: the live revision and the list of
//	                       revisions; written last, so a crash between
//	                       writes leaves the previous revision live
//
// Every key is written whole by certmagic storages (FileStorage renames a
// temporary file over the key). A rollback rewrites many drafts: it first
// writes the index with restore_drafts set, then the drafts, then the index
// again without it; a registry that finds the flag set redoes the rewrite.

// revisionFile is the stored form of a revision.
type revisionFile struct {
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	Kind      string    `json:"kind,omitempty"`
	Message   string    `json:"message,omitempty"`
	Source    string    `json:"source,omitempty"`
	// Records are the published drafts, archived ones included.
	Records []*Record `json:"records"`
	// Declared are the names of the config's records at publish time.
	Declared []string `json:"declared,omitempty"`
}

// indexFile is the stored form of the "current" key.
type indexFile struct {
	Revision  int64          `json:"revision"`
	Revisions []RevisionInfo `json:"revisions"`
	// RestoreDrafts is set while the drafts are being rewritten to the
	// records of Revision (rollback).
	RestoreDrafts bool `json:"restore_drafts,omitempty"`
}

func (ix *indexFile) maxRevision() int64 {
	var m int64
	for _, ri := range ix.Revisions {
		m = max(m, ri.Revision)
	}
	return max(m, ix.Revision)
}

func (ix *indexFile) has(rev int64) bool {
	for _, ri := range ix.Revisions {
		if ri.Revision == rev {
			return true
		}
	}
	return false
}

func (r *Registry) key(parts ...string) string {
	return path.Join(append([]string{r.prefix}, parts...)...)
}

// nameKey maps a record name to a storage key part that stays unique on
// case-insensitive file systems.
func nameKey(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			b.WriteByte('~')
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	b.WriteString(".json")
	return b.String()
}

func (r *Registry) draftKey(name string) string { return r.key("drafts", nameKey(name)) }

func (r *Registry) revisionKey(rev int64) string {
	return r.key("revisions", strconv.FormatInt(rev, 10)+".json")
}

func (r *Registry) storeJSON(ctx context.Context, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %v", key, err)
	}
	if err := r.storage.Store(ctx, key, data); err != nil {
		return fmt.Errorf("storing %s: %w", key, err)
	}
	return nil
}

// loadJSON reads key into v; found is false when the key does not exist.
func (r *Registry) loadJSON(ctx context.Context, key string, v any) (found bool, err error) {
	data, err := r.storage.Load(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("loading %s: %w", key, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("decoding %s: %v", key, err)
	}
	return true, nil
}

func (r *Registry) loadIndex(ctx context.Context) (*indexFile, error) {
	ix := new(indexFile)
	if _, err := r.loadJSON(ctx, r.key("current"), ix); err != nil {
		return nil, err
	}
	sort.Slice(ix.Revisions, func(i, j int) bool { return ix.Revisions[i].Revision < ix.Revisions[j].Revision })
	return ix, nil
}

func (r *Registry) loadRevision(ctx context.Context, rev int64) (*revisionFile, error) {
	rf := new(revisionFile)
	found, err := r.loadJSON(ctx, r.revisionKey(rev), rf)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("loading revision %d: %w", rev, fs.ErrNotExist)
	}
	return rf, nil
}

// loadDrafts reads every stored draft. A draft that cannot be decoded is
// logged and skipped so that one damaged key does not stop the server.
func (r *Registry) loadDrafts(ctx context.Context) (map[string]*Record, error) {
	dir := r.key("drafts")
	keys, err := r.storage.List(ctx, dir, false)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	keys = slices.DeleteFunc(keys, func(k string) bool {
		return !strings.HasSuffix(k, ".json") // a temporary file of an interrupted write
	})
	loaded := r.loadAll(ctx, keys)
	drafts := make(map[string]*Record, len(keys))
	for i, k := range keys {
		rec, found, err := loaded[i].rec, loaded[i].found, loaded[i].err
		if err != nil {
			r.logger().Error("skipping unreadable draft", zapKey(k), zapErr(err))
			continue
		}
		if !found {
			continue
		}
		if !ValidName(rec.Name) || path.Base(k) != nameKey(rec.Name) {
			r.logger().Error("skipping draft stored under a foreign key", zapKey(k))
			continue
		}
		normalize(rec)
		rec.SyncState = ""
		drafts[rec.Name] = rec
	}
	return drafts, nil
}

// loaded is one record read by loadAll.
type loaded struct {
	rec   *Record
	found bool
	err   error
}

// loadAll reads the records stored under keys, several at a time: at
// start and when another instance changed the drafts, reading them is
// most of the work.
func (r *Registry) loadAll(ctx context.Context, keys []string) []loaded {
	out := make([]loaded, len(keys))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(4*runtime.GOMAXPROCS(0), len(keys)/16+1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(keys) {
					return
				}
				rec := new(Record)
				found, err := r.loadJSON(ctx, keys[i], rec)
				out[i] = loaded{rec, found, err}
			}
		}()
	}
	wg.Wait()
	return out
}

// stampKey holds the drafts' stamp: a random value stored anew before
// any stored draft changes, under the storage lock.
func (r *Registry) stampKey() string { return r.key("drafts.stamp") }

// loadStamp reads the drafts' stamp; "" when there is none yet.
func (r *Registry) loadStamp(ctx context.Context) (string, error) {
	data, err := r.storage.Load(ctx, r.stampKey())
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("loading %s: %w", r.stampKey(), err)
	}
	return string(data), nil
}

// touchDrafts gives the stored drafts a new stamp before they change, so
// that every instance reads them again before it publishes. The storage
// lock must be held. The caller reports the outcome of its change to
// done: this instance goes on trusting its memory of the drafts only
// when it did before (the stamp was its own) and the change succeeded.
func (r *Registry) touchDrafts(ctx context.Context) (done func(error), err error) {
	cur, err := r.loadStamp(ctx)
	if err != nil {
		return nil, err
	}
	next := rand.Text()
	if err := r.storage.Store(ctx, r.stampKey(), []byte(next)); err != nil {
		return nil, fmt.Errorf("storing %s: %w", r.stampKey(), err)
	}
	known := cur != "" && cur == r.draftStamp
	r.draftStamp = ""
	return func(err error) {
		if err == nil && known {
			r.draftStamp = next
		}
	}, nil
}

// lockStorage takes the cluster-wide lock that serializes publishing.
func (r *Registry) lockStorage(ctx context.Context) (func(), error) {
	name := r.key("sync")
	if err := r.storage.Lock(ctx, name); err != nil {
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	return func() {
		if err := r.storage.Unlock(context.WithoutCancel(ctx), name); err != nil {
			r.logger().Error("unlocking storage", zapKey(name), zapErr(err))
		}
	}, nil
}

// refreshDraft re-reads the stored draft name before a write checks it, so
// that an instance sharing the storage sees a draft another instance
// wrote or deleted (409 on create, 412 on a stale If-Match). r.mu must be
// held. A storage error leaves the cached draft as it is.
func (r *Registry) refreshDraft(ctx context.Context, name string) {
	rec := new(Record)
	found, err := r.loadJSON(ctx, r.draftKey(name), rec)
	switch {
	case err != nil:
		return
	case !found:
		if r.drafts[name] != nil {
			r.setDraft(name, nil)
		}
	case rec.Name == name:
		normalize(rec)
		rec.SyncState = ""
		if cur := r.drafts[name]; cur == nil || !samePublished(cur, rec) || !sameContent(cur, rec) {
			r.setDraft(name, rec)
		}
	}
}
