package schema

import (
	"errors"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ErrTimeLimit is what ValidateBy returns when it stopped at its deadline
// before reaching an answer.
var ErrTimeLimit = errors.New("validating the body took longer than the time limit")

// The library's validator takes no context and no deadline, and its cost
// is not linear in the body: applicators that reach the same value twice
// through a recursive $ref (allOf, anyOf or oneOf of two branches that
// both recurse into items) cost 2^depth, so `[[[…]]]` 40 levels deep in a
// 100-byte body would validate for hours. To stop it, every schema object
// is compiled with one more extension, a clock, which the library calls
// each time it evaluates that schema against a value; past its deadline
// the clock panics with pastDeadline and ValidateBy recovers it as
// ErrTimeLimit. The library keeps no state across a Validate call, so
// unwinding one midway leaves nothing behind.
//
// An extension cannot tell which validation calls it, so each clock
// belongs to one compiled copy of the schema, and a copy serves one
// validation at a time: a validator keeps its idle copies and compiles
// one more when every copy is in use (at most one per validation in
// flight).

// clockURL names the clock vocabulary; it has no keywords.
const clockURL = "urn:caddy-endpoint:validation-clock"

// clockEvery is how many schema evaluations pass between two looks at
// the time.
const clockEvery = 32

// clock is the deadline of the validation a compiled copy serves.
type clock struct {
	deadline time.Time
	n        uint32
}

// pastDeadline is the panic value of a clock past its deadline.
type pastDeadline struct{}

// Validate is called by the library for every schema object it
// evaluates; it asserts nothing.
func (c *clock) Validate(*jsonschema.ValidatorContext, any) {
	c.n++
	if c.n%clockEvery == 0 && !c.deadline.IsZero() && time.Now().After(c.deadline) {
		panic(pastDeadline{})
	}
}

// jsonCopy is one compiled copy of a schema with its clock.
type jsonCopy struct {
	schema *jsonschema.Schema
	clock  *clock
}

// copies hands out compiled copies of one schema, one per validation.
type copies struct {
	doc  any
	mu   sync.Mutex
	idle []*jsonCopy
}

func (cs *copies) take() (*jsonCopy, error) {
	cs.mu.Lock()
	if n := len(cs.idle); n > 0 {
		c := cs.idle[n-1]
		cs.idle = cs.idle[:n-1]
		cs.mu.Unlock()
		return c, nil
	}
	cs.mu.Unlock()
	return compileCopy(cs.doc)
}

func (cs *copies) give(c *jsonCopy) {
	c.clock.deadline, c.clock.n = time.Time{}, 0
	cs.mu.Lock()
	cs.idle = append(cs.idle, c)
	cs.mu.Unlock()
}

// validate runs the library's validator on doc until deadline (zero:
// none); stopped says it gave up at the deadline.
func (cs *copies) validate(doc any, deadline time.Time) (err error, stopped bool) {
	c, err := cs.take()
	if err != nil {
		return err, false
	}
	c.clock.deadline = deadline
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(pastDeadline); !ok {
				panic(r)
			}
			stopped = true
		}
		cs.give(c)
	}()
	return c.schema.Validate(doc), false
}

// compileCopy compiles doc as compileJSON's checks left it: draft 2020-12,
// format asserted, no loading, and the clock on every schema object.
func compileCopy(doc any) (*jsonCopy, error) {
	clk := &clock{}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	for _, f := range idnFormats {
		c.RegisterFormat(f)
	}
	c.UseLoader(refuseLoader{})
	c.RegisterVocabulary(&jsonschema.Vocabulary{
		URL: clockURL,
		Compile: func(*jsonschema.CompilerContext, map[string]any) (jsonschema.SchemaExt, error) {
			return clk, nil
		},
	})
	c.AssertVocabs()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, err
	}
	return &jsonCopy{schema: sch, clock: clk}, nil
}
