package command

import (
	"fmt"
	"path"
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
	"github.com/spf13/cobra"
)

// fileDiff is the difference of one file between the server's set and the
// directory.
type fileDiff struct {
	File string `json:"file"`
	// Status is added (only in the directory), removed (only on the
	// server) or changed.
	Status string `json:"status"`
	Diff   string `json:"diff"`
}

// diffSets compares the server's files (from) with the directory's (to).
func diffSets(fromLabel, toLabel string, from, to fileSet) []fileDiff {
	names := fileSet{}
	for n := range from {
		names[n] = nil
	}
	for n := range to {
		names[n] = nil
	}
	var out []fileDiff
	for _, n := range names.names() {
		a, inFrom := from[n]
		b, inTo := to[n]
		if inFrom && inTo && string(a) == string(b) {
			continue
		}
		status := "changed"
		oldLabel, newLabel := path.Join(fromLabel, n), path.Join(toLabel, n)
		switch {
		case !inFrom:
			status, oldLabel = "added", "/dev/null"
		case !inTo:
			status, newLabel = "removed", "/dev/null"
		}
		out = append(out, fileDiff{File: n, Status: status, Diff: udiff.Unified(oldLabel, newLabel, string(a), string(b))})
	}
	return out
}

func diffVerb() verb {
	return verb{
		use:   "diff <dir> [--live] [--exit-code]",
		short: "Shows how a directory of endpoint files differs from the drafts",
		long: `
Prints a unified diff from the drafts (or, with --live, the published set)
to the files of a directory in the format export writes: what 'apply'
would change. Both sides are compared as export renders them, so field
order, quoting and omitted defaults do not show up as differences.

With --exit-code the status is 2 when there are differences, 0 when there
are none (and 1 on errors).
`,
		example: `  $ caddy endpoint diff endpoints/
  $ caddy endpoint diff --live --exit-code endpoints/ || echo "not live yet"`,
		args: cobra.ExactArgs(1),
		flags: func(c *cobra.Command) {
			sourceFlags(c, false)
			c.Flags().Bool("exit-code", false, "Exit with status 2 when there are differences")
		},
		run: func(s *session, args []string) error {
			dir := args[0]
			local, err := readDir(dir)
			if err != nil {
				return err
			}
			to, err := renderLocal(local)
			if err != nil {
				return err
			}
			src := s.source()
			recs, err := s.records(src)
			if err != nil {
				return err
			}
			from, err := renderRecords(recs, true)
			if err != nil {
				return fmt.Errorf("rendering the %s: %v", src.label(), err)
			}
			diffs := diffSets(src.label(), strings.TrimSuffix(dir, "/"), from, to)
			if s.json {
				if diffs == nil {
					diffs = []fileDiff{}
				}
				if err := s.printJSON(diffs); err != nil {
					return err
				}
			} else {
				for _, d := range diffs {
					s.printDiff(d.Diff)
				}
			}
			if len(diffs) > 0 && s.flagBool("exit-code") {
				return exitStatus(2)
			}
			return nil
		},
	}
}

// printDiff writes a unified diff, coloured on a terminal.
func (s *session) printDiff(d string) {
	for _, line := range strings.SplitAfter(d, "\n") {
		if line == "" {
			continue
		}
		switch {
		case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"):
			line = s.paint(bold, strings.TrimSuffix(line, "\n")) + "\n"
		case strings.HasPrefix(line, "@@"):
			line = s.paint(cyan, strings.TrimSuffix(line, "\n")) + "\n"
		case strings.HasPrefix(line, "+"):
			line = s.paint(green, strings.TrimSuffix(line, "\n")) + "\n"
		case strings.HasPrefix(line, "-"):
			line = s.paint(red, strings.TrimSuffix(line, "\n")) + "\n"
		}
		fmt.Fprint(s.out, line)
	}
}
