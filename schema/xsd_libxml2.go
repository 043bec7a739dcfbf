//go:build cgo

package schema

/*
#cgo pkg-config: libxml-2.0
#include <stdlib.h>
#include <string.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlregexp.h>

#define EP_MAX_ERRS 64
#define EP_MAX_MSG 512

#if LIBXML_VERSION >= 21200
typedef const xmlError *ep_error_ptr;
#else
typedef xmlErrorPtr ep_error_ptr;
#endif

typedef struct {
	int n;
	char *msg[EP_MAX_ERRS];
	int line[EP_MAX_ERRS];
	xmlNodePtr node[EP_MAX_ERRS];
} ep_errs;

// ep_collect copies each error that libxml2 has already formatted into a
// heap string of its own size; nothing goes through a fixed buffer.
static void ep_collect(void *data, ep_error_ptr err) {
	ep_errs *e = (ep_errs *) data;
	if (err == NULL || err->level < XML_ERR_ERROR || e->n >= EP_MAX_ERRS) {
		return;
	}
	int i = e->n++;
	e->msg[i] = err->message != NULL ? strndup(err->message, EP_MAX_MSG) : NULL;
	e->line[i] = err->line;
	e->node[i] = (xmlNodePtr) err->node;
}

static void ep_free_errs(ep_errs *e) {
	for (int i = 0; i < e->n; i++) {
		free(e->msg[i]);
	}
}

static xmlSchemaPtr ep_parse_schema(xmlDocPtr doc, ep_errs *errs) {
	xmlSchemaParserCtxtPtr p = xmlSchemaNewDocParserCtxt(doc);
	if (p == NULL) {
		return NULL;
	}
	xmlSchemaSetParserStructuredErrors(p, (xmlStructuredErrorFunc) ep_collect, errs);
	xmlSchemaPtr s = xmlSchemaParse(p);
	xmlSchemaFreeParserCtxt(p);
	return s;
}

// ep_validate validates doc with v, a validation context of the schema
// kept from call to call (libxml2 clears its state when a validation
// ends, errors or not).
static int ep_validate(xmlSchemaValidCtxtPtr v, xmlDocPtr doc, ep_errs *errs) {
	xmlSchemaSetValidStructuredErrors(v, (xmlStructuredErrorFunc) ep_collect, errs);
	int rc = xmlSchemaValidateDoc(v, doc);
	xmlSchemaSetValidStructuredErrors(v, NULL, NULL);
	return rc;
}

// ep_call is what one validation of a body fills in. It lives in C memory,
// reused from call to call: Go memory passed to C would be allocated and
// scanned by cgo's pointer checks on every request.
typedef struct {
	ep_errs errs;
	xmlDocPtr doc;
	char *msg;
	int line;
	// ctxt is the parser context, kept from body to body: making one
	// is a good part of parsing a small body. uses counts the bodies it
	// parsed.
	xmlParserCtxtPtr ctxt;
	int uses;
	// copy is the body with the zero byte libxml2's parser stops at,
	// kept (cap bytes) for the next body.
	char *copy;
	size_t cap;
} ep_call;

// What a kept ep_call may hold once a call ends: a parser context's
// dictionary keeps every name the bodies it parsed used, so it is freed
// after EP_CTXT_USES bodies or once the dictionary holds more than
// EP_CTXT_NAMES names or EP_CTXT_BYTES bytes; a copy over EP_COPY_BYTES
// is freed.
#define EP_CTXT_USES 1000
#define EP_CTXT_NAMES 2000
#define EP_CTXT_BYTES (256 * 1024)
#define EP_COPY_BYTES (64 * 1024)

// EP_STATIC_MAX is the largest body read from the copy: libxml2 2.9
// shrinks an input once it has read more than 2 * INPUT_CHUNK bytes of
// it, and shrinking a static buffer moves its start under the parser,
// which then reads parts of the body again (a valid body of 700 bytes was
// refused). A bigger body is read through libxml2's own buffer.
#define EP_STATIC_MAX (2 * INPUT_CHUNK)

static ep_call *ep_new_call(void) {
	return (ep_call *) calloc(1, sizeof(ep_call));
}

static void ep_free_call(ep_call *c) {
	if (c->ctxt != NULL) {
		xmlFreeParserCtxt(c->ctxt);
	}
	free(c->copy);
	free(c);
}

// ep_parser is c's parser context, made when there is none.
static xmlParserCtxtPtr ep_parser(ep_call *c) {
	if (c->ctxt == NULL) {
		c->ctxt = xmlNewParserCtxt();
		c->uses = 0;
	}
	c->uses++;
	return c->ctxt;
}

// ep_trim frees what c should not keep past a call.
static void ep_trim(ep_call *c) {
	if (c->ctxt != NULL && (c->uses >= EP_CTXT_USES || c->ctxt->dict == NULL ||
			xmlDictSize(c->ctxt->dict) > EP_CTXT_NAMES ||
			xmlDictGetUsage(c->ctxt->dict) > EP_CTXT_BYTES)) {
		xmlFreeParserCtxt(c->ctxt);
		c->ctxt = NULL;
	}
	if (c->cap > EP_COPY_BYTES) {
		free(c->copy);
		c->copy = NULL;
		c->cap = 0;
	}
}

// ep_end_call frees what a validation left in c, keeping c for the next.
static void ep_end_call(ep_call *c) {
	ep_free_errs(&c->errs);
	c->errs.n = 0;
	if (c->doc != NULL) {
		xmlFreeDoc(c->doc);
		c->doc = NULL;
	}
	free(c->msg);
	c->msg = NULL;
	c->line = 0;
	ep_trim(c);
}

// ep_read is xmlCtxtReadMemory without its input buffer for a small
// body: libxml2 2.9 copies the body into a buffer that the parser then
// tries to grow at every token (a third of a small body's validation).
// Such a body is copied instead into c->copy, ending with the zero byte
// the parser stops at, and read from there as a static buffer. The
// context is reset before it returns when the body parsed.
static xmlDocPtr ep_read(ep_call *c, xmlParserCtxtPtr ctxt, const char *buf, int len, int options) {
	if (len > EP_STATIC_MAX) {
		return xmlCtxtReadMemory(ctxt, buf, len, NULL, NULL, options);
	}
	if (c->cap < (size_t) len + 1) {
		char *grown = realloc(c->copy, (size_t) len + 1);
		if (grown == NULL) {
			return NULL;
		}
		c->copy = grown;
		c->cap = (size_t) len + 1;
	}
	memcpy(c->copy, buf, len);
	c->copy[len] = 0;
	xmlCtxtReset(ctxt);
	xmlParserInputBufferPtr in = xmlParserInputBufferCreateStatic(c->copy, len, XML_CHAR_ENCODING_NONE);
	if (in == NULL) {
		return NULL;
	}
	xmlParserInputPtr stream = xmlNewIOInputStream(ctxt, in, XML_CHAR_ENCODING_NONE);
	if (stream == NULL) {
		xmlFreeParserInputBuffer(in);
		return NULL;
	}
	inputPush(ctxt, stream);
	xmlCtxtUseOptions(ctxt, options);
	xmlParseDocument(ctxt);
	xmlDocPtr doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	if (!ctxt->wellFormed && doc != NULL) {
		xmlFreeDoc(doc);
		doc = NULL;
	}
	if (doc != NULL) {
		xmlCtxtReset(ctxt);
	}
	return doc;
}

// ep_check_body parses a body and validates it in one call. A body that
// does not parse gives -2, with the parser's message in c->msg and its
// line. Otherwise it gives the validation's result; when errors were
// collected the document is left in c->doc for the caller to locate them,
// else it is freed here. ep_end_call frees what is left.
static int ep_check_body(xmlSchemaValidCtxtPtr v, const char *buf, int len, int options, ep_call *c) {
	xmlParserCtxtPtr ctxt = ep_parser(c);
	if (ctxt == NULL) {
		return -2;
	}
	xmlDocPtr doc = ep_read(c, ctxt, buf, len, options);
	if (doc == NULL) {
		ep_error_ptr e = (ep_error_ptr) xmlCtxtGetLastError(ctxt);
		if (e != NULL && e->message != NULL) {
			c->msg = strndup(e->message, EP_MAX_MSG);
			c->line = e->line;
		}
		// a context that failed is not kept
		xmlFreeParserCtxt(ctxt);
		c->ctxt = NULL;
		return -2;
	}
	int rc = ep_validate(v, doc, &c->errs);
	if (c->errs.n > 0) {
		c->doc = doc;
	} else {
		xmlFreeDoc(doc);
	}
	return rc;
}

static xmlParserInputPtr ep_no_loader(const char *url, const char *id, xmlParserCtxtPtr ctxt) {
	return NULL;
}

// ep_pattern_deterministic compiles a pattern facet as libxml2 does and
// reports whether its automaton is deterministic (1), not (0), or the
// pattern does not compile (-1).
static int ep_pattern_deterministic(const char *re) {
	xmlRegexpPtr r = xmlRegexpCompile((const xmlChar *) re);
	if (r == NULL) {
		return -1;
	}
	int det = xmlRegexpIsDeterminist(r);
	xmlRegFreeRegexp(r);
	return det;
}

static void ep_init(void) {
	xmlInitParser();
	xmlSetExternalEntityLoader(ep_no_loader);
}
*/
import "C"

