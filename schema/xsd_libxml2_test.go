//go:build cgo

package schema

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/libxml2/parser"
)

// captureStderr runs f with file descriptor 2 pointed at a pipe, so that
// output written by C code is caught too.
func captureStderr(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved, err := syscall.Dup(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Dup2(int(w.Fd()), 2); err != nil {
		t.Fatal(err)
	}
	out := make(chan []byte)
	go func() {
		b, _ := io.ReadAll(r)
		out <- b
	}()
	runtime.LockOSThread()
	f()
	runtime.UnlockOSThread()
	if err := syscall.Dup2(saved, 2); err != nil {
		t.Fatal(err)
	}
	syscall.Close(saved)
	w.Close()
	return string(<-out)
}

func TestLibxml2SilentOnStderr(t *testing.T) {
	v, err := Compile("application/xml", orderXSD)
	if err != nil {
		t.Fatal(err)
	}
	be := v.(*xsdValidator).backend
	bodies := []string{
		"<order id=\"1\"><customer>",
		"<order id=\"1\"></wrong>",
		"<order id=\"1\">&undefined;</order>",
		"<a>\x01</a>",
		"<order id=\"x\"><item/></order>",
		`<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>`,
	}
	got := captureStderr(t, func() {
		for _, b := range bodies {
			v.Validate([]byte(b))
			// Straight to the backend too, past the front's checks.
			be.validate([]byte(b))
		}
		Compile("application/xml", `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="nope"/></xs:schema>`)
		Compile("application/xml", `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element`)
	})
	if got != "" {
		t.Fatalf("libxml2 wrote to stderr: %q", got)
	}
	// The capture works: libxml2 with its default options does print.
	loud := captureStderr(t, func() {
		if doc, err := parser.New().Parse([]byte("<a></b>")); err == nil {
			doc.Free()
		}
	})
	if loud == "" {
		t.Log("libxml2 default parse printed nothing; the capture may not see C output")
	}
}

// TestLibxml2BackendAloneIsHardened sends hostile bodies straight to the
// libxml2 backend, past the front's DOCTYPE refusal: entities are not
// substituted and nothing is loaded.
func TestLibxml2BackendAloneIsHardened(t *testing.T) {
	const marker = "SECRET-MARKER-c0ffee"
	path := t.TempDir() + "/secret.txt"
	if err := os.WriteFile(path, []byte(marker), 0o600); err != nil {
		t.Fatal(err)
	}
	be, err := newXSDBackend([]byte(`<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a"><xs:simpleType><xs:restriction base="xs:string"><xs:maxLength value="3"/></xs:restriction></xs:simpleType></xs:element></xs:schema>`))
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{
		`<!DOCTYPE a [<!ENTITY x SYSTEM "file://` + path + `">]><a>&x;</a>`,
		`<!DOCTYPE a [<!ENTITY % p SYSTEM "file://` + path + `"> %p;]><a>&e;</a>`,
		`<!DOCTYPE a SYSTEM "file://` + path + `"><a>&e;</a>`,
	} {
		issues, perr := be.validate([]byte(body))
		all := strings.Builder{}
		if perr != nil {
			all.WriteString(perr.Error())
		}
		for _, is := range issues {
			all.WriteString(is.msg + strings.Join(is.path, "/"))
		}
		if strings.Contains(all.String(), marker) {
			t.Fatalf("backend read the file: %s", all.String())
		}
	}
}

// TestLibxml2LongMessages fails values far longer than libxml2-go's 1 KiB
// message buffer: the structured handler copies each message safely.
func TestLibxml2LongMessages(t *testing.T) {
	v, err := Compile("application/xml", `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
<xs:element name="a"><xs:complexType><xs:sequence>
<xs:element name="n" type="xs:int" maxOccurs="unbounded"/>
</xs:sequence><xs:attribute name="k" type="xs:int"/></xs:complexType></xs:element></xs:schema>`)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 64<<10)
	body := `<a k="` + long + `"><n>` + long + `</n><n>` + long + `</n><` + strings.Repeat("e", 4000) + `/></a>`
	_, vs := v.Validate([]byte(body))
	if len(vs) < 3 {
		t.Fatalf("violations %+v", vs)
	}
	for _, x := range vs {
		if x.Type != "xml_schema" || len(x.Msg) > 1024 {
			t.Errorf("violation type %s, msg length %d", x.Type, len(x.Msg))
		}
	}
}

func rssBytes(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	f := bytes.Fields(b)
	pages, _ := strconv.ParseInt(string(f[1]), 10, 64)
	return pages * int64(os.Getpagesize())
}

// TestLibxml2NoLeak runs 100k validations (valid, invalid and unparsable
// bodies) and checks that resident memory stays flat: every C document,
// context and message is freed.
func TestLibxml2NoLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("100k validations")
	}
	v, err := Compile("application/xml", orderXSD)
	if err != nil {
		t.Fatal(err)
	}
	bodies := [][]byte{
		[]byte(`<order id="1"><customer>Ada</customer><item><sku>ABC-1</sku><qty>2</qty></item></order>`),
		[]byte(`<order id="x"><customer>Ada</customer><item><sku>abc</sku><qty>zero</qty></item><extra/></order>`),
		[]byte(`<order id="1"><customer>Ada</customer>`),
	}
	run := func(n int) {
		for i := range n {
			v.Validate(bodies[i%len(bodies)])
		}
	}
	run(5000)
	runtime.GC()
	before := rssBytes(t)
	run(100_000)
	runtime.GC()
	after := rssBytes(t)
	t.Logf("RSS before %d KiB, after %d KiB", before>>10, after>>10)
	if growth := after - before; growth > 20<<20 {
		t.Fatalf("RSS grew by %d MiB over 100k validations", growth>>20)
	}
}

// TestLibxml2SchemaFreed drops compiled schemas and checks that their
// cleanup frees every one (schema and document). RSS is not the measure
// here: frees run on the cleanup goroutine's thread, and glibc's
// per-thread arenas then hold on to pages for a while.
func TestLibxml2SchemaFreed(t *testing.T) {
	start := schemasFreed.Load()
	const n = 500
	for range n {
		if _, err := Compile("application/xml", orderXSD); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 100 && schemasFreed.Load()-start < n; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if freed := schemasFreed.Load() - start; freed < n {
		t.Fatalf("%d of %d dropped schemas freed", freed, n)
	}
}

// TestXSDLargeBody validates a valid body over 10 MB, past what libxml2's
// parser looks ahead in a buffer that is not its own.
func TestXSDLargeBody(t *testing.T) {
	if testing.Short() {
		t.Skip("an 11 MB body")
	}
	v, err := Compile("application/xml", orderXSD)
	if err != nil {
		t.Fatal(err)
	}
	body := `<order id="1"><customer>A</customer>` + strings.Repeat("<item><sku>ABC-1</sku><qty>1</qty></item>", 11<<20/41) + `</order>`
	if _, vs := v.Validate([]byte(body)); vs != nil {
		t.Fatalf("%d bytes: %+v", len(body), vs[:min(len(vs), 3)])
	}
}
