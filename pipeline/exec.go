package pipeline

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-endpoint/endpoint/env"
	"github.com/caddy-endpoint/endpoint/execmode"
)

// exec is the exec rule: the record's program runs and its result is
// written. It returns the status answered.
func (p *Pipeline) exec(c *call) int {
	inv := p.invocation(c)
	c.ran = true
	res, err := c.entry.Program.Run(c.r.Context(), inv)
	if err != nil {
		return p.execFailed(c, err)
	}
	c.sink.Ran(c.entry.Record.Name, res.Steps)
	w := c.w
	for k, vs := range res.Header {
		// copied: a program may share one header map between its answers
		w.Header()[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	status := res.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(res.Body)))
	w.WriteHeader(status)
	if c.r.Method != http.MethodHead {
		_, _ = w.Write(res.Body)
	}
	return status
}

// StatusClientClosed is the status recorded for a request whose client
// went away before its answer (nginx's 499); nothing is written.
const StatusClientClosed = 499

// execFailed answers a failed run: a program's own error with its status
// and message, any other failure with a fixed message naming its kind.
func (p *Pipeline) execFailed(c *call, err error) int {
	var ee *execmode.ExecError
	if !errors.As(err, &ee) {
		ee = &execmode.ExecError{Kind: execmode.FailRuntime, Status: http.StatusInternalServerError, Message: "snippet failed", Err: err}
	}
	c.sink.Failed(c, ee)
	p.leave(c, ee)
	if ee.Kind == execmode.FailCancelled {
		// the client went away: nobody reads an answer
		return StatusClientClosed
	}
	status := ee.Status
	if status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	return writeError(c.w, status, ee.Message)
}

// invocation copies what the program may see of the request.
func (p *Pipeline) invocation(c *call) *execmode.Invocation {
	r, rec := c.r, c.entry.Record
	inv := &c.inv
	shape := inv.Shape
	*inv = execmode.Invocation{
		Method:     r.Method,
		Path:       r.URL.Path,
		Host:       r.Host,
		RemoteIP:   remoteIP(r),
		PathParams: c.params,
		Route:      c.route.Pattern,

		Header:    r.Header,
		Body:      c.body,
		JSON:      c.parsed,
		HasJSON:   c.hasJSON,
		Shape:     shape,
		Endpoint:  c.entry.Endpoint,
		Revision:  c.revision,
		MaxSteps:  p.cfg.MaxSteps,
		MaxMemory: p.cfg.MaxMemory,
	}
	if r.URL.RawQuery != "" {
		inv.Query = r.URL.Query()
	}
	inv.Deadline = c.deadline

	// the executing user: exec_as_user if set, else the caller
	runAs := c.caller
	if rec.ExecAsUser != "" {
		runAs = p.auth.users[rec.ExecAsUser]
	}
	if c.caller != nil {
		id := c.caller.identity
		inv.Caller = &id
	}
	var name string
	grants := noGrants
	if runAs != nil {
		inv.User = runAs.identity
		name = runAs.name
		if runAs.grants != nil {
			grants = runAs.grants
		}
	} else {
		inv.User = execmode.Identity{Public: true}
	}
	inv.Env = c.sink.Env(name, grants)
	inv.Log = p.logTo(c.sink, rec.Name, c.revision)
	return inv
}

// logTo sends a program's log() and print() lines to sink, secret values
// redacted.
func (p *Pipeline) logTo(sink Sink, name string, revision int64) func(level, msg string) {
	return func(level, msg string) {
		sink.Log(LogLine{Time: time.Now().UTC(), Endpoint: name, Revision: revision, Level: level, Message: p.redactSecrets(msg)})
	}
}

// noGrants are the grants of a user who has none.
var noGrants = &env.Grants{}

// remoteIP is the client address Caddy determined (which honours the
// server's trusted_proxies), else the connection's peer.
func remoteIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
