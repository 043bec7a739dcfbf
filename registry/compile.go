package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/schema"
)

// config is what the registry takes from the Caddy config; it is replaced
// whole by Configure.
type config struct {
	execModes     map[string]execmode.ExecMode
	compileSchema func(contentType, source string) (schema.Validator, error)
	userExists    func(name string) bool
	// declared are the config's records by name, and their entries.
	declared        map[string]*Record
	declaredEntries []*Entry
	// keepRevisions is how many revisions publishing keeps.
	keepRevisions int
	runExamples   ExampleRunner
}

// compilations counts exec-mode compilations in this process.
var compilations atomic.Uint64

// Compilations returns how many times an exec mode compiled a record in
// this process: it shows that reloads and syncs reuse what did not change.
func Compilations() uint64 { return compilations.Load() }

// cache keeps compiled programs and schemas by content hash, so that a
// config reload or a sync does not recompile what did not change.
type cache struct {
	mu       sync.Mutex
	programs map[string]execmode.Program
	schemas  map[string]schema.Validator
	keys     map[*Record]recKeys
	// checked are the entries of records that passed check, by record:
	// a record checked again under the same config at the same version
	// gets its entry back without a field check, compilation or
	// allocation, so a sync or a reload costs nothing per unchanged
	// record.
	checked map[*Record]checkedEntry
}

// checkedEntry is the entry a record passed check with, and under what.
type checkedEntry struct {
	cfg      *config
	version  int64
	declared bool
	e        *Entry
}

func newCache() *cache {
	return &cache{
		programs: make(map[string]execmode.Program),
		schemas:  make(map[string]schema.Validator),
		keys:     make(map[*Record]recKeys),
		checked:  make(map[*Record]checkedEntry),
	}
}

