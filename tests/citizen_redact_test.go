package tests

import (
	"strings"
	"testing"
)

// TestSecretsRedactedWhereSnippetWordsLeave: a secret a snippet puts in
// log(), print() or a failure reaches neither Caddy's log, nor the log
// buffer, nor a dry run's logs and error.
func TestSecretsRedactedWhereSnippetWordsLeave(t *testing.T) {
	const secret = "zq-sekrit-7731-value"
	c := startCaddy(t, config{App: `
		secret s1 ` + secret + `
		user bot {
			grant secret s1
		}
		define leak {
			route /leak
			auth public
			exec_as bot
			code ` + "`" + `
log("k=" + env.secret("s1"))
print("p=" + env.secret("s1"))
result = {"payload": "ok"}
` + "`" + `
		}
		define boom {
			route /boom
			auth public
			exec_as bot
			code ` + "`" + `fail("boom " + env.secret("s1"))` + "`" + `
		}`})
	expect(t, c.get("/leak"), 200)
	expect(t, c.get("/boom"), 500)
	c.waitLog("snippet failed")
	c.waitLog("k=")
	logs := string(expect(t, c.admin("GET", "/endpoint/logs", nil), 200).Body)
	if !strings.Contains(logs, "k=") || !strings.Contains(logs, "p=") {
		t.Fatalf("log lines missing: %s", logs)
	}
	for _, name := range []string{"leak", "boom"} {
		a := expect(t, c.admin("POST", "/endpoint/endpoints/"+name+"/test", map[string]any{}), 200)
		if strings.Contains(string(a.Body), secret) {
			t.Errorf("dry run of %s carries the secret: %s", name, a.Body)
		}
		if name == "boom" && !strings.Contains(string(a.Body), "boom") {
			t.Errorf("dry run of boom lost its error: %s", a.Body)
		}
	}
	if strings.Contains(logs, secret) {
		t.Errorf("the log buffer carries the secret: %s", logs)
	}
	if strings.Contains(c.Logs(), secret) {
		t.Errorf("Caddy's log carries the secret:\n%s", c.Logs())
	}
}
