package endpoint

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-endpoint/endpoint/config"
	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/execmode"
	"github.com/caddy-endpoint/endpoint/pipeline"
	"github.com/caddy-endpoint/endpoint/registry"
	"github.com/caddy-endpoint/endpoint/schema"

	"github.com/caddy-endpoint/endpoint/admin"
	// the Caddyfile global option registers itself
	_ "github.com/caddy-endpoint/endpoint/caddyfile"
	// the built-in exec mode `code`
	_ "github.com/caddy-endpoint/endpoint/snippet"
	// the management UI handler `endpoint_ui`
	_ "github.com/caddy-endpoint/endpoint/ui"
)

func init() {
	caddy.RegisterModule(App{})
}

// Defaults of the app config.
const (
	DefaultSyncInterval = 5 * time.Second
	DefaultMaxBodySize  = 1 << 20
	DefaultMaxSteps     = 1_000_000
	DefaultTimeout      = 5 * time.Second
	DefaultMaxMemory    = 64 << 20
)

// storagePrefix is where the app keeps its data in Caddy's storage.
const storagePrefix = "endpoint"

// shared holds the state that outlives a config reload: the registry (with
// its compiled programs) and the log buffer. It lives in a caddy.UsagePool
// keyed by the storage it reads.
var shared = caddy.NewUsagePool()

type sharedState struct {
	reg  *registry.Registry
	logs *pipeline.LogRing
}

func (s *sharedState) Destruct() error { return s.reg.Destruct() }

