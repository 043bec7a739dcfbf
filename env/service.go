package env

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// Defaults of Config.
const (
	DefaultPrefix          = "endpoint/kv"
	DefaultLegacyPrefix    = "endpoint/store"
	DefaultMaxValueSize    = 64 << 10
	DefaultMaxKeys         = 10000
	DefaultMaxBytes        = 64 << 20
	DefaultMaxKeysListed   = 1000
	DefaultHTTPMaxResponse = 1 << 20
	DefaultHTTPTimeout     = 10 * time.Second
	DefaultOverlayMaxSize  = 4 << 20
	// MaxRedirects is how many redirects env.http follows before it stops.
	MaxRedirects = 5
)

// Resolver turns a host name into IP addresses; *net.Resolver is one.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Config sets up a Service.
type Config struct {
	// Storage is where env.store keeps its values (Caddy's storage).
	// Required.
	Storage certmagic.Storage
	// Prefix is the storage path under which each namespace is a folder
	// holding one "<key>.json" per key. Default: "endpoint/kv".
	Prefix string
	// LegacyPrefix is where the first storage format kept the values
	// (one file per key, named as the key); MigrateStore moves them to
	// Prefix. Default: "endpoint/store".
	LegacyPrefix string
	// Secrets are the named secret values, already expanded.
	Secrets map[string]string
	// MaxValueSize is the largest JSON-encoded value, in bytes, a snippet
	// may store. Default: 65536 (64 KiB).
	MaxValueSize int
	// MaxKeys is the most keys one namespace holds; a put of a new key
	// beyond it is refused. Default: 10000.
	MaxKeys int
	// MaxBytes is the most bytes the values of one namespace hold
	// together; a put that would pass it is refused. Default: 67108864
	// (64 MiB).
	MaxBytes int64
	// MaxKeysListed is the most keys one list() answers; past it the
	// first keys in sort order are returned. Default: 1000.
	MaxKeysListed int
	// HTTPMaxResponse is the largest outbound response body, in bytes,
	// env.http accepts. Default: 1048576 (1 MiB).
	HTTPMaxResponse int64
	// HTTPTimeout is the longest an outbound request may take; it is
	// also bounded by the request's own timeout and the run's deadline.
	// Default: 10s.
	HTTPTimeout time.Duration
	// OverlayMaxSize is the total size, in bytes, of the values a dry run
	// may write to its scratch overlay. Default: 4194304 (4 MiB).
	OverlayMaxSize int
	// Resolver resolves host names for env.http. Default:
	// net.DefaultResolver.
	Resolver Resolver
	// Logger receives debug lines about outbound requests (never bodies,
	// URLs or secrets). Default: a no-op logger.
	Logger *zap.Logger
}

// Service is the snippet environment of one provisioned app. It is
// immutable after New and safe for concurrent use.
type Service struct {
	cfg       Config
	transport *http.Transport
	// dial connects to an already checked IP address; tests replace it.
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// compiled caches compiledGrants by *Grants.
	compiled sync.Map
	// bound caches the live environment of each user (boundKey): it holds
	// nothing of a request, and the users of a config do not change.
	bound sync.Map
	// usage counts the keys and bytes of each namespace, by name.
	usage sync.Map
}

// New checks cfg, fills in its defaults and builds the shared HTTP
// transport.
func New(cfg Config) (*Service, error) {
	if cfg.Storage == nil {
		return nil, errors.New("creating the snippet environment: no storage")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.MaxValueSize <= 0 {
		cfg.MaxValueSize = DefaultMaxValueSize
	}
	if cfg.LegacyPrefix == "" {
		cfg.LegacyPrefix = DefaultLegacyPrefix
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxKeysListed <= 0 {
		cfg.MaxKeysListed = DefaultMaxKeysListed
	}
	if cfg.HTTPMaxResponse <= 0 {
		cfg.HTTPMaxResponse = DefaultHTTPMaxResponse
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = DefaultHTTPTimeout
	}
	if cfg.OverlayMaxSize <= 0 {
		cfg.OverlayMaxSize = DefaultOverlayMaxSize
	}
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	secrets := make(map[string]string, len(cfg.Secrets))
	for k, v := range cfg.Secrets {
		secrets[k] = v
	}
	cfg.Secrets = secrets

	s := &Service{cfg: cfg}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	s.dial = d.DialContext
	s.transport = &http.Transport{
		Proxy:                  nil,
		DialContext:            s.dialChecked,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxIdleConns:           64,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		ExpectContinueTimeout:  time.Second,
	}
	return s, nil
}

// Close drops the idle outbound connections.
func (s *Service) Close() {
	if s != nil && s.transport != nil {
		s.transport.CloseIdleConnections()
	}
}

// For returns the live environment of user, bound to g (nil: no grants).
func (s *Service) For(user string, g *Grants) execmode.Env {
	key := boundKey{user, g}
	if e, ok := s.bound.Load(key); ok {
		return e.(*boundEnv)
	}
	e, _ := s.bound.LoadOrStore(key, &boundEnv{s: s, user: user, grants: s.grantsOf(g)})
	return e.(*boundEnv)
}

type boundKey struct {
	user   string
	grants *Grants
}

// grantsOf compiles g once: grants come from the config and do not change
// while this Service (one per config) lives.
func (s *Service) grantsOf(g *Grants) compiledGrants {
	if g == nil {
		return compiledGrants{}
	}
	if c, ok := s.compiled.Load(g); ok {
		return c.(compiledGrants)
	}
	c := compileGrants(g)
	s.compiled.Store(g, c)
	return c
}

// DryRun returns an environment whose store writes go to the returned
// overlay instead of the storage; reads see the overlay first. Outbound
// HTTP is refused unless liveHTTP is true.
func (s *Service) DryRun(user string, g *Grants, liveHTTP bool) (execmode.Env, *Overlay) {
	o := newOverlay(s.cfg.OverlayMaxSize)
	return &boundEnv{s: s, user: user, grants: s.grantsOf(g), overlay: o, dryRun: true, liveHTTP: liveHTTP}, o
}

// boundEnv is a Service bound to one executing user's grants.
type boundEnv struct {
	s        *Service
	user     string
	grants   compiledGrants
	overlay  *Overlay
	dryRun   bool
	liveHTTP bool
}

var _ execmode.Env = (*boundEnv)(nil)

// userLabel is how errors name the executing user.
func userLabel(user string) string {
	if user == "" {
		return "anonymous"
	}
	return user
}
