package detect

import "container/list"

// table is a map bounded to max entries, the least recently used dropped
// first.
type table[T any] struct {
	max   int
	m     map[string]*list.Element
	order *list.List // front: most recently used
}

type tableEntry[T any] struct {
	key string
	val T
}

func newTable[T any](max int) *table[T] {
	return &table[T]{max: max, m: make(map[string]*list.Element), order: list.New()}
}

func (t *table[T]) get(key string) (T, bool) {
	if el, ok := t.m[key]; ok {
		t.order.MoveToFront(el)
		return el.Value.(*tableEntry[T]).val, true
	}
	var zero T
	return zero, false
}

// find is get for a key held in bytes, with no string made; it also
// returns the entry's own key.
func (t *table[T]) find(key []byte) (T, string, bool) {
	if el, ok := t.m[string(key)]; ok {
		t.order.MoveToFront(el)
		e := el.Value.(*tableEntry[T])
		return e.val, e.key, true
	}
	var zero T
	return zero, "", false
}

func (t *table[T]) put(key string, v T) {
	if el, ok := t.m[key]; ok {
		el.Value.(*tableEntry[T]).val = v
		t.order.MoveToFront(el)
		return
	}
	t.m[key] = t.order.PushFront(&tableEntry[T]{key: key, val: v})
	for len(t.m) > t.max {
		last := t.order.Back()
		t.order.Remove(last)
		delete(t.m, last.Value.(*tableEntry[T]).key)
	}
}

func (t *table[T]) len() int { return len(t.m) }

// each calls f for every entry, most recently used first.
func (t *table[T]) each(f func(key string, v T)) {
	for el := t.order.Front(); el != nil; el = el.Next() {
		e := el.Value.(*tableEntry[T])
		f(e.key, e.val)
	}
}
