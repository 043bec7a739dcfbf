package command

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"
)

// listed is what a line of `list` shows of a record.
type listed struct {
	Name           string   `json:"name"`
	Routes         []string `json:"routes"`
	Route          string   `json:"route"`
	RequestMethods []string `json:"request_methods"`
	RequestMethod  string   `json:"request_method"`
	RouteGroup     string   `json:"route_group"`
	AuthType       string   `json:"auth_type"`
	SyncState      string   `json:"sync_state"`
	Active         *bool    `json:"active"`
}

func listVerb() verb {
	return verb{
		use:   "list [--group <name>] [--to-sync] [--archived]",
		short: "Lists the endpoint records (drafts), one a line",
		long: `
Lists the records, declared and drafts, sorted by name: routes, methods,
route group, auth type, sync state (in_sync or to_sync) and whether the
record is active.
`,
		args: cobra.NoArgs,
		flags: func(c *cobra.Command) {
			c.Flags().String("group", "", "Only records of this route group")
			c.Flags().Bool("to-sync", false, "Only records waiting for a sync")
			c.Flags().Bool("archived", false, "Only archived (inactive) records")
		},
		run: listRecords,
	}
}

// listRecords lists the records the flags select.
func listRecords(s *session, _ []string) error {
	q := url.Values{}
	if s.cmd.Flags().Changed("group") {
		q.Set("route_group", s.flagString("group"))
	}
	if s.flagBool("to-sync") {
		q.Set("sync_state", "to_sync")
	}
	if s.flagBool("archived") {
		q.Set("active", "false")
	}
	var raw []json.RawMessage
	if err := s.api.get(s.ctx, "/endpoint/endpoints", q, &raw); err != nil {
		return fmt.Errorf("listing endpoints: %w", err)
	}
	if s.json {
		if raw == nil {
			raw = []json.RawMessage{}
		}
		return s.printJSON(raw)
	}
	t := &table{s: s, header: []string{"NAME", "ROUTES", "METHODS", "GROUP", "AUTH", "STATE", "ACTIVE"}}
	for _, r := range raw {
		var l listed
		if err := json.Unmarshal(r, &l); err != nil {
			return fmt.Errorf("decoding a record: %v", err)
		}
		t.add(l.cells()...)
	}
	return t.print()
}

// cells are the columns of a record in the list.
func (l listed) cells() []cell {
	if len(l.Routes) == 0 && l.Route != "" {
		l.Routes = []string{l.Route}
	}
	if len(l.RequestMethods) == 0 {
		l.RequestMethods = []string{orDefault(l.RequestMethod, "GET")}
	}
	state := cell{text: orDash(l.SyncState), colour: green}
	if l.SyncState != "in_sync" {
		state.colour = yellow
	}
	active := cell{text: "yes"}
	if l.Active != nil && !*l.Active {
		active = cell{text: "no", colour: red}
	}
	return []cell{{text: l.Name, colour: bold},
		{text: joinOr(l.Routes, " ")},
		{text: joinOr(l.RequestMethods, ",")},
		{text: orDash(l.RouteGroup)},
		{text: orDefault(l.AuthType, "user")},
		state, active}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