import (
	"errors"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/lestrrat-go/libxml2/parser"
	"github.com/lestrrat-go/libxml2/types"
)

// Why part of this backend is a cgo shim rather than lestrrat-go/libxml2's
// xsd package (documents are still parsed and freed through its parser and
// dom packages):
//
//   - xsd.Schema.Validate collects errors with clib's MY_accumulateErr,
//     which formats each message into a 1 KiB stack buffer and then uses
//     vsnprintf's return value unclamped: buf[len-1] is read (and may be
//     written) and len bytes are copied out of buf, so a message longer
//     than 1 KiB — an echoed client value, a long element name — reads
//     past the stack buffer, and the copy is not NUL-terminated. ep_validate
//     does the same validation with a structured error handler that copies
//     libxml2's own heap-formatted message, and keeps the failing node so
//     that loc can name the element path.
//   - xsd.Parse leaks its parser context and the schema document on every
//     call, parses the XSD with no NONET/NOERROR options, and reports only
//     "failed to parse schema". ep_parse_schema parses a document we own
//     (parsed with the hardened options below) and collects the messages
//     with their lines.
//
// ep_init also replaces libxml2's external entity loader, process-wide,
// with one that loads nothing, so neither a schema nor a body can make
// libxml2 open a file or a URL even if a check above missed a path.
func init() {
	C.ep_init()
}

