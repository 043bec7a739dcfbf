package command

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// changes are the names a sync added, changed and removed (or would).
type changes struct {
	Added   []string `json:"added"`
	Changed []string `json:"changed"`
	Removed []string `json:"removed"`
}

func (c changes) empty() bool {
	return len(c.Added) == 0 && len(c.Changed) == 0 && len(c.Removed) == 0
}

// syncStatus is the answer of GET /endpoint/sync.
type syncStatus struct {
	Revision int64   `json:"revision"`
	InSync   bool    `json:"in_sync"`
	Pending  changes `json:"pending"`
}

// syncResult is the answer of POST /endpoint/sync and /endpoint/rollback.
type syncResult struct {
	Revision int64 `json:"revision"`
	changes
}

// revisionInfo is one entry of GET /endpoint/revisions.
type revisionInfo struct {
	Revision  int64     `json:"revision"`
	CreatedAt time.Time `json:"created_at"`
	Kind      string    `json:"kind"`
	Message   string    `json:"message"`
	Source    string    `json:"source"`
	Endpoints int       `json:"endpoints"`
}

// printChanges writes one line per kind of change that has names.
func (s *session) printChanges(c changes, indent string) {
	for _, k := range []struct {
		label, colour string
		names         []string
	}{
		{"added", green, c.Added},
		{"changed", yellow, c.Changed},
		{"removed", red, c.Removed},
	} {
		if len(k.names) > 0 {
			fmt.Fprintf(s.out, "%s%s %s\n", indent, s.paint(k.colour, fmt.Sprintf("%-8s", k.label)), strings.Join(k.names, ", "))
		}
	}
}

func statusVerb() verb {
	return verb{
		use:   "status",
		short: "Shows the live revision and the drafts waiting for a sync",
		long: `
Shows the revision being served and whether the drafts match it; when they
do not, lists the endpoints a sync would add, change and remove.
`,
		args: cobra.NoArgs,
		run: func(s *session, _ []string) error {
			var st syncStatus
			if err := s.api.get(s.ctx, "/endpoint/sync", nil, &st); err != nil {
				return err
			}
			if s.json {
				return s.printJSON(st)
			}
			state := s.paint(green, "in sync")
			if !st.InSync {
				n := len(st.Pending.Added) + len(st.Pending.Changed) + len(st.Pending.Removed)
				state = s.paint(yellow, fmt.Sprintf("out of sync: %d pending", n))
			}
			fmt.Fprintf(s.out, "revision %d, %s\n", st.Revision, state)
			s.printChanges(st.Pending, "  ")
			return nil
		},
	}
}

func syncVerb() verb {
	return verb{
		use:   "sync [--only <name>,...] [--message <text>]",
		short: "Publishes the drafts as a new revision",
		long: `
Publishes the drafts (or only the endpoints named by --only; the others stay
to sync) as a new revision, after running the examples of every added or
changed endpoint. If anything is invalid or an example fails, nothing
changes and every problem is listed.
`,
		example: `  $ caddy endpoint sync --message "orders: accept PUT"
  $ caddy endpoint sync --only orders,hello`,
		args: cobra.NoArgs,
		flags: func(c *cobra.Command) {
			c.Flags().StringSlice("only", nil, "Publish only these endpoints (comma-separated)")
			c.Flags().StringP("message", "m", "", "Message recorded with the revision")
		},
		run: func(s *session, _ []string) error {
			only, _ := s.cmd.Flags().GetStringSlice("only")
			body := map[string]any{}
			if len(only) > 0 {
				body["only"] = only
			}
			if m := s.flagString("message"); m != "" {
				body["message"] = m
			}
			var before syncStatus
			if err := s.api.get(s.ctx, "/endpoint/sync", nil, &before); err != nil {
				return err
			}
			var res syncResult
			if err := s.api.post(s.ctx, "/endpoint/sync", body, &res); err != nil {
				return fmt.Errorf("syncing: %w", err)
			}
			if s.json {
				return s.printJSON(res)
			}
			if res.changes.empty() && res.Revision == before.Revision {
				fmt.Fprintf(s.out, "nothing to sync: revision %d is live\n", res.Revision)
				return nil
			}
			fmt.Fprintf(s.out, "revision %d published\n", res.Revision)
			s.printChanges(res.changes, "  ")
			return nil
		},
	}
}

func revisionsVerb() verb {
	return verb{
		use:   "revisions",
		short: "Lists the published revisions, newest first",
		long: `
Lists the kept revisions, newest first: when each was made, by a sync, a
rollback or an apply, from which admin client, with its message and the
number of endpoints it serves. The live revision is marked with *.
`,
		args: cobra.NoArgs,
		run: func(s *session, _ []string) error {
			var revs []revisionInfo
			if err := s.api.get(s.ctx, "/endpoint/revisions", nil, &revs); err != nil {
				return err
			}
			if s.json {
				return s.printJSON(revs)
			}
			var st syncStatus
			if err := s.api.get(s.ctx, "/endpoint/sync", nil, &st); err != nil {
				return err
			}
			t := &table{s: s, header: []string{"REVISION", "CREATED", "KIND", "ENDPOINTS", "SOURCE", "MESSAGE"}}
			for _, r := range revs {
				rev := cell{text: strconv.FormatInt(r.Revision, 10) + " "}
				if r.Revision == st.Revision {
					rev = cell{text: strconv.FormatInt(r.Revision, 10) + "*", colour: green}
				}
				t.add(rev,
					cell{text: r.CreatedAt.Local().Format("2006-01-02 15:04:05")},
					cell{text: orDash(r.Kind)},
					cell{text: strconv.Itoa(r.Endpoints)},
					cell{text: orDash(r.Source)},
					cell{text: oneLine(r.Message)},
				)
			}
			return t.print()
		},
	}
}

func rollbackVerb() verb {
	return verb{
		use:   "rollback <revision> [--message <text>]",
		short: "Publishes an earlier revision's endpoints as a new revision",
		long: `
Publishes the endpoints of an earlier revision as a new revision (their
examples run first, as for a sync). The drafts become that set.
`,
		example: `  $ caddy endpoint rollback 3 --message "back to before the orders change"`,
		args:    cobra.ExactArgs(1),
		flags: func(c *cobra.Command) {
			c.Flags().StringP("message", "m", "", "Message recorded with the new revision")
		},
		run: func(s *session, args []string) error {
			n, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || n <= 0 {
				return fmt.Errorf("revision %q: want a positive integer", args[0])
			}
			body := map[string]any{"revision": n}
			if m := s.flagString("message"); m != "" {
				body["message"] = m
			}
			var res syncResult
			if err := s.api.post(s.ctx, "/endpoint/rollback", body, &res); err != nil {
				return fmt.Errorf("rolling back to revision %d: %w", n, err)
			}
			if s.json {
				return s.printJSON(res)
			}
			fmt.Fprintf(s.out, "revision %d published: the endpoints of revision %d\n", res.Revision, n)
			s.printChanges(res.changes, "  ")
			return nil
		},
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return orDash(s)
}
