// Package execmode is the contract between caddy-endpoint and its exec
// modes: what an exec mode is handed (an Endpoint to compile, an Invocation
// to answer), what it returns (a Program, a Result) and how it fails
// (ExecError, FieldError). It imports the standard library only, so a
// third-party exec mode links nothing else of this module.
//
// Exec modes are Caddy modules in the namespace `endpoint.exec_modes`; the
// Starlark mode `code` (package snippet) ships built in.
package execmode

import (
	"context"
	"time"
)

// ExecMode turns an endpoint record into something that can answer
// requests.
type ExecMode interface {
	// Compile prepares ep for serving. It is called when a record is
	// written (to refuse bad code early) and once per published revision.
	// The error text is shown to the admin API caller as is, so it should
	// hold a line and column where the parser gives them ("3:7: ...");
	// a *FieldError names the record field at fault (default exec_mode).
	Compile(ep *Endpoint) (Program, error)
}

// Documenter is an ExecMode that documents what its programs can use. The
// admin API's /endpoint/help serves it.
type Documenter interface {
	Help() []HelpEntry
}

// HelpEntry documents one name a program can use.
type HelpEntry struct {
	// Name is the name as a program writes it.
	Name string `json:"name"`
	// Signature is how it is called or what it holds.
	Signature string `json:"signature"`
	// Doc is a one-line description.
	Doc string `json:"doc"`
	// Members are the attributes and methods of an object.
	Members []HelpEntry `json:"members,omitempty"`
}