// parseOptions: no NOENT (entities are not substituted), no DTDLOAD, no
// network, and no error or warning output on stderr.
const parseOptions = parser.XMLParseNoNet | parser.XMLParseNoError | parser.XMLParseNoWarning

var xmlParser = parser.New(parseOptions)

type libxml2Backend struct {
	schema *C.xmlSchema
	doc    types.Document
	// valids keeps validation contexts of schema for reuse (making one
	// is about a tenth of validating a small body), at most its capacity.
	valids keptList[*validCtxt]
}

// validCtxt is a kept validation context and the validations it ran.
// It keeps the room its largest body needed (about 136 bytes an
// attribute of its widest element), so it is freed after a body over
// validKeepBytes, and after validUses validations.
type validCtxt struct {
	v    *C.xmlSchemaValidCtxt
	uses int
}

const (
	validUses      = 1000
	validKeepBytes = 16 << 10
)

// takeValid is a kept validation context of b's schema, or a new one; nil
// when libxml2 cannot make one.
func (b *libxml2Backend) takeValid() *validCtxt {
	return b.valids.take(func() *validCtxt {
		if v := C.xmlSchemaNewValidCtxt(b.schema); v != nil {
			return &validCtxt{v: v}
		}
		return nil
	})
}

// keepValid keeps vc, which validated a body of size bytes, for the next
// validation, or frees it.
func (b *libxml2Backend) keepValid(vc *validCtxt, size int) {
	vc.uses++
	if vc.uses >= validUses || size > validKeepBytes {
		freeValid(vc)
		return
	}
	b.valids.keep(vc, freeValid)
}

