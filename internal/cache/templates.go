package cache

import (
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"
)

// Templates shares text between second-tier records. Many records hold
// documents that differ in a few bytes (trust policies that name one user
// or one account each, in the same structure): a record then keeps the
// number of the first document of its kind, and only what differs from it
// (the lengths of the prefix and suffix they share, and the bytes between).
// The caller names a document's kind (a policy's compiled shape): a kind
// with no template yet gets the document as its template, up to a bound;
// past it, documents are kept whole. Templates are never replaced or
// dropped, so a number stays valid for the life of the Templates (and of
// the tier whose records use it).
//
// It is safe for concurrent use.
type Templates struct {
	mu    sync.RWMutex
	ids   map[any]int
	texts atomic.Pointer[[]string] // copied on write: read without a lock
	max   int
}

// NewTemplates returns Templates holding at most max templates.
func NewTemplates(max int) *Templates { return &Templates{ids: map[any]int{}, max: max} }

// template returns the template of kind k, registering s as it when k has
// none and there is room; -1 when there is none.
func (t *Templates) template(k any, s string) (int, string) {
	t.mu.RLock()
	id, ok := t.ids[k]
	t.mu.RUnlock()
	if ok {
		return id, t.load()[id]
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.ids[k]; ok {
		return id, t.load()[id]
	}
	texts := t.load()
	if len(texts) >= t.max {
		return -1, ""
	}
	next := append(texts[:len(texts):len(texts)], s)
	t.texts.Store(&next)
	t.ids[k] = len(next) - 1
	return len(next) - 1, s
}

func (t *Templates) load() []string {
	if p := t.texts.Load(); p != nil {
		return *p
	}
	return nil
}

func (t *Templates) text(id int) (string, bool) {
	texts := t.load()
	if id < 0 || id >= len(texts) {
		return "", false
	}
	return texts[id], true
}

// Len is the number of templates.
func (t *Templates) Len() int { return len(t.load()) }

// Text appends s, a document of kind k: as its difference from k's template
// when t has one (or takes s as it), whole otherwise. A nil t or k keeps s
// whole.
func (e Enc) Text(t *Templates, k any, s string) Enc {
	id := -1
	var tmpl string
	if t != nil && k != nil {
		id, tmpl = t.template(k, s)
	}
	if id < 0 {
		return e.Int(0).String(s)
	}
	p := 0
	for p < len(s) && p < len(tmpl) && s[p] == tmpl[p] {
		p++
	}
	n := 0
	for n < len(s)-p && n < len(tmpl)-p && s[len(s)-1-n] == tmpl[len(tmpl)-1-n] {
		n++
	}
	return e.Int(int64(id) + 1).Int(int64(p)).Int(int64(n)).String(s[p : len(s)-n])
}

// Text reads a document Enc.Text wrote with the same Templates.
func (d *Dec) Text(t *Templates) string {
	id := d.Int()
	if id == 0 || d.bad {
		return d.String()
	}
	p, n := d.Int(), d.Int()
	mid := d.bytes()
	var tmpl string
	ok := false
	if t != nil && !d.bad {
		tmpl, ok = t.text(int(id - 1))
	}
	if !ok || p < 0 || n < 0 || p+n > int64(len(tmpl)) {
		d.bad = true
		return ""
	}
	var b strings.Builder // one allocation
	b.Grow(int(p) + len(mid) + int(n))
	b.WriteString(tmpl[:p])
	b.Write(mid)
	b.WriteString(tmpl[int64(len(tmpl))-n:])
	return b.String()
}

// bytes reads what String wrote, without copying it.
func (d *Dec) bytes() []byte {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) || d.bad {
		d.bad = true
		return nil
	}
	b := d.b[k : k+int(n)]
	d.b = d.b[k+int(n):]
	return b
}
