package env

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/caddy-endpoint/endpoint/execmode"
)

var prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{0,128}$`)

// checkName checks a namespace or key: the names rule of exec modes
// (execmode.NamePattern), and no "..", since it becomes a storage path.
func checkName(kind, s string) error {
	if !execmode.ValidName(s) || strings.Contains(s, "..") {
		return fmt.Errorf("%s %q is not valid: use 1 to 128 letters, digits, '_', '.' or '-', starting with a letter or digit, without \"..\"", kind, s)
	}
	return nil
}

func (e *boundEnv) needStore(ns, level string) error {
	have := e.grants.store[ns]
	if have == Write || (level == Read && have == Read) {
		return nil
	}
	return fmt.Errorf("store namespace %q: user %q has no %s grant", ns, userLabel(e.user), level)
}

// valueSuffix ends the storage key of every value, so that a storage's
// temporary files (FileStorage writes "<digits>" next to the key, then
// renames it) are never taken for keys.
const valueSuffix = ".json"

func (e *boundEnv) storeKey(ns, key string) string {
	return path.Join(e.s.cfg.Prefix, ns, key+valueSuffix)
}

func (e *boundEnv) checkKey(ns, key, level string) error {
	if err := checkName("store namespace", ns); err != nil {
		return err
	}
	if err := e.needStore(ns, level); err != nil {
		return err
	}
	return checkName("store key", key)
}

// StoreGet implements execmode.Env.
func (e *boundEnv) StoreGet(ctx context.Context, ns, key string) ([]byte, bool, error) {
	if err := e.checkKey(ns, key, Read); err != nil {
		return nil, false, err
	}
	if e.overlay != nil {
		if v, deleted, ok := e.overlay.get(ns, key); ok {
			if deleted {
				return nil, false, nil
			}
			return v, true, nil
		}
	}
	v, err := e.s.cfg.Storage.Load(ctx, e.storeKey(ns, key))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading store key %q of namespace %q: %v", key, ns, err)
	}
	return v, true, nil
}

// StorePut implements execmode.Env.
func (e *boundEnv) StorePut(ctx context.Context, ns, key string, value []byte) error {
	if err := e.checkKey(ns, key, Write); err != nil {
		return err
	}
	if len(value) > e.s.cfg.MaxValueSize {
		return fmt.Errorf("store namespace %q key %q: value of %d bytes exceeds the store limit of %d bytes", ns, key, len(value), e.s.cfg.MaxValueSize)
	}
	if !json.Valid(value) {
		return fmt.Errorf("store namespace %q key %q: value is not valid JSON", ns, key)
	}
	if e.overlay != nil {
		return e.overlay.put(ns, key, value)
	}
	undo, err := e.reserve(ctx, ns, key, int64(len(value)))
	if err != nil {
		return err
	}
	if err := e.s.cfg.Storage.Store(ctx, e.storeKey(ns, key), value); err != nil {
		undo()
		return fmt.Errorf("writing store key %q of namespace %q: %v", key, ns, err)
	}
	return nil
}

// StoreDelete implements execmode.Env.
func (e *boundEnv) StoreDelete(ctx context.Context, ns, key string) error {
	if err := e.checkKey(ns, key, Write); err != nil {
		return err
	}
	if e.overlay != nil {
		e.overlay.delete(ns, key)
		return nil
	}
	sk := e.storeKey(ns, key)
	info, statErr := e.s.cfg.Storage.Stat(ctx, sk)
	if err := e.s.cfg.Storage.Delete(ctx, sk); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting store key %q of namespace %q: %v", key, ns, err)
	}
	if statErr == nil {
		e.released(ns, info.Size)
	}
	return nil
}

// StoreList implements execmode.Env.
func (e *boundEnv) StoreList(ctx context.Context, ns, prefix string) ([]string, error) {
	if err := checkName("store namespace", ns); err != nil {
		return nil, err
	}
	if err := e.needStore(ns, Read); err != nil {
		return nil, err
	}
	if !prefixPattern.MatchString(prefix) {
		return nil, fmt.Errorf("store key prefix %q is not valid: use up to 128 letters, digits, '_', '.' or '-'", prefix)
	}
	found, err := e.s.cfg.Storage.List(ctx, path.Join(e.s.cfg.Prefix, ns), false)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("listing store namespace %q: %v", ns, err)
	}
	seen := make(map[string]bool, len(found))
	keys := make([]string, 0, len(found))
	for _, full := range found {
		k, ok := keyOf(full)
		if !ok || seen[k] || !strings.HasPrefix(k, prefix) {
			continue
		}
		seen[k] = true
		keys = append(keys, k)
	}
	if e.overlay != nil {
		keys = e.overlay.mergeList(ns, prefix, keys)
	}
	sort.Strings(keys)
	if len(keys) > e.s.cfg.MaxKeysListed {
		keys = keys[:e.s.cfg.MaxKeysListed]
	}
	return keys, nil
}
