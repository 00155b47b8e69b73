package session

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/opensts/opensts/internal/offheap"
)

// Revocation kinds.
const (
	RevokeSession   = "session"   // one session by access key id, and what was chained from it
	RevokePrincipal = "principal" // every session a principal created, chained ones included
	RevokeRole      = "role"      // a role's sessions issued before a time
	RevokeAccount   = "account"   // an account's sessions issued before a time
)

// MaxLifetime is the longest a session lives (GetSessionToken and
// GetFederationToken: 36 hours): a revocation can match nothing once this
// long has passed after the last session it matches was issued.
const MaxLifetime = 36 * time.Hour

// Revocation is one entry of the revocation set.
type Revocation struct {
	ID      string
	Account string // the account that made it
	Kind    string
	Target  string // access key id, principal ARN, role ARN or account id
	// RoleID: kind role, the role's unique id. OriginKeys: kind principal
	// of an IAM user, the long-term keys its sessions start from.
	RoleID       string
	OriginKeys   []string
	IssuedBefore time.Time
	ExpiresAt    time.Time
}

// Revocations is the revocation set: an immutable index swapped whole, so
// a check is a handful of hash probes with no lock and no store access.
//
// The index holds no pointers the garbage collector must follow: every
// string of every entry lives in one arena, entries refer to it by offset,
// and the hash table maps a 64-bit hash of each lookup key to a run of
// postings (the key's entries). A set of 100,000 entries is then a few
// large pointer-free objects, which a collection marks without scanning,
// instead of some million small ones that every collection on a busy
// server would walk again.
type Revocations struct {
	idx atomic.Pointer[revIndex]
}

// The indexes a revocation is found by.
const (
	bySession = iota // access key id
	byName           // lower-cased principal ARN
	byOrigin         // long-term access key id
	byRole           // role id
	byPrefix         // lower-cased "arn:aws:sts::ACCT:assumed-role/NAME/"
	byAccount        // account id
)

// span is a string of the arena.
type span struct{ off, n uint32 }

// revRec is an entry in the index: its strings are spans of the arena,
// its times seconds and nanoseconds (time.Time holds a pointer).
type revRec struct {
	id, account, kind, target, roleID span
	origins                           span // a run of revIndex.origins
	issuedSec, expiresSec             int64
	issuedNsec, expiresNsec           int32
}

// posting is one (index, key) of an entry.
type posting struct {
	entry uint32
	index uint8
	key   span
}

// revIndex is the set, indexed for Revoked.
//
// Its arena, records, postings and keys live outside the Go heap
// (internal/offheap), freed when the index is collected: at 100,000
// entries, some 20 MiB that inside the heap made the collector run more
// often under serve's soft memory limit. Nothing may keep a string of the
// arena past the index (Snapshot copies).
type revIndex struct {
	n       int
	version string
	arena   string
	recs    []revRec // sorted by ID
	origins []span
	seed    maphash.Seed
	// keys maps the hash of an (index, key) to a run of post: its start
	// in the high 32 bits, its length in the low ones. Two keys whose
	// hashes collide share a run; each posting's own key decides.
	keys *offheap.Index
	post []posting
	used [byAccount + 1]bool // the indexes some entry is in
}

// revMemory is what a revIndex holds outside the heap, freed by its
// cleanup.
type revMemory struct {
	mems [][]byte
	keys *offheap.Index
}

func (m *revMemory) free() {
	for _, b := range m.mems {
		offheap.Free(b)
	}
	m.keys.Free()
}

// offHeap copies s outside the heap, noting the memory in m.
func offHeap[T any](m *revMemory, s []T) []T {
	out, mem := offheap.Slice[T](len(s))
	copy(out, s)
	m.mems = append(m.mems, mem)
	return out
}

func (x *revIndex) str(s span) string { return x.arena[s.off : s.off+s.n] }

func (x *revIndex) hash(index uint8, key string) uint64 {
	return maphash.String(x.seed, key) ^ uint64(index+1)*0x9e3779b97f4a7c15
}

