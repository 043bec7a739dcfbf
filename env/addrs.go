package env

import (
	"net/netip"
	"strings"
)

// reserved are IPv4 ranges that are neither public nor covered by the
// netip predicates: "this network", shared address space (carrier-grade
// NAT, also used by some cloud metadata services), IETF protocol
// assignments, benchmarking, and the reserved block with broadcast.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
}

// nat64 is the well-known NAT64 prefix: its addresses carry an IPv4
// address in the last 32 bits, which is what they reach.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// addrClass names the kind of a non-public address; "" for a public one.
func addrClass(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsPrivate():
		return "private"
	case ip.IsLinkLocalUnicast():
		return "link-local"
	case ip.IsMulticast(), ip.IsLinkLocalMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return "reserved"
		}
	}
	return ""
}

// loopbackName reports a name that always means this machine (RFC 6761).
func loopbackName(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}
