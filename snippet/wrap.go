package snippet

import (
	"fmt"

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
// The function behaves as the top level would: load() and a top-level
// return are refused before wrapping, recursion between the snippet's
// functions is found on the wrapped tree (callGraph), and a `result` the
// run left unbound is a missing result, not an error of the snippet.

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
// table's static values, the checked operators, the field reads of
// jsonfield.go, and `result` as
// unsetResult for a snippet that never binds it (a snippet that reads it
// without binding it is refused by Compile). The per-request names are the
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
	for name, op := range jsonFieldOps {
		env[name] = op
	}
	env["result"] = unsetResult{}
	env.Freeze()
	return env
}()

// perRunParams are the per-request table entries f spells, in table order.
// Spelling is enough: a name also used as a local or an attribute only
// costs a parameter the snippet ignores.
func perRunParams(f *syntax.File) []*entry {
	spelled := make(map[string]bool)
	syntax.Walk(f, func(n syntax.Node) bool {
		if id, ok := n.(*syntax.Ident); ok {
			spelled[id.Name] = true
		}
		return true
	})
	var params []*entry
	for i := range table {
		if table[i].perRun != nil && spelled[table[i].Name] {
			params = append(params, &table[i])
		}
	}
	return params
}

// refuseTopLevelReturn reports a return outside every function, as the
// resolver would at the top level.
func refuseTopLevelReturn(f *syntax.File) error {
	var err error
	syntax.Walk(f, func(n syntax.Node) bool {
		switch s := n.(type) {
		case *syntax.DefStmt, *syntax.LambdaExpr:
			return false
		case *syntax.ReturnStmt:
			if err == nil {
				err = fmt.Errorf("%s: return statement not within a function", position(s.Return))
			}
			return false
		}
		return err == nil
	})
	return err
}

// wrap moves f's statements into `def $snippet(<params>): <stmts>; return
// result`. The synthetic nodes sit on the line after the last one, so the
// wrapping function's own failure (result bound by a branch that did not
// run) is told apart from the snippet's (resultUnbound).
func wrap(f *syntax.File, params []*entry) (endLine int32) {
	_, end := f.Span()
	endLine = end.Line + 1
	name := fileName
	pos := syntax.MakePosition(&name, endLine, 1)
	ps := make([]syntax.Expr, len(params))
	for i, e := range params {
		ps[i] = &syntax.Ident{NamePos: pos, Name: e.Name}
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
	return endLine
}

// refuseUnboundResult reports the snippet's first read of a `result` it
// never binds, which the top level would have reported as undefined (the
// wrapper's own return of it excepted).
func refuseUnboundResult(f *syntax.File, endLine int32) error {
	var err error
	syntax.Walk(f, func(n syntax.Node) bool {
		id, ok := n.(*syntax.Ident)
		if !ok || id.Name != "result" || id.NamePos.Line == endLine || err != nil {
			return err == nil
		}
		if b, ok := id.Binding.(*resolve.Binding); ok && b.Scope == resolve.Predeclared {
			err = fmt.Errorf("%s: undefined: result", position(id.NamePos))
		}
		return false
	})
	return err
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
func makeSnippetFunc(prog *starlark.Program) (starlark.Value, error) {
	globals, err := prog.Init(&starlark.Thread{Name: "compile"}, staticEnv)
	if err != nil {
		return nil, err
	}
	globals.Freeze()
	return globals[snippetFunc], nil
}
