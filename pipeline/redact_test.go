package pipeline

import "testing"

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		name, msg, want string
		body            string
		creds           []string
		secrets         []string
	}{
		{"body value", `1:5: int: invalid literal "card-4242" in base 10`, `1:5: int: invalid literal "…" in base 10`, `{"card": "card-4242"}`, nil, nil},
		{"single quotes", `key 'card-4242' not in dict`, `key "…" not in dict`, `card-4242`, nil, nil},
		{"credential", `bad token "Bearer abcdef"`, `bad token "…"`, ``, []string{"Bearer abcdef"}, nil},
		{"secret anywhere", `value s3cr3t-key-1 leaked`, `value … leaked`, ``, nil, []string{"s3cr3t-key-1"}},
		{"grant names kept", `env.secret: secret "other_key": user "bot" has no secret grant`, `env.secret: secret "other_key": user "bot" has no secret grant`, `{"x": 1}`, nil, nil},
		{"short strings kept", `got "ab"`, `got "ab"`, `ab`, nil, nil},
		{"unquoted body word", `1:25: int: invalid literal with base 10: card-number-4242`, `1:25: int: invalid literal with base 10: …`, `card-number-4242`, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := redact(tc.msg, []byte(tc.body), tc.creds, tc.secrets); got != tc.want {
				t.Fatalf("redact(%q) = %q, want %q", tc.msg, got, tc.want)
			}
		})
	}
}

func TestSecretRedactor(t *testing.T) {
	r := newSecretRedactor([]string{"abc", "token-1234", "token-1234-long", ""})
	got := r.Replace("a=token-1234-long b=token-1234 c=abc")
	if want := "a=" + redactedMark + " b=" + redactedMark + " c=abc"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if newSecretRedactor([]string{"ab"}) != nil {
		t.Fatal("a redactor for values too short to redact")
	}
}
