package ldap

import (
	"sync"
	"time"
)

// Throttle counts failed binds per key (a user name, a source address) in
// a fixed window and refuses a key that reached its limit until its window
// ends. It is per node and in memory, and bounded: at most MaxKeys keys are
// tracked; when full, expired windows are dropped, and if none expired the
// table is cleared (the per-address limit still holds a flood of names
// back). Safe for concurrent use.
type Throttle struct {
	// Limit is the number of failures a key may have in one Window.
	Limit   int
	Window  time.Duration
	MaxKeys int
	Now     func() time.Time

	mu sync.Mutex
	m  map[string]*window
}

type window struct {
	start    time.Time
	failures int
}

func (t *Throttle) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Allowed reports whether key may try again now.
func (t *Throttle) Allowed(key string) bool {
	if t == nil || t.Limit <= 0 {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.m[key]
	if !ok {
		return true
	}
	if t.now().Sub(w.start) >= t.Window {
		delete(t.m, key)
		return true
	}
	return w.failures < t.Limit
}

// Fail records a failure of key.
func (t *Throttle) Fail(key string) {
	if t == nil || t.Limit <= 0 {
		return
	}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*window{}
	}
	w, ok := t.m[key]
	if ok && now.Sub(w.start) >= t.Window {
		ok = false
	}
	if !ok {
		max := t.MaxKeys
		if max <= 0 {
			max = 100_000
		}
		if len(t.m) >= max {
			for k, w := range t.m {
				if now.Sub(w.start) >= t.Window {
					delete(t.m, k)
				}
			}
			if len(t.m) >= max {
				clear(t.m)
			}
		}
		w = &window{start: now}
		t.m[key] = w
	}
	w.failures++
}

// Reset forgets key's failures (after a success).
func (t *Throttle) Reset(key string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	delete(t.m, key)
	t.mu.Unlock()
}
