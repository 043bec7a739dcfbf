// Package env is the outside world of a snippet: a key-value store in
// Caddy's storage, secrets and outbound HTTP, each gated by the executing
// user's grants.
package env

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Store access levels.
const (
	Read  = "read"
	Write = "write"
)

// Grants are the permissions of one user: store namespaces, secrets and
// outbound hosts.
type Grants struct {
	// Store maps a namespace to "read" or "write".
	Store map[string]string `json:"store,omitempty"`
	// Secrets lists the secret names the user may read.
	Secrets []string `json:"secrets,omitempty"`
	// HTTP lists the hosts (host or host:port) the user may call.
	HTTP []string `json:"http,omitempty"`
}

// ValidateGrants checks the grants of user at provision: store levels and
// namespace syntax, secret names (they must be in secrets) and host syntax.
// A nil g is valid (no grants).
func ValidateGrants(user string, g *Grants, secrets map[string]string) error {
	if g == nil {
		return nil
	}
	for _, ns := range slices.Sorted(maps.Keys(g.Store)) {
		level := g.Store[ns]
		if err := checkName("namespace", ns); err != nil {
			return fmt.Errorf("user %q: grant store %q: %v", user, ns, err)
		}
		if level != Read && level != Write {
			return fmt.Errorf("user %q: grant store %q: level %q is neither %q nor %q", user, ns, level, Read, Write)
		}
	}
	for _, name := range g.Secrets {
		if _, ok := secrets[name]; !ok {
			return fmt.Errorf("user %q: grant secret %q: no secret of that name is configured", user, name)
		}
	}
	for _, h := range g.HTTP {
		if _, err := parseHostGrant(h); err != nil {
			return fmt.Errorf("user %q: grant http %q: %v", user, h, err)
		}
	}
	return nil
}

// compiledGrants are Grants in the form the checks use.
type compiledGrants struct {
	store   map[string]string
	secrets map[string]bool
	hosts   []hostGrant
}

// hostGrant is one parsed http grant.
type hostGrant struct {
	// host is lower case without a trailing dot, or an IP in canonical
	// form.
	host string
	// port is "" when any port is allowed.
	port string
	// ip is set when host is an IP literal.
	ip netip.Addr
}

func compileGrants(g *Grants) compiledGrants {
	var c compiledGrants
	if g == nil {
		return c
	}
	c.store = make(map[string]string, len(g.Store))
	for ns, level := range g.Store {
		c.store[ns] = level
	}
	c.secrets = make(map[string]bool, len(g.Secrets))
	for _, name := range g.Secrets {
		c.secrets[name] = true
	}
	for _, h := range g.HTTP {
		if hg, err := parseHostGrant(h); err == nil {
			c.hosts = append(c.hosts, hg)
		}
	}
	return c
}

// matchHost returns the grant that allows host (already normalized) on
// port, if any.
func (c compiledGrants) matchHost(host, port string) (hostGrant, bool) {
	for _, hg := range c.hosts {
		if hg.host == host && (hg.port == "" || hg.port == port) {
			return hg, true
		}
	}
	return hostGrant{}, false
}

// parseHostGrant parses "host", "host:port", "[v6]:port", "[v6]" or a bare
// IPv6 literal.
func parseHostGrant(s string) (hostGrant, error) {
	if s == "" {
		return hostGrant{}, errors.New("empty host")
	}
	if strings.Contains(s, "://") {
		return hostGrant{}, errors.New("a grant is a host or host:port, not a URL")
	}
	if i := strings.IndexAny(s, "/@?#* \t"); i >= 0 {
		return hostGrant{}, fmt.Errorf("character %q is not allowed (a grant is a host or host:port; wildcards are not supported)", s[i])
	}
	host, port := s, ""
	switch {
	case strings.HasPrefix(s, "["):
		if strings.HasSuffix(s, "]") {
			host = s[1 : len(s)-1]
		} else {
			var err error
			host, port, err = net.SplitHostPort(s)
			if err != nil {
				return hostGrant{}, err
			}
		}
		if ip, err := netip.ParseAddr(host); err != nil || !ip.Is6() || ip.Zone() != "" {
			return hostGrant{}, fmt.Errorf("%q is not an IPv6 address", host)
		}
	case strings.Count(s, ":") == 1:
		var err error
		host, port, err = net.SplitHostPort(s)
		if err != nil {
			return hostGrant{}, err
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return hostGrant{}, fmt.Errorf("port %q is not a number between 1 and 65535", port)
		}
	}
	h, ip, err := normalizeHost(host)
	if err != nil {
		return hostGrant{}, err
	}
	return hostGrant{host: h, port: port, ip: ip}, nil
}

// normalizeHost returns host in the form grants compare: an IP literal in
// canonical form (with ip set), or a syntactically valid DNS name in lower
// case without a trailing dot.
func normalizeHost(host string) (string, netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return "", netip.Addr{}, fmt.Errorf("address %q has a zone", host)
		}
		ip = ip.Unmap()
		return ip.String(), ip, nil
	}
	name := strings.TrimSuffix(strings.ToLower(host), ".")
	if name == "" || len(name) > 253 {
		return "", netip.Addr{}, fmt.Errorf("%q is not a valid host name", host)
	}
	for _, label := range strings.Split(name, ".") {
		if !hostLabel.MatchString(label) {
			return "", netip.Addr{}, fmt.Errorf("%q is not a valid host name", host)
		}
	}
	return name, netip.Addr{}, nil
}

var hostLabel = regexp.MustCompile(`^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)
