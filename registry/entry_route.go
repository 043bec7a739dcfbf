package registry

// Match matches path against the routes of this one entry, as the dry run
// of a draft needs: it returns the route (with its methods) and the
// path parameters.
func (e *Entry) Match(path string) (*Route, map[string]string, bool) {
	return newMatcher([]*Entry{e}).Match(path)
}

// ParamNames lists the path parameters of route, one of the entry's
// route patterns, in order.
func (e *Entry) ParamNames(route string) []string {
	p, probs := parsePattern(route)
	if len(probs) > 0 {
		return nil
	}
	var names []string
	for _, s := range p.segs {
		if s.kind != segLit {
			names = append(names, s.text)
		}
	}
	return names
}
