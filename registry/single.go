package registry

// Match matches path against the route of this one entry, as the dry run
// of a draft needs: it returns the route (with its Allow value) and the
// path parameters.
func (e *Entry) Match(path string) (*Route, map[string]string, bool) {
	return newMatcher([]*Entry{e}).Match(path)
}
