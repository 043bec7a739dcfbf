package registry

import "testing"

func TestMatchMethodPrecedence(t *testing.T) {
	rec := func(route, method string) *Entry {
		return newEntry(&Record{Name: method + route, Routes: []string{route}, RequestMethods: []string{method}}, nil, nil, nil, false)
	}
	m := newMatcher([]*Entry{
		rec("/items/new", "POST"),
		rec("/items/{id}", "GET"),
		rec("/files/{rest...}", "GET"),
		rec("/files/a/b", "PUT"),
	})
	for _, tc := range []struct {
		path, method, want, param string
	}{
		{"/items/new", "POST", "/items/new", ""},
		{"/items/new", "GET", "/items/{id}", "new"}, // the literal route does not serve GET
		{"/items/7", "GET", "/items/{id}", "7"},
		{"/items/7", "DELETE", "/items/{id}", "7"},    // 405 from the most specific route
		{"/items/new", "DELETE", "/items/new", ""},    // ... which is the literal one
		{"/items/new", "", "/items/new", ""},          // any method: most specific
		{"/files/a/b", "GET", "/files/{rest...}", ""}, // falls back to the rest route
		{"/files/a/b", "PUT", "/files/a/b", ""},
	} {
		rt, params, ok := m.MatchMethod(tc.path, tc.method)
		if !ok || rt.Pattern != tc.want {
			t.Errorf("%s %s: got %v, want %s", tc.method, tc.path, rt, tc.want)
			continue
		}
		if tc.param != "" && params["id"] != tc.param {
			t.Errorf("%s %s: params %v", tc.method, tc.path, params)
		}
	}
}
