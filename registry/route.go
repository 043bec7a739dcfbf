package registry

import (
	"fmt"
	"strings"
)

// maxRouteLen bounds the length of a route pattern.
const maxRouteLen = 1024

type segKind uint8

const (
	segLit segKind = iota
	segWild
	segMulti
)

// segment is one part of a route pattern between slashes.
type segment struct {
	kind segKind
	// text is the literal for segLit and the parameter name otherwise.
	text string
}

// pattern is a parsed route.
type pattern struct {
	raw  string
	segs []segment
}

func (p *pattern) hasParams() bool {
	for _, s := range p.segs {
		if s.kind != segLit {
			return true
		}
	}
	return false
}

// parsePattern checks a route pattern (absolute, no "..", "//" or query,
// {param} segments and a trailing {rest...}) and returns its segments.
// Every problem found is returned.
func parsePattern(route string) (*pattern, []string) {
	if probs := checkPath(route); len(probs) > 0 {
		return nil, probs
	}
	var probs []string
	parts := strings.Split(route[1:], "/")
	p := &pattern{raw: route, segs: make([]segment, 0, len(parts))}
	seen := make(map[string]bool)
	for i, part := range parts {
		seg, prob := parseSegment(part, i == len(parts)-1)
		if prob == "" && seg.kind != segLit {
			if seen[seg.text] {
				prob = fmt.Sprintf("wildcard name %q is used twice", seg.text)
			}
			seen[seg.text] = true
		}
		if prob != "" {
			probs = append(probs, prob)
			continue
		}
		p.segs = append(p.segs, seg)
	}
	if len(probs) > 0 {
		return nil, probs
	}
	return p, nil
}

// checkPath checks the route as a whole: an absolute path, not / alone,
// no query, fragment, percent escape or //.
func checkPath(route string) []string {
	switch {
	case route == "":
		return []string{"is required"}
	case len(route) > maxRouteLen:
		return []string{fmt.Sprintf("must be at most %d characters", maxRouteLen)}
	case route[0] != '/':
		return []string{"must be an absolute path starting with /"}
	case route == "/":
		return []string{"/ alone is not allowed"}
	}
	var probs []string
	if strings.ContainsAny(route, "?#") {
		probs = append(probs, "must not hold a query or fragment (? or #)")
	}
	if strings.Contains(route, "%") {
		probs = append(probs, "must not hold percent escapes (%)")
	}
	if strings.Contains(route, "//") {
		probs = append(probs, "must not hold //")
	}
	return probs
}

// parseSegment parses one segment of a route, the last one when last:
// a literal, a {name} or a trailing {name...}. prob says what is wrong
// with it, or is "".
func parseSegment(part string, last bool) (seg segment, prob string) {
	switch {
	case part == "" && last:
		return seg, "must not end with / (use a trailing {name...} to match a subtree)"
	case part == ".":
		return seg, "must not hold . segments"
	case strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}"):
		name := part[1 : len(part)-1]
		kind := segWild
		if n, ok := strings.CutSuffix(name, "..."); ok {
			name, kind = n, segMulti
			if !last {
				return seg, fmt.Sprintf("wildcard %s must be the last segment", part)
			}
		}
		if !isIdent(name) {
			return seg, fmt.Sprintf("wildcard name %q must be a Go identifier", name)
		}
		return segment{kind: kind, text: name}, ""
	case strings.Contains(part, ".."):
		return seg, "must not hold .."
	}
	if bad := badLiteralChar(part); bad != "" {
		return seg, fmt.Sprintf("segment %q holds a character that is not allowed: %s", part, bad)
	}
	return segment{kind: segLit, text: part}, ""
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// badLiteralChar returns a description of the first character of a literal
// segment that is not an unreserved or sub-delimiter URL path character.
func badLiteralChar(seg string) string {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,;=:@", c) >= 0:
		case c >= 0x80:
			return "non-ASCII"
		default:
			return fmt.Sprintf("%q", c)
		}
	}
	return ""
}

// relation is how the sets of paths two patterns match relate.
type relation uint8

const (
	// disjoint patterns match no path in common.
	disjoint relation = iota
	// equivalent patterns match the same paths.
	equivalent
	// moreSpecific: the first pattern matches a strict subset.
	moreSpecific
	// moreGeneral: the first pattern matches a strict superset.
	moreGeneral
	// overlaps: the patterns share some paths, neither contains the other.
	overlaps
)

// compare relates a to b, with the precedence of Go's net/http patterns
// restricted to literal, {name} and trailing {name...} segments.
func compare(a, b *pattern) relation {
	aInB, bInA := true, true
	i := 0
	for ; i < len(a.segs) && i < len(b.segs); i++ {
		sa, sb := a.segs[i], b.segs[i]
		if sa.kind == segMulti || sb.kind == segMulti {
			break
		}
		switch {
		case sa.kind == segLit && sb.kind == segLit:
			if sa.text != sb.text {
				return disjoint
			}
		case sa.kind == segLit:
			bInA = false
		case sb.kind == segLit:
			aInB = false
		}
	}
	aMulti := i < len(a.segs) && a.segs[i].kind == segMulti
	bMulti := i < len(b.segs) && b.segs[i].kind == segMulti
	switch {
	case aMulti && bMulti:
		// Both match any rest.
	case aMulti:
		// b's remaining segments, if any, fall under a's wildcard.
		if i == len(b.segs) {
			return disjoint
		}
		aInB = false
	case bMulti:
		if i == len(a.segs) {
			return disjoint
		}
		bInA = false
	default:
		if len(a.segs) != len(b.segs) {
			return disjoint
		}
	}
	switch {
	case aInB && bInA:
		return equivalent
	case aInB:
		return moreSpecific
	case bInA:
		return moreGeneral
	default:
		return overlaps
	}
}
