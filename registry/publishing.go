package registry

import (
	"context"
	"errors"
)

// A publication (sync, rollback, apply) is prepared from the registry's
// state without any lock: the records are checked and compiled and the
// examples run while admin calls and requests go on. It is committed
// under r.wmu and the storage lock, after catching up with what other
// instances stored, if the state it was prepared from is still the
// registry's; else it is prepared again. The last attempt prepares under
// the locks, so that a publication ends even while writes keep coming.
const prepareAttempts = 3

// commitFunc stores and makes live what a publication prepared. r.wmu and
// the storage lock are held.
type commitFunc[T any] func(h *held, ix *indexFile) (T, error)

// stateAt is the state a publication was prepared from.
type stateAt struct {
	gen uint64
	cfg *config
}

func (r *Registry) stateNow() stateAt {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return stateAt{gen: r.gen, cfg: r.cfg}
}

// errMoved says the state moved while a publication was prepared.
var errMoved = errors.New("the registry changed while the publication was prepared")

// publishingAs prepares a publication outside the locks and commits it
// under them, as described above.
func publishingAs[T any](r *Registry, ctx context.Context, prepare func() (commitFunc[T], error)) (T, error) {
	for attempt := 1; ; attempt++ {
		last := attempt >= prepareAttempts
		at := r.stateNow()
		var commit commitFunc[T]
		var perr error
		if !last {
			commit, perr = prepare()
		}
		res, err := committing(r, ctx, func() (commitFunc[T], error) {
			switch {
			case last:
				return prepare()
			case r.gen != at.gen || r.cfg != at.cfg:
				return nil, errMoved
			}
			// a refusal stands too: it was made on the state the storage has
			return commit, perr
		})
		if !errors.Is(err, errMoved) {
			return res, err
		}
	}
}

// committing takes the locks, catches up with the storage and runs the
// commit get returns.
func committing[T any](r *Registry, ctx context.Context, get func() (commitFunc[T], error)) (T, error) {
	var zero T
	r.wmu.Lock()
	defer r.wmu.Unlock()
	h, err := r.lockStorage(ctx)
	if err != nil {
		return zero, err
	}
	defer h.release(ctx)
	ix, err := r.catchUp(ctx, h)
	if err != nil {
		return zero, err
	}
	commit, err := get()
	if err != nil {
		return zero, err
	}
	return commit(h, ix)
}
