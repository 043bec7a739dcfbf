package admin

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// sourceOf names the admin client of r for a revision's source and the
// admin log: who Handler's caller says it is, or the certificate subject
// Caddy's remote admin verified, with the client's address.
func (b *Backend) sourceOf(r *http.Request) string {
	if b.source != nil {
		return b.source(r)
	}
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		return r.TLS.PeerCertificates[0].Subject.String() + " (" + r.RemoteAddr + ")"
	}
	return r.RemoteAddr
}

// logAdmin writes the one `endpoint.admin` line of an admin write, sync or
// rollback: the action, who asked, and the names and versions or revision
// it touched. Code, bodies and secrets never go there.
func logAdmin(action, source string, fields ...zap.Field) {
	log := caddy.Log().Named("endpoint.admin")
	if ce := log.Check(zap.InfoLevel, action); ce != nil {
		ce.Write(append([]zap.Field{zap.String("action", action), zap.String("source", source)}, fields...)...)
	}
}
