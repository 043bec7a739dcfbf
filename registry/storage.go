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

	"go.uber.org/zap"
)

// Storage layout under Options.Prefix:
//
//	drafts/<name>.json     one draft record per key
//	revisions/<n>.json     the record set published as revision n; never
//	                       overwritten once stored
//	current                the index: the live revision and the list of
//	                       revisions; written last, so it is the commit
//	                       point of a publication
//	lock.json              the owner of the storage lock "sync"
//
// Every key is written whole by certmagic storages (FileStorage renames a
// temporary file over the key). A rollback also rewrites the drafts: the
// index that publishes it carries the rollback's intent (the drafts as it
// found them), the drafts are rewritten, then the index is stored again
// without it. Whoever finds an intent left by a failure finishes it, and
// leaves alone every draft written since.

// storageFormat is the version of the stored files. Files of a newer
// format are refused, never misread.
const storageFormat = 2

// revisionFile is the stored form of a revision.
type revisionFile struct {
	Format    int       `json:"format,omitempty"`
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
	Format    int            `json:"format,omitempty"`
	Revision  int64          `json:"revision"`
	Revisions []RevisionInfo `json:"revisions"`
	// RestoreDrafts is the intent flag of format 1, which did not say
	// which drafts the rollback found; it is not acted on.
	RestoreDrafts bool `json:"restore_drafts,omitempty"`
	// Restore is a rollback whose drafts may not all be rewritten yet.
	Restore *restoreIntent `json:"restore,omitempty"`
}

// restoreIntent is what a rollback is to do to the drafts: make them the
// records of Revision, but only those that are still as Base says.
type restoreIntent struct {
	Revision int64 `json:"revision"`
	// Base is each draft as the rollback found it.
	Base map[string]draftStamp `json:"base"`
}

