// Package snippet is the exec mode `code`: endpoint records whose response
// is computed by a Starlark snippet.
//
// A snippet is compiled once, when its record is written and again when a
// revision is published; the compiled Program is immutable and serves every
// request of that revision. Each request runs the snippet's top level
// (compiled as one function, wrap.go) on a pooled Starlark thread with a
// step budget and a deadline, then reads its `result` (see Program.Run).
//
// The names a snippet sees come from one table (predeclared.go) that both
// builds the environment and produces Help, so the help page cannot drift
// from what snippets get.
package snippet

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/caddy-endpoint/endpoint/execmode"
)

func init() {
	caddy.RegisterModule(CodeMode{})
}

// MaxCodeSize is the largest snippet, in bytes, Compile accepts.
const MaxCodeSize = 256 << 10

// fileName names the snippet in Starlark positions; it is stripped from
// every error text the package produces.
const fileName = "snippet"

// fileOptions is the snippet dialect: top-level control flow, while loops,
// global reassignment and sets; recursion is refused (statically where the
// call graph shows it, at run time otherwise).
var fileOptions = &syntax.FileOptions{
	TopLevelControl: true,
	While:           true,
	GlobalReassign:  true,
	Recursion:       false,
	Set:             true,
}

// CodeMode is the exec mode `code`: the record's code_snippet is a Starlark
// program that assigns a dict to `result`.
type CodeMode struct{}

// CaddyModule returns the Caddy module information.
func (CodeMode) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "endpoint.exec_modes.code",
		New: func() caddy.Module { return new(CodeMode) },
	}
}

// Compile compiles ep's code_snippet. The error text holds line:column
// positions ("3:7: undefined: foo"), one problem a line.
func (CodeMode) Compile(ep *execmode.Endpoint) (execmode.Program, error) {
	if ep == nil {
		return nil, errors.New("no record to compile")
	}
	if strings.TrimSpace(ep.CodeSnippet) == "" {
		return nil, &execmode.FieldError{Field: "code_snippet", Message: "is required when exec_mode is code"}
	}
	p, err := Compile(ep.CodeSnippet)
	if err != nil {
		return nil, &execmode.FieldError{Field: "code_snippet", Message: err.Error()}
	}
	return p, nil
}

// Help documents the names a snippet sees; /endpoint/help serves it.
func (CodeMode) Help() []execmode.HelpEntry { return Help() }

// Program is a compiled snippet. It is immutable and safe for concurrent
// use.
type Program struct {
	// fn is the snippet's top level as one function (wrap.go), called once
	// per request with the values of params.
	fn     starlark.Value
	params []param
	// endLine is the line of the wrapping function's own statements.
	endLine int32
	runs    sync.Pool
}

// isPredeclared is what a snippet resolved as a top level may name
// besides the universal names: the table, and the calls checkOperators
// writes.
func isPredeclared(name string) bool {
	_, inTable := tableIndex[name]
	_, op := checkedOps[name]
	return inTable || op
}

// Compile parses, resolves and compiles src. Undefined names, load()
// statements and recursion visible in the call graph are compile errors.
func Compile(src string) (*Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("code_snippet is empty")
	}
	if len(src) > MaxCodeSize {
		return nil, fmt.Errorf("code_snippet is %d bytes, the limit is %d", len(src), MaxCodeSize)
	}
	top, err := parseChecked(src)
	if err != nil {
		return nil, err
	}
	if err := resolve.File(top, isPredeclared, starlark.Universe.Has); err != nil {
		return nil, compileError(err)
	}
	if err := refuseRecursion(top); err != nil {
		return nil, err
	}
	o := readOriginal(top)

	f, err := parseChecked(src)
	if err != nil {
		return nil, err
	}
	env := aliasEarly(f, o.early)
	p := &Program{params: o.params, endLine: int32(strings.Count(src, "\n")) + 2}
	wrap(f, p.params, p.endLine)
	prog, err := starlark.FileProgram(f, env.Has)
	if err != nil {
		return nil, compileError(err)
	}
	if p.fn, err = makeSnippetFunc(prog, env); err != nil {
		return nil, err
	}
	p.runs.New = func() any { return newRun(p) }
	return p, nil
}

// parseChecked parses src, refuses load() and writes the checked
// operators and the field reads in.
func parseChecked(src string) (*syntax.File, error) {
	f, err := fileOptions.Parse(fileName, src, 0)
	if err != nil {
		return nil, compileError(err)
	}
	if err := refuseLoad(f); err != nil {
		return nil, err
	}
	checkOperators(f)
	return f, nil
}