// FieldError is a compile error that names the record field at fault.
type FieldError struct {
	// Field is the JSON name of the field, e.g. "code_snippet".
	Field string
	// Message says what is wrong, with line:column where known.
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Endpoint is the endpoint record an exec mode compiles and serves, read
// only, with every default applied.
type Endpoint struct {
	Name string
	// Routes are the record's route patterns; Route is the first.
	Routes       []string
	Route        string
	RouteGroup   string
	AuthType     string
	ExecAsUser   string
	AllowedRoles []string
	// RequestMethods are the methods served; RequestMethod is the first.
	RequestMethods     []string
	RequestMethod      string
	RequestContentType string
	ExecMode           string
	// CodeSnippet is the program text of the record (code_snippet).
	CodeSnippet string
	CORSOrigins []string
	Active      bool
	Version     int64
}

// Program is a compiled record. It is immutable and safe for concurrent
// use: one Program serves every request of a revision.
type Program interface {
	// Run answers one request. It returns an *ExecError for failures that
	// have an HTTP status of their own (snippet errors, limits).
	Run(ctx context.Context, inv *Invocation) (*Result, error)
}

// Identity is a user as an exec mode sees it.
type Identity struct {
	// Name is the user's name; "" only for the anonymous caller.
	Name string
	// Roles the user holds.
	Roles []string
	// Public is true when nobody authenticated (auth_type public and no
	// credentials).
	Public bool
}

// BodyShape is what a walk of a JSON body saw of its form, for exec modes
// that look fields up in the bytes.
type BodyShape struct {
	// Walked says Body was walked whole and is one JSON document; the
	// fields below are only set then.
	Walked bool
	// Object says the body is a JSON object.
	Object bool
	// PlainKeys says its top-level keys are distinct, at most 64, and
	// hold no U+FFFD (what a lone surrogate's escape decodes to, which a
	// lookup in the bytes does not match).
	PlainKeys bool
	// PlainNumbers says every number is under 300 characters and has no
	// exponent.
	PlainNumbers bool
	// Levels is the most containers around any one value.
	Levels int32
}

// Invocation is one request handed to a Program. It carries no net/http
// types: the handler copies what the program may see.
type Invocation struct {
	Method     string
	Path       string
	Host       string
	RemoteIP   string
	PathParams map[string]string
	// Route is the route pattern of the endpoint that matched the path.
	Route string
	// Query holds every value of every query parameter.
	Query map[string][]string
	// Header holds the request headers in canonical form (http.Header's
	// layout, without the type).
	Header map[string][]string
	Body   []byte
	// JSON is the body already parsed by the schema validator (numbers as
	// json.Number); nil when no schema parsed it. Exec modes use it instead
	// of parsing Body a second time.
	JSON any
	// HasJSON tells a parsed JSON null from "not parsed".
	HasJSON bool
	// Shape is what the schema's walk of Body saw when it proved Body
	// valid without parsing it (Shape.Walked); exec modes that look
	// fields up in Body's bytes use it instead of walking Body again.
	Shape BodyShape

	// User is the executing user: exec_as_user if set, else the caller.
	User Identity
	// Caller is the authenticated caller, nil when anonymous.
	Caller *Identity
	// Endpoint is the record being served (read-only).
	Endpoint *Endpoint
	// Revision is the published revision serving this request (0 for dry
	// runs of drafts).
	Revision int64

	// Env is what the executing user's grants allow; never nil.
	Env Env
	// Log receives the snippet's log() lines; never nil.
	Log func(level, message string)

	// MaxSteps is the step budget (0 = unlimited).
	MaxSteps uint64
	// Deadline is when the run must stop with a time-limit error.
	Deadline time.Time
	// MaxMemory is the memory budget of the run in bytes (0 = unlimited).
	MaxMemory int64
}

// Result is what a Program answers.
type Result struct {
	Status int
	Header map[string][]string
	Body   []byte
	// Steps is the number of execution steps used (for metrics and dry
	// runs).
	Steps uint64
}

// Failure kinds of an ExecError.
const (
	// FailUser is an error raised on purpose by the program (BadRequest,
	// NotFound, ...): its Status and Message are sent as they are.
	FailUser = "user_error"
	// FailRuntime is any other error while running.
	FailRuntime = "runtime_error"
	// FailResult is a program that did not produce a valid result.
	FailResult = "invalid_result"
	// FailSteps is a program that exceeded its step budget.
	FailSteps = "step_limit"
	// FailTimeout is a program that exceeded its time limit.
	FailTimeout = "timeout"
	// FailMemory is a program that exceeded its memory budget.
	FailMemory = "memory_limit"
	// FailCancelled is a run stopped because its request was cancelled
	// (the client went away): not a failure of the program.
	FailCancelled = "cancelled"
)

// ExecError is a failed run.
type ExecError struct {
	// Kind is one of the Fail* constants.
	Kind string
	// Status is the HTTP status to answer with (400..599).
	Status int
	// Message is safe to send to the client: for FailUser the program's own
	// message, otherwise a fixed text naming the kind of failure, never
	// code, stack or secrets.
	Message string
	// Err is the full error for the log (may name lines of the snippet).
	Err error
	// Steps used before the failure.
	Steps uint64
}

func (e *ExecError) Error() string {
	if e.Err != nil {
		return e.Kind + ": " + e.Err.Error()
	}
	return e.Kind + ": " + e.Message
}

func (e *ExecError) Unwrap() error { return e.Err }

// Env is the outside world a program may reach, already bound to the
// executing user's grants. Every method fails with a clear error (naming
// the missing grant) when the grant is absent.
type Env interface {
	// StoreGet returns the JSON encoding of the value under ns/key.
	StoreGet(ctx context.Context, ns, key string) (value []byte, found bool, err error)
	// StorePut stores a JSON-encoded value under ns/key.
	StorePut(ctx context.Context, ns, key string, value []byte) error
	// StoreDelete removes ns/key; deleting a missing key is not an error.
	StoreDelete(ctx context.Context, ns, key string) error
	// StoreList returns the keys of ns that start with prefix, sorted.
	StoreList(ctx context.Context, ns, prefix string) ([]string, error)
	// Secret returns the value of a granted secret.
	Secret(name string) (string, error)
	// HTTP performs an outbound request to a granted host.
	HTTP(ctx context.Context, req *OutboundRequest) (*OutboundResponse, error)
}

// OutboundRequest is a request a program sends through Env.HTTP.
type OutboundRequest struct {
	Method  string
	URL     string
	Header  map[string][]string
	Body    []byte
	Timeout time.Duration // 0 = the rest of the run's deadline
}

// OutboundResponse is the answer to an OutboundRequest.
type OutboundResponse struct {
	StatusCode int
	Header     map[string][]string
	Body       []byte
}
