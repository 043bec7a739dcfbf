package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/aymanbagabas/go-udiff"
)

// RevisionDetail is a revision with the record set it published.
type RevisionDetail struct {
	RevisionInfo
	// Records are the published records, archived ones included, sorted
	// by name. Records declared in the config are not stored with a
	// revision: Declared names them.
	Records []Record `json:"records"`
	// Declared names the config's records at publish time.
	Declared []string `json:"declared"`
}

// RevisionDiff is what changed from one revision to another.
type RevisionDiff struct {
	From    int64        `json:"from"`
	To      int64        `json:"to"`
	Added   []string     `json:"added"`
	Removed []string     `json:"removed"`
	Changed []RecordDiff `json:"changed"`
}

// RecordDiff is how one record differs between two revisions.
type RecordDiff struct {
	Name string `json:"name"`
	// Fields are the JSON fields whose values differ, sorted.
	Fields []string `json:"fields"`
	// CodeDiff is a unified diff of code_snippet; "" when it is the same.
	CodeDiff string `json:"code_diff"`
	// SchemaDiff is a unified diff of request_content_schema.
	SchemaDiff string `json:"schema_diff"`
}

func noRevision(rev int64) error {
	return errorf(KindNotFound, fmt.Sprintf("no revision %d (it does not exist or was pruned)", rev))
}

// listedRevision loads a revision listed by the index; a revision that is
// not listed (never made, or pruned) is KindNotFound.
func (r *Registry) listedRevision(ctx context.Context, rev int64) (*RevisionInfo, *revisionFile, error) {
	r.mu.RLock()
	var info *RevisionInfo
	for i := range r.revisions {
		if r.revisions[i].Revision == rev {
			ri := r.revisions[i]
			info = &ri
		}
	}
	r.mu.RUnlock()
	if info == nil {
		return nil, nil, noRevision(rev)
	}
	rf, err := r.loadRevision(ctx, rev)
	if err != nil {
		return nil, nil, err
	}
	return info, rf, nil
}

// Revision returns revision rev with its records.
func (r *Registry) Revision(ctx context.Context, rev int64) (RevisionDetail, error) {
	info, rf, err := r.listedRevision(ctx, rev)
	if err != nil {
		return RevisionDetail{}, err
	}
	d := RevisionDetail{RevisionInfo: *info, Records: []Record{}, Declared: rf.Declared}
	if d.Declared == nil {
		d.Declared = []string{}
	}
	recs := recordMap(rf.Records)
	for _, n := range slices.Sorted(maps.Keys(recs)) {
		d.Records = append(d.Records, *recs[n])
	}
	return d, nil
}

// Diff compares revision from with revision to (the live revision when to
// is 0): records added, removed, and for each changed one the fields that
// differ and unified diffs of its code and schema.
func (r *Registry) Diff(ctx context.Context, from, to int64) (RevisionDiff, error) {
	if to == 0 {
		to = r.Live().Revision()
	}
	_, a, err := r.listedRevision(ctx, from)
	if err != nil {
		return RevisionDiff{}, err
	}
	_, b, err := r.listedRevision(ctx, to)
	if err != nil {
		return RevisionDiff{}, err
	}
	old, cur := recordMap(a.Records), recordMap(b.Records)
	d := RevisionDiff{From: from, To: to, Added: []string{}, Removed: []string{}, Changed: []RecordDiff{}}
	for _, n := range slices.Sorted(maps.Keys(cur)) {
		if _, ok := old[n]; !ok {
			d.Added = append(d.Added, n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(old)) {
		next, ok := cur[n]
		if !ok {
			d.Removed = append(d.Removed, n)
			continue
		}
		if rd := diffRecords(old[n], next, from, to); len(rd.Fields) > 0 {
			d.Changed = append(d.Changed, rd)
		}
	}
	return d, nil
}

// diffRecords compares what two records say; versions and times are left
// out, so a record rewritten with the same content has no change.
func diffRecords(a, b *Record, from, to int64) RecordDiff {
	rd := RecordDiff{Name: a.Name, Fields: []string{}}
	fa, fb := fieldValues(a), fieldValues(b)
	for _, k := range slices.Sorted(maps.Keys(fieldUnion(fa, fb))) {
		if string(fa[k]) != string(fb[k]) {
			rd.Fields = append(rd.Fields, k)
		}
	}
	label := func(rev int64, what string) string {
		return "revision " + strconv.FormatInt(rev, 10) + "/" + a.Name + "/" + what
	}
	if a.CodeSnippet != b.CodeSnippet {
		rd.CodeDiff = udiff.Unified(label(from, "code_snippet"), label(to, "code_snippet"), a.CodeSnippet, b.CodeSnippet)
	}
	if a.RequestContentSchema != b.RequestContentSchema {
		rd.SchemaDiff = udiff.Unified(label(from, "request_content_schema"), label(to, "request_content_schema"),
			a.RequestContentSchema, b.RequestContentSchema)
	}
	return rd
}

// fieldValues returns the JSON encoding of each written field of rec.
func fieldValues(rec *Record) map[string]json.RawMessage {
	c := cloneRecord(rec)
	c.SyncState, c.Version, c.UpdatedAt = "", 0, nil
	data, _ := json.Marshal(c)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(data, &m)
	return m
}

func fieldUnion(a, b map[string]json.RawMessage) map[string]bool {
	u := make(map[string]bool, len(a)+len(b))
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}
