package admin

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-endpoint/endpoint/registry"
)

// etag is the strong entity tag of a record's state, quoted: its version
// and a digest of its name, version and update time (a record deleted and
// made again restarts its versions, not its times).
func etag(rec registry.Record) string {
	h := sha256.New()
	h.Write([]byte(rec.Name))
	h.Write([]byte{0})
	h.Write([]byte(strconv.FormatInt(rec.Version, 10)))
	h.Write([]byte{0})
	if rec.UpdatedAt != nil {
		h.Write([]byte(rec.UpdatedAt.UTC().Format(time.RFC3339Nano)))
	}
	return `"` + strconv.FormatInt(rec.Version, 10) + "-" + hex.EncodeToString(h.Sum(nil)[:8]) + `"`
}

// putPrecondition is ifMatch, or with If-None-Match: * (create only)
// that there is no current draft.
func putPrecondition(r *http.Request) registry.Precondition {
	if strings.TrimSpace(r.Header.Get("If-None-Match")) == "*" {
		return func(cur *registry.Record) bool { return cur == nil }
	}
	return ifMatch(r)
}

// ifMatch is what the If-Match header of a write requires of the current
// draft: "*" that there is one, a list of tags that its tag is one of
// them (strong comparison). Without the header it requires nothing.
func ifMatch(r *http.Request) registry.Precondition {
	header := strings.TrimSpace(r.Header.Get("If-Match"))
	if header == "" {
		return nil
	}
	return func(cur *registry.Record) bool {
		if cur == nil {
			return false
		}
		if header == "*" {
			return true
		}
		tag := etag(*cur)
		for _, t := range strings.Split(header, ",") {
			if strings.TrimSpace(t) == tag {
				return true
			}
		}
		return false
	}
}

// noneMatch reports whether an If-None-Match value names tag (weak
// comparison, as RFC 9110 asks for GET) or is "*".
func noneMatch(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || (t != "" && t == strings.TrimPrefix(tag, "W/")) {
			return true
		}
	}
	return false
}
