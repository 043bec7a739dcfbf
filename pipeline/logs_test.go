package pipeline

import (
	"fmt"
	"sync"
	"testing"
)

func line(endpoint string, i int) LogLine {
	return LogLine{Endpoint: endpoint, Revision: 1, Level: "info", Message: fmt.Sprintf("m%d", i)}
}

func messages(lines []LogLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Message
	}
	return out
}

func TestLogRing(t *testing.T) {
	tests := []struct {
		name   string
		size   int
		add    []LogLine
		filter string
		want   []string
	}{
		{"empty", 3, nil, "", []string{}},
		{"partly filled", 3, []LogLine{line("a", 1), line("a", 2)}, "", []string{"m1", "m2"}},
		{"exactly full", 3, []LogLine{line("a", 1), line("a", 2), line("a", 3)}, "", []string{"m1", "m2", "m3"}},
		{"wrapped once", 3, []LogLine{line("a", 1), line("a", 2), line("a", 3), line("a", 4)}, "", []string{"m2", "m3", "m4"}},
		{"wrapped twice", 2, []LogLine{line("a", 1), line("a", 2), line("a", 3), line("a", 4), line("a", 5)}, "", []string{"m4", "m5"}},
		{"filter", 5, []LogLine{line("a", 1), line("b", 2), line("a", 3), line("c", 4)}, "a", []string{"m1", "m3"}},
		{"filter after wrap", 3, []LogLine{line("a", 1), line("b", 2), line("a", 3), line("b", 4), line("a", 5)}, "a", []string{"m3", "m5"}},
		{"filter dropped lines", 2, []LogLine{line("a", 1), line("b", 2), line("b", 3)}, "a", []string{}},
		{"filter unknown", 3, []LogLine{line("a", 1)}, "zzz", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewLogRing(tt.size)
			for _, l := range tt.add {
				r.Add(l)
			}
			got := r.Lines(tt.filter)
			if got == nil {
				t.Fatal("Lines returned nil, want an empty slice (it is encoded as JSON)")
			}
			if fmt.Sprint(messages(got)) != fmt.Sprint(tt.want) {
				t.Errorf("got %v, want %v", messages(got), tt.want)
			}
			for _, l := range got {
				if tt.filter != "" && l.Endpoint != tt.filter {
					t.Errorf("line of %q in the %q filter", l.Endpoint, tt.filter)
				}
			}
		})
	}
}

func TestLogRingLinesIsACopy(t *testing.T) {
	r := NewLogRing(2)
	r.Add(line("a", 1))
	got := r.Lines("")
	got[0].Message = "changed"
	if r.Lines("")[0].Message != "m1" {
		t.Error("changing the returned slice changed the buffer")
	}
}

func TestLogRingBounded(t *testing.T) {
	r := NewLogRing(LogRingSize)
	for i := 0; i < 3*LogRingSize+7; i++ {
		r.Add(line("a", i))
	}
	got := r.Lines("")
	if len(got) != LogRingSize {
		t.Fatalf("got %d lines, want %d", len(got), LogRingSize)
	}
	if first, last := got[0].Message, got[len(got)-1].Message; first != fmt.Sprintf("m%d", 2*LogRingSize+7) || last != fmt.Sprintf("m%d", 3*LogRingSize+6) {
		t.Errorf("first %s last %s: want the most recent lines, oldest first", first, last)
	}
}

func TestLogRingConcurrent(t *testing.T) {
	const writers, each, size = 8, 200, 64
	r := NewLogRing(size)
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			name := fmt.Sprintf("e%d", w)
			for i := 0; i < each; i++ {
				r.Add(line(name, i))
				if i%50 == 0 {
					_ = r.Lines(name)
				}
			}
		}(w)
	}
	wg.Wait()
	got := r.Lines("")
	if len(got) != size {
		t.Fatalf("got %d lines, want %d", len(got), size)
	}
	// per writer, the lines kept are in the order it wrote them
	last := map[string]int{}
	for _, l := range got {
		var i int
		fmt.Sscanf(l.Message, "m%d", &i)
		if prev, ok := last[l.Endpoint]; ok && i <= prev {
			t.Errorf("%s: m%d after m%d", l.Endpoint, i, prev)
		}
		last[l.Endpoint] = i
	}
}
