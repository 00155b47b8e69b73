package cache

// Tier is a second tier on its own, for state that is not a Cache's
// (detection's baselines): byte values by byte key, bounded in bytes, in
// memory outside the Go heap that the collector neither scans nor counts
// (see compact). When full it drops its oldest records, sixteenth by
// sixteenth; a record read while among the oldest is moved forward.
//
// It has no invalidation of its own: the caller puts and deletes in an
// order that keeps what it reads current. It is safe for concurrent use.
type Tier struct{ c *compact }

// NewTier returns an empty tier of maxBytes (records, their keys and
// headers; the index costs some 11 bytes a record beside them).
func NewTier(maxBytes int) *Tier { return &Tier{c: newCompact(maxBytes)} }

// NewTierIn returns an empty tier in an unlinked scratch file in dir, of
// fileBytes (see Config.CompactDir), read with pread (detection's, read
// seldom: see server.AuthzMapBytes); without dir or fileBytes, or where
// the file cannot be made, in memory, of maxBytes.
func NewTierIn(maxBytes int, dir string, fileBytes int) *Tier {
	return &Tier{c: newCompactIn(maxBytes, dir, fileBytes, 0)}
}

// Get appends the value stored under key to dst.
func (t *Tier) Get(dst, key []byte) ([]byte, bool) { return t.c.get(dst, key) }

// Put stores value under key, replacing what it held. A record larger than
// a sixteenth of the tier is not stored.
func (t *Tier) Put(key, value []byte) { t.c.put(key, nil, value) }

// Delete drops the value stored under key.
func (t *Tier) Delete(key []byte) { t.c.delete(string(key)) }

// Stats returns the records held, their bytes, and the bytes of the
// segments allocated so far.
func (t *Tier) Stats() (entries, bytes, allocated int) { return t.c.stats() }
