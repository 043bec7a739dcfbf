package command

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
)

// ANSI colours, used only when stdout is a terminal.
const (
	red    = "31"
	green  = "32"
	yellow = "33"
	cyan   = "36"
	bold   = "1"
)

// paint colours s when the session prints to a terminal.
func (s *session) paint(colour, text string) string {
	if !s.colour || text == "" {
		return text
	}
	return "\x1b[" + colour + "m" + text + "\x1b[0m"
}

// printJSON writes v indented, for --json.
func (s *session) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the answer: %v", err)
	}
	_, err = fmt.Fprintf(s.out, "%s\n", b)
	return err
}

// table writes aligned columns: a header row, then the rows. Cells are
// painted after alignment is computed, so colour does not skew columns.
type table struct {
	s      *session
	header []string
	rows   [][]cell
}

// cell is a table cell and its colour ("" for none).
type cell struct {
	text, colour string
}

func plainCells(texts ...string) []cell {
	cells := make([]cell, len(texts))
	for i, t := range texts {
		cells[i] = cell{text: t}
	}
	return cells
}

func (t *table) add(cells ...cell) { t.rows = append(t.rows, cells) }

func (t *table) print() error {
	// tabwriter counts escape codes as width; align on plain text, then
	// paint each cell padded to its column.
	widths := make([]int, len(t.header))
	for i, h := range t.header {
		widths[i] = len(h)
	}
	for _, r := range t.rows {
		for i, c := range r {
			if i < len(widths) && len([]rune(c.text)) > widths[i] {
				widths[i] = len([]rune(c.text))
			}
		}
	}
	if !t.s.colour {
		w := tabwriter.NewWriter(t.s.out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, strings.Join(t.header, "\t"))
		for _, r := range t.rows {
			texts := make([]string, len(r))
			for i, c := range r {
				texts[i] = c.text
			}
			fmt.Fprintln(w, strings.Join(texts, "\t"))
		}
		return w.Flush()
	}
	line := func(cells []cell) string {
		var b strings.Builder
		for i, c := range cells {
			text := c.text
			if i < len(cells)-1 {
				text += strings.Repeat(" ", widths[i]-len([]rune(c.text))+2)
			}
			if c.colour != "" {
				text = t.s.paint(c.colour, strings.TrimRight(text, " ")) + text[len(strings.TrimRight(text, " ")):]
			}
			b.WriteString(text)
		}
		return strings.TrimRight(b.String(), " ")
	}
	header := make([]cell, len(t.header))
	for i, h := range t.header {
		header[i] = cell{text: h, colour: bold}
	}
	if _, err := fmt.Fprintln(t.s.out, line(header)); err != nil {
		return err
	}
	for _, r := range t.rows {
		if _, err := fmt.Fprintln(t.s.out, line(r)); err != nil {
			return err
		}
	}
	return nil
}

// joinOr joins a list, or returns dash when it is empty.
func joinOr(list []string, sep string) string {
	if len(list) == 0 {
		return "-"
	}
	return strings.Join(list, sep)
}
