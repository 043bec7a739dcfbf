package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// maxAnswer bounds an admin API answer the command line reads.
const maxAnswer = 64 << 20

// client talks to the endpoint module of one Caddy admin API, as `caddy
// reload` does: over the admin listener's network (tcp, unix socket), with
// an Origin header the admin listener accepts.
type client struct {
	addr   string // as the user gave it, for messages
	origin string
	http   *http.Client
}

func newClient(addr string) (*client, error) {
	parsed, err := caddy.ParseNetworkAddress(addr)
	if err != nil || parsed.PortRangeSize() > 1 {
		return nil, fmt.Errorf("invalid admin address %q: want host:port or unix/path", addr)
	}
	origin := "http://" + parsed.JoinHostPort(0)
	dialAddr := parsed.JoinHostPort(0)
	if parsed.IsUnixNetwork() {
		origin = "http://127.0.0.1"
		// a unix address may carry socket permission bits after a pipe
		dialAddr, _, _ = strings.Cut(parsed.Host, "|")
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	return &client{
		addr:   addr,
		origin: origin,
		http: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, parsed.Network, dialAddr)
			},
		}},
	}, nil
}

// apiError is an error answer of the admin API.
type apiError struct {
	Status  int
	Message string   `json:"error"`
	Details []detail `json:"details"`
}

// detail is one problem of an answer that lists several.
type detail struct {
	Name    string `json:"name,omitempty"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return e.Message
}

// lines returns the details one a line, prefixed by record and field.
func (e *apiError) lines() []string {
	out := make([]string, 0, len(e.Details))
	for _, d := range e.Details {
		var where []string
		if d.Name != "" {
			where = append(where, d.Name)
		}
		if d.Field != "" {
			where = append(where, d.Field)
		}
		if len(where) > 0 {
			out = append(out, strings.Join(where, ": ")+": "+d.Message)
		} else {
			out = append(out, d.Message)
		}
	}
	return out
}

// unreachableError says the admin API could not be reached at all.
type unreachableError struct {
	addr string
	err  error
}

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the admin API at %s: %v", e.addr, e.err)
}

// do sends one call; in, when not nil, is sent as JSON, and a 2xx answer
// is decoded into out when out is not nil. An error answer is an
// *apiError; a 404 from an admin API without the endpoint module says so.
func (c *client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding the request: %v", err)
		}
		body = bytes.NewReader(b)
	}
	u := c.origin + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("making the request: %v", err)
	}
	req.Header.Set("Origin", c.origin)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return &unreachableError{addr: c.addr, err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("reading the answer of %s %s from %s: %v", method, path, c.addr, err)
	}
	if resp.StatusCode >= 300 {
		ae := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(raw, ae) != nil || ae.Message == "" {
			ae.Message = strings.TrimSpace(string(raw))
		}
		if resp.StatusCode == http.StatusNotFound && (path == "/endpoint/sync" || !c.hasModule(ctx)) {
			return c.noModule()
		}
		if resp.StatusCode >= 500 {
			ae.Message = fmt.Sprintf("the admin API at %s: %s", c.addr, ae.Message)
		}
		return ae
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding the answer of %s %s from %s: %v", method, path, c.addr, err)
	}
	return nil
}

// hasModule reports whether the admin API serves the endpoint module: its
// sync status exists whenever the module does.
func (c *client) hasModule(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.origin+"/endpoint/sync", nil)
	if err != nil {
		return false
	}
	req.Header.Set("Origin", c.origin)
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound
}

func (c *client) noModule() error {
	return fmt.Errorf("the admin API at %s has no endpoint module (is this Caddy built with github.com/caddy-endpoint/endpoint?)", c.addr)
}

func (c *client) get(ctx context.Context, path string, query url.Values, out any) error {
	return c.do(ctx, http.MethodGet, path, query, nil, out)
}

func (c *client) post(ctx context.Context, path string, in, out any) error {
	if in == nil {
		in = struct{}{}
	}
	return c.do(ctx, http.MethodPost, path, nil, in, out)
}
