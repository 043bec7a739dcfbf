package jsonwalk

import (
	"encoding/json"
	"strings"
	"testing"
)

var decoder = Decoder

type counter struct {
	Walker
	events int
}

func (c *counter) OnNull() error                        { c.events++; return nil }
func (c *counter) OnBool(bool) error                    { c.events++; return nil }
func (c *counter) OnString(string) error                { c.events++; return nil }
func (c *counter) OnInt64(int64, json.Number) error     { c.events++; return nil }
func (c *counter) OnFloat64(float64, json.Number) error { c.events++; return nil }
func (c *counter) OnObjectBegin(int) error              { c.events++; return nil }
func (c *counter) OnObjectKey(string) error             { c.events++; return nil }
func (c *counter) OnObjectEnd() error                   { c.events++; return nil }
func (c *counter) OnArrayBegin(int) error               { c.events++; return nil }
func (c *counter) OnArrayEnd() error                    { c.events++; return nil }

func walk(body string) bool {
	c := &counter{}
	c.Visitor = c
	return c.Walk([]byte(body))
}

// TestWalkAcceptsOnlyWhatTheDecoderAccepts: every document Walk accepts
// the decoder accepts, and the plain valid ones Walk accepts too.
func TestWalkAcceptsOnlyWhatTheDecoderAccepts(t *testing.T) {
	valid := []string{`{"a":1}`, ` {"a" : [1, 2.5, -0, 1E+2, true, false, null]} `, `"\u00e9"`, `{"a":"\/"}`,
		`{"a":1,"a":2}`, "{\"a\":\"\x7f\"}", `{"a":"\ud800"}`, `[[],{}]`, `1e999999`, "{\n\t\"a\": 1\r\n}"}
	refused := []string{"{\"a\":\"\t\"}", "{\"a\":\"\x01\"}", `{"a":"\x"}`, `"\u12"`, `"\U0041"`, `"\'"`, `01`, `1.`, `-`,
		`1e`, `{"a":1,}`, `[1,]`, `{"a":1} x`, `{"a":1}{}`, `nul`, "\xef\xbb\xbf{}", `[.5]`, `[+1]`, `[NaN]`, `'a'`,
		`{a:1}`, `[1 2]`, `truex`, "[1]\x00", "\x00", "", " ", "\"\xff\"", `{"a":"\n"}`, "{\"\x02\":1}"}
	for _, body := range valid {
		var v any
		if !walk(body) || decoder.Unmarshal([]byte(body), &v) != nil {
			t.Errorf("%q: walk %v, decoder error %v; want both to accept", body, walk(body), decoder.Unmarshal([]byte(body), &v))
		}
	}
	for _, body := range refused {
		if walk(body) {
			t.Errorf("%q: walk accepted it", body)
		}
	}
	// `{"a":"\n"}` is valid JSON that Walk leaves to the decoder
	var v any
	if err := decoder.Unmarshal([]byte(`{"a":"\n"}`), &v); err != nil {
		t.Fatal(err)
	}
}

func TestWalkVisitsEveryValue(t *testing.T) {
	c := &counter{}
	c.Visitor = c
	if !c.Walk([]byte(`{"a":[1,"x",null],"b":{"c":true}}`)) {
		t.Fatal("refused")
	}
	// { a [ 1 x null ] b { c true } }: 13 events
	if c.events != 13 {
		t.Fatalf("events = %d, want 13", c.events)
	}
}

func TestHasControl(t *testing.T) {
	for n := range 40 {
		for at := -1; at < n; at++ {
			b := []byte(strings.Repeat("a", n))
			if at >= 0 {
				b[at] = byte(at % 0x20)
			}
			want := at >= 0
			if got := HasControl(string(b)); got != want {
				t.Fatalf("HasControl(%q) = %v", b, got)
			}
		}
	}
	for c := 0; c < 256; c++ {
		s := strings.Repeat("\x7f\xff ", 5) + string(rune(0))[:0] + string([]byte{byte(c)}) + "abcdefgh"
		if got := HasControl(s); got != (c < 0x20) {
			t.Fatalf("byte %#x: HasControl = %v", c, got)
		}
	}
}

// TestShape: the shape a walk sees is the one the decoded document has
// (keys counted in the bytes, where the decoder keeps one of two).
func TestShape(t *testing.T) {
	for body, want := range map[string]Shape{
		`{"a": 1, "b": [2, {"c": null}]}`: {Walked: true, Object: true, PlainKeys: true, Levels: 3, PlainNumbers: true},
		`{}`:                              {Walked: true, Object: true, PlainKeys: true, PlainNumbers: true},
		`[1, 2]`:                          {Walked: true, PlainKeys: true, Levels: 1, PlainNumbers: true},
		`"x"`:                             {Walked: true, PlainKeys: true, PlainNumbers: true},
		`{"a": 1, "a": 2}`:                {Walked: true, Object: true, Levels: 1, PlainNumbers: true},
		`{"a": {"b": 1, "b": 2}}`:         {Walked: true, Object: true, PlainKeys: true, Levels: 2, PlainNumbers: true},
		`{"\ud800": 1}`:                   {Walked: true, Object: true, Levels: 1, PlainNumbers: true},
		`{"a": {"\ud800": 1}}`:            {Walked: true, Object: true, PlainKeys: true, Levels: 2, PlainNumbers: true},
		`{"a": 1E2}`:                      {Walked: true, Object: true, PlainKeys: true, Levels: 1},
		`{"a": ` + strings.Repeat("1", 300) + `}`: {Walked: true, Object: true, PlainKeys: true, Levels: 1},
		`{"a": ` + strings.Repeat("1", 299) + `}`: {Walked: true, Object: true, PlainKeys: true, Levels: 1, PlainNumbers: true},
		`{"a": 1`: {},
	} {
		c := &counter{}
		c.Visitor = c
		c.Walk([]byte(body))
		if got := c.Shape(); got != want {
			t.Errorf("shape of %.40s = %+v, want %+v", body, got, want)
		}
	}
	var keys []string
	for i := range MaxTopKeys + 1 {
		keys = append(keys, `"k`+strings.Repeat("x", i)+`": 0`)
	}
	for n, distinct := range map[int]bool{MaxTopKeys: true, MaxTopKeys + 1: false} {
		c := &counter{}
		c.Visitor = c
		c.Walk([]byte("{" + strings.Join(keys[:n], ",") + "}"))
		if got := c.Shape().PlainKeys; got != distinct {
			t.Errorf("%d keys: PlainKeys = %v", n, got)
		}
	}
	// a walk after a refused one starts afresh
	c := &counter{}
	c.Visitor = c
	c.Walk([]byte(`{"a": 1, "a": 2}`))
	c.Walk([]byte(`{"a": 1}`))
	if !c.Shape().PlainKeys {
		t.Error("the keys of the last walk stayed")
	}
}
