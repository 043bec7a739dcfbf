package schema

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/net/idna"
)

// idnFormats are the internationalized formats of JSON Schema the
// validator leaves unchecked: idn-hostname with the IDNA 2008
// registration profile (RFC 5890/5891, golang.org/x/net/idna), idn-email
// as RFC 6531 (a dot-atom or quoted local part that may hold UTF-8, an
// idn-hostname domain).
var idnFormats = []*jsonschema.Format{
	{Name: "idn-hostname", Validate: func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		return checkIDNHostname(s)
	}},
	{Name: "idn-email", Validate: func(v any) error {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		return checkIDNEmail(s)
	}},
}

func checkIDNHostname(s string) error {
	ascii, err := idna.Registration.ToASCII(strings.TrimSuffix(s, "."))
	if err != nil {
		return err
	}
	if len(ascii) > 253 {
		return errors.New("longer than 253 characters")
	}
	return nil
}

// atextASCII are the ASCII characters a dot-atom may hold besides letters
// and digits (RFC 5322 atext).
const atextASCII = "!#$%&'*+-/=?^_`{|}~"

func checkIDNEmail(s string) error {
	i := strings.LastIndexByte(s, '@')
	if i <= 0 {
		return errors.New("missing local part or @")
	}
	local, domain := s[:i], s[i+1:]
	if len(local) > 64 {
		return errors.New("local part longer than 64 octets")
	}
	if !utf8.ValidString(local) {
		return errors.New("local part is not valid UTF-8")
	}
	if strings.HasPrefix(local, `"`) {
		if len(local) < 2 || !strings.HasSuffix(local, `"`) {
			return errors.New("unterminated quoted local part")
		}
		for _, r := range local[1 : len(local)-1] {
			if unicode.IsControl(r) {
				return errors.New("control character in the local part")
			}
		}
	} else {
		if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
			return errors.New("misplaced dot in the local part")
		}
		for _, r := range local {
			ok := r == '.' || r >= utf8.RuneSelf && !unicode.IsControl(r) && !unicode.IsSpace(r) ||
				r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(atextASCII, r))
			if !ok {
				return errors.New("invalid character in the local part")
			}
		}
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return nil // an address literal, as the email format allows
	}
	return checkIDNHostname(domain)
}
