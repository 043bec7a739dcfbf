package snippet

import (
	"go.starlark.net/starlark"

	"github.com/caddy-endpoint/endpoint/execmode"
)

// entry is one predeclared name: its help and how its value is made,
// either once (static, frozen) or per request from the run.
type entry struct {
	execmode.HelpEntry
	static starlark.Value
	perRun func(r *run) starlark.Value
}

func m(name, sig, doc string, members ...execmode.HelpEntry) execmode.HelpEntry {
	return execmode.HelpEntry{Name: name, Signature: sig, Doc: doc, Members: members}
}

var identityHelp = []execmode.HelpEntry{
	m("is_public", "bool", "True when nobody authenticated"),
	m("name", "str", "the user's name"),
	m("roles", "tuple[str]", "the roles the user holds"),
}

var headersHelp = []execmode.HelpEntry{
	m("get", "get(name, default=None) -> str", "first value of a header, case-insensitive; headers[name] and name in headers work too"),
	m("get_all", "get_all(name) -> list[str]", "every value of a header"),
	m("keys", "keys() -> list[str]", "the header names, canonical form, sorted"),
}

const httpSig = "(url, headers=None, body=None, json=None, timeout=None) -> response with status_code, headers, body, text, json()"

// table is the snippet environment. It builds the predeclared names of
// every run and produces Help; nothing else lists them.
var table = []entry{
	{HelpEntry: m("request", "request", "the HTTP request being served",
		m("body", "bytes", "the request body"),
		m("form", "dict[str, str]", "the urlencoded body, first value of each field; an unparsable body fails with 400"),
		m("headers", "headers", "the request headers, case-insensitive", headersHelp...),
		m("host", "str", "the requested host"),
		m("json", "json() -> value", "the body parsed as JSON (objects as dicts with sorted keys); a body that is not JSON fails with 400"),
		m("method", "str", "the request method"),
		m("path", "str", "the request path"),
		m("path_params", "dict[str, str]", "the values of the route's {name} segments"),
		m("query", "dict[str, str]", "the first value of each query parameter"),
		m("query_all", "dict[str, list[str]]", "every value of each query parameter"),
		m("remote_ip", "str", "the client's IP address"),
		m("route", "str", "the route pattern that matched the path, one of endpoint.routes"),
		m("text", "str", "the request body as a string"),
	), perRun: func(r *run) starlark.Value { return &r.req }},

	{HelpEntry: m("user", "user", "the executing user: exec_as_user if set, else the caller", identityHelp...),
		perRun: func(r *run) starlark.Value { return &r.user }},

	{HelpEntry: m("caller", "user or None", "the authenticated caller, None when anonymous", identityHelp...),
		perRun: func(r *run) starlark.Value {
			if r.inv.Caller == nil {
				return starlark.None
			}
			return &r.caller
		}},

	{HelpEntry: m("endpoint", "endpoint", "the endpoint record being served, read-only, without its code",
		m("active", "bool", "whether the record is active"),
		m("allowed_roles", "tuple[str]", "roles of which the caller must hold one (empty: any)"),
		m("auth_type", "str", "user, bearer or public"),
		m("cors_origins", "tuple[str]", "browser origins allowed to call the endpoint"),
		m("exec_as_user", "str", "the user the snippet runs as, or \"\""),
		m("exec_mode", "str", "the exec mode, \"code\""),
		m("name", "str", "the record's name"),
		m("request_content_type", "str", "the required request media type, or \"\""),
		m("request_method", "str", "the first of request_methods"),
		m("request_methods", "tuple[str]", "the methods served: GET, POST, PUT, PATCH, DELETE"),
		m("revision", "int", "the published revision serving the request (0 for a dry run)"),
		m("route", "str", "the first of routes"),
		m("route_group", "str", "the route group tag"),
		m("routes", "tuple[str]", "the route patterns of the record"),
		m("version", "int", "the record's version"),
	), perRun: func(r *run) starlark.Value { return &r.endpoint }},

	{HelpEntry: m("env", "env", "the outside world, as the executing user's grants allow; anything not granted fails with an error naming the grant",
		m("http", "http", "outbound HTTP to granted hosts, bounded by the request's deadline",
			m("delete", "delete"+httpSig, "send a DELETE request"),
			m("get", "get"+httpSig, "send a GET request"),
			m("post", "post"+httpSig, "send a POST request"),
			m("put", "put"+httpSig, "send a PUT request"),
		),
		m("secret", "secret(name) -> str", "the value of a granted secret"),
		m("store", "store", "a persistent key-value store in Caddy's storage, by namespace; values are JSON-able",
			m("delete", "delete(ns, key)", "remove a key (no error if missing); needs write"),
			m("get", "get(ns, key, default=None) -> value", "the value under a key; needs read or write"),
			m("list", "list(ns, prefix=\"\") -> list[str]", "the keys starting with prefix, sorted; needs read or write"),
			m("put", "put(ns, key, value)", "store a JSON-able value; needs write"),
		),
	), perRun: func(r *run) starlark.Value { return &r.envValue }},

	{HelpEntry: m("json", "json", "JSON encoding and decoding",
		m("decode", "decode(x, default=?) -> value", "parse a JSON string or bytes (objects as dicts with sorted keys); default is returned instead of failing"),
		m("encode", "encode(x) -> str", "encode a value as JSON; dicts keep their order, time values become RFC 3339 strings"),
		m("encode_indent", "encode_indent(x, prefix=\"\", indent=\"\\t\") -> str", "encode as indented JSON"),
		m("indent", "indent(str, prefix=\"\", indent=\"\\t\") -> str", "re-indent a JSON string"),
	), static: jsonModule},

	{HelpEntry: m("time", "time", "Starlark's time module",
		m("from_timestamp", "from_timestamp(sec, nsec=0) -> time", "the time of a Unix timestamp"),
		m("hour", "duration", "one hour"),
		m("is_valid_timezone", "is_valid_timezone(loc) -> bool", "whether loc names a time zone"),
		m("microsecond", "duration", "one microsecond"),
		m("millisecond", "duration", "one millisecond"),
		m("minute", "duration", "one minute"),
		m("nanosecond", "duration", "one nanosecond"),
		m("now", "now() -> time", "the current time"),
		m("parse_duration", "parse_duration(d) -> duration", "parse a duration such as \"1h30m\""),
		m("parse_time", "parse_time(x, format=RFC3339, location=\"UTC\") -> time", "parse a time string"),
		m("second", "duration", "one second"),
		m("time", "time(year, month, day, hour, minute, second, nanosecond, location) -> time", "build a time; every argument is optional"),
	), static: timeModule},

	{HelpEntry: m("hashlib", "hashlib", "hash functions; each takes str or bytes (at most 8 MiB) and returns an object with hexdigest() -> str and digest() -> bytes",
		m("blake2b", "blake2b(data=b\"\") -> digest", "BLAKE2b-512"),
		m("md5", "md5(data=b\"\") -> digest", "MD5"),
		m("sha1", "sha1(data=b\"\") -> digest", "SHA-1"),
		m("sha224", "sha224(data=b\"\") -> digest", "SHA-224"),
		m("sha256", "sha256(data=b\"\") -> digest", "SHA-256"),
		m("sha384", "sha384(data=b\"\") -> digest", "SHA-384"),
		m("sha3_256", "sha3_256(data=b\"\") -> digest", "SHA3-256"),
		m("sha512", "sha512(data=b\"\") -> digest", "SHA-512"),
	), static: hashlibModule},

	{HelpEntry: m("hmac", "hmac", "keyed hashes",
		m("compare_digest", "compare_digest(a, b) -> bool", "compare two strings or bytes in constant time"),
		m("new", "new(key, msg=b\"\", digestmod) -> digest", "the HMAC of msg; digestmod is a name such as \"sha256\" or a hashlib function; the result has hexdigest() and digest()"),
	), static: hmacModule},

	{HelpEntry: m("base64", "base64", "base64 encoding (str or bytes in, at most 8 MiB)",
		m("decode", "decode(data) -> bytes", "decode standard base64, padding optional"),
		m("encode", "encode(data) -> str", "encode as standard base64 with padding"),
		m("urlsafe_decode", "urlsafe_decode(data) -> bytes", "decode URL-safe base64, padding optional"),
		m("urlsafe_encode", "urlsafe_encode(data) -> str", "encode as URL-safe base64 with padding"),
	), static: base64Module},

	{HelpEntry: m("log", "log(message, level=\"info\")", "write a line to the Caddy log and the admin log buffer; level is debug, info, warn or error; messages over 8 KiB are cut"),
		perRun: func(r *run) starlark.Value { return &r.log }},

	{HelpEntry: m("Response", "Response(body, status_code=200, headers={}, content_type=\"text/plain; charset=utf-8\")",
		"a complete response for result = {\"response\": Response(...)}; body is str or bytes"),
		static: starlark.NewBuiltin("Response", newResponse)},

	{HelpEntry: m("NotFound", "NotFound(message=\"not found\")", "fail the request with 404 and the message"),
		static: errorBuiltin("NotFound", 404, "not found")},
	{HelpEntry: m("BadRequest", "BadRequest(message=\"bad request\")", "fail the request with 400 and the message"),
		static: errorBuiltin("BadRequest", 400, "bad request")},
	{HelpEntry: m("Unauthorized", "Unauthorized(message=\"unauthorized\")", "fail the request with 401 and the message"),
		static: errorBuiltin("Unauthorized", 401, "unauthorized")},
	{HelpEntry: m("Forbidden", "Forbidden(message=\"forbidden\")", "fail the request with 403 and the message"),
		static: errorBuiltin("Forbidden", 403, "forbidden")},
	{HelpEntry: m("UserError", "UserError(message=\"bad request\")", "fail the request with 400 and the message"),
		static: errorBuiltin("UserError", 400, "bad request")},
	{HelpEntry: m("ValidationError", "ValidationError(message=\"invalid input\")", "fail the request with 400 and the message"),
		static: errorBuiltin("ValidationError", 400, "invalid input")},
}

// tableIndex finds a table entry by name.
var tableIndex = func() map[string]int {
	idx := make(map[string]int, len(table))
	for i := range table {
		idx[table[i].Name] = i
		if table[i].static != nil {
			table[i].static.Freeze()
		}
	}
	return idx
}()

// Help documents every predeclared name of a snippet, in the order of the
// table. The answer is a copy the caller may keep.
func Help() []execmode.HelpEntry {
	out := make([]execmode.HelpEntry, len(table))
	for i := range table {
		out[i] = copyHelp(table[i].HelpEntry)
	}
	return out
}

func copyHelp(h execmode.HelpEntry) execmode.HelpEntry {
	if h.Members != nil {
		members := make([]execmode.HelpEntry, len(h.Members))
		for i, mem := range h.Members {
			members[i] = copyHelp(mem)
		}
		h.Members = members
	}
	return h
}
