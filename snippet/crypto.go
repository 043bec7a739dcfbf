package snippet

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"golang.org/x/crypto/blake2b"
)

// MaxInput is the largest input, in bytes, of one hashlib, hmac, base64
// or json call. Each call also charges the step budget one step per
// bytesPerStep bytes, so a loop over a large input exhausts the budget
// (and reaches the deadline check) instead of running on.
const MaxInput = 8 << 20

const bytesPerStep = 16

// charge adds the cost of handling n bytes to the thread's steps.
func charge(t *starlark.Thread, n int) {
	t.Steps += uint64(n / bytesPerStep)
}

// algorithms are the hashlib constructors, by Python name.
var algorithms = map[string]func() hash.Hash{
	"md5":      md5.New,
	"sha1":     sha1.New,
	"sha224":   sha256.New224,
	"sha256":   sha256.New,
	"sha384":   sha512.New384,
	"sha512":   sha512.New,
	"sha3_256": func() hash.Hash { return sha3.New256() },
	"blake2b": func() hash.Hash {
		h, _ := blake2b.New512(nil)
		return h
	},
}

// hashlibBuiltins maps each hashlib function to its algorithm name, so
// hmac.new accepts hashlib.sha256 as digestmod.
var hashlibBuiltins = make(map[*starlark.Builtin]string)

var hashlibModule = func() *starlarkstruct.Module {
	m := &starlarkstruct.Module{Name: "hashlib", Members: starlark.StringDict{}}
	for name := range algorithms {
		b := starlark.NewBuiltin("hashlib."+name, hashFunc(name))
		hashlibBuiltins[b] = name
		m.Members[name] = b
	}
	return m
}()

// inputBytes accepts a string or bytes argument of at most MaxInput bytes.
func inputBytes(fn, param string, v starlark.Value) (string, error) {
	var s string
	switch x := v.(type) {
	case starlark.String:
		s = string(x)
	case starlark.Bytes:
		s = string(x)
	default:
		return "", fmt.Errorf("%s: %s is a %s, want string or bytes", fn, param, v.Type())
	}
	if len(s) > MaxInput {
		return "", fmt.Errorf("%s: %s is %d bytes, the limit is %d", fn, param, len(s), MaxInput)
	}
	return s, nil
}

func hashFunc(name string) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	newHash := algorithms[name]
	return func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var data starlark.Value = starlark.Bytes("")
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "data?", &data); err != nil {
			return nil, err
		}
		s, err := inputBytes(b.Name(), "data", data)
		if err != nil {
			return nil, err
		}
		charge(t, len(s))
		h := newHash()
		_, _ = h.Write([]byte(s))
		return &digest{name: name, sum: h.Sum(nil)}, nil
	}
}

// digest is a finished hash or HMAC.
type digest struct {
	name string
	sum  []byte
}

var (
	digestAttrs     = []string{"digest", "hexdigest"}
	digestBytes     = starlark.NewBuiltin("digest", digestDigest)
	digestHexdigest = starlark.NewBuiltin("hexdigest", digestHex)
)

func (d *digest) String() string        { return "<" + d.name + " digest>" }
func (d *digest) Type() string          { return "digest" }
func (d *digest) Freeze()               {}
func (d *digest) Truth() starlark.Bool  { return true }
func (d *digest) Hash() (uint32, error) { return 0, errors.New("unhashable type: digest") }
func (d *digest) AttrNames() []string   { return digestAttrs }

func (d *digest) Attr(name string) (starlark.Value, error) {
	switch name {
	case "digest":
		return digestBytes.BindReceiver(d), nil
	case "hexdigest":
		return digestHexdigest.BindReceiver(d), nil
	}
	return nil, nil
}

func digestDigest(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.Bytes(b.Receiver().(*digest).sum), nil
}

func digestHex(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.String(hex.EncodeToString(b.Receiver().(*digest).sum)), nil
}

var hmacModule = &starlarkstruct.Module{
	Name: "hmac",
	Members: starlark.StringDict{
		"new":            starlark.NewBuiltin("hmac.new", hmacNew),
		"compare_digest": starlark.NewBuiltin("hmac.compare_digest", hmacCompare),
	},
}

func hmacNew(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var key, mod starlark.Value
	var msg starlark.Value = starlark.Bytes("")
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "key", &key, "msg?", &msg, "digestmod?", &mod); err != nil {
		return nil, err
	}
	var name string
	switch m := mod.(type) {
	case nil, starlark.NoneType:
		return nil, errors.New("hmac.new: digestmod is required, e.g. \"sha256\"")
	case starlark.String:
		name = strings.ToLower(string(m))
	case *starlark.Builtin:
		name = hashlibBuiltins[m]
	}
	newHash, ok := algorithms[name]
	if !ok {
		return nil, fmt.Errorf("hmac.new: unknown digestmod %s", mod)
	}
	k, err := inputBytes(b.Name(), "key", key)
	if err != nil {
		return nil, err
	}
	s, err := inputBytes(b.Name(), "msg", msg)
	if err != nil {
		return nil, err
	}
	charge(t, len(k)+len(s))
	h := hmac.New(newHash, []byte(k))
	_, _ = h.Write([]byte(s))
	return &digest{name: "hmac-" + name, sum: h.Sum(nil)}, nil
}

func hmacCompare(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var x, y starlark.Value
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 2, &x, &y); err != nil {
		return nil, err
	}
	a, err := inputBytes(b.Name(), "a", x)
	if err != nil {
		return nil, err
	}
	c, err := inputBytes(b.Name(), "b", y)
	if err != nil {
		return nil, err
	}
	charge(t, len(a)+len(c))
	return starlark.Bool(subtle.ConstantTimeCompare([]byte(a), []byte(c)) == 1), nil
}

var base64Module = &starlarkstruct.Module{
	Name: "base64",
	Members: starlark.StringDict{
		"encode":         starlark.NewBuiltin("base64.encode", base64Encode(base64.StdEncoding)),
		"decode":         starlark.NewBuiltin("base64.decode", base64Decode(base64.RawStdEncoding)),
		"urlsafe_encode": starlark.NewBuiltin("base64.urlsafe_encode", base64Encode(base64.URLEncoding)),
		"urlsafe_decode": starlark.NewBuiltin("base64.urlsafe_decode", base64Decode(base64.RawURLEncoding)),
	},
}

func base64Encode(enc *base64.Encoding) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var data starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &data); err != nil {
			return nil, err
		}
		s, err := inputBytes(b.Name(), "data", data)
		if err != nil {
			return nil, err
		}
		charge(t, len(s))
		return starlark.String(enc.EncodeToString([]byte(s))), nil
	}
}

// base64Decode decodes with or without the trailing '=' padding.
func base64Decode(raw *base64.Encoding) func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error) {
	return func(t *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var data starlark.Value
		if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 1, &data); err != nil {
			return nil, err
		}
		s, err := inputBytes(b.Name(), "data", data)
		if err != nil {
			return nil, err
		}
		charge(t, len(s))
		trimmed := strings.TrimRight(s, "=")
		if len(s)-len(trimmed) > 2 || (len(s) != len(trimmed) && len(s)%4 != 0) {
			return nil, fmt.Errorf("%s: invalid padding", b.Name())
		}
		out, err := raw.DecodeString(trimmed)
		if err != nil {
			return nil, fmt.Errorf("%s: invalid base64: %v", b.Name(), err)
		}
		return starlark.Bytes(out), nil
	}
}
