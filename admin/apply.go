package admin

import (
	"encoding/json"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-endpoint/endpoint/pipeline"
	"github.com/caddy-endpoint/endpoint/registry"
)

// MaxApplyPayload is the largest POST /endpoint/apply body accepted: an
// apply carries a whole directory of records.
const MaxApplyPayload = 64 << 20

// applyRequest is the body of POST /endpoint/apply.
type applyRequest struct {
	Endpoints []json.RawMessage `json:"endpoints"`
	Prune     bool              `json:"prune"`
	Sync      bool              `json:"sync"`
	Message   string            `json:"message"`
	DryRun    bool              `json:"dry_run"`
}

func applyEndpoints(w http.ResponseWriter, r *http.Request, b *Backend) error {
	body, err := readJSONUpTo(r, MaxApplyPayload)
	if err != nil {
		return err
	}
	var req applyRequest
	if err := decodeStrict(body, "apply", &req); err != nil {
		return err
	}
	if req.Endpoints == nil {
		return apiErr(http.StatusBadRequest, "decoding the apply request: endpoints is required (an array of records)")
	}
	src := b.sourceOf(r)
	res, err := b.Registry.Apply(r.Context(), registry.ApplyOptions{
		Records: req.Endpoints, Prune: req.Prune, Sync: req.Sync, DryRun: req.DryRun,
		Origin: registry.Origin{Message: req.Message, Source: src},
	})
	if err != nil {
		return registryErr(w, err)
	}
	if !req.DryRun {
		logAdmin("apply", src, zap.Strings("created", res.Created), zap.Strings("updated", res.Updated),
			zap.Strings("deleted", res.Deleted), zap.Int("unchanged", len(res.Unchanged)), zap.Int64("revision", res.Revision))
	}
	pipeline.WriteJSON(w, http.StatusOK, res)
	return nil
}
