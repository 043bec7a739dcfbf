package tests

import (
	"strings"
	"testing"
)

const authApp = appUsers + `
		define me {
			route /me
			code ` + "`" + `result = {"payload": {"user": user.name, "caller": caller.name, "roles": user.roles}}` + "`" + `
		}
		define token-only {
			route /token
			auth bearer
			code ` + "`" + `result = {"payload": user.name}` + "`" + `
		}
		define admins {
			route /admins
			roles admin
			code ` + "`" + `result = {"payload": "secret"}` + "`" + `
		}
		define staff {
			route /staff
			roles admin staff
			code ` + "`" + `result = {"payload": "staff"}` + "`" + `
		}
		define as-bot {
			route /as-bot
			exec_as bot
			code ` + "`" + `result = {"payload": {"user": user.name, "caller": caller.name}}` + "`" + `
		}
		define public {
			route /public
			auth public
			exec_as bot
			code ` + "`" + `result = {"payload": {"user": user.name, "public": caller == None}}` + "`" + `
		}`

// TestAuth covers SPEC §5.3: Basic, Bearer, 401 with WWW-Authenticate,
// bad credentials, roles, exec_as_user, public.
func TestAuth(t *testing.T) {
	c := startCaddy(t, config{App: authApp})

	a := expect(t, c.get("/me"), 401)
	if a.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("401 without WWW-Authenticate")
	}
	if got := string(expect(t, c.get("/me", bobBasic...), 200).Body); !strings.Contains(got, `"user":"bob"`) || !strings.Contains(got, `"caller":"bob"`) {
		t.Fatalf("basic: %s", got)
	}
	expect(t, c.get("/me", bobBearer...), 200)
	expect(t, c.get("/me", "Authorization", "Basic Ym9iOndyb25n"), 401) // bob:wrong
	expect(t, c.get("/me", "Authorization", "Basic bWFsbG9yeTp4"), 401) // mallory:x
	expect(t, c.get("/me", "Authorization", "Bearer not-the-token"), 401)

	// bearer endpoints ignore Basic
	expect(t, c.get("/token", bobBasic...), 401)
	if got := string(expect(t, c.get("/token", bobBearer...), 200).Body); got != `"bob"` {
		t.Fatalf("bearer: %s", got)
	}
	if a := c.get("/token"); !strings.Contains(a.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("bearer challenge: %v", a.Header)
	}

	// roles
	expect(t, c.get("/admins", bobBasic...), 403)
	expect(t, c.get("/admins"), 401)
	expect(t, c.get("/staff", bobBasic...), 200)

	// exec_as_user: runs as bot, caller is bob
	if got := string(c.get("/as-bot", bobBearer...).Body); !strings.Contains(got, `"user":"bot"`) || !strings.Contains(got, `"caller":"bob"`) {
		t.Fatalf("exec_as: %s", got)
	}
	// public needs no credentials and runs as its exec_as user
	if got := string(expect(t, c.get("/public"), 200).Body); got != `{"user":"bot","public":true}` {
		t.Fatalf("public: %s", got)
	}
}

// TestAuthFromCaddyHandler: an earlier basic_auth handler sets the
// identity; the endpoint directive runs after it.
func TestAuthFromCaddyHandler(t *testing.T) {
	c := startCaddy(t, config{
		App: authApp,
		Site: `
	basic_auth /me {
		carol $2a$10$6FIuM99WEfDkZ.1o5Hp09Ok5MyfImWaSPQ09JU9MMSPsel4OVVel6
	}
	endpoint`,
	})
	expect(t, c.get("/me"), 401)
	got := string(expect(t, c.get("/me", "Authorization", "Basic Y2Fyb2w6YWxpY2UtcGFzc3dvcmQ="), 200).Body) // carol:alice-password
	if !strings.Contains(got, `"caller":"carol"`) {
		t.Fatalf("caller from basic_auth: %s", got)
	}
}