// Replace makes entries the set.
func (r *Revocations) Replace(entries []Revocation) {
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b Revocation) int { return strings.Compare(a.ID, b.ID) })
	x := &revIndex{n: len(entries), version: revVersion(entries), recs: make([]revRec, len(entries)), seed: maphash.MakeSeed()}
	var arena strings.Builder
	add := func(s string) span {
		sp := span{uint32(arena.Len()), uint32(len(s))}
		arena.WriteString(s)
		return sp
	}
	post := make([]posting, 0, len(entries))
	// index files entry i under key (a span of the arena: the entry's own
	// string where the key is one, so most keys cost no bytes of their own).
	index := func(i int, index uint8, key span) {
		post = append(post, posting{entry: uint32(i), index: index, key: key})
		x.used[index] = true
	}
	lower := func(s string, sp span) span {
		if l := strings.ToLower(s); l != s {
			return add(l)
		}
		return sp
	}
	for i := range entries {
		e := &entries[i]
		rec := &x.recs[i]
		rec.id, rec.account, rec.kind, rec.target, rec.roleID = add(e.ID), add(e.Account), add(e.Kind), add(e.Target), add(e.RoleID)
		rec.origins = span{uint32(len(x.origins)), uint32(len(e.OriginKeys))}
		for _, o := range e.OriginKeys {
			x.origins = append(x.origins, add(o))
		}
		rec.issuedSec, rec.issuedNsec = e.IssuedBefore.Unix(), int32(e.IssuedBefore.Nanosecond())
		rec.expiresSec, rec.expiresNsec = e.ExpiresAt.Unix(), int32(e.ExpiresAt.Nanosecond())
		switch e.Kind {
		case RevokeSession:
			index(i, bySession, rec.target)
		case RevokePrincipal:
			index(i, byName, lower(e.Target, rec.target))
			for _, o := range x.origins[rec.origins.off:] {
				index(i, byOrigin, o)
			}
		case RevokeRole:
			index(i, byRole, rec.roleID)
			if p := rolePrefix(e.Target); p != "" {
				index(i, byPrefix, add(p))
			}
		case RevokeAccount:
			index(i, byAccount, rec.target)
		}
	}
	mem := &revMemory{keys: offheap.NewIndex()}
	if a := arena.String(); a != "" {
		b := offheap.Bytes(len(a))
		copy(b, a)
		mem.mems = append(mem.mems, b)
		x.arena = unsafe.String(unsafe.SliceData(b), len(b))
	}
	x.recs, x.origins = offHeap(mem, x.recs), offHeap(mem, x.origins)
	hashes := make([]uint64, len(post))
	for i := range post {
		hashes[i] = x.hash(post[i].index, x.str(post[i].key))
	}
	// Group the postings by hash: sort an order, then lay them out in it.
	order := make([]int32, len(post))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(hashes[a], hashes[b]) })
	x.post = make([]posting, len(post))
	x.keys = mem.keys
	for i, o := range order {
		x.post[i] = post[o]
		h := hashes[o]
		if v, ok := x.keys.Get(h); ok {
			x.keys.Set(h, v+1)
		} else {
			x.keys.Set(h, uint64(i)<<32|1)
		}
	}
	x.post = offHeap(mem, x.post)
	runtime.AddCleanup(x, (*revMemory).free, mem)
	r.idx.Store(x)
}

// live reports whether an entry found by key in index, live at now, covers
// a session issued at issued (of account, when account is not "").
func (x *revIndex) live(index uint8, key string, issued, now time.Time, account string) bool {
	if !x.used[index] {
		return false
	}
	v, ok := x.keys.Get(x.hash(index, key))
	if !ok {
		return false
	}
	for _, p := range x.post[v>>32 : v>>32+v&0xffffffff] {
		if p.index != index || x.str(p.key) != key {
			continue
		}
		e := &x.recs[p.entry]
		if now.Before(time.Unix(e.expiresSec, int64(e.expiresNsec))) && issued.Before(time.Unix(e.issuedSec, int64(e.issuedNsec))) &&
			(account == "" || account == x.str(e.account)) {
			return true
		}
	}
	return false
}

