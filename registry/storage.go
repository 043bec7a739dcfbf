package registry

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
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
//	drafts.stamp           a random value stored anew before any draft changes
//	revisions/<n>.json     revision n; never overwritten once stored. Either
//	                       whole (its record set) or a delta: the records
//	                       changed and the names removed since a whole
//	                       revision, its base, which is kept as long as a
//	                       kept revision is based on it
//	current                the index: the live revision, the list of
//	                       revisions and the bases of the deltas; written
//	                       last, so it is the commit point of a publication
//	lock.json              the owner of the storage lock "sync"
//
// A revision also says what the drafts were when it was published, and
// under which stamp: a start that finds that stamp still stored takes the
// drafts from the revision and reads no draft file.
//
// Every key is written whole by certmagic storages (FileStorage renames a
// temporary file over the key). A rollback also rewrites the drafts: the
// index that publishes it carries the rollback's intent (the drafts as it
// found them), the drafts are rewritten, then the index is stored again
// without it. Whoever finds an intent left by a failure finishes it, and
// leaves alone every draft written since.

// storageFormat is the version of the stored files. Files of a newer
// format are refused, never misread; older ones are read as they are.
// Format 3 added delta revisions and the drafts of a revision.
const storageFormat = 3

// revisionFile is the stored form of a revision.
type revisionFile struct {
	Format    int       `json:"format,omitempty"`
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	Kind      string    `json:"kind,omitempty"`
	Message   string    `json:"message,omitempty"`
	Source    string    `json:"source,omitempty"`
	// Records are the published drafts, archived ones included, when the
	// file is whole (Base is 0).
	Records []*Record `json:"records,omitempty"`
	// Base is the whole revision a delta is taken from; 0 when the file
	// is whole.
	Base int64 `json:"base,omitempty"`
	// Changed are the records of a delta that are not Base's: added or
	// changed since.
	Changed []*Record `json:"changed,omitempty"`
	// Removed names the records of Base a delta does not publish.
	Removed []string `json:"removed,omitempty"`
	// Declared are the names of the config's records at publish time.
	Declared []string `json:"declared,omitempty"`
	// Drafts are the drafts as they were when the revision was published;
	// nil when the publisher did not know them.
	Drafts *draftsAt `json:"drafts,omitempty"`

	// records is the published set by name, once loaded (a delta
	// applied); base is the record set of its base (of itself, if whole).
	records, base map[string]*Record
}

// draftsAt says what the drafts were when a revision was published,
// relative to its records: under Stamp, the drafts were the revision's
// records but for Other (drafts that differ, or that a declared record
// hides) and Absent (records without a draft).
type draftsAt struct {
	Stamp  string    `json:"stamp"`
	Other  []*Record `json:"other,omitempty"`
	Absent []string  `json:"absent,omitempty"`
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
	// Bases maps each listed delta revision to its base.
	Bases map[int64]int64 `json:"bases,omitempty"`
	// Held are revisions no longer listed whose files are kept as the
	// bases of listed ones.
	Held []int64 `json:"held,omitempty"`
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
			Message: rf.Message, Source: rf.Source, Endpoints: servedBy(rf)})
		if rf.Base != 0 {
			if ix.Bases == nil {
				ix.Bases = make(map[int64]int64)
			}
			ix.Bases[n] = rf.Base
		}
		ix.Revision = n
	}
	r.logger().Error("the revision index was missing or damaged; rebuilt from the revision files",
		zapKey(r.key("current")), zap.Int64("revision", ix.Revision))
	return ix, nil
}

// servedBy is the number of endpoints revision rf served when it was
// published, as its index entry says: its active records that no
// declared record shadowed, and the declared records.
func servedBy(rf *revisionFile) int {
	n := len(rf.Declared)
	for _, rec := range rf.Records {
		if rec != nil && rec.IsActive() && !slices.Contains(rf.Declared, rec.Name) {
			n++
		}
	}
	return n
}

