package env

import "fmt"

// Secret implements execmode.Env. The value never appears in an error.
func (e *boundEnv) Secret(name string) (string, error) {
	if !e.grants.secrets[name] {
		return "", fmt.Errorf("secret %q: user %q has no secret grant for it", name, userLabel(e.user))
	}
	v, ok := e.s.cfg.Secrets[name]
	if !ok {
		return "", fmt.Errorf("secret %q is granted to user %q but not configured", name, userLabel(e.user))
	}
	return v, nil
}