// App is the `endpoint` app: it owns the registry of endpoint records, the
// users, the secrets and the limits that every `endpoint` handler shares.
// Its JSON config is config.App.
type App struct {
	config.App

	ctx       caddy.Context
	logger    *zap.Logger
	poolKey   string
	state     *sharedState
	env       *env.Service
	pipeline  *pipeline.Pipeline
	execModes map[string]execmode.ExecMode
	// view is this config's window on the shared registry: its own live
	// table, activated at Start.
	view *registry.View
	// secretValues are the expanded secrets, kept out of failure logs.
	secretValues []string
	stop         context.CancelFunc
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "endpoint",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision sets defaults, checks users and grants, loads the exec modes and
// the declared endpoints, and attaches the shared registry.
func (a *App) Provision(ctx caddy.Context) error {
	a.ctx = ctx
	a.logger = ctx.Logger()
	a.setDefaults()
	secrets := a.expandSecrets()
	for name, u := range a.Users {
		if u == nil {
			return fmt.Errorf("user %q: empty definition", name)
		}
		if err := env.ValidateGrants(name, u.Grants, secrets); err != nil {
			return err
		}
	}
	if err := a.loadExecModes(ctx); err != nil {
		return err
	}
	declared, err := a.loadDeclared()
	if err != nil {
		return err
	}
	a.env, err = env.New(env.Config{
		Storage:      ctx.Storage(),
		Prefix:       storagePrefix + "/kv",
		LegacyPrefix: storagePrefix + "/store",
		MaxKeys:      a.StoreMaxKeys,
		MaxBytes:     a.StoreMaxBytes,
		Secrets:      secrets,
		Logger:       a.logger.Named("env"),
	})
	if err != nil {
		return fmt.Errorf("setting up the snippet environment: %v", err)
	}
	if err := a.env.MigrateStore(ctx); err != nil {
		return fmt.Errorf("moving the store to the current storage format: %v", err)
	}
	if err := a.attachRegistry(ctx, declared); err != nil {
		return err
	}
	return a.buildPipeline(ctx)
}

func (a *App) setDefaults() {
	if a.SyncInterval <= 0 {
		a.SyncInterval = caddy.Duration(DefaultSyncInterval)
	}
	if a.MaxBodySize <= 0 {
		a.MaxBodySize = DefaultMaxBodySize
	}
	if a.MaxSteps == 0 {
		a.MaxSteps = DefaultMaxSteps
	}
	if a.Timeout <= 0 {
		a.Timeout = caddy.Duration(DefaultTimeout)
	}
	if a.KeepRevisions <= 0 {
		a.KeepRevisions = registry.DefaultKeepRevisions
	}
	if a.MaxMemory <= 0 {
		a.MaxMemory = DefaultMaxMemory
	}
	if a.MaxConcurrency <= 0 {
		a.MaxConcurrency = 4 * runtime.GOMAXPROCS(0)
	}
}

// expandSecrets replaces the placeholders of the secrets.
func (a *App) expandSecrets() map[string]string {
	repl := caddy.NewReplacer()
	secrets := make(map[string]string, len(a.Secrets))
	for name, v := range a.Secrets {
		secrets[name] = repl.ReplaceKnown(v, "")
		a.secretValues = append(a.secretValues, secrets[name])
	}
	return secrets
}

// attachRegistry finds (or opens) the registry of the storage in the
// usage pool.
func (a *App) attachRegistry(ctx caddy.Context, declared []registry.Record) error {
	opts := registry.Options{
		Storage:       ctx.Storage(),
		Prefix:        storagePrefix,
		ExecModes:     a.execModes,
		CompileSchema: schema.Compile,
		UserExists: func(name string) bool {
			_, ok := a.Users[name]
			return ok
		},
		Declared:      declared,
		Logger:        a.logger.Named("registry"),
		KeepRevisions: a.KeepRevisions,
		RunExamples:   a.runExample,
	}
	a.poolKey = "registry:" + storageKey(ctx.Storage())
	val, loaded, err := shared.LoadOrNew(a.poolKey, func() (caddy.Destructor, error) {
		reg, err := registry.New(ctx, opts)
		if err != nil {
			return nil, err
		}
		return &sharedState{reg: reg, logs: pipeline.NewLogRing(pipeline.LogRingSize)}, nil
	})
	if err != nil {
		return fmt.Errorf("loading the endpoint registry: %v", err)
	}
	a.state = val.(*sharedState)
	if !loaded {
		a.view = a.state.reg.Active()
		return nil
	}
	// a reload: this config gets a table of its own, served once its
	// handlers are, so a config that fails to load changes nothing
	a.view, err = a.state.reg.Attach(opts)
	if err != nil {
		return fmt.Errorf("applying the config to the endpoint registry: %v", err)
	}
	return nil
}

// buildPipeline prepares the request rules of this config.
func (a *App) buildPipeline(ctx caddy.Context) error {
	metrics, err := pipeline.NewMetrics(ctx.GetMetricsRegistry(), a.state.reg)
	if err != nil {
		return fmt.Errorf("registering metrics: %v", err)
	}
	a.pipeline, err = pipeline.New(pipeline.Config{
		MaxBodySize:    a.MaxBodySize,
		MaxSteps:       a.MaxSteps,
		MaxMemory:      a.MaxMemory,
		MaxConcurrency: a.MaxConcurrency,
		Timeout:        time.Duration(a.Timeout),
		Users:          a.Users,
		Env:            a.env,
		Logs:           a.state.logs,
		Metrics:        metrics,
		Logger:         a.logger,
		SnippetLogger:  caddy.Log().Named("endpoint.snippet"),
		Secrets:        a.secretValues,
		Scope:          a.poolKey,
	})
	if err != nil {
		return err
	}
	a.pipeline.Hold(a.view.Live().Entries())
	return nil
}

// storageKey names a storage so that two configs on the same storage share
// one registry.
func storageKey(s any) string {
	if st, ok := s.(fmt.Stringer); ok {
		return fmt.Sprintf("%T:%s", s, st.String())
	}
	return fmt.Sprintf("%T:%+v", s, s)
}

// loadExecModes provisions the configured exec modes, each with its own
// config.
func (a *App) loadExecModes(ctx caddy.Context) error {
	if a.ExecModesRaw == nil {
		a.ExecModesRaw = caddy.ModuleMap{"code": json.RawMessage("{}")}
	}
	mods, err := ctx.LoadModule(a, "ExecModesRaw")
	if err != nil {
		return fmt.Errorf("loading exec modes: %v", err)
	}
	a.execModes = make(map[string]execmode.ExecMode)
	for name, mod := range mods.(map[string]any) {
		mode, ok := mod.(execmode.ExecMode)
		if !ok {
			return fmt.Errorf("exec mode %s does not implement execmode.ExecMode", name)
		}
		a.execModes[name] = mode
	}
	return nil
}

// loadDeclared reads the code and schema files of the declared endpoints.
func (a *App) loadDeclared() ([]registry.Record, error) {
	out := make([]registry.Record, 0, len(a.Endpoints))
	for i, d := range a.Endpoints {
		if d == nil {
			return nil, fmt.Errorf("endpoints[%d]: empty definition", i)
		}
		rec := d.Record
		rec.SyncState, rec.Version, rec.UpdatedAt = "", 0, nil
		if d.CodeFile != "" {
			if rec.CodeSnippet != "" {
				return nil, fmt.Errorf("endpoint %q: both code_snippet and code_file are set", rec.Name)
			}
			b, err := os.ReadFile(d.CodeFile)
			if err != nil {
				return nil, fmt.Errorf("endpoint %q: reading code_file: %v", rec.Name, err)
			}
			rec.CodeSnippet = string(b)
		}
		if d.SchemaFile != "" {
			if rec.RequestContentSchema != "" {
				return nil, fmt.Errorf("endpoint %q: both request_content_schema and schema_file are set", rec.Name)
			}
			b, err := os.ReadFile(d.SchemaFile)
			if err != nil {
				return nil, fmt.Errorf("endpoint %q: reading schema_file: %v", rec.Name, err)
			}
			rec.RequestContentSchema = string(b)
		}
		out = append(out, rec)
	}
	return out, nil
}

// Validate checks the invariants of the provisioned config.
func (a *App) Validate() error {
	for name := range a.Users {
		if strings.TrimSpace(name) == "" {
			return fmt.Errorf("a user has an empty name")
		}
	}
	for name := range a.Secrets {
		if strings.TrimSpace(name) == "" {
			return fmt.Errorf("a secret has an empty name")
		}
	}
	return nil
}

// Start makes this config the one admin calls work with and begins
// polling the storage for revisions published elsewhere.
func (a *App) Start() error {
	a.state.reg.Activate(a.view)
	live, pending := a.view.Live(), a.state.reg.Status().Pending
	a.logger.Info("endpoint app started",
		zap.Int64("revision", live.Revision()),
		zap.Int("endpoints", len(live.Entries())),
		zap.Int("pending", len(pending.Added)+len(pending.Changed)+len(pending.Removed)),
		zap.Int("unservable", len(live.Unservable())))
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	go a.poll(ctx, time.Duration(a.SyncInterval))
	return nil
}

func (a *App) poll(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := a.state.reg.Refresh(ctx); err != nil {
				a.logger.Warn("reading published revisions from storage", zap.Error(err))
			}
		}
	}
}

