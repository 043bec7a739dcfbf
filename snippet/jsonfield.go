package snippet

import (
	"encoding/json"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Reading one field of the body, request.json()["id"] or
// request.json().get("id", default), would turn the whole parsed body
// into Starlark values to keep one. Compile rewrites those two forms, with
// a string literal key and a literal default, into
//
//	$jfield(request, "id") if $jhas(request, "id") else request.json()["id"]
//
// $jhas is true only when the answer is certain without the conversion:
// `request` is the request, its body is an object (as the schema validator
// parsed it, or as a walk of its bytes finds it: jsonraw.go), the key is
// there (or the form is get), and every number and level of the body
// converts (so request.json() would not have failed). $jfield then
// converts just that field. In every other case the original
// expression runs, so the result and the errors are the same either way.

const (
	opJSONHas   = "$jhas"
	opJSONField = "$jfield"
)

var jsonFieldOps = map[string]*starlark.Builtin{
	opJSONHas:   starlark.NewBuiltin("json", jsonHas),
	opJSONField: starlark.NewBuiltin("json", jsonField),
}

// jsonFieldRead rewrites e when it is one of the two forms; ok is false
// otherwise.
func jsonFieldRead(e syntax.Expr) (syntax.Expr, bool) {
	var key *syntax.Literal
	var def syntax.Expr
	var parsed syntax.Expr
	get := false
	switch x := e.(type) {
	case *syntax.IndexExpr:
		k, isKey := x.Y.(*syntax.Literal)
		if !isKey || k.Token != syntax.STRING {
			return e, false
		}
		key, parsed = k, x.X
	case *syntax.CallExpr:
		dot, isDot := x.Fn.(*syntax.DotExpr)
		if !isDot || dot.Name.Name != "get" || len(x.Args) == 0 || len(x.Args) > 2 {
			return e, false
		}
		k, isKey := x.Args[0].(*syntax.Literal)
		if !isKey || k.Token != syntax.STRING {
			return e, false
		}
		if len(x.Args) == 2 {
			if def = x.Args[1]; !isConstant(def) {
				return e, false
			}
		}
		key, parsed, get = k, dot.X, true
	default:
		return e, false
	}
	pos, isCall := requestJSONCall(parsed)
	if !isCall {
		return e, false
	}
	has := []syntax.Expr{requestIdent(pos), copyLiteral(key)}
	if get {
		has = append(has, &syntax.Literal{Token: syntax.INT, TokenPos: pos, Raw: "1", Value: int64(1)})
	}
	field := []syntax.Expr{requestIdent(pos), copyLiteral(key)}
	if def != nil {
		field = append(field, copyConstant(def))
	}
	return &syntax.CondExpr{
		If:      pos,
		Cond:    &syntax.CallExpr{Fn: &syntax.Ident{NamePos: pos, Name: opJSONHas}, Lparen: pos, Args: has, Rparen: pos},
		True:    &syntax.CallExpr{Fn: &syntax.Ident{NamePos: pos, Name: opJSONField}, Lparen: pos, Args: field, Rparen: pos},
		ElsePos: pos,
		False:   e,
	}, true
}

// requestJSONCall reports whether e is request.json(), and where.
func requestJSONCall(e syntax.Expr) (syntax.Position, bool) {
	c, ok := e.(*syntax.CallExpr)
	if !ok || len(c.Args) != 0 {
		return syntax.Position{}, false
	}
	dot, ok := c.Fn.(*syntax.DotExpr)
	if !ok || dot.Name.Name != "json" {
		return syntax.Position{}, false
	}
	id, ok := dot.X.(*syntax.Ident)
	if !ok || id.Name != "request" {
		return syntax.Position{}, false
	}
	return id.NamePos, true
}

func requestIdent(pos syntax.Position) *syntax.Ident {
	return &syntax.Ident{NamePos: pos, Name: "request"}
}

// isConstant: a literal, or None, True or False (which a snippet could
// rebind: the copy then reads the same binding).
func isConstant(e syntax.Expr) bool {
	switch x := e.(type) {
	case *syntax.Literal:
		return true
	case *syntax.Ident:
		return x.Name == "None" || x.Name == "True" || x.Name == "False"
	}
	return false
}

func copyLiteral(l *syntax.Literal) *syntax.Literal {
	c := *l
	return &c
}

func copyConstant(e syntax.Expr) syntax.Expr {
	if l, ok := e.(*syntax.Literal); ok {
		return copyLiteral(l)
	}
	id := *e.(*syntax.Ident)
	return &id
}

// jsonHas is $jhas(request, key[, missing_ok]).
func jsonHas(t *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	r, key, ok := jsonRequest(args)
	if !ok {
		return starlark.False, nil
	}
	if !r.inv.HasJSON {
		if !r.raw.readable(t, r.inv.Body, r.inv.Shape) {
			return starlark.False, nil
		}
		_, found := r.raw.field(r.inv.Body, key)
		return starlark.Bool(found || len(args) == 3), nil
	}
	obj, ok := r.inv.JSON.(map[string]any)
	if !ok {
		return starlark.False, nil
	}
	if _, found := obj[key]; !found && len(args) < 3 {
		return starlark.False, nil
	}
	return starlark.Bool(r.jsonConverts()), nil
}

// jsonField is $jfield(request, key[, default]), called once $jhas said
// yes.
func jsonField(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, _ []starlark.Tuple) (starlark.Value, error) {
	r, key, _ := jsonRequest(args)
	if !r.inv.HasJSON {
		if raw, found := r.raw.field(r.inv.Body, key); found {
			return decodeRaw(raw)
		}
		return missingField(args), nil
	}
	v, found := r.inv.JSON.(map[string]any)[key]
	if !found {
		return missingField(args), nil
	}
	return fromGo(v, 1)
}

// missingField is what a get of a missing key answers.
func missingField(args starlark.Tuple) starlark.Value {
	if len(args) == 3 {
		return args[2]
	}
	return starlark.None
}

// jsonRequest is the run and the key of a $jhas or $jfield call, when its
// first argument is the request.
func jsonRequest(args starlark.Tuple) (*run, string, bool) {
	q, ok := args[0].(*request)
	if !ok || q.r == nil || q.r.inv == nil {
		return nil, "", false
	}
	key, isStr := args[1].(starlark.String)
	return q.r, string(key), isStr
}

// jsonConverts reports, once per run, whether fromGo converts the whole
// parsed body (what request.json() does) without an error.
func (r *run) jsonConverts() bool {
	if r.jsonChecked == 0 {
		r.jsonChecked = 2
		if converts(r.inv.JSON, 0) {
			r.jsonChecked = 1
		}
	}
	return r.jsonChecked == 1
}

// converts is whether fromGo(v, depth) succeeds, without converting.
func converts(v any, depth int) bool {
	if depth > maxJSONDepth+1 {
		return false
	}
	switch x := v.(type) {
	case nil, bool, string, float64, int, int64:
		return true
	case json.Number:
		return numberConverts(string(x))
	case map[string]any:
		for _, e := range x {
			if !converts(e, depth+1) {
				return false
			}
		}
		return true
	case []any:
		return !slices.ContainsFunc(x, func(e any) bool { return !converts(e, depth+1) })
	}
	return false
}

// numberConverts is whether numberValue(s) succeeds: always for a short
// number without an exponent (an int64 or a float well within range).
func numberConverts(s string) bool {
	if len(s) < 300 && !strings.ContainsAny(s, "eE") {
		return true
	}
	_, err := numberValue(s)
	return err == nil
}
