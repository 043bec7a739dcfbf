package snippet

import "go.starlark.net/syntax"

// checkOperators rewrites, in place, each x + y and x * y of f into a
// call of the checked operator ($add, $mul) that refuses a result over
// the run's memory budget, each `name += y` / `name *= y` into
// `name = $iadd(name, y)` / `name = $mul(name, y)`, and each call of a
// checked method `x.join(a)` into `$.join(x, a)`. An addition with a
// number literal operand cannot build a sequence and is left alone, as
// is an augmented assignment to an index or a field (it would evaluate
// its operand twice).
func checkOperators(f *syntax.File) {
	for _, s := range f.Stmts {
		checkStmt(s)
	}
}

func checkStmts(ss []syntax.Stmt) {
	for _, s := range ss {
		checkStmt(s)
	}
}

func checkStmt(s syntax.Stmt) {
	switch s := s.(type) {
	case *syntax.AssignStmt:
		checkTarget(s.LHS)
		s.RHS = checkExpr(s.RHS)
		id, ok := s.LHS.(*syntax.Ident)
		if !ok {
			return
		}
		op := ""
		switch s.Op {
		case syntax.PLUS_EQ:
			if isNumber(s.RHS) {
				return
			}
			op = opAddSet
		case syntax.STAR_EQ:
			op = opMul
		}
		if op == "" {
			return
		}
		s.RHS = checkedCall(op, s.OpPos, &syntax.Ident{NamePos: id.NamePos, Name: id.Name}, s.RHS)
		s.Op = syntax.EQ
	case *syntax.DefStmt:
		s.Params = checkExprs(s.Params)
		checkStmts(s.Body)
	case *syntax.ExprStmt:
		s.X = checkExpr(s.X)
	case *syntax.ForStmt:
		s.X = checkExpr(s.X)
		checkStmts(s.Body)
	case *syntax.WhileStmt:
		s.Cond = checkExpr(s.Cond)
		checkStmts(s.Body)
	case *syntax.IfStmt:
		s.Cond = checkExpr(s.Cond)
		checkStmts(s.True)
		checkStmts(s.False)
	case *syntax.ReturnStmt:
		if s.Result != nil {
			s.Result = checkExpr(s.Result)
		}
	}
}

// checkTarget checks the expressions inside an assignment's target, which
// itself stays a target (a field read is not rewritten there).
func checkTarget(e syntax.Expr) {
	var targets []syntax.Expr
	switch e := e.(type) {
	case *syntax.IndexExpr:
		e.X, e.Y = checkExpr(e.X), checkExpr(e.Y)
	case *syntax.DotExpr:
		e.X = checkExpr(e.X)
	case *syntax.TupleExpr:
		targets = e.List
	case *syntax.ListExpr:
		targets = e.List
	case *syntax.ParenExpr:
		targets = []syntax.Expr{e.X}
	}
	for _, t := range targets {
		checkTarget(t)
	}
}

func checkExprs(es []syntax.Expr) []syntax.Expr {
	for i, e := range es {
		es[i] = checkExpr(e)
	}
	return es
}

// checkExpr is e with the operators and method calls whose results
// it sizes compiled as checked calls, one case per kind of expression.
func checkExpr(e syntax.Expr) syntax.Expr {
	switch e := e.(type) {
	case nil:
		return nil
	case *syntax.BinaryExpr:
		return checkBinary(e)
	case *syntax.CallExpr:
		checkCall(e)
		if read, ok := jsonFieldRead(e); ok {
			return read
		}
	case *syntax.Comprehension:
		e.Body = checkExpr(e.Body)
		for _, c := range e.Clauses {
			switch c := c.(type) {
			case *syntax.ForClause:
				c.X = checkExpr(c.X)
			case *syntax.IfClause:
				c.Cond = checkExpr(c.Cond)
			}
		}
	case *syntax.CondExpr:
		e.Cond = checkExpr(e.Cond)
		e.True = checkExpr(e.True)
		e.False = checkExpr(e.False)
	case *syntax.DictEntry:
		e.Key = checkExpr(e.Key)
		e.Value = checkExpr(e.Value)
	case *syntax.DictExpr:
		e.List = checkExprs(e.List)
	case *syntax.DotExpr:
		e.X = checkExpr(e.X)
	case *syntax.IndexExpr:
		e.X = checkExpr(e.X)
		e.Y = checkExpr(e.Y)
		if read, ok := jsonFieldRead(e); ok {
			return read
		}
	case *syntax.LambdaExpr:
		e.Params = checkExprs(e.Params)
		e.Body = checkExpr(e.Body)
	case *syntax.ListExpr:
		e.List = checkExprs(e.List)
	case *syntax.TupleExpr:
		e.List = checkExprs(e.List)
	case *syntax.ParenExpr:
		e.X = checkExpr(e.X)
	case *syntax.SliceExpr:
		e.X = checkExpr(e.X)
		e.Lo = checkExpr(e.Lo)
		e.Hi = checkExpr(e.Hi)
		e.Step = checkExpr(e.Step)
	case *syntax.UnaryExpr:
		e.X = checkExpr(e.X)
	}
	return e
}

func isNumber(e syntax.Expr) bool {
	l, ok := e.(*syntax.Literal)
	return ok && (l.Token == syntax.INT || l.Token == syntax.FLOAT)
}

func checkedCall(op string, pos syntax.Position, x, y syntax.Expr) *syntax.CallExpr {
	return &syntax.CallExpr{
		Fn:     &syntax.Ident{NamePos: pos, Name: op},
		Lparen: pos,
		Args:   []syntax.Expr{x, y},
		Rparen: pos,
	}
}

// checkBinary is x + y and x * y, but of two numbers, as checked calls.
func checkBinary(e *syntax.BinaryExpr) syntax.Expr {
	e.X = checkExpr(e.X)
	e.Y = checkExpr(e.Y)
	switch {
	case e.Op == syntax.PLUS && !isNumber(e.X) && !isNumber(e.Y):
		return checkedCall(opAdd, e.OpPos, e.X, e.Y)
	case e.Op == syntax.STAR && !(isNumber(e.X) && isNumber(e.Y)):
		return checkedCall(opMul, e.OpPos, e.X, e.Y)
	}
	return e
}

// checkCall makes a call of a checked method x.m(a) the checked call
// $.m(x, a).
func checkCall(e *syntax.CallExpr) {
	e.Fn = checkExpr(e.Fn)
	e.Args = checkExprs(e.Args)
	if dot, ok := e.Fn.(*syntax.DotExpr); ok && checkedMethods[dot.Name.Name] != nil {
		e.Fn = &syntax.Ident{NamePos: dot.Name.NamePos, Name: methodOp(dot.Name.Name)}
		e.Args = append([]syntax.Expr{dot.X}, e.Args...)
	}
}
