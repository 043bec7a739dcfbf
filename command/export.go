package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/spf13/cobra"
)

// revisionDetail is the answer of GET /endpoint/revisions/{n}.
type revisionDetail struct {
	revisionInfo
	Records []json.RawMessage `json:"records"`
	// Declared names the endpoints of the Caddy config the revision
	// served; their records come from the config, not the revision.
	Declared []string `json:"declared"`
}

// source says which set of records a verb reads: the drafts, the live
// revision, or a given revision.
type source struct {
	live     bool
	revision int64
}

func sourceFlags(c *cobra.Command, withRevision bool) {
	c.Flags().Bool("live", false, "The live (published) set instead of the drafts")
	if withRevision {
		c.Flags().Int64("revision", 0, "The set of this revision instead of the drafts")
		c.MarkFlagsMutuallyExclusive("live", "revision")
	}
}

func (s *session) source() source {
	src := source{live: s.flagBool("live")}
	if s.cmd.Flags().Lookup("revision") != nil {
		src.revision, _ = s.cmd.Flags().GetInt64("revision")
	}
	return src
}

// label names the set for messages and diff headers.
func (src source) label() string {
	switch {
	case src.revision > 0:
		return "revision-" + strconv.FormatInt(src.revision, 10)
	case src.live:
		return "live"
	}
	return "drafts"
}

// records fetches the set src names.
func (s *session) records(src source) ([]json.RawMessage, error) {
	if !src.live && src.revision == 0 {
		var recs []json.RawMessage
		if err := s.api.get(s.ctx, "/endpoint/endpoints", nil, &recs); err != nil {
			return nil, fmt.Errorf("reading the drafts: %w", err)
		}
		return recs, nil
	}
	n := src.revision
	if n == 0 {
		var st syncStatus
		if err := s.api.get(s.ctx, "/endpoint/sync", nil, &st); err != nil {
			return nil, err
		}
		if st.Revision == 0 {
			return nil, nil // nothing published yet
		}
		n = st.Revision
	} else if n < 0 {
		return nil, fmt.Errorf("revision %d: want a positive integer", n)
	}
	var rev revisionDetail
	if err := s.api.get(s.ctx, "/endpoint/revisions/"+strconv.FormatInt(n, 10), nil, &rev); err != nil {
		return nil, fmt.Errorf("reading revision %d: %w", n, err)
	}
	if len(rev.Declared) == 0 {
		return rev.Records, nil
	}
	// a declared endpoint is read from the config the admin API runs now
	var drafts []json.RawMessage
	if err := s.api.get(s.ctx, "/endpoint/endpoints", nil, &drafts); err != nil {
		return nil, fmt.Errorf("reading the declared endpoints: %w", err)
	}
	declared := map[string]bool{}
	for _, n := range rev.Declared {
		declared[n] = true
	}
	recs := rev.Records
	for _, raw := range drafts {
		var named struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(raw, &named) == nil && declared[named.Name] {
			recs = append(recs, raw)
		}
	}
	return recs, nil
}

func exportVerb() verb {
	return verb{
		use:   "export <dir> [--live | --revision <n>]",
		short: "Writes the endpoints as files: NAME.yaml, NAME.star, NAME.schema.*",
		long: `
Writes the drafts (or the live set, or a revision's set) into a directory
(endpoints declared in the Caddy config as the running config has them):
for each record NAME.yaml (the record, with code_file and schema_file in
place of its snippet and schema), NAME.star (the snippet) and
NAME.schema.yaml, .json or .xsd (the request schema).

The output is deterministic: the same records give the same bytes, fields
in a fixed order, nested keys sorted. Files the directory holds for records
that no longer exist are removed; other files are left alone.
`,
		example: `  $ caddy endpoint export endpoints/
  $ caddy endpoint export --revision 4 /tmp/rev4`,
		args:  cobra.ExactArgs(1),
		flags: func(c *cobra.Command) { sourceFlags(c, true) },
		run: func(s *session, args []string) error {
			dir := args[0]
			src := s.source()
			recs, err := s.records(src)
			if err != nil {
				return err
			}
			files, err := renderRecords(recs, false)
			if err != nil {
				return fmt.Errorf("exporting: %v", err)
			}
			written, removed, err := writeDir(dir, files)
			if err != nil {
				return err
			}
			if s.json {
				return s.printJSON(map[string]any{
					"dir": dir, "endpoints": len(recs), "files": files.names(),
					"written": nonNil(written), "removed": nonNil(removed),
				})
			}
			fmt.Fprintf(s.out, "exported %d endpoints (%s) to %s: %d files, %d written, %d removed\n",
				len(recs), src.label(), dir, len(files), len(written), len(removed))
			return nil
		},
	}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// writeDir makes dir hold files: it writes those whose content differs
// (each through a temporary file and a rename) and removes the files of
// records that are no longer in the set.
func writeDir(dir string, files fileSet) (written, removed []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("creating directory %s: %v", dir, err)
	}
	// files of the records the directory holds now, to remove the stale ones
	var stale []string
	if old, err := readDir(dir); err == nil {
		for _, r := range old {
			for _, p := range append([]string{r.File}, r.Uses...) {
				if filepath.Dir(p) != filepath.Clean(dir) {
					continue // only files directly in dir are the export's
				}
				if _, keep := files[filepath.Base(p)]; !keep {
					stale = append(stale, p)
				}
			}
		}
	}
	for _, name := range files.names() {
		path := filepath.Join(dir, name)
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, files[name]) {
			continue
		}
		if err := writeFileAtomic(path, files[name]); err != nil {
			return written, removed, err
		}
		written = append(written, name)
	}
	slices.Sort(stale)
	for _, p := range slices.Compact(stale) {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return written, removed, fmt.Errorf("removing %s: %v", p, err)
		}
		removed = append(removed, filepath.Base(p))
	}
	return written, removed, nil
}

func writeFileAtomic(path string, content []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	_, werr := tmp.Write(content)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Chmod(tmp.Name(), 0o644)
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("writing %s: %v", path, werr)
	}
	return nil
}