// loadRevisionFile reads the file of revision rev as it is stored.
func (r *Registry) loadRevisionFile(ctx context.Context, rev int64) (*revisionFile, error) {
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

// loadRevision reads revision rev with its record set: a delta is
// applied to its base. Records are then the set sorted by name.
func (r *Registry) loadRevision(ctx context.Context, rev int64) (*revisionFile, error) {
	rf, err := r.loadRevisionFile(ctx, rev)
	if err != nil {
		return nil, err
	}
	if rf.Base == 0 {
		rf.records = recordMap(rf.Records)
		rf.base = rf.records
		return rf, nil
	}
	base, err := r.loadRevisionFile(ctx, rf.Base)
	if err != nil {
		return nil, fmt.Errorf("loading revision %d, a delta of revision %d: %w", rev, rf.Base, err)
	}
	if base.Base != 0 {
		return nil, fmt.Errorf("loading revision %d: its base %d is a delta itself", rev, rf.Base)
	}
	rf.base = recordMap(base.Records)
	rf.records = maps.Clone(rf.base)
	for _, n := range rf.Removed {
		delete(rf.records, n)
	}
	maps.Copy(rf.records, recordMap(rf.Changed))
	rf.Records = sortedRecords(rf.records)
	return rf, nil
}

// noRevisionFile is the state before the first publication.
func noRevisionFile() *revisionFile {
	return &revisionFile{records: map[string]*Record{}, base: map[string]*Record{}}
}

// loadLive reads the index's live revision. With fallback, a live
// revision that cannot be read falls back to the newest older one that
// reads whole (logged); the revision returned says which it is.
func (r *Registry) loadLive(ctx context.Context, ix *indexFile, fallback bool) (*revisionFile, error) {
	if ix.Revision == 0 {
		return noRevisionFile(), nil
	}
	rf, err := r.loadRevision(ctx, ix.Revision)
	var fe *formatError
	if err == nil {
		return rf, nil
	}
	if !fallback || errors.As(err, &fe) {
		return nil, err
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
		rf.Drafts = nil // the drafts moved on since
		return rf, nil
	}
	r.logger().Error("no stored revision reads whole; serving the declared endpoints only")
	return noRevisionFile(), nil
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

// stampKey holds the drafts' stamp, stored anew before any stored draft
// changes, under the storage lock.
func (r *Registry) stampKey() string { return r.key("drafts.stamp") }

// stampFile is the stored form of the drafts' stamp: a random ID, and the
// journal of the last changes: each step names the drafts changed after
// the stamp From. Format 2 stored the ID alone, as plain text.
type stampFile struct {
	ID  string      `json:"id"`
	Log []stampStep `json:"log,omitempty"`
}

type stampStep struct {
	From  string   `json:"from"`
	Names []string `json:"names"`
}

// maxJournal bounds the names the stamp's journal keeps.
const maxJournal = 256

// parseStamp reads a stored stamp; a plain one is its ID.
func parseStamp(s string) stampFile {
	var sf stampFile
	if json.Unmarshal([]byte(s), &sf) != nil || sf.ID == "" {
		return stampFile{ID: s}
	}
	return sf
}

// changedSince names the drafts the journal of stamp says were changed
// after the stamp of ID id; ok is false when the journal does not reach
// back that far.
func changedSince(stamp, id string) (names []string, ok bool) {
	sf := parseStamp(stamp)
	if id == "" || stamp == "" {
		return nil, false
	}
	if sf.ID == id {
		return nil, true
	}
	for i, step := range sf.Log {
		if step.From != id {
			continue
		}
		seen := map[string]bool{}
		for _, st := range sf.Log[i:] {
			for _, n := range st.Names {
				if !seen[n] {
					seen[n] = true
					names = append(names, n)
				}
			}
		}
		slices.Sort(names)
		return names, true
	}
	return nil, false
}

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

// touchDrafts gives the stored drafts a new stamp before the drafts names
// change (nil: any of them may), so that every instance reads them again
// before it publishes; the stamp's journal names them, so that those are
// all it reads. The storage lock (and r.wmu) must be held. The caller
// reports the outcome of its change to done: this instance goes on
// trusting its memory of the drafts only when it did before (the stamp
// was its own) and the change succeeded.
func (r *Registry) touchDrafts(ctx context.Context, names []string) (done func(error), err error) {
	cur, err := r.loadStamp(ctx)
	if err != nil {
		return nil, err
	}
	next := stampFile{ID: rand.Text()}
	if names != nil && cur != "" {
		prev := parseStamp(cur)
		next.Log = append(slices.Clone(prev.Log), stampStep{From: prev.ID, Names: names})
		total := 0
		for i := len(next.Log) - 1; i >= 0; i-- {
			if total += len(next.Log[i].Names); total > maxJournal {
				next.Log = next.Log[i+1:]
				break
			}
		}
	}
	data, _ := json.Marshal(next)
	if err := r.storage.Store(ctx, r.stampKey(), data); err != nil {
		return nil, fmt.Errorf("storing %s: %w", r.stampKey(), err)
	}
	known := cur != "" && cur == r.draftStamp
	r.draftStamp = ""
	return func(err error) {
		if err == nil && known {
			r.draftStamp = string(data)
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

// baseState is the whole revision the live one is, or is a delta of.
type baseState struct {
	rev  int64
	recs map[string]*Record
}

// deltaLimit is how many records may differ from the base before a
// revision of n records is stored whole again: a one-record sync then
// writes about sqrt(n) records on average instead of n.
func deltaLimit(n int) int {
	return max(64, int(math.Sqrt(float64(2*n))))
}

// revisionToStore makes the file that stores set as revision rev: a delta
// of the live revision's base when few records differ from it, else the
// whole set. With drafts, the file says what the drafts are now. r.wmu and
// the storage lock must be held.
func (r *Registry) revisionToStore(ctx context.Context, rev int64, set map[string]*Record, kind string, o Origin, drafts bool) *revisionFile {
	rf := &revisionFile{Format: storageFormat, Revision: rev, CreatedAt: r.now().UTC().Truncate(time.Millisecond),
		Kind: kind, Message: o.Message, Source: o.Source, records: set}
	rf.Declared = slices.Sorted(maps.Keys(r.cfg.declared))
	if changed, removed, ok := r.deltaOf(ctx, set); ok {
		rf.Base, rf.Changed, rf.Removed, rf.base = r.base.rev, changed, removed, r.base.recs
	} else {
		rf.Records, rf.base = sortedRecords(set), set
	}
	if drafts {
		rf.Drafts = r.draftsNow(set)
	}
	return rf
}

// deltaOf lists what set changes of the base; ok is false when that is
// too much, or there is no base to take a delta of. r.wmu must be held.
func (r *Registry) deltaOf(ctx context.Context, set map[string]*Record) (changed []*Record, removed []string, ok bool) {
	b := r.base
	if b.rev == 0 || b.recs == nil {
		return nil, nil, false
	}
	limit := deltaLimit(len(set))
	for n, rec := range set {
		if old := b.recs[n]; old == nil || (old != rec && !samePublished(old, rec)) {
			if changed = append(changed, rec); len(changed) > limit {
				return nil, nil, false
			}
		}
	}
	for n := range b.recs {
		if _, ok := set[n]; !ok {
			if removed = append(removed, n); len(changed)+len(removed) > limit {
				return nil, nil, false
			}
		}
	}
	if !r.storage.Exists(ctx, r.revisionKey(b.rev)) {
		return nil, nil, false
	}
	slices.SortFunc(changed, func(a, b *Record) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(removed)
	return changed, removed, true
}

// draftsNow says what the drafts are next to set, when this instance
// knows them to be the storage's; nil when it does not, when some cannot
// be read, or when they differ from set in too many records. r.wmu must
// be held.
func (r *Registry) draftsNow(set map[string]*Record) *draftsAt {
	if r.draftStamp == "" || len(r.damaged) > 0 {
		return nil
	}
	d := &draftsAt{Stamp: parseStamp(r.draftStamp).ID}
	limit := deltaLimit(len(set))
	for n, draft := range r.drafts {
		if rec := set[n]; rec == nil || (rec != draft && !samePublished(rec, draft)) {
			if d.Other = append(d.Other, draft); len(d.Other) > limit {
				return nil
			}
		}
	}
	for n := range set {
		if _, ok := r.drafts[n]; !ok {
			if d.Absent = append(d.Absent, n); len(d.Other)+len(d.Absent) > limit {
				return nil
			}
		}
	}
	slices.SortFunc(d.Other, func(a, b *Record) int { return strings.Compare(a.Name, b.Name) })
	slices.Sort(d.Absent)
	return d
}

// draftsOf returns the drafts rf says there were, when the drafts' stamp
// is still the one it names: nothing was written since. ok is false when
// the drafts must be read.
func draftsOf(rf *revisionFile, stamp string) (map[string]*Record, bool) {
	if rf.Drafts == nil || stamp == "" || parseStamp(stamp).ID != rf.Drafts.Stamp {
		return nil, false
	}
	drafts := maps.Clone(rf.records)
	for _, n := range rf.Drafts.Absent {
		delete(drafts, n)
	}
	maps.Copy(drafts, recordMap(rf.Drafts.Other))
	return drafts, true
}

// indexAfter is the index that publishes rf: rf is listed and live, the
// newest keep revisions stay listed. Dropped lists the revision files to
// delete: those no longer listed that no listed delta is based on.
func indexAfter(ix *indexFile, rf *revisionFile, endpoints, keep int, intent *restoreIntent) (next *indexFile, dropped []int64) {
	info := RevisionInfo{Revision: rf.Revision, CreatedAt: rf.CreatedAt, Kind: rf.Kind, Message: rf.Message,
		Source: rf.Source, Endpoints: endpoints}
	kept := append(slices.Clone(ix.Revisions), info)
	var gone []int64
	if len(kept) > keep {
		for _, ri := range kept[:len(kept)-keep] {
			gone = append(gone, ri.Revision)
		}
		kept = kept[len(kept)-keep:]
	}
	next = &indexFile{Format: storageFormat, Revision: rf.Revision, Revisions: kept, Restore: intent}
	bases := map[int64]bool{}
	for _, ri := range kept {
		b := ix.Bases[ri.Revision]
		if ri.Revision == rf.Revision {
			b = rf.Base
		}
		if b != 0 {
			if next.Bases == nil {
				next.Bases = make(map[int64]int64)
			}
			next.Bases[ri.Revision] = b
			bases[b] = true
		}
	}
	listed := func(n int64) bool {
		return slices.ContainsFunc(kept, func(ri RevisionInfo) bool { return ri.Revision == n })
	}
	for _, n := range append(gone, ix.Held...) {
		switch {
		case bases[n] && !listed(n):
			next.Held = append(next.Held, n)
		case !bases[n]:
			dropped = append(dropped, n)
		}
	}
	slices.Sort(next.Held)
	next.Held = slices.Compact(next.Held)
	return next, dropped
}
