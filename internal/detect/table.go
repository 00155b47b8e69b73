package detect

// table is a map bounded to max entries, the least recently used dropped
// first. Its entries are their own list nodes (a map value and two links,
// no separate list element and boxed value), since the engine keeps one
// for each subject it has seen.
type table[T any] struct {
	max  int
	m    map[string]*tableEntry[T]
	head tableEntry[T] // sentinel: head.next is the most recently used
	// evicted, if set, is called with each entry dropped to keep max.
	evicted func(key string, v T)
}

type tableEntry[T any] struct {
	prev, next *tableEntry[T]
	key        string
	val        T
}

func newTable[T any](max int) *table[T] {
	t := &table[T]{max: max, m: make(map[string]*tableEntry[T])}
	t.head.prev, t.head.next = &t.head, &t.head
	return t
}

func (t *table[T]) unlink(e *tableEntry[T]) {
	e.prev.next, e.next.prev = e.next, e.prev
}

func (t *table[T]) pushFront(e *tableEntry[T]) {
	e.prev, e.next = &t.head, t.head.next
	t.head.next.prev = e
	t.head.next = e
}

func (t *table[T]) touch(e *tableEntry[T]) {
	if t.head.next != e {
		t.unlink(e)
		t.pushFront(e)
	}
}

func (t *table[T]) get(key string) (T, bool) {
	if e, ok := t.m[key]; ok {
		t.touch(e)
		return e.val, true
	}
	var zero T
	return zero, false
}

// find is get for a key held in bytes, with no string made; it also
// returns the entry's own key.
func (t *table[T]) find(key []byte) (T, string, bool) {
	if e, ok := t.m[string(key)]; ok {
		t.touch(e)
		return e.val, e.key, true
	}
	var zero T
	return zero, "", false
}

func (t *table[T]) put(key string, v T) {
	if e, ok := t.m[key]; ok {
		e.val = v
		t.touch(e)
		return
	}
	// Full: the least recently used entry is dropped first, and its
	// list node reused for the new one (a working set larger than the
	// table drops an entry for each it adds).
	var e *tableEntry[T]
	for len(t.m) >= max(t.max, 1) {
		last := t.head.prev
		t.unlink(last)
		delete(t.m, last.key)
		if t.evicted != nil {
			t.evicted(last.key, last.val)
		}
		e = last
	}
	if e == nil {
		e = new(tableEntry[T])
	}
	*e = tableEntry[T]{key: key, val: v}
	t.m[key] = e
	t.pushFront(e)
}

func (t *table[T]) len() int { return len(t.m) }

// each calls f for every entry, most recently used first.
func (t *table[T]) each(f func(key string, v T)) {
	for e := t.head.next; e != &t.head; e = e.next {
		f(e.key, e.val)
	}
}
