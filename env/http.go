package env

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-endpoint/endpoint/execmode"
)

var allowedMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// grantsKey carries the requesting user's grants to the dialer.
type grantsKey struct{}

// HTTP implements execmode.Env: it checks the request against the
// user's grants, sends it within the time limit and reads a bounded
// answer.
func (e *boundEnv) HTTP(ctx context.Context, req *execmode.OutboundRequest) (*execmode.OutboundResponse, error) {
	method, u, hostport, err := e.checkOutbound(req)
	if err != nil {
		return nil, err
	}
	timeout := e.s.cfg.HTTPTimeout
	if req.Timeout > 0 && req.Timeout < timeout {
		timeout = req.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx = context.WithValue(ctx, grantsKey{}, &e.grants)

	hreq, err := newOutbound(ctx, method, u, req)
	if err != nil {
		return nil, fmt.Errorf("http %s to host %q: %v", method, hostport, err)
	}
	start := time.Now()
	resp, err := e.client().Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("http %s to host %q: %v", method, hostport, sendError(err, timeout))
	}
	defer resp.Body.Close()
	data, err := e.readOutbound(resp)
	if err != nil {
		return nil, fmt.Errorf("http %s to host %q: %v", method, hostport, err)
	}
	if ce := e.s.cfg.Logger.Check(zapcore.DebugLevel, "outbound request"); ce != nil {
		ce.Write(
			zap.String("user", userLabel(e.user)),
			zap.String("method", method),
			zap.String("host", resp.Request.URL.Host),
			zap.Int("status", resp.StatusCode),
			zap.Duration("duration", time.Since(start)),
		)
	}
	return &execmode.OutboundResponse{
		StatusCode: resp.StatusCode,
		Header:     map[string][]string(resp.Header.Clone()),
		Body:       data,
	}, nil
}

// checkOutbound checks what a request may be before it is sent: not in a
// dry run (unless live_http), a supported method, a valid URL whose
// target the user's grants allow. It returns the method, the URL and its
// host:port for error messages.
func (e *boundEnv) checkOutbound(req *execmode.OutboundRequest) (string, *url.URL, string, error) {
	if req == nil {
		return "", nil, "", errors.New("http: no request")
	}
	if e.dryRun && !e.liveHTTP {
		return "", nil, "", errors.New("http: outbound requests are refused in a dry run unless \"live_http\" is true")
	}
	method := strings.ToUpper(req.Method)
	if method == "" {
		method = http.MethodGet
	}
	if !allowedMethods[method] {
		return "", nil, "", fmt.Errorf("http: method %q is not supported", req.Method)
	}
	u, err := url.Parse(req.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", nil, "", fmt.Errorf("http: the URL is not valid: %v", err)
	}
	hostport, err := e.checkTarget(u)
	if err != nil {
		return "", nil, "", err
	}
	return method, u, hostport, nil
}

// newOutbound makes the net/http request of req.
func newOutbound(ctx context.Context, method string, u *url.URL, req *execmode.OutboundRequest) (*http.Request, error) {
	var body io.Reader = http.NoBody
	if len(req.Body) > 0 {
		body = bytes.NewReader(req.Body)
	}
	hreq, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	for name, values := range req.Header {
		for _, v := range values {
			hreq.Header.Add(name, v)
		}
	}
	return hreq, nil
}

// client sends outbound requests over the service's transport, following
// at most MaxRedirects redirects, each to a target the grants allow.
func (e *boundEnv) client() *http.Client {
	return &http.Client{
		Transport: e.s.transport,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", MaxRedirects)
			}
			if _, err := e.checkTarget(r.URL); err != nil {
				return fmt.Errorf("redirect refused: %v", err)
			}
			return nil
		},
	}
}

// sendError words the error of a request that got no answer.
func sendError(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %v or the run's deadline", timeout)
	}
	return err
}

// readOutbound reads the answer's body, at most HTTPMaxResponse bytes.
func (e *boundEnv) readOutbound(resp *http.Response) ([]byte, error) {
	limit := e.s.cfg.HTTPMaxResponse
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the response: %v", err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("response larger than %d bytes", limit)
	}
	return data, nil
}

// checkTarget checks the scheme, user info and host grant of u and
// returns its host:port for error messages.
func (e *boundEnv) checkTarget(u *url.URL) (string, error) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("http: scheme %q is not allowed; use http or https", u.Scheme)
	}
	if u.User != nil {
		return "", errors.New("http: URLs with user info are not allowed; send an Authorization header instead")
	}
	if u.Host == "" || u.Opaque != "" {
		return "", errors.New("http: the URL has no host")
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	host, _, err := normalizeHost(u.Hostname())
	if err != nil {
		return "", fmt.Errorf("http: %v", err)
	}
	hostport := net.JoinHostPort(host, port)
	if _, ok := e.grants.matchHost(host, port); !ok {
		return "", fmt.Errorf("http: host %q is not granted to user %q", hostport, userLabel(e.user))
	}
	return hostport, nil
}

// dialChecked is the transport's dialer: it resolves the host itself and
// refuses non-public addresses unless the request's grants name that
// exact IP.
func (s *Service) dialChecked(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	grants, _ := ctx.Value(grantsKey{}).(*compiledGrants)
	if ip, err := netip.ParseAddr(host); err == nil {
		ip = ip.Unmap()
		if class := addrClass(ip); class != "" {
			if grants == nil {
				return nil, fmt.Errorf("address %s is a %s address", ip, class)
			}
			if _, ok := grants.matchHost(ip.String(), port); !ok {
				return nil, fmt.Errorf("address %s is a %s address; only a grant of that exact IP allows it", ip, class)
			}
		}
		return s.dial(ctx, network, net.JoinHostPort(ip.String(), port))
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if loopbackName(name) {
		return nil, fmt.Errorf("host %q is a loopback name; only a grant of an exact IP allows a loopback address", host)
	}
	addrs, err := s.cfg.Resolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, fmt.Errorf("resolving %q: %v", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolving %q: no addresses", host)
	}
	ips := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			return nil, fmt.Errorf("resolving %q: bad address %v", host, a.IP)
		}
		ip = ip.Unmap()
		if class := addrClass(ip); class != "" {
			return nil, fmt.Errorf("host %q resolves to %s, a %s address; only a grant of that exact IP allows it", host, ip, class)
		}
		ips = append(ips, ip)
	}
	var lastErr error
	for _, ip := range ips {
		conn, err := s.dial(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}