// contentKey hashes what a record says, read-only fields left out.
func contentKey(rec *Record) string {
	c := *rec
	c.SyncState, c.Version, c.UpdatedAt = "", 0, nil
	data, _ := json.Marshal(&c)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func schemaKey(contentType, source string) string {
	h := sha256.New()
	h.Write([]byte(contentType))
	h.Write([]byte{0})
	h.Write([]byte(source))
	return hex.EncodeToString(h.Sum(nil))
}

// sameContent reports whether two records say the same thing.
func sameContent(a, b *Record) bool { return contentKey(a) == contentKey(b) }

// recKeys are the cache keys of a record's program and schema.
type recKeys struct {
	program, schema string
}

// keysOf returns rec's cache keys, hashing a stored record only once.
func (c *cache) keysOf(rec *Record) recKeys {
	c.mu.Lock()
	k, ok := c.keys[rec]
	c.mu.Unlock()
	if ok {
		return k
	}
	k.program = contentKey(rec)
	if rec.RequestContentSchema != "" {
		k.schema = schemaKey(rec.RequestContentType, rec.RequestContentSchema)
	}
	c.mu.Lock()
	c.keys[rec] = k
	c.mu.Unlock()
	return k
}

// retain drops every compiled artefact not used by recs.
func (c *cache) retain(recs []*Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	programs := make(map[string]execmode.Program, len(recs))
	schemas := make(map[string]schema.Validator)
	keys := make(map[*Record]recKeys, len(recs))
	checked := make(map[*Record]checkedEntry, len(recs))
	for _, rec := range recs {
		if ce, ok := c.checked[rec]; ok {
			checked[rec] = ce
		}
		k, ok := c.keys[rec]
		if !ok {
			continue
		}
		keys[rec] = k
		if p, ok := c.programs[k.program]; ok {
			programs[k.program] = p
		}
		if v, ok := c.schemas[k.schema]; ok && k.schema != "" {
			schemas[k.schema] = v
		}
	}
	c.programs, c.schemas, c.keys, c.checked = programs, schemas, keys, checked
}

// compile prepares rec for serving: its program and its schema, from the
// cache when their source did not change. Failures are returned as details
// of the fields at fault. With stored, rec comes from a published
// revision, whose program compiled when it was published: it is compiled
// when it first runs (a start compiles nothing it does not serve).
func (c *cache) compile(cfg *config, rec *Record, declared bool) (*Entry, []Detail) {
	return c.compileAs(cfg, rec, declared, false)
}

// compileAs is compile; with stored, rec comes from a published revision.
func (c *cache) compileAs(cfg *config, rec *Record, declared, stored bool) (*Entry, []Detail) {
	view := rec.view()
	prog, ds := c.programOf(cfg, rec, view, stored)
	val, sds := c.schemaOf(cfg, rec)
	ds = append(ds, sds...)
	if len(ds) > 0 || prog == nil {
		return nil, ds
	}
	return newEntry(rec, view, prog, val, declared), nil
}

// programOf is the compiled program of rec, from the cache when its source
// did not change; with stored, one compiled when it first runs.
func (c *cache) programOf(cfg *config, rec *Record, view *execmode.Endpoint, stored bool) (execmode.Program, []Detail) {
	mode, ok := cfg.execModes[rec.ExecMode]
	if !ok {
		return nil, []Detail{{Field: "exec_mode", Message: fmt.Sprintf("%q is not a registered exec mode", rec.ExecMode)}}
	}
	k := c.keysOf(rec).program
	c.mu.Lock()
	prog := c.programs[k]
	if prog == nil && stored {
		prog = &lazyProgram{mode: mode, ep: view}
		c.programs[k] = prog
	}
	c.mu.Unlock()
	if prog != nil {
		return prog, nil
	}
	compilations.Add(1)
	p, err := mode.Compile(view)
	var fe *execmode.FieldError
	switch {
	case errors.As(err, &fe):
		return nil, []Detail{{Field: fe.Field, Message: fe.Message}}
	case err != nil:
		return nil, []Detail{{Field: "exec_mode", Message: err.Error()}}
	case p == nil:
		return nil, []Detail{{Field: "exec_mode", Message: fmt.Sprintf("exec mode %q compiled no program", rec.ExecMode)}}
	}
	c.mu.Lock()
	c.programs[k] = p
	c.mu.Unlock()
	return p, nil
}

// schemaOf is the compiled request body schema of rec (nil when it has
// none), from the cache when its source did not change.
func (c *cache) schemaOf(cfg *config, rec *Record) (schema.Validator, []Detail) {
	if rec.RequestContentSchema == "" {
		return nil, nil
	}
	sk := c.keysOf(rec).schema
	c.mu.Lock()
	val := c.schemas[sk]
	c.mu.Unlock()
	if val != nil {
		return val, nil
	}
	var err error
	if cfg.compileSchema == nil {
		err = fmt.Errorf("schemas are not supported by this server")
	} else {
		val, err = cfg.compileSchema(rec.RequestContentType, rec.RequestContentSchema)
	}
	if err == nil && val == nil {
		err = fmt.Errorf("the schema compiled to nothing")
	}
	if err != nil {
		return nil, []Detail{{Field: "request_content_schema", Message: err.Error()}}
	}
	c.mu.Lock()
	c.schemas[sk] = val
	c.mu.Unlock()
	return val, nil
}

// check validates and compiles one record: every rule of a record but
// route conflicts. The fields are checked here, the exec mode and its
// program by compile, so each problem is reported once.
func (c *cache) check(cfg *config, rec *Record, declared bool) (*Entry, []Detail) {
	return c.checkAs(cfg, rec, declared, false)
}

// checkAs is check; with stored, as compile says.
func (c *cache) checkAs(cfg *config, rec *Record, declared, stored bool) (*Entry, []Detail) {
	c.mu.Lock()
	ce, ok := c.checked[rec]
	c.mu.Unlock()
	if ok && ce.cfg == cfg && ce.version == rec.Version && ce.declared == declared {
		return ce.e, nil
	}
	ds := cfg.checkFields(rec)
	e, cds := c.compileAs(cfg, rec, declared, stored)
	ds = append(ds, cds...)
	if len(ds) > 0 {
		return nil, ds
	}
	c.mu.Lock()
	c.checked[rec] = checkedEntry{cfg: cfg, version: rec.Version, declared: declared, e: e}
	c.mu.Unlock()
	return e, nil
}

// checkAll checks recs as checkAs does, on every CPU: the results are in
// the order of recs.
func (c *cache) checkAll(cfg *config, recs []*Record, declared, stored bool) ([]*Entry, [][]Detail) {
	entries := make([]*Entry, len(recs))
	details := make([][]Detail, len(recs))
	workers := min(runtime.GOMAXPROCS(0), len(recs)/64+1)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(recs) {
					return
				}
				entries[i], details[i] = c.checkAs(cfg, recs[i], declared, stored)
			}
		}()
	}
	wg.Wait()
	return entries, details
}

