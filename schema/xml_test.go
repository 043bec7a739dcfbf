package schema

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The XSD corpus runs unchanged in both builds: libxml2 (go test) and
// helium (CGO_ENABLED=0 go test).

const orderXSD = `<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="order">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="customer" type="xs:string"/>
        <xs:element name="item" maxOccurs="unbounded">
          <xs:complexType>
            <xs:sequence>
              <xs:element name="sku">
                <xs:simpleType>
                  <xs:restriction base="xs:string">
                    <xs:pattern value="[A-Z]{3}-[0-9]+"/>
                  </xs:restriction>
                </xs:simpleType>
              </xs:element>
              <xs:element name="qty" type="xs:positiveInteger"/>
            </xs:sequence>
          </xs:complexType>
        </xs:element>
      </xs:sequence>
      <xs:attribute name="id" type="xs:int" use="required"/>
    </xs:complexType>
  </xs:element>
</xs:schema>`

func TestXSDCorpus(t *testing.T) {
	v, err := Compile("application/xml", orderXSD)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
		// typ is the type of every violation; "" means valid.
		typ string
		// loc, when set, is the loc of the first violation.
		loc string
	}{
		{"valid", "<order id=\"1\">\n<customer>Ada</customer>\n<item>\n<sku>ABC-1</sku>\n<qty>2</qty>\n</item>\n</order>", "", ""},
		{"valid with declaration and comment", "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- hi -->\n<order id=\"1\"><customer>A</customer><item><sku>ABC-1</sku><qty>1</qty></item></order>", "", ""},
		{"valid in ISO-8859-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><order id=\"1\"><customer>Ren\xe9</customer><item><sku>ABC-1</sku><qty>1</qty></item></order>", "", ""},
		{"valid after a BOM", "\xef\xbb\xbf<order id=\"1\"><customer>A</customer><item><sku>ABC-1</sku><qty>1</qty></item></order>", "", ""},
		{"invalid in ISO-8859-1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><order id=\"1\"><customer>Ren\xe9</customer><item><sku>abc</sku><qty>1</qty></item></order>", "xml_schema", "[body order item sku]"},
		{"not UTF-8", "<order id=\"1\"><customer>\xff</customer></order>", "xml_invalid", "[body]"},
		{"empty", "", "xml_invalid", "[body]"},
		{"blank", "  \n ", "xml_invalid", "[body]"},
		{"not XML", "order=1", "xml_invalid", "[body]"},
		{"unclosed", "<order id=\"1\"><customer>A</customer>", "xml_invalid", "[body]"},
		{"two roots", "<order id=\"1\"/><order id=\"2\"/>", "xml_invalid", "[body]"},
		{"undefined entity", "<order id=\"1\"><customer>&secret;</customer></order>", "xml_invalid", "[body]"},
		{"UTF-16", "\xff\xfe<\x00o\x00/\x00>\x00", "xml_invalid", "[body]"},
		{"EBCDIC declared", "<?xml version=\"1.0\" encoding=\"IBM037\"?><order/>", "xml_invalid", "[body]"},
		{"wrong type", "<order id=\"1\">\n<customer>A</customer>\n<item>\n<sku>ABC-1</sku>\n<qty>many</qty>\n</item>\n</order>", "xml_schema", "[body order item qty]"},
		{"pattern", "<order id=\"1\">\n<customer>A</customer>\n<item>\n<sku>abc</sku>\n<qty>1</qty>\n</item>\n</order>", "xml_schema", "[body order item sku]"},
		{"missing element", "<order id=\"1\">\n<customer>A</customer>\n</order>", "xml_schema", "[body order]"},
		{"unexpected element", "<order id=\"1\">\n<customer>A</customer>\n<coupon/>\n</order>", "xml_schema", "[body order coupon]"},
		{"bad attribute", "<order id=\"x\">\n<customer>A</customer>\n<item><sku>ABC-1</sku><qty>1</qty></item>\n</order>", "xml_schema", "[body order @id]"},
		{"missing attribute", "<order>\n<customer>A</customer>\n<item><sku>ABC-1</sku><qty>1</qty></item>\n</order>", "xml_schema", "[body order]"},
		{"wrong root", "<invoice/>", "xml_schema", "[body invoice]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			parsed, vs := v.Validate([]byte(tc.body))
			if parsed != nil {
				t.Errorf("parsed = %v, want nil for XML", parsed)
			}
			if tc.typ == "" {
				if vs != nil {
					t.Fatalf("violations %+v", vs)
				}
				return
			}
			if len(vs) == 0 {
				t.Fatal("no violations")
			}
			for _, x := range vs {
				if x.Type != tc.typ || x.Msg == "" || len(x.Loc) == 0 || x.Loc[0] != "body" {
					t.Errorf("violation %+v, want type %s", x, tc.typ)
				}
			}
			if tc.loc != "" && fmt.Sprint(vs[0].Loc) != tc.loc {
				t.Errorf("loc %v, want %s (%+v)", vs[0].Loc, tc.loc, vs)
			}
		})
	}
}

