package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"
)

// logLine is one log() line of a snippet.
type logLine struct {
	Time     time.Time `json:"time"`
	Endpoint string    `json:"endpoint"`
	Revision int64     `json:"revision"`
	Level    string    `json:"level"`
	Message  string    `json:"message"`
}

// followEvery is how often logs --follow asks for new lines.
const followEvery = time.Second

func logsVerb() verb {
	return verb{
		use:   "logs [--endpoint <name>] [--follow]",
		short: "Prints the recent log() lines of the snippets",
		long: `
Prints the lines the snippets wrote with log(), oldest first, from the
admin API's bounded buffer. With --follow it keeps printing new lines
until interrupted. With --json, one JSON object a line.
`,
		args: cobra.NoArgs,
		flags: func(c *cobra.Command) {
			c.Flags().String("endpoint", "", "Only the lines of this endpoint")
			c.Flags().BoolP("follow", "f", false, "Keep printing new lines")
		},
		run: func(s *session, _ []string) error {
			q := url.Values{}
			if e := s.flagString("endpoint"); e != "" {
				q.Set("endpoint", e)
			}
			var last *logLine
			for {
				var lines []logLine
				if err := s.api.get(s.ctx, "/endpoint/logs", q, &lines); err != nil {
					if s.ctx.Err() != nil {
						return nil // interrupted
					}
					return fmt.Errorf("reading the logs: %w", err)
				}
				for _, l := range newLines(lines, last) {
					if err := s.printLogLine(l); err != nil {
						return err
					}
				}
				if len(lines) > 0 {
					last = &lines[len(lines)-1]
				}
				if !s.flagBool("follow") {
					return nil
				}
				select {
				case <-s.ctx.Done():
					return nil
				case <-time.After(followEvery):
				}
			}
		},
	}
}

// newLines returns the lines of a buffer read that follow last, the last
// line printed from the read before. When last is no longer in the
// buffer, every line is new.
func newLines(lines []logLine, last *logLine) []logLine {
	if last == nil {
		return lines
	}
	for i := len(lines) - 1; i >= 0; i-- {
		if sameLine(lines[i], *last) {
			return lines[i+1:]
		}
	}
	return lines
}

func sameLine(a, b logLine) bool {
	return a.Time.Equal(b.Time) && a.Endpoint == b.Endpoint && a.Revision == b.Revision &&
		a.Level == b.Level && a.Message == b.Message
}

func (s *session) printLogLine(l logLine) error {
	if s.json {
		b, err := json.Marshal(l)
		if err != nil {
			return errors.New("encoding a log line")
		}
		_, err = fmt.Fprintf(s.out, "%s\n", b)
		return err
	}
	level := l.Level
	switch level {
	case "error":
		level = s.paint(red, fmt.Sprintf("%-5s", level))
	case "warn", "warning":
		level = s.paint(yellow, fmt.Sprintf("%-5s", level))
	default:
		level = fmt.Sprintf("%-5s", level)
	}
	_, err := fmt.Fprintf(s.out, "%s %s %s %s\n", l.Time.Local().Format("2006-01-02 15:04:05.000"), level, s.paint(bold, l.Endpoint), l.Message)
	return err
}