// conflicts lists the route conflicts within recs, one detail per pair,
// given to the later record by name unless that one is declared (in
// fixed): the record at fault is the one the admin can change. Each
// record is checked against the earlier ones it can overlap only.
func conflicts(recs []*Record, fixed map[string]*Record) []Detail {
	pairs := make([][]routed, len(recs))
	for i, rec := range recs {
		pairs[i] = routedOf(rec)
	}
	return conflictsOf(pairs, fixed)
}

// conflictsOf is conflicts for records given by their (route, method)
// pairs, parsed already; a record without pairs is left out.
func conflictsOf(pairs [][]routed, fixed map[string]*Record) []Detail {
	ds, _ := conflictsIndexed(pairs, fixed)
	return ds
}

// conflictsIndexed is conflictsOf that also returns the index of every
// pair it built on the way.
func conflictsIndexed(pairs [][]routed, fixed map[string]*Record) ([]Detail, *routeIndex) {
	pairs = slices.DeleteFunc(slices.Clone(pairs), func(rs []routed) bool { return len(rs) == 0 })
	slices.SortFunc(pairs, func(a, b []routed) int { return strings.Compare(a[0].rec.Name, b[0].rec.Name) })
	ix := new(routeIndex)
	var ds []Detail
	for _, rs := range pairs {
		var mine []Detail
		var others []string
		for _, r := range rs {
			ix.overlapping(r.pat, func(o routed) {
				x, y := r, o
				if _, declared := fixed[x.rec.Name]; declared {
					x, y = y, x
				}
				if msg := conflict(x, y); msg != "" {
					mine = append(mine, Detail{Name: x.rec.Name, Field: "route", Message: msg})
					others = append(others, o.rec.Name)
				}
			})
		}
		sort.Stable(byOther{mine, others})
		ds = append(ds, mine...)
		ix.add(rs...)
	}
	return ds, ix
}

// byOther sorts the details of one record by the name of the other
// record of each conflict.
type byOther struct {
	ds     []Detail
	others []string
}

func (b byOther) Len() int           { return len(b.ds) }
func (b byOther) Less(i, j int) bool { return b.others[i] < b.others[j] }
func (b byOther) Swap(i, j int) {
	b.ds[i], b.ds[j] = b.ds[j], b.ds[i]
	b.others[i], b.others[j] = b.others[j], b.others[i]
}

// lazyProgram is the program of a published record, compiled when it
// first runs.
type lazyProgram struct {
	once sync.Once
	mode execmode.ExecMode
	ep   *execmode.Endpoint
	prog execmode.Program
	err  error
}

// Run compiles the program on the first call, then runs it.
func (p *lazyProgram) Run(ctx context.Context, inv *execmode.Invocation) (*execmode.Result, error) {
	p.once.Do(p.compile)
	if p.err != nil {
		return nil, p.err
	}
	return p.prog.Run(ctx, inv)
}

func (p *lazyProgram) compile() {
	compilations.Add(1)
	prog, err := p.mode.Compile(p.ep)
	if err == nil && prog == nil {
		err = fmt.Errorf("exec mode %q compiled no program", p.ep.ExecMode)
	}
	if err != nil {
		// it compiled when it was published: the exec mode changed since
		p.err = &execmode.ExecError{Kind: execmode.FailRuntime, Status: 500, Message: "the published program no longer compiles",
			Err: fmt.Errorf("compiling the published program of %q: %w", p.ep.Name, err)}
		return
	}
	p.prog, p.mode, p.ep = prog, nil, nil
}

func zapKey(k string) zap.Field  { return zap.String("key", k) }
func zapErr(err error) zap.Field { return zap.Error(err) }
