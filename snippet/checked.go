package snippet

import (
	"errors"
	"slices"
	"strings"
	"unicode"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// The interpreter's own builtins build values this package does not see
// being built. The ones whose result grows with their input are checked
// against the run's memory budget before they run: the string and list
// methods below, through a call the compiler substitutes for `x.name(…)`
// (checkOperators), and the universal functions that copy a sequence,
// predeclared under their own names over the universal ones. sorted is
// this package's own, so that a sort of a large list stops at the run's
// deadline or cancellation.

// Per-element costs, in bytes, of what the checked builtins build: an
// element of a list or tuple (an interface), a string made from a piece
// of another (an interface and a string header), a pair of enumerate or
// zip (a tuple). set() and dict() are not checked: duplicates make their
// input's length no bound of their size.
const (
	pieceBytes = 2 * valueWords
	pairBytes  = 5 * valueWords
)

// checkedMethods are the methods whose calls go through methodCall, by
// name; the name of the substituted call is "$." + the method's.
var checkedMethods = map[string]func(recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (int64, bool){
	"join":       joinSize,
	"replace":    replaceSize,
	"split":      splitSize,
	"rsplit":     splitSize,
	"splitlines": splitlinesSize,
	"extend":     extendSize,
}

// methodOp is the predeclared name of the checked call of method name.
func methodOp(name string) string { return "$." + name }

// methodCall is x.name(args…) for a checked method: the size of the
// result, when it can be told from the arguments, is reserved first.
func methodCall(name string) *starlark.Builtin {
	size := checkedMethods[name]
	return starlark.NewBuiltin(name, func(t *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		recv, rest := args[0], args[1:]
		if n, ok := size(recv, rest, kwargs); ok {
			if err := reserve(t, n, "the result of ."+name+"()"); err != nil {
				return nil, err
			}
		}
		m, err := getMethod(recv, name)
		if err != nil {
			return nil, err
		}
		return starlark.Call(t, m, rest, kwargs)
	})
}

func getMethod(recv starlark.Value, name string) (starlark.Value, error) {
	if h, ok := recv.(starlark.HasAttrs); ok {
		m, err := h.Attr(name)
		if err != nil {
			return nil, err
		}
		if m != nil {
			return m, nil
		}
	}
	return nil, starlark.NoSuchAttrError(recv.Type() + " has no ." + name + " field or method")
}

// joinSize is sep.join(list or tuple of strings).
func joinSize(recv starlark.Value, args starlark.Tuple, _ []starlark.Tuple) (int64, bool) {
	sep, ok := recv.(starlark.String)
	if !ok || len(args) != 1 {
		return 0, false
	}
	seq, ok := args[0].(starlark.Indexable)
	if !ok {
		return 0, false
	}
	n := seq.Len()
	size := int64(max(n-1, 0)) * int64(len(sep))
	for i := range n {
		s, ok := seq.Index(i).(starlark.String)
		if !ok {
			return 0, false
		}
		size += int64(len(s))
	}
	return size, true
}

// replaceSize is s.replace(old, new[, count]).
func replaceSize(recv starlark.Value, args starlark.Tuple, _ []starlark.Tuple) (int64, bool) {
	s, ok := recv.(starlark.String)
	if !ok || len(args) < 2 {
		return 0, false
	}
	old, ok1 := args[0].(starlark.String)
	repl, ok2 := args[1].(starlark.String)
	if !ok1 || !ok2 || len(repl) <= len(old) {
		return 0, false
	}
	n := int64(strings.Count(string(s), string(old)))
	if len(args) > 2 {
		if c, ok := args[2].(starlark.Int); ok {
			if k, exact := c.Int64(); exact && k >= 0 {
				n = min(n, k)
			}
		}
	}
	return int64(len(s)) + n*int64(len(repl)-len(old)), true
}

// splitSize is s.split(sep=None, maxsplit=-1) and rsplit: a list of
// pieces.
func splitSize(recv starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (int64, bool) {
	s, ok := recv.(starlark.String)
	if !ok || len(kwargs) > 0 {
		return 0, false
	}
	var pieces int64
	switch {
	case len(args) == 0 || args[0] == starlark.None:
		pieces = int64(countFields(string(s)))
	default:
		sep, ok := args[0].(starlark.String)
		if !ok || sep == "" {
			return 0, false
		}
		pieces = int64(strings.Count(string(s), string(sep))) + 1
	}
	if len(args) > 1 {
		if c, ok := args[1].(starlark.Int); ok {
			if k, exact := c.Int64(); exact && k >= 0 {
				pieces = min(pieces, k+1)
			}
		}
	}
	return pieces * pieceBytes, true
}

func countFields(s string) int {
	n, in := 0, false
	for _, r := range s {
		space := unicode.IsSpace(r)
		if !space && !in {
			n++
		}
		in = !space
	}
	return n
}

func splitlinesSize(recv starlark.Value, _ starlark.Tuple, _ []starlark.Tuple) (int64, bool) {
	s, ok := recv.(starlark.String)
	if !ok {
		return 0, false
	}
	return int64(strings.Count(string(s), "\n")+1) * pieceBytes, true
}

// extendSize is l.extend(x) on a list: the list it grows to.
func extendSize(recv starlark.Value, args starlark.Tuple, _ []starlark.Tuple) (int64, bool) {
	l, ok := recv.(*starlark.List)
	if !ok || len(args) != 1 {
		return 0, false
	}
	n := starlark.Len(args[0])
	if n < 0 {
		return 0, false
	}
	return int64(l.Len()+n) * valueWords, true
}

// copying is a universal function that builds a value of per bytes for
// each element of its sequence arguments (the shortest, for zip),
// checked before it runs.
func copying(name string, per int64) *starlark.Builtin {
	universal := starlark.Universe[name].(*starlark.Builtin)
	return starlark.NewBuiltin(name, func(t *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		n := -1
		for _, a := range args {
			if l := starlark.Len(a); l >= 0 && (n < 0 || l < n) {
				n = l
			}
			if name != "zip" {
				break
			}
		}
		if n > 0 {
			if err := reserve(t, int64(n)*per, "the result of "+name+"()"); err != nil {
				return nil, err
			}
		}
		return starlark.Call(t, universal, args, kwargs)
	})
}

// checkedBuiltins are the universal functions predeclared over their
// universal names.
var checkedBuiltins = map[string]*starlark.Builtin{
	"sorted":    starlark.NewBuiltin("sorted", sorted),
	"list":      copying("list", valueWords),
	"tuple":     copying("tuple", valueWords),
	"reversed":  copying("reversed", valueWords),
	"enumerate": copying("enumerate", pairBytes),
	"zip":       copying("zip", pairBytes),
}

// errStopped unwinds a sort whose run was stopped.
var errStopped = errors.New("stopped")

// sortCheckEvery is how many comparisons a sort makes between two looks
// at whether its run was stopped.
const sortCheckEvery = 1024

// sorted is the universal sorted(iterable, key=None, reverse=False): a
// stable sort, checked against the memory budget and stopped with its run.
func sorted(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var iterable starlark.Iterable
	var key starlark.Callable
	var reverse bool
	if err := starlark.UnpackArgs("sorted", args, kwargs, "iterable", &iterable, "key?", &key, "reverse?", &reverse); err != nil {
		return nil, err
	}
	if n := starlark.Len(iterable); n > 0 {
		per := int64(valueWords)
		if key != nil {
			per *= 2
		}
		if err := reserve(t, int64(n)*per, "the result of sorted()"); err != nil {
			return nil, err
		}
	}
	values, keys, err := sortKeys(t, iterable, key)
	if err != nil {
		return nil, err
	}
	order, err := stableOrder(runOf(t), keys, reverse)
	if err != nil {
		return nil, err
	}
	out := make([]starlark.Value, len(order))
	for i, k := range order {
		out[i] = values[k]
	}
	return starlark.NewList(out), nil
}

// sortKeys collects the values of iterable and the key of each (the
// values themselves without key).
func sortKeys(t *starlark.Thread, iterable starlark.Iterable, key starlark.Callable) (values, keys []starlark.Value, err error) {
	iter := iterable.Iterate()
	var x starlark.Value
	for iter.Next(&x) {
		values = append(values, x)
	}
	iter.Done()
	if key == nil {
		return values, values, nil
	}
	keys = make([]starlark.Value, len(values))
	for i, v := range values {
		k, err := starlark.Call(t, key, starlark.Tuple{v}, nil)
		if err != nil {
			return nil, nil, err
		}
		keys[i] = k
	}
	return values, keys, nil
}

// stableOrder is the order of keys sorted stably, looking every
// sortCheckEvery comparisons at whether run r (nil: none) was stopped.
func stableOrder(r *run, keys []starlark.Value, reverse bool) (order []int, err error) {
	order = make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	compared := 0
	var cmpErr error
	defer func() {
		if p := recover(); p != nil {
			if p != errStopped {
				panic(p)
			}
			order, err = nil, errors.New("sorted: the run was stopped")
		}
	}()
	slices.SortStableFunc(order, func(i, j int) int {
		if compared++; compared%sortCheckEvery == 0 && r != nil && r.stop.Load() != stopNone {
			panic(errStopped)
		}
		if reverse {
			i, j = j, i
		}
		less, err := starlark.Compare(syntax.LT, keys[i], keys[j])
		if err != nil {
			if cmpErr == nil {
				cmpErr = err
			}
			return 0
		}
		if less {
			return -1
		}
		// a stable sort only asks whether one element is less
		return 0
	})
	return order, cmpErr
}
