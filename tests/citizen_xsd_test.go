package tests

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSchemasXSDBackendsAgree: on either XSD backend (the cgo-free phase
// of make test runs this on helium), a type reference that resolves to
// nothing and xs:assert are refused when the record is written; the
// differences README lists hold.
func TestSchemasXSDBackendsAgree(t *testing.T) {
	c := startCaddy(t, config{App: appUsers})
	const head = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">`
	for name, xsd := range map[string]string{
		"x-nosuch": head + `<xs:element name="v" type="nosuch"/></xs:schema>`,
		"x-assert": head + `<xs:element name="v"><xs:complexType><xs:sequence><xs:element name="a" type="xs:int"/></xs:sequence><xs:assert test="a &gt; 0"/></xs:complexType></xs:element></xs:schema>`,
	} {
		a := expect(t, c.admin("POST", "/endpoint/endpoints", schemaRecord(name, "/"+name, "application/xml", xsd, `result = {"payload": 1}`)), 400)
		if !strings.Contains(string(a.Body), "XSD") {
			t.Errorf("%s: %s", name, a)
		}
	}
	c.create(schemaRecord("x-int", "/x-int", "application/xml", head+`<xs:element name="v" type="xs:int"/></xs:schema>`, `result = {"payload": 1}`))
	c.create(schemaRecord("x-integer", "/x-integer", "application/xml", head+`<xs:element name="v" type="xs:integer"/></xs:schema>`, `result = {"payload": 1}`))
	c.sync()
	out, err := exec.Command("go", "env", "CGO_ENABLED").Output()
	if err != nil {
		t.Fatal(err)
	}
	helium := strings.TrimSpace(string(out)) != "1"
	post := func(path, body string) int {
		return do(t, "POST", c.HTTP+path, body, "Content-Type", "application/xml").Status
	}
	if got := post("/x-int", "<v>5</v>"); got != 200 {
		t.Fatalf("<v>5</v>: %d", got)
	}
	want := 400
	if helium {
		want = 200
	}
	if got := post("/x-int", "<v> 5 </v>"); got != want {
		t.Errorf("<v> 5 </v> as xs:int (helium %v): %d, want %d", helium, got, want)
	}
	if got := post("/x-integer", "<v>"+strings.Repeat("9", 30)+"</v>"); got != want {
		t.Errorf("a 30-digit xs:integer (helium %v): %d, want %d", helium, got, want)
	}
}