// draftStamp identifies one stored state of a draft.
type draftStamp struct {
	Version   int64      `json:"version"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

func stampOf(rec *Record) draftStamp {
	return draftStamp{Version: rec.Version, UpdatedAt: rec.UpdatedAt}
}

func (s draftStamp) is(rec *Record) bool {
	return rec != nil && samePublished(&Record{Version: s.Version, UpdatedAt: s.UpdatedAt}, rec)
}

// formatError is a stored file of a format this build does not read.
type formatError struct {
	key    string
	format int
}

func (e *formatError) Error() string {
	return fmt.Sprintf("%s is of storage format %d; this build reads formats up to %d: run a newer build", e.key, e.format, storageFormat)
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

// loadIndex reads the index; found is false when there is none.
func (r *Registry) loadIndex(ctx context.Context) (ix *indexFile, found bool, err error) {
	ix = new(indexFile)
	key := r.key("current")
	found, err = r.loadJSON(ctx, key, ix)
	if err != nil {
		return nil, found, err
	}
	if ix.Format > storageFormat {
		return nil, true, &formatError{key, ix.Format}
	}
	sort.Slice(ix.Revisions, func(i, j int) bool { return ix.Revisions[i].Revision < ix.Revisions[j].Revision })
	return ix, found, nil
}

// readIndex reads the index. With fallback, an index that cannot be read,
// or is missing while revisions are stored, is rebuilt from the revision
// files that read whole, and the damage is logged.
func (r *Registry) readIndex(ctx context.Context, fallback bool) (*indexFile, error) {
	ix, found, err := r.loadIndex(ctx)
	var fe *formatError
	switch {
	case errors.As(err, &fe):
		return nil, err
	case err != nil && !fallback:
		return nil, err
	case err != nil:
		r.logger().Error("the revision index cannot be read; rebuilding it from the revision files",
			zapKey(r.key("current")), zapErr(err))
		return r.rebuildIndex(ctx)
	case !found:
		return r.rebuildIndex(ctx)
	}
	return ix, nil
}

// revisionNumbers lists the numbers of the stored revision files.
func (r *Registry) revisionNumbers(ctx context.Context) ([]int64, error) {
	dir := r.key("revisions")
	keys, err := r.storage.List(ctx, dir, false)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	var nums []int64
	for _, k := range keys {
		n, err := strconv.ParseInt(strings.TrimSuffix(path.Base(k), ".json"), 10, 64)
		if err == nil && n > 0 && strings.HasSuffix(k, ".json") {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	return nums, nil
}

// rebuildIndex makes an index of the revision files that read whole; the
// newest of them is live.
func (r *Registry) rebuildIndex(ctx context.Context) (*indexFile, error) {
	nums, err := r.revisionNumbers(ctx)
	if err != nil {
		return nil, err
	}
	ix := &indexFile{Format: storageFormat}
	if len(nums) == 0 {
		return ix, nil
	}
	for _, n := range nums {
		rf, err := r.loadRevision(ctx, n)
		if err != nil {
			r.logger().Error("skipping a revision file that cannot be read", zapKey(r.revisionKey(n)), zapErr(err))
			continue
		}
		ix.Revisions = append(ix.Revisions, RevisionInfo{Revision: n, CreatedAt: rf.CreatedAt, Kind: rf.Kind,
			Message: rf.Message, Source: rf.Source, Endpoints: countActive(rf.Records)})
		ix.Revision = n
	}
	r.logger().Error("the revision index was missing or damaged; rebuilt from the revision files",
		zapKey(r.key("current")), zap.Int64("revision", ix.Revision))
	return ix, nil
}

func countActive(recs []*Record) int {
	n := 0
	for _, rec := range recs {
		if rec != nil && rec.IsActive() {
			n++
		}
	}
	return n
}

func (r *Registry) loadRevision(ctx context.Context, rev int64) (*revisionFile, error) {
	rf := new(revisionFile)
	key := r.revisionKey(rev)
	found, err := r.loadJSON(ctx, key, rf)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("loading revision %d: %s: %w", rev, key, fs.ErrNotExist)
	}
	if rf.Format > storageFormat {
		return nil, &formatError{key, rf.Format}
	}
	return rf, nil
}

// loadLive reads the records of the index's live revision. With fallback,
// a live revision that cannot be read falls back to the newest older one
// that reads whole (logged); rev is the revision returned.
func (r *Registry) loadLive(ctx context.Context, ix *indexFile, fallback bool) (rev int64, published map[string]*Record, err error) {
	if ix.Revision == 0 {
		return 0, map[string]*Record{}, nil
	}
	rf, err := r.loadRevision(ctx, ix.Revision)
	var fe *formatError
	if err == nil {
		return ix.Revision, recordMap(rf.Records), nil
	}
	if !fallback || errors.As(err, &fe) {
		return 0, nil, err
	}
	r.logger().Error("the live revision cannot be read; serving the newest revision that reads whole",
		zapKey(r.revisionKey(ix.Revision)), zapErr(err))
	for i := len(ix.Revisions) - 1; i >= 0; i-- {
		n := ix.Revisions[i].Revision
		if n >= ix.Revision {
			continue
		}
		rf, err := r.loadRevision(ctx, n)
		if err != nil {
			r.logger().Error("skipping a revision file that cannot be read", zapKey(r.revisionKey(n)), zapErr(err))
			continue
		}
		r.logger().Warn("serving an older revision", zap.Int64("revision", n), zap.Int64("index_revision", ix.Revision))
		return n, recordMap(rf.Records), nil
	}
	r.logger().Error("no stored revision reads whole; serving the declared endpoints only")
	return 0, map[string]*Record{}, nil
}

// nextRevision is the first number above every revision the index lists
// and every revision file stored: a number is never used twice.
func (r *Registry) nextRevision(ctx context.Context, ix *indexFile) (int64, error) {
	n := ix.maxRevision() + 1
	for i := 0; r.storage.Exists(ctx, r.revisionKey(n)); i++ {
		if i == 1000 {
			return 0, fmt.Errorf("choosing a revision number: %s and the 1000 before exist", r.revisionKey(n))
		}
		n++
	}
	return n, nil
}

// loadDrafts reads every stored draft. A draft that cannot be read is left
// out and reported in damaged (one detail a key): starting serves without
// it, a publication refuses.
func (r *Registry) loadDrafts(ctx context.Context) (drafts map[string]*Record, damaged []Detail, err error) {
	dir := r.key("drafts")
	keys, err := r.storage.List(ctx, dir, false)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	// a key without .json is a temporary file of an interrupted write
	keys = slices.DeleteFunc(keys, func(k string) bool { return !strings.HasSuffix(k, ".json") })
	drafts = make(map[string]*Record, len(keys))
	for i, l := range r.loadAll(ctx, keys) {
		k, rec := keys[i], l.rec
		if l.err != nil {
			damaged = append(damaged, Detail{Message: l.err.Error()})
			continue
		}
		if !l.found {
			continue
		}
		if !ValidName(rec.Name) || path.Base(k) != nameKey(rec.Name) {
			damaged = append(damaged, Detail{Message: k + ": the record in it is not named for the key"})
			continue
		}
		normalize(rec)
		rec.SyncState = ""
		drafts[rec.Name] = rec
	}
	return drafts, damaged, nil
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
// lock (and r.wmu) must be held. The caller reports the outcome of its change to
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

// loadDraft reads the stored draft name, nil when there is none. Any
// other failure is an error: a draft that cannot be read is not absent.
func (r *Registry) loadDraft(ctx context.Context, name string) (*Record, error) {
	rec := new(Record)
	key := r.draftKey(name)
	found, err := r.loadJSON(ctx, key, rec)
	if err != nil {
		return nil, fmt.Errorf("reading the stored draft of %q: %w", name, err)
	}
	if !found {
		return nil, nil
	}
	if rec.Name != name {
		return nil, fmt.Errorf("reading the stored draft of %q: %s holds a record named %q", name, key, rec.Name)
	}
	normalize(rec)
	rec.SyncState = ""
	return rec, nil
}

// lockWait bounds how long a write waits for the storage lock.
const lockWait = time.Minute

// lockStorage takes the cluster-wide lock that serializes draft writes and
// publications.
func (r *Registry) lockStorage(ctx context.Context) (*held, error) {
	ctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	return r.lock.acquire(ctx)
}
