package command

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

// applyResult is the answer of POST /endpoint/apply.
type applyResult struct {
	Created   []string `json:"created"`
	Updated   []string `json:"updated"`
	Deleted   []string `json:"deleted"`
	Unchanged []string `json:"unchanged"`
	Revision  int64    `json:"revision"`
}

// progressEvery is how often a waiting apply says it still waits.
const progressEvery = 2 * time.Second

func applyVerb() verb {
	return verb{
		use:   "apply <dir> [--prune] [--sync] [--message <text>] [--dry-run]",
		short: "Stores a directory of endpoint files as the drafts, in one call",
		long: `
Reads the records of a directory (the format export writes) and sends them
in one call: every record and the resulting set are checked first, then
all are stored, or none is. Prints which records were created, updated,
deleted and left unchanged.

  --prune     delete the drafts that are not in the directory (endpoints
              declared in the Caddy config are never touched)
  --sync      publish in the same call (examples run first, as for a sync)
  --message   the message of the revision --sync makes
  --dry-run   check and report, store nothing

While the admin API works, a progress line on stderr says how long it has
been waiting.
`,
		example: `  $ caddy endpoint apply endpoints/ --dry-run
  $ caddy endpoint apply endpoints/ --prune --sync --message "release 42"`,
		args: cobra.ExactArgs(1),
		flags: func(c *cobra.Command) {
			c.Flags().Bool("prune", false, "Delete drafts that are not in the directory")
			c.Flags().Bool("sync", false, "Publish the result as a new revision")
			c.Flags().StringP("message", "m", "", "Message recorded with the revision (with --sync)")
			c.Flags().Bool("dry-run", false, "Check and report without storing anything")
		},
		run: applyDir,
	}
}

// applyDir sends the records of the directory args[0] in one apply.
func applyDir(s *session, args []string) error {
	dir := args[0]
	local, err := readDir(dir)
	if err != nil {
		return err
	}
	if len(local) == 0 && s.flagBool("prune") {
		return fmt.Errorf("%s holds no endpoint records: refusing to --prune every draft", dir)
	}
	recs := make([]json.RawMessage, 0, len(local))
	for _, r := range local {
		raw, err := r.JSON()
		if err != nil {
			return err
		}
		recs = append(recs, raw)
	}
	body := map[string]any{
		"endpoints": recs,
		"prune":     s.flagBool("prune"),
		"sync":      s.flagBool("sync"),
		"message":   s.flagString("message"),
		"dry_run":   s.flagBool("dry-run"),
	}
	stop := s.progress(fmt.Sprintf("applying %d endpoints from %s", len(recs), dir))
	var res applyResult
	err = s.api.post(s.ctx, "/endpoint/apply", body, &res)
	stop()
	if err != nil {
		return fmt.Errorf("applying %s: %w", dir, err)
	}
	if s.json {
		return s.printJSON(res)
	}
	printApplied(s, res)
	return nil
}

// printApplied says what an apply did, or would do with --dry-run.
func printApplied(s *session, res applyResult) {
	verbPrefix := ""
	if s.flagBool("dry-run") {
		verbPrefix = "would be "
	}
	for _, k := range []struct {
		label, colour string
		names         []string
	}{
		{"created", green, res.Created},
		{"updated", yellow, res.Updated},
		{"deleted", red, res.Deleted},
		{"unchanged", "", res.Unchanged},
	} {
		fmt.Fprintf(s.out, "%s %s\n", s.paint(k.colour, fmt.Sprintf("%-18s", verbPrefix+k.label+":")), joinOr(k.names, ", "))
	}
	switch {
	case s.flagBool("dry-run"):
		fmt.Fprintln(s.out, "dry run: nothing stored")
	case s.flagBool("sync"):
		fmt.Fprintf(s.out, "revision %d is live\n", res.Revision)
	default:
		fmt.Fprintln(s.out, "stored as drafts; publish with: caddy endpoint sync")
	}
}

// progress says on stderr what the session is waiting for, and for how
// long, until the returned stop is called: redrawn in place each second
// on a terminal, a line every few seconds otherwise.
func (s *session) progress(what string) (stop func()) {
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	start := time.Now()
	every := progressEvery
	if s.errTerminal {
		every = time.Second
	}
	fmt.Fprintf(s.errOut, "%s ...", what)
	if !s.errTerminal {
		fmt.Fprintln(s.errOut)
	}
	go func() {
		defer close(done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				if s.errTerminal {
					fmt.Fprintf(s.errOut, "\r%s ... done (%s)\n", what, time.Since(start).Round(time.Millisecond))
				}
				return
			case <-tick.C:
				elapsed := time.Since(start).Round(time.Second)
				if s.errTerminal {
					fmt.Fprintf(s.errOut, "\r%s ... %s", what, elapsed)
				} else {
					fmt.Fprintf(s.errOut, "still %s (%s)\n", what, elapsed)
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
