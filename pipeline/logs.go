package pipeline

import (
	"sync"
	"time"
)

// LogRingSize bounds the admin log buffer (GET /endpoint/logs).
const LogRingSize = 1000

// LogLine is one log() call of a snippet, as GET /endpoint/logs shows it.
type LogLine struct {
	Time     time.Time `json:"time"`
	Endpoint string    `json:"endpoint"`
	Revision int64     `json:"revision"`
	Level    string    `json:"level"`
	Message  string    `json:"message"`
}

// LogRing keeps the most recent snippet log lines.
type LogRing struct {
	mu    sync.Mutex
	lines []LogLine
	next  int
	full  bool
}

func NewLogRing(size int) *LogRing { return &LogRing{lines: make([]LogLine, size)} }

func (l *LogRing) Add(line LogLine) {
	l.mu.Lock()
	l.lines[l.next] = line
	l.next++
	if l.next == len(l.lines) {
		l.next, l.full = 0, true
	}
	l.mu.Unlock()
}

// Lines returns the buffered lines, oldest first, for one endpoint or
// (name "") all of them.
func (l *LogRing) Lines(name string) []LogLine {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]LogLine, 0, len(l.lines))
	collect := func(part []LogLine) {
		for _, line := range part {
			if name == "" || line.Endpoint == name {
				out = append(out, line)
			}
		}
	}
	if l.full {
		collect(l.lines[l.next:])
	}
	collect(l.lines[:l.next])
	return out
}
