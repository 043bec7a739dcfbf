package env

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"go.uber.org/zap"
)

// MigrateStore moves the values the first storage format kept under
// LegacyPrefix (one file per key, named as the key) to Prefix, where
// every value is "<key>.json". A key already present under Prefix is
// kept: it was written after the move began. The legacy folder is removed
// once every value is copied, so an interrupted move is simply redone.
// It does nothing when there is no legacy folder.
func (s *Service) MigrateStore(ctx context.Context) error {
	st, legacy := s.cfg.Storage, s.cfg.LegacyPrefix
	nss, err := st.List(ctx, legacy, false)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(nss) == 0) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing the store of the first storage format (%s): %v", legacy, err)
	}
	lock := legacy + "-migration"
	if err := st.Lock(ctx, lock); err != nil {
		return fmt.Errorf("locking %s: %v", lock, err)
	}
	defer func() { _ = st.Unlock(context.WithoutCancel(ctx), lock) }()
	moved := 0
	for _, nsKey := range nss {
		ns := path.Base(nsKey)
		if checkName("", ns) != nil {
			continue
		}
		keys, err := st.List(ctx, nsKey, false)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("listing %s: %v", nsKey, err)
		}
		for _, old := range keys {
			k := path.Base(old)
			if checkName("", k) != nil {
				continue
			}
			dst := path.Join(s.cfg.Prefix, ns, k+valueSuffix)
			if st.Exists(ctx, dst) {
				continue
			}
			v, err := st.Load(ctx, old)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("moving store key %s: %v", old, err)
			}
			if !json.Valid(v) {
				continue // the temporary file of a write a crash cut short
			}
			if err := st.Store(ctx, dst, v); err != nil {
				return fmt.Errorf("moving store key %s to %s: %v", old, dst, err)
			}
			moved++
		}
	}
	if err := st.Delete(ctx, legacy); err != nil {
		return fmt.Errorf("removing %s after moving its values: %v", legacy, err)
	}
	s.cfg.Logger.Info("moved the store to storage format 2", zap.String("from", legacy),
		zap.String("to", s.cfg.Prefix), zap.Int("keys", moved))
	return nil
}