func TestXSDCompileRefusals(t *testing.T) {
	const head = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:a" xmlns="urn:a">`
	tests := []struct {
		name, source string
		want         string
	}{
		{"include", head + `<xs:include schemaLocation="other.xsd"/></xs:schema>`, "include with a schemaLocation"},
		{"import", head + `<xs:import namespace="urn:b" schemaLocation="/etc/passwd"/></xs:schema>`, "import with a schemaLocation"},
		{"redefine", head + `<xs:redefine schemaLocation="http://127.0.0.1:1/x.xsd"/></xs:schema>`, "redefine with a schemaLocation"},
		{"override", head + `<xs:override schemaLocation="file:///etc/passwd"/></xs:schema>`, "override with a schemaLocation"},
		{"other prefix", `<s:schema xmlns:s="http://www.w3.org/2001/XMLSchema"><s:include schemaLocation="x.xsd"/></s:schema>`, "include with a schemaLocation"},
		{"DOCTYPE", `<!DOCTYPE xs:schema [<!ENTITY e SYSTEM "file:///etc/passwd">]>` + head + `</xs:schema>`, "DOCTYPE"},
		{"not XML", `<xs:schema`, "XSD"},
		{"not a schema", `<order/>`, "XSD"},
		{"unknown XSD element", head + `<xs:frobnicate/></xs:schema>`, "XSD"},
		{"element without name", head + `<xs:element type="xs:string"/></xs:schema>`, "XSD"},
		{"empty", ``, "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Compile("application/xml", tc.source)
			if err == nil {
				t.Fatalf("compiled %T, want an error", v)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
	// An import with only a namespace loads nothing and stays allowed.
	if _, err := Compile("application/xml", head+`<xs:import namespace="http://www.w3.org/XML/1998/namespace"/><xs:element name="a" type="xs:string"/></xs:schema>`); err != nil {
		t.Fatalf("import without schemaLocation: %v", err)
	}
}

func TestXMLHostileBodies(t *testing.T) {
	const marker = "SECRET-MARKER-42b7e1"
	path := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(path, []byte(marker), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := Compile("application/xml", `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="xs:string"/></xs:schema>`)
	if err != nil {
		t.Fatal(err)
	}
	laughs := `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY l0 "ha">`
	for i := 1; i <= 10; i++ {
		laughs += fmt.Sprintf(`<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">`, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	laughs += `]><a>&l10;</a>`
	tests := []struct {
		name, body string
		// mayPass: the body is valid once the hint in it is ignored.
		mayPass bool
	}{
		{"XXE file", `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file://` + path + `">]><a>&x;</a>`, false},
		{"XXE parameter entity", `<!DOCTYPE a [<!ENTITY % p SYSTEM "file://` + path + `"> %p;]><a/>`, false},
		{"external DTD", `<!DOCTYPE a SYSTEM "file://` + path + `"><a/>`, false},
		{"XXE network", `<!DOCTYPE a [<!ENTITY x SYSTEM "http://127.0.0.1:1/x">]><a>&x;</a>`, false},
		{"billion laughs", laughs, false},
		{"DOCTYPE after comment", `<!-- x --><!DOCTYPE a [<!ENTITY x SYSTEM "file://` + path + `">]><a>&x;</a>`, false},
		{"XInclude", `<a xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file://` + path + `" parse="text"/></a>`, false},
		{"xsi:schemaLocation", `<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="file://` + path + `">x</a>`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, vs := v.Validate([]byte(tc.body))
			if len(vs) == 0 && !tc.mayPass {
				t.Fatal("accepted")
			}
			for _, x := range vs {
				if x.Type != "xml_invalid" && x.Type != "xml_schema" {
					t.Errorf("type %q", x.Type)
				}
				if strings.Contains(fmt.Sprint(x), marker) {
					t.Errorf("violation shows the file's content: %+v", x)
				}
			}
		})
	}
}

func TestXMLConcurrentValidate(t *testing.T) {
	v, err := Compile("application/xml", orderXSD)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for i := range 4 {
		go func() {
			for j := range 50 {
				qty := "1"
				if j%2 == 1 {
					qty = "x"
				}
				body := fmt.Sprintf(`<order id="%d"><customer>A</customer><item><sku>ABC-1</sku><qty>%s</qty></item></order>`, i, qty)
				if _, vs := v.Validate([]byte(body)); (j%2 == 1) != (len(vs) > 0) {
					done <- fmt.Errorf("body %s: %+v", body, vs)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkXSDValidateSmall(b *testing.B) {
	v, err := Compile("application/xml", orderXSD)
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`<?xml version="1.0"?><order id="7"><customer>Ada Lovelace</customer><item><sku>ABC-1</sku><qty>2</qty></item><item><sku>XYZ-22</sku><qty>1</qty></item></order>`)
	if _, vs := v.Validate(body); vs != nil {
		b.Fatal(vs)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		v.Validate(body)
	}
}

// TestXSDReadsOnlyTheBody validates bodies that are slices of longer
// memory: what follows a body in memory is never read as part of it (a
// parser that stops at a zero byte, handed the body where it is, would
// read on), so it neither completes a body nor reaches an answer.
func TestXSDReadsOnlyTheBody(t *testing.T) {
	v, err := Compile("application/xml", orderXSD)
	if err != nil {
		t.Fatal(err)
	}
	valid := `<order id="1"><customer>A</customer><item><sku>ABC-1</sku><qty>1</qty></item></order>`
	for _, tc := range []struct{ body, after, typ string }{
		{valid, "x", ""},
		{valid, "<extra/>", ""},
		{strings.TrimSuffix(valid, ">"), ">", "xml_invalid"},
		{strings.TrimSuffix(valid, "er>"), "er>", "xml_invalid"},
		{`<order id="1"><customer>A</customer><item><sku>`, `leaked-secret</sku><qty>1</qty></item></order>`, "xml_invalid"},
	} {
		mem := []byte(tc.body + tc.after)
		_, vs := v.Validate(mem[:len(tc.body):len(tc.body)])
		if tc.typ == "" && vs != nil {
			t.Errorf("%q (then %q): %+v", tc.body, tc.after, vs)
		}
		if tc.typ != "" && (len(vs) == 0 || vs[0].Type != tc.typ) {
			t.Errorf("%q (then %q): %+v, want %s", tc.body, tc.after, vs, tc.typ)
		}
		for _, x := range vs {
			if strings.Contains(x.Msg, "secret") {
				t.Errorf("an answer holds bytes after the body: %s", x.Msg)
			}
		}
	}
}

const nestXSD = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="lib"><xs:complexType><xs:sequence>
    <xs:element name="n" type="nt" minOccurs="0" maxOccurs="unbounded"/>
  </xs:sequence></xs:complexType></xs:element>
  <xs:complexType name="nt"><xs:sequence>
    <xs:element name="n" type="nt" minOccurs="0" maxOccurs="unbounded"/>
  </xs:sequence><xs:attribute name="k" type="xs:string"/></xs:complexType>
</xs:schema>`

// TestXSDBodiesOfEverySize validates valid bodies from a few bytes to
// several KB, nested and flat: each size is read whole and once, however
// the backend buffers its input (libxml2 2.9 shrinking a static buffer
// read parts of a 700-byte nested body again and refused it).
func TestXSDBodiesOfEverySize(t *testing.T) {
	v, err := Compile("application/xml", nestXSD)
	if err != nil {
		t.Fatal(err)
	}
	check := func(kind string, n int, body string) {
		t.Helper()
		if _, vs := v.Validate([]byte(body)); vs != nil {
			t.Errorf("%s %d (%d bytes): %+v", kind, n, len(body), vs[0])
		}
	}
	for n := 0; n < 150; n++ {
		var nested, flat strings.Builder
		for i := range n {
			fmt.Fprintf(&nested, `<n k="%d">`, i)
			fmt.Fprintf(&flat, `<n k="%s"/>`, strings.Repeat("v", i%40))
		}
		nested.WriteString(strings.Repeat("</n>", n))
		check("nested", n, "<lib>"+nested.String()+"</lib>")
		check("flat", n, "<lib>"+flat.String()+"</lib>")
		check("long attribute", n, `<lib><n k="`+strings.Repeat("a", 40*n)+`"/></lib>`)
	}
}

// TestXMLAttributeBound: an element of more than MaxXMLAttributes
// attributes, or a body of more than MaxXMLNamespaces namespace
// declarations, is refused before any backend parses it (their cost
// grows with the square of an element's attributes, and with the
// declarations in scope); '=' in values, text, comments, CDATA sections
// and processing instructions is not counted, and what follows a
// malformed part is.
func TestXMLAttributeBound(t *testing.T) {
	attrs := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, ` a%d="x=y"`, i)
		}
		return b.String()
	}
	plain := func(n int) string {
		return strings.ReplaceAll(attrs(n), "x=y", "1")
	}
	namespaces := func(from, n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "\n\txmlns:p%d = \"urn:%d\"", from+i, i)
		}
		return b.String()
	}
	for body, accepted := range map[string]bool{
		"<r" + attrs(MaxXMLAttributes) + "/>":                                true,
		"<r" + attrs(MaxXMLAttributes+1) + "/>":                              false,
		"<r" + attrs(MaxXMLAttributes-1) + ` xmlns:p="u"/>`:                  true,
		"<r" + attrs(MaxXMLAttributes) + ` xmlns:p="u"/>`:                    false,
		"<r><a" + attrs(100) + "/><b" + attrs(100) + "/></r>":                true,
		"<r a='=" + strings.Repeat("=", 500) + "'/>":                         true,
		"<r><!-- " + strings.Repeat("a=1 ", 500) + " --></r>":                true,
		"<r><![CDATA[" + strings.Repeat("<a b=1>", 500) + "]]></r>":          true,
		"<r><?pi " + strings.Repeat("a=1 ", 500) + "?></r>":                  true,
		"<r>" + strings.Repeat("text = text ", 500) + "</r>":                 true,
		`<?xml version="1.0"?>` + "<r" + attrs(MaxXMLAttributes+1) + "></r>": false,
		// libxml2 parses on after an error: what follows one is counted
		`<lib><x "/><n` + plain(MaxXMLAttributes+1) + "/></lib>":           false,
		`<lib><x k="<n` + plain(MaxXMLAttributes+1) + "/></lib>":           false,
		"<lib><? <n" + attrs(MaxXMLAttributes+1) + "/> ?></lib>":           false,
		"<lib><!-- \x01 <n" + attrs(MaxXMLAttributes+1) + "/> --></lib>":   false,
		"<lib><![CDATA[\x01<n" + attrs(MaxXMLAttributes+1) + "/>]]></lib>": false,
		// namespace declarations, over the whole body
		"<r" + namespaces(0, 64) + "><s" + namespaces(64, 64) + "/></r>": true,
		"<r" + namespaces(0, 64) + "><s" + namespaces(64, 65) + "/></r>": false,
		"<r xmlns='u'" + namespaces(0, 127) + "/>":                       true,
		"<r xmlns = 'u'" + namespaces(0, 128) + "/>":                     false,
		"<r xmlnsx='u' a:xmlns='v'><s" + namespaces(0, 128) + "/></r>":   true,
	} {
		if err := checkXMLAttributes([]byte(body)); (err == nil) != accepted {
			t.Errorf("%.60s…: %v", body, err)
		}
	}
	v, err := Compile("application/xml", orderXSD)
	if err != nil {
		t.Fatal(err)
	}
	_, vs := v.Validate([]byte(`<order id="1"` + attrs(100_000) + `><customer>A</customer></order>`))
	if len(vs) != 1 || vs[0].Type != "xml_invalid" || !strings.Contains(vs[0].Msg, "more than 128 attributes") {
		t.Errorf("100,000 attributes: %+v", vs)
	}
}
