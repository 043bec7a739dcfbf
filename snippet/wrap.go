package snippet

import (
	"fmt"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// A snippet's top level is compiled as the body of one function, made once
// per Program, that takes the per-request names it refers to as parameters
// and returns `result`. A request then costs one call of that function:
// starlark.Program.Init would build a new module (its constants, its
// globals and their dict) for every request.
//
// The function behaves as the top level would. The snippet is first
// resolved as a top level, which gives the compile errors (load, a
// top-level return, undefined names, recursion) exactly as before, the
// per-request names it reads, and the reads of a predeclared name that
// come before the top level rebinds it (readOriginal). A second parse is
// then wrapped, those early reads renamed to aliases of the predeclared
// value, and compiled. A `result` the run left unbound is a missing
// result, not an error of the snippet.

// snippetFunc is the wrapping function's name; no snippet can spell it.
const snippetFunc = "$snippet"

// unsetResult is what the wrapping function returns when the snippet never
// binds `result` at its top level.
type unsetResult struct{}

func (unsetResult) String() string        { return "unset" }
func (unsetResult) Type() string          { return "unset" }
func (unsetResult) Freeze()               {}
func (unsetResult) Truth() starlark.Bool  { return starlark.False }
func (unsetResult) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable: unset") }

// staticEnv is the predeclared environment of every snippet module: the
// table's static values, the checked operators and field reads, and `result` as
// unsetResult for a snippet that never binds it (a snippet that reads it
// without binding it fails to resolve as a top level). The per-request names are the
// wrapping function's parameters instead.
var staticEnv = func() starlark.StringDict {
	env := make(starlark.StringDict, len(table)+len(checkedOps)+1)
	for i := range table {
		if table[i].static != nil {
			env[table[i].Name] = table[i].static
		}
	}
	for name, op := range checkedOps {
		env[name] = op
	}
	env["result"] = unsetResult{}
	env.Freeze()
	return env
}()

// param is one parameter of the wrapping function: a per-request name, or
// the alias of one the top level reads before rebinding it.
type param struct {
	name string
	e    *entry
}

// earlyPrefix names the alias of a predeclared or universal name that the
// top level reads before it binds the same name: there the top level reads
// the predeclared value, where a function body would read its own unbound
// local. No snippet can spell the alias.
const earlyPrefix = "$early."

// original is what resolving the snippet as a top level tells about it.
type original struct {
	params []param
	// early maps the reads to alias, by their place among the file's
	// identifiers in syntax.Walk order (the same in a second parse of the
	// same source), to their alias.
	early map[int]string
}

// readOriginal looks at f, resolved as a top level: which per-request
// names it reads (the parameters), and which reads of a predeclared or
// universal name come before the top level binds that name.
func readOriginal(f *syntax.File) original {
	globals := make(map[string]bool)
	var reads []int
	var idents []*syntax.Ident
	syntax.Walk(f, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok {
			if b, ok := id.Binding.(*resolve.Binding); ok {
				switch b.Scope {
				case resolve.Global:
					globals[id.Name] = true
				case resolve.Predeclared, resolve.Universal:
					reads = append(reads, len(idents))
				}
			}
			idents = append(idents, id)
		}
		return true
	})
	o := original{early: make(map[int]string)}
	used, early := make(map[string]bool), make(map[string]bool)
	for _, i := range reads {
		name := idents[i].Name
		if globals[name] {
			o.early[i] = earlyPrefix + name
			early[name] = true
		} else {
			used[name] = true
		}
	}
	for i := range table {
		e := &table[i]
		if e.perRun == nil {
			continue
		}
		if used[e.Name] {
			o.params = append(o.params, param{name: e.Name, e: e})
		}
		if early[e.Name] {
			o.params = append(o.params, param{name: earlyPrefix + e.Name, e: e})
		}
	}
	return o
}

// aliasEarly renames, in the fresh parse f, the reads readOriginal found
// early, and returns the predeclared environment with their static
// values (staticEnv itself when there are none).
func aliasEarly(f *syntax.File, early map[int]string) starlark.StringDict {
	if len(early) == 0 {
		return staticEnv
	}
	env := make(starlark.StringDict, len(staticEnv)+len(early))
	for k, v := range staticEnv {
		env[k] = v
	}
	i := 0
	syntax.Walk(f, func(n syntax.Node) bool {
		id, ok := n.(*syntax.Ident)
		if !ok {
			return true
		}
		if alias, ok := early[i]; ok {
			id.Name = alias
			base := strings.TrimPrefix(alias, earlyPrefix)
			if v, ok := staticEnv[base]; ok && base != "result" {
				env[alias] = v
			} else if v, ok := starlark.Universe[base]; ok {
				env[alias] = v
			}
		}
		i++
		return true
	})
	env.Freeze()
	return env
}

// wrap moves f's statements into `def $snippet(<params>): <stmts>; return
// result`. The synthetic nodes sit on endLine, after every line of the
// source, so the wrapping function's own failure (result bound by a branch
// that did not run) is told apart from the snippet's (resultUnbound).
func wrap(f *syntax.File, params []param, endLine int32) {
	name := fileName
	pos := syntax.MakePosition(&name, endLine, 1)
	ps := make([]syntax.Expr, len(params))
	for i, p := range params {
		ps[i] = &syntax.Ident{NamePos: pos, Name: p.name}
	}
	body := append(f.Stmts[:len(f.Stmts):len(f.Stmts)], &syntax.ReturnStmt{
		Return: pos,
		Result: &syntax.Ident{NamePos: pos, Name: "result"},
	})
	f.Stmts = []syntax.Stmt{&syntax.DefStmt{
		Def:    pos,
		Name:   &syntax.Ident{NamePos: pos, Name: snippetFunc},
		Lparen: pos,
		Params: ps,
		Rparen: pos,
		Body:   body,
	}}
}

// resultUnbound reports whether err is the wrapping function failing to
// return a `result` that a branch of the snippet would have bound: for the
// top level, a missing result.
func (p *Program) resultUnbound(err error) bool {
	ee, ok := err.(*starlark.EvalError)
	return ok && len(ee.CallStack) == 1 && ee.CallStack[0].Pos.Line == p.endLine
}

// makeSnippetFunc runs the wrapped module's top level, which only defines
// the function, and returns it frozen.
func makeSnippetFunc(prog *starlark.Program, env starlark.StringDict) (starlark.Value, error) {
	globals, err := prog.Init(&starlark.Thread{Name: "compile"}, env)
	if err != nil {
		return nil, err
	}
	globals.Freeze()
	return globals[snippetFunc], nil
}