func freeValid(vc *validCtxt) { C.xmlSchemaFreeValidCtxt(vc.v) }

// keptList keeps C objects for reuse, at most its capacity; one more is
// freed when it is done. A channel rather than a sync.Pool: the pool drops
// what it holds at each collection, and C memory freed by cleanups waits
// for the Go heap to grow.
type keptList[T any] chan T

// take is a kept object, or a new one.
func (l keptList[T]) take(create func() T) T {
	select {
	case v := <-l:
		return v
	default:
		return create()
	}
}

// keep keeps v, or frees it when the list is full.
func (l keptList[T]) keep(v T, free func(T)) {
	select {
	case l <- v:
	default:
		free(v)
	}
}

// drain frees every object kept.
func (l keptList[T]) drain(free func(T)) {
	for {
		select {
		case v := <-l:
			free(v)
		default:
			return
		}
	}
}

// schemasFreed counts schemas released by their cleanup.
var schemasFreed atomic.Int64

// schemaHandle is what the cleanup frees once the backend is unreachable.
type schemaHandle struct {
	schema *C.xmlSchema
	doc    types.Document
	valids keptList[*validCtxt]
}

func newXSDBackend(src []byte) (xsdBackend, error) {
	doc, err := xmlParser.Parse(src)
	if err != nil {
		return nil, errors.New(tidyLibxml2Error(err.Error()))
	}
	var errs C.ep_errs
	s := C.ep_parse_schema(cDoc(doc), &errs)
	msgs := collectMessages(&errs, false)
	C.ep_free_errs(&errs)
	if s == nil {
		doc.Free()
		if len(msgs) == 0 {
			return nil, errors.New("invalid XSD")
		}
		parts := make([]string, 0, len(msgs))
		for _, m := range msgs[:min(len(msgs), 5)] {
			parts = append(parts, "line "+strconv.Itoa(m.line)+": "+m.msg)
		}
		return nil, errors.New(strings.Join(parts, "; "))
	}
	b := &libxml2Backend{schema: s, doc: doc, valids: make(keptList[*validCtxt], 4*runtime.GOMAXPROCS(0))}
	runtime.AddCleanup(b, func(h schemaHandle) {
		schemasFreed.Add(1)
		// b is unreachable: no validation holds a context of it
		h.valids.drain(freeValid)
		C.xmlSchemaFree(h.schema)
		h.doc.Free()
	}, schemaHandle{schema: s, doc: doc, valids: b.valids})
	return b, nil
}

// xsdCalls keeps ep_calls, with their parser contexts, for reuse.
var xsdCalls = make(keptList[*C.ep_call], 4*runtime.GOMAXPROCS(0))

func newCall() *C.ep_call { return C.ep_new_call() }

func freeCall(c *C.ep_call) { C.ep_free_call(c) }

// validate parses and validates body in one cgo call (ep_check_body).
func (b *libxml2Backend) validate(body []byte) ([]xmlIssue, error) {
	var buf *C.char
	if len(body) > 0 {
		buf = (*C.char)(unsafe.Pointer(&body[0]))
	}
	vc := b.takeValid()
	if vc == nil {
		return nil, ErrBackend
	}
	c := xsdCalls.take(newCall)
	defer xsdCalls.keep(c, freeCall)
	defer C.ep_end_call(c)
	rc := C.ep_check_body(vc.v, buf, C.int(len(body)), C.int(parseOptions), c)
	b.keepValid(vc, len(body))
	runtime.KeepAlive(b)
	if rc == -2 {
		return nil, parseError(c.msg, c.line)
	}
	issues := collectMessages(&c.errs, true)
	if rc != 0 && len(issues) == 0 {
		issues = append(issues, xmlIssue{msg: "the body does not match the XSD"})
	}
	return issues, nil
}

