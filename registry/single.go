package registry

// MatchPath matches path against the route of this one entry, as the
// dry run of a draft needs: it returns the path parameters.
func (e *Entry) MatchPath(path string) (map[string]string, bool) {
	_, params, ok := newMatcher([]*Entry{e}).Match(path)
	return params, ok
}
