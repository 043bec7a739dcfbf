package schema

import (
	"strings"
	"testing"
)

// TestXSDRefusedAtWriteTime: both backends refuse, when the schema is
// compiled, a type reference that resolves to nothing and XSD 1.1
// assertions; schemas that use built-in, own and imported types compile.
func TestXSDRefusedAtWriteTime(t *testing.T) {
	const head = `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"`
	bad := map[string]string{
		"unknown type":         head + `><xs:element name="v" type="nosuch"/></xs:schema>`,
		"unknown built-in":     head + `><xs:element name="v" type="xs:nosuch"/></xs:schema>`,
		"unknown base":         head + `><xs:simpleType name="t"><xs:restriction base="nosuch"/></xs:simpleType><xs:element name="v" type="t"/></xs:schema>`,
		"unknown in target ns": head + ` xmlns:o="urn:o" targetNamespace="urn:o"><xs:element name="v" type="o:nosuch"/></xs:schema>`,
		"unknown member type":  head + `><xs:simpleType name="u"><xs:union memberTypes="xs:int nosuch"/></xs:simpleType><xs:element name="v" type="u"/></xs:schema>`,
		"assert":               head + `><xs:element name="v"><xs:complexType><xs:sequence><xs:element name="a" type="xs:int"/></xs:sequence><xs:assert test="a &gt; 0"/></xs:complexType></xs:element></xs:schema>`,
		"undeclared prefix":    head + `><xs:element name="v" type="q:t"/></xs:schema>`,
	}
	for name, src := range bad {
		if _, err := Compile("application/xml", src); err == nil {
			t.Errorf("%s: compiled", name)
		}
	}
	good := map[string]string{
		"built-in":       head + `><xs:element name="v" type="xs:int"/></xs:schema>`,
		"own type":       head + `><xs:simpleType name="t"><xs:restriction base="xs:string"><xs:maxLength value="3"/></xs:restriction></xs:simpleType><xs:element name="v" type="t"/></xs:schema>`,
		"own type in ns": head + ` xmlns:o="urn:o" targetNamespace="urn:o"><xs:complexType name="c"><xs:sequence><xs:element name="a" type="xs:string"/></xs:sequence></xs:complexType><xs:element name="v" type="o:c"/></xs:schema>`,
		"union":          head + `><xs:simpleType name="u"><xs:union memberTypes="xs:int xs:date"/></xs:simpleType><xs:element name="v" type="u"/></xs:schema>`,
	}
	for name, src := range good {
		if _, err := Compile("application/xml", src); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err := Compile("application/xml", bad["unknown type"])
	if err != nil && !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("the error does not name the type: %v", err)
	}
}