// parseError is a body's parse failure as the answer reports it, "line N:
// reason".
func parseError(msg *C.char, line C.int) error {
	if msg == nil {
		return errors.New("the body is not well-formed XML")
	}
	return errors.New("line " + strconv.Itoa(int(line)) + ": " + strings.TrimSpace(C.GoString(msg)))
}

// checkPatternBackend refuses a pattern facet whose libxml2 automaton is
// not deterministic: libxml2 evaluates such a pattern by backtracking, in
// C code that cannot be interrupted, and (a|aa)+b against a long value
// runs for minutes, or gives up with an internal error on a valid one.
// A deterministic automaton reads each character once.
func checkPatternBackend(p string) error {
	cs := C.CString(p)
	defer C.free(unsafe.Pointer(cs))
	if C.ep_pattern_deterministic(cs) == 0 {
		return errors.New("libxml2 cannot check it in bounded time (more than one way to match the same characters, as in (a|aa)+b or (ab|ac)); write it so that each character has one way to match (a+b, a[bc])")
	}
	return nil
}

// cDoc turns lestrrat-go/libxml2's uintptr handle back into the C pointer
// it holds. The memory is C memory, never moved by the Go runtime; reading
// the word through a pointer keeps vet's uintptr rule satisfied.
func cDoc(d types.Document) *C.xmlDoc {
	p := d.Pointer()
	return *(**C.xmlDoc)(unsafe.Pointer(&p))
}

// collectMessages copies the collected errors into Go memory; withPath
// walks each failing node up to the root, so it may only be used while
// the document is alive.
func collectMessages(errs *C.ep_errs, withPath bool) []xmlIssue {
	n := int(errs.n)
	if n == 0 {
		return nil
	}
	out := make([]xmlIssue, 0, n)
	for i := range n {
		is := xmlIssue{line: int(errs.line[i])}
		if errs.msg[i] != nil {
			is.msg = strings.TrimSpace(C.GoString(errs.msg[i]))
		}
		if withPath {
			is.path = nodePath(errs.node[i])
			if attr := attributeInMessage(is.msg); attr != "" && (len(is.path) == 0 || !strings.HasPrefix(is.path[len(is.path)-1], "@")) {
				is.path = append(is.path, "@"+attr)
			}
		}
		out = append(out, is)
	}
	return out
}

// nodePath names the elements from the root down to n, then n itself as
// "@name" when it is an attribute.
func nodePath(n *C.xmlNode) []string {
	var rev []string
walk:
	for ; n != nil && len(rev) < 512; n = n.parent {
		switch n._type {
		case C.XML_ELEMENT_NODE:
			rev = append(rev, C.GoString((*C.char)(unsafe.Pointer(n.name))))
		case C.XML_ATTRIBUTE_NODE:
			rev = append(rev, "@"+C.GoString((*C.char)(unsafe.Pointer(n.name))))
		case C.XML_DOCUMENT_NODE:
			break walk
		}
	}
	slices.Reverse(rev)
	return rev
}

// attributeInMessage finds the attribute libxml2 names in a message that
// starts "Element 'x', attribute 'y': …", since it reports such errors on
// the element node.
func attributeInMessage(msg string) string {
	if !strings.HasPrefix(msg, "Element '") {
		return ""
	}
	_, rest, ok := strings.Cut(msg, "', attribute '")
	if !ok {
		return ""
	}
	name, _, ok := strings.Cut(rest, "': ")
	if !ok || strings.ContainsAny(name, "' ") {
		return ""
	}
	return name
}

// tidyLibxml2Error keeps the position and reason of a parse error and
// drops the wrapping added by lestrrat-go/libxml2.
func tidyLibxml2Error(msg string) string {
	if i := strings.Index(msg, "Entity: "); i >= 0 {
		msg = msg[i+len("Entity: "):]
	}
	msg = strings.Replace(msg, "parser error : ", "", 1)
	return strings.TrimSpace(msg)
}