// compileError rewrites a parser or resolver error as "line:col: msg"
// lines.
func compileError(err error) error {
	var serr syntax.Error
	var rerrs resolve.ErrorList
	switch {
	case errors.As(err, &serr):
		return errors.New(position(serr.Pos) + ": " + serr.Msg)
	case errors.As(err, &rerrs):
		const most = 10
		lines := make([]string, 0, min(len(rerrs), most+1))
		for i, e := range rerrs {
			if i == most {
				lines = append(lines, fmt.Sprintf("and %d more", len(rerrs)-most))
				break
			}
			lines = append(lines, position(e.Pos)+": "+e.Msg)
		}
		return errors.New(strings.Join(lines, "\n"))
	}
	return errors.New(strings.TrimPrefix(err.Error(), fileName+":"))
}

func position(p syntax.Position) string {
	return fmt.Sprintf("%d:%d", p.Line, p.Col)
}

// refuseLoad reports the first load statement: snippets have no modules to
// load.
func refuseLoad(f *syntax.File) error {
	var err error
	syntax.Walk(f, func(n syntax.Node) bool {
		if err != nil {
			return false
		}
		if l, ok := n.(*syntax.LoadStmt); ok {
			err = fmt.Errorf("%s: load() is not allowed in snippets", position(l.Load))
			return false
		}
		return true
	})
	return err
}

// refuseRecursion reports a cycle in the calls between the snippet's
// global functions. Calls through values (a function passed as an
// argument) are caught at run time by the interpreter instead.
func refuseRecursion(f *syntax.File) error {
	defs, order := topLevelDefs(f)
	if len(defs) == 0 {
		return nil
	}
	return findCycle(order, callGraph(defs))
}

// topLevelDefs returns the functions f defines, by name, and their names
// in the order they first appear.
func topLevelDefs(f *syntax.File) (map[string]*syntax.DefStmt, []string) {
	defs := make(map[string]*syntax.DefStmt)
	var order []string
	syntax.Walk(f, func(n syntax.Node) bool {
		if d, ok := n.(*syntax.DefStmt); ok {
			if _, seen := defs[d.Name.Name]; !seen {
				order = append(order, d.Name.Name)
			}
			defs[d.Name.Name] = d
			return false
		}
		return true
	})
	return defs, order
}

// defCall is one call of a defined function from another one's body.
type defCall struct {
	callee string
	pos    syntax.Position
}

// callGraph lists, for each defined function, its calls of defined
// functions by their global name.
func callGraph(defs map[string]*syntax.DefStmt) map[string][]defCall {
	calls := make(map[string][]defCall, len(defs))
	for name, d := range defs {
		for _, stmt := range d.Body {
			syntax.Walk(stmt, func(n syntax.Node) bool {
				c, ok := n.(*syntax.CallExpr)
				if !ok {
					return true
				}
				id, ok := c.Fn.(*syntax.Ident)
				if !ok {
					return true
				}
				if b, ok := id.Binding.(*resolve.Binding); ok && b.Scope == resolve.Global {
					if _, isDef := defs[id.Name]; isDef {
						calls[name] = append(calls[name], defCall{id.Name, id.NamePos})
					}
				}
				return true
			})
		}
	}
	return calls
}

// findCycle walks the call graph depth first from each function in
// order and reports the first cycle, at the call that closes it.
func findCycle(order []string, calls map[string][]defCall) error {
	const (
		unvisited = iota
		onPath
		done
	)
	state := make(map[string]int, len(order))
	var path []string
	var visit func(name string) error
	visit = func(name string) error {
		state[name] = onPath
		path = append(path, name)
		for _, c := range calls[name] {
			switch state[c.callee] {
			case onPath:
				start := slices.Index(path, c.callee)
				cycle := append(append([]string(nil), path[start:]...), c.callee)
				return fmt.Errorf("%s: recursion is not allowed: %s", position(c.pos), strings.Join(cycle, " calls "))
			case unvisited:
				if err := visit(c.callee); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return nil
	}
	for _, name := range order {
		if state[name] == unvisited {
			if err := visit(name); err != nil {
				return err
			}
		}
	}
	return nil
}

// Interface guards.
var (
	_ execmode.ExecMode = CodeMode{}
	_ execmode.Program  = (*Program)(nil)
	_ caddy.Module      = CodeMode{}
)
