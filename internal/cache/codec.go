package cache

import (
	"encoding/binary"
	"sync"
	"time"
)

// Enc builds the encoding of a value for the second tier: fields appended
// in an order its decoder reads them back with a Dec.
type Enc []byte

// String appends s.
func (e Enc) String(s string) Enc { return append(binary.AppendUvarint(e, uint64(len(s))), s...) }

// Bytes appends b, which Dec.String or Dec.Bytes reads back.
func (e Enc) Bytes(b []byte) Enc { return append(binary.AppendUvarint(e, uint64(len(b))), b...) }

// Int appends n.
func (e Enc) Int(n int64) Enc { return binary.AppendVarint(e, n) }

// Bool appends v.
func (e Enc) Bool(v bool) Enc {
	if v {
		return append(e, 1)
	}
	return append(e, 0)
}

// Time appends t to the nanosecond, without its location (read back in UTC);
// the zero time stays zero.
func (e Enc) Time(t time.Time) Enc {
	if t.IsZero() {
		return e.Int(0).Int(0)
	}
	return e.Int(t.Unix()).Int(int64(t.Nanosecond()))
}

// Dec reads an encoding an Enc built. Reading past its end or a malformed
// field makes every later read return zero values and OK false.
type Dec struct {
	b   []byte
	bad bool
}

// NewDec returns a decoder of b; what it returns never refers to b, but
// for Bytes.
func NewDec(b []byte) *Dec { return &Dec{b: b} }

// String reads a string.
func (d *Dec) String() string {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) || d.bad {
		d.bad = true
		return ""
	}
	s := string(d.b[k : k+int(n)])
	d.b = d.b[k+int(n):]
	return s
}

// Interned reads a string as String does, but returns the one copy of a
// value read before instead of a new one: for the fields whose values
// records share (an account, a path), so that decoding them allocates
// nothing. Values past the interner's bound are returned as String does.
func (d *Dec) Interned() string {
	b := d.Bytes()
	if d.bad {
		return ""
	}
	return interned.get(b)
}

// interner keeps one copy of each value Interned read, up to a bound in
// number and bytes: the values come from records, some of them chosen by
// whoever may create entities (a path), so they cannot be kept without
// bound.
type interner struct {
	mu    sync.RWMutex
	m     map[string]string
	bytes int
}

const (
	internMax      = 4096
	internMaxBytes = 256 << 10
)

var interned = interner{m: map[string]string{}}

func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	in.mu.RLock()
	s, ok := in.m[string(b)] // no allocation for the lookup
	in.mu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	in.mu.Lock()
	defer in.mu.Unlock()
	if old, ok := in.m[s]; ok {
		return old
	}
	if len(in.m) < internMax && in.bytes+len(s) <= internMaxBytes {
		in.m[s] = s
		in.bytes += len(s)
	}
	return s
}

// Bytes reads what Bytes or String wrote, without copying it: the slice is
// the decoder's input, valid as long as that is.
func (d *Dec) Bytes() []byte {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) || d.bad {
		d.bad = true
		return nil
	}
	b := d.b[k : k+int(n) : k+int(n)] // an append copies: it cannot write over what follows
	d.b = d.b[k+int(n):]
	return b
}

// Int reads an integer.
func (d *Dec) Int() int64 {
	n, k := binary.Varint(d.b)
	if k <= 0 || d.bad {
		d.bad = true
		return 0
	}
	d.b = d.b[k:]
	return n
}

// Len reads a count Int wrote, which must be at most max.
func (d *Dec) Len(max int) int {
	n := d.Int()
	if n < 0 || n > int64(max) {
		d.bad = true
		return 0
	}
	return int(n)
}

// Bool reads a bool.
func (d *Dec) Bool() bool {
	if len(d.b) == 0 || d.bad || d.b[0] > 1 {
		d.bad = true
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

// Time reads a time (in UTC).
func (d *Dec) Time() time.Time {
	s, ns := d.Int(), d.Int()
	if s == 0 && ns == 0 {
		return time.Time{}
	}
	return time.Unix(s, ns).UTC()
}

// OK reports whether everything read so far was there and well formed, and
// nothing is left over.
func (d *Dec) OK() bool { return !d.bad && len(d.b) == 0 }