// Stop ends the storage polling and, when this config did not replace
// the running one after all (a later app failed to start), gives the
// registry back to it.
func (a *App) Stop() error {
	if a.stop != nil {
		a.stop()
	}
	a.state.reg.Deactivate(a.view)
	return nil
}

// Cleanup releases the shared registry; it tolerates a half-provisioned app.
func (a *App) Cleanup() error {
	if a.pipeline != nil {
		a.pipeline.Close()
	}
	if a.env != nil {
		a.env.Close()
	}
	if a.state != nil {
		if a.view != nil {
			a.state.reg.Detach(a.view)
		}
		if _, err := shared.Delete(a.poolKey); err != nil {
			return err
		}
	}
	return nil
}

// Registry is the shared registry of drafts and revisions.
func (a *App) Registry() *registry.Registry { return a.state.reg }

// Live is the table this app serves.
func (a *App) Live() *registry.Table { return a.view.Live() }

// AdminBackend gives the admin API what it calls.
func (a *App) AdminBackend() *admin.Backend {
	return &admin.Backend{
		Registry:  a.state.reg,
		Pipeline:  a.pipeline,
		Logs:      a.state.logs,
		Live:      a.Live,
		ExecModes: a.execModes,
	}
}

// Interface guards
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.Validator    = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