// revVersion is a digest of entries (sorted by ID): equal sets have equal
// versions on every node, and any change to an entry changes it.
func revVersion(entries []Revocation) string {
	h := sha256.New()
	var b []byte
	for i := range entries {
		e := &entries[i]
		b = AppendRevocationDigest(b[:0], e.ID, e.Account, e.Kind, e.Target, e.RoleID, e.OriginKeys, e.IssuedBefore, e.ExpiresAt)
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// AppendRevocationDigest appends an entry's fields as the set's version
// digests them (lengths before strings, so no two entries read the same),
// for digests of other views of the set (one account's entries).
func AppendRevocationDigest(b []byte, id, account, kind, target, roleID string, origins []string, issuedBefore, expiresAt time.Time) []byte {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	str(id)
	str(account)
	str(kind)
	str(target)
	str(roleID)
	b = binary.AppendUvarint(b, uint64(len(origins)))
	for _, k := range origins {
		str(k)
	}
	b = binary.AppendVarint(b, issuedBefore.UnixNano())
	return binary.AppendVarint(b, expiresAt.UnixNano())
}

// Snapshot returns the set's version and its entries, sorted by ID. The
// version is a digest of the entries, so every node holding the same set
// reports the same one: a copy elsewhere (the public verifier's local
// mode) asks whether its version is still current. The entries are made
// for the caller (their strings share one block), in UTC.
func (r *Revocations) Snapshot() (version string, entries []Revocation) {
	x := r.idx.Load()
	if x == nil {
		return revVersion(nil), nil
	}
	// The strings share one copy of the arena, on the heap.
	arena := strings.Clone(x.arena)
	str := func(s span) string { return arena[s.off : s.off+s.n] }
	entries = make([]Revocation, len(x.recs))
	for i := range x.recs {
		e := &x.recs[i]
		entries[i] = Revocation{ID: str(e.id), Account: str(e.account), Kind: str(e.kind), Target: str(e.target), RoleID: str(e.roleID),
			IssuedBefore: time.Unix(e.issuedSec, int64(e.issuedNsec)).UTC(), ExpiresAt: time.Unix(e.expiresSec, int64(e.expiresNsec)).UTC()}
		if e.origins.n > 0 {
			entries[i].OriginKeys = make([]string, e.origins.n)
			for j, o := range x.origins[e.origins.off : e.origins.off+e.origins.n] {
				entries[i].OriginKeys[j] = str(o)
			}
		}
	}
	return x.version, entries
}

// Len is the number of entries.
func (r *Revocations) Len() int {
	if x := r.idx.Load(); x != nil {
		return x.n
	}
	return 0
}

// rolePrefix turns arn:aws:iam::ACCT:role/PATH/NAME into the prefix of its
// sessions' ARNs, arn:aws:sts::ACCT:assumed-role/NAME/ (lower-cased).
func rolePrefix(roleARN string) string {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || !strings.HasPrefix(parts[5], "role/") {
		return ""
	}
	name := parts[5][strings.LastIndexByte(parts[5], '/')+1:]
	return strings.ToLower("arn:" + parts[1] + ":sts::" + parts[4] + ":assumed-role/" + name + "/")
}

// sessionPrefix is the role prefix of an assumed-role session ARN.
func sessionPrefix(arn string) string {
	i := strings.Index(arn, ":assumed-role/")
	if i < 0 {
		return ""
	}
	j := strings.IndexByte(arn[i+len(":assumed-role/"):], '/')
	if j < 0 {
		return ""
	}
	return strings.ToLower(arn[:i+len(":assumed-role/")+j+1])
}

// accountOf is an ARN's account field (the fifth), without allocating.
func accountOf(arn string) string {
	for range 4 {
		i := strings.IndexByte(arn, ':')
		if i < 0 {
			return ""
		}
		arn = arn[i+1:]
	}
	if i := strings.IndexByte(arn, ':'); i >= 0 {
		return arn[:i]
	}
	return ""
}

// Revoked reports whether the set refuses s at now. A session is refused
// when an entry matches it or any session it was chained from:
//   - session: its access key id, in the entry's account;
//   - principal: its ARN (a federated user, an assumed-role session, an IAM
//     user's GetSessionToken session), or a session started from one of the
//     user's long-term keys, issued before the entry;
//   - role: the role's sessions issued before IssuedBefore;
//   - account: the account's sessions issued before IssuedBefore.
func (r *Revocations) Revoked(s *Session, now time.Time) bool {
	x := r.idx.Load()
	if x == nil || x.n == 0 {
		return false
	}
	// x's cleanup unmaps what live reads (its strings and records): x
	// must outlive the reads, which a Replace meanwhile makes it the last
	// reference to.
	defer runtime.KeepAlive(x)
	iss := s.IssuedAt
	// first is when the chain's first session was issued (this one's when
	// the token does not say: it has no ancestors, or is an earlier
	// version's): what a long-term key started is judged by it.
	first := iss
	for _, t := range s.ChainIssued {
		if !t.IsZero() && t.Before(first) {
			first = t
		}
	}
	// Sessions are revoked whatever their issue time (an entry names
	// them); IssuedBefore is the entry's time, after every session it
	// names was issued.
	if x.live(bySession, s.AccessKeyID, iss, now, s.Account) || x.live(byName, strings.ToLower(s.ARN), iss, now, "") ||
		x.live(byOrigin, s.SourceAccessKeyID, first, now, "") || x.live(byRole, s.RoleID, iss, now, "") || x.live(byAccount, s.Account, iss, now, "") {
		return true
	}
	for i, k := range s.ChainKeys {
		a := s.ChainARNs[i]
		// What was chained from a revoked session, principal, role or
		// account goes with it: an ancestor session is judged by its own
		// issue time, so that a revocation of what was issued before some
		// time also reaches what was chained from it after that time; the
		// long-term key that started the chain, by the chain's first
		// session's.
		at := first
		if i < len(s.ChainIssued) && !s.ChainIssued[i].IsZero() {
			at = s.ChainIssued[i]
		}
		if x.live(bySession, k, at, now, accountOf(a)) || x.live(byName, strings.ToLower(a), at, now, "") ||
			x.live(byPrefix, sessionPrefix(a), at, now, "") || x.live(byAccount, accountOf(a), at, now, "") {
			return true
		}
	}
	return false
}
