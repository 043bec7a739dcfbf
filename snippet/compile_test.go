package snippet

import (
	"errors"
	"strings"
	"testing"

	"github.com/caddy-endpoint/endpoint/execmode"
)

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // the whole error text
	}{
		{"syntax", "x = (", "1:6: got end of file, want primary expression"},
		{"syntax on a later line", "x = 1\n  y = 2", "2:3: got indent, want primary expression"},
		{"undefined name", "x = 1\nresult = foo", "2:10: undefined: foo"},
		{"undefined names, each reported", "a = foo\nb = bar", "1:5: undefined: foo\n2:5: undefined: bar"},
		{"undefined inside a function", "def f():\n    return nope\nresult = {}", "2:12: undefined: nope"},
		{"load", "load(\"lib.star\", \"x\")\nresult = {}", "1:1: load() is not allowed in snippets"},
		{"direct recursion", "def f(n):\n    return f(n - 1)\nresult = {}", "2:12: recursion is not allowed: f calls f"},
		{"mutual recursion", "def f():\n    g()\ndef g():\n    f()\nresult = {}", "4:5: recursion is not allowed: f calls g calls f"},
		{"empty", "  \n", "is required when exec_mode is code"},
		{"too large", "x = 1\n" + strings.Repeat("#", MaxCodeSize), "code_snippet is 262150 bytes, the limit is 262144"},
		{"print is not predeclared as print", "result = printer", "1:10: undefined: printer"},
		{"return at the top level", "x = 1\nif x:\n    return\nresult = {}", "3:5: return statement not within a function"},
		{"result read, never bound", "x = result", "1:5: undefined: result"},
		{"result read before it is bound", "x = result\nresult = {}", "1:5: undefined: result"},
		{"a name read before the top level binds it", "x = foo\nfoo = 1", "1:5: undefined: foo"},
		{"every resolver error, a return among them", "x = foo\nif True:\n    return", "1:5: undefined: foo\n3:5: return statement not within a function"},
		{"result read in a function, never bound", "def f():\n    return result\nx = f()", "2:12: undefined: result"},
		{"recursion through a later def", "def f():\n    return g()\ndef g():\n    return f()\nresult = {}", "4:12: recursion is not allowed: f calls g calls f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CodeMode{}.Compile(&execmode.Endpoint{CodeSnippet: tt.src})
			var fe *execmode.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Compile error = %v, want a field error %q", err, tt.want)
			}
			if fe.Field != "code_snippet" || fe.Message != tt.want {
				t.Errorf("error = %q on %s, want %q on code_snippet", fe.Message, fe.Field, tt.want)
			}
		})
	}
}

func TestCompileDialect(t *testing.T) {
	tests := []struct {
		name string
		src  string
	}{
		{"top-level if, for, while", "x = 0\nif True:\n    x = 1\nfor i in range(3):\n    x += i\nwhile x > 0:\n    x -= 1\nresult = {}"},
		{"global reassignment", "result = {}\nresult = {\"payload\": 1}"},
		{"set", "s = set([1, 2])\nresult = {\"payload\": len(s)}"},
		{"def without recursion", "def double(x):\n    return 2 * x\ndef quad(x):\n    return double(double(x))\nresult = {\"payload\": quad(1)}"},
		{"a local named like a top-level function is no recursion", "def f():\n    f = len\n    return f([])\nresult = {\"payload\": f()}"},
		{"assigning to a field of request.json()", "request.json()[\"k\"] = 1\nrequest.json()[\"k\"], y = 1, 2\nresult = {}"},
		{"a function bound in a top-level branch", "if True:\n    def f():\n        return 1\nresult = {\"payload\": f()}"},
		{"every predeclared name", "x = [request, user, caller, endpoint, env, json, time, hashlib, hmac, base64, log, Response, NotFound, BadRequest, Unauthorized, Forbidden, UserError, ValidationError]\nresult = {}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Compile(tt.src); err != nil {
				t.Fatalf("Compile: %v", err)
			}
		})
	}
}

func TestCompileNoRecord(t *testing.T) {
	if _, err := (CodeMode{}).Compile(nil); err == nil {
		t.Fatal("Compile(nil) succeeded")
	}
}

func TestModuleInfo(t *testing.T) {
	info := CodeMode{}.CaddyModule()
	if info.ID != "endpoint.exec_modes.code" {
		t.Errorf("ID = %q", info.ID)
	}
	if _, ok := info.New().(execmode.ExecMode); !ok {
		t.Error("New() is not a execmode.ExecMode")
	}
}
