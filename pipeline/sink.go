package pipeline

import (
	"time"

	"go.uber.org/zap"

	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/execmode"
)

// Sink is where the rules send what a request reaches and leaves behind:
// the outside world its program sees, its log lines, its counts and its
// failures. A live request and a dry run differ only by their sink.
type Sink interface {
	// Env is the outside world of a run as user under grants.
	Env(user string, grants *env.Grants) execmode.Env
	// Log takes one log() line of the program.
	Log(line LogLine)
	// Rejected counts a body the schema refused.
	Rejected(endpoint string)
	// Ran takes the steps of a successful run.
	Ran(endpoint string, steps uint64)
	// Failed takes a failed run.
	Failed(c *call, err *execmode.ExecError)
	// Served takes the status and duration of an answered request.
	Served(endpoint string, status int, took time.Duration)
}

// liveSink is the sink of served requests: the live store and network,
// the admin log buffer and Caddy's log, metrics.
type liveSink struct{ p *Pipeline }

func (s *liveSink) Env(user string, grants *env.Grants) execmode.Env {
	return s.p.cfg.Env.For(user, grants)
}

func (s *liveSink) Log(line LogLine) {
	s.p.cfg.Logs.Add(line)
	lvl := zap.InfoLevel
	_ = lvl.Set(line.Level)
	if ce := s.p.cfg.SnippetLogger.Check(lvl, line.Message); ce != nil {
		ce.Write(zap.String("endpoint", line.Endpoint), zap.Int64("revision", line.Revision))
	}
}

func (s *liveSink) Rejected(endpoint string) {
	s.p.cfg.Metrics.of(endpoint).rejections.Inc()
}

func (s *liveSink) Ran(endpoint string, steps uint64) {
	s.p.cfg.Metrics.of(endpoint).steps.Observe(float64(steps))
}

func (s *liveSink) Failed(c *call, ee *execmode.ExecError) {
	name := c.entry.Record.Name
	switch ee.Kind {
	case execmode.FailSteps, execmode.FailTimeout, execmode.FailMemory:
		s.p.cfg.Metrics.limits.WithLabelValues(name, ee.Kind).Inc()
	case execmode.FailUser, execmode.FailCancelled:
		return
	}
	r := c.r
	s.p.cfg.Logger.Error("snippet failed",
		zap.String("endpoint", name),
		zap.Int64("revision", c.revision),
		zap.String("kind", ee.Kind),
		zap.String("error", redact(ee.Error(), c.body,
			[]string{r.Header.Get("Authorization"), r.Header.Get("Cookie")}, s.p.cfg.Secrets)))
}

func (s *liveSink) Served(endpoint string, status int, took time.Duration) {
	em := s.p.cfg.Metrics.of(endpoint)
	em.requests(status).Inc()
	em.duration.Observe(took.Seconds())
}
