package server

import (
	"github.com/opensts/opensts/internal/session"
)

// The caches' bounds are chosen for `opensts serve`'s soft memory limit
// (cmd/opensts) from TestScaleBytesPerEntity and internal/tools/scale. Each
// of the authorizer's and the key cache has two tiers (internal/cache):
//   - the first holds decoded entries, ready to use: an entity of the scale
//     benchmark (a user, its access key and a role trusting it alone) costs
//     about 1.1 KiB of the authorizer's (the role with its compiled trust
//     policy, whose shape it shares with other roles', the user, the
//     bookkeeping) and 0.65 KiB of the key cache. These bounds hold some
//     900 entities: what a hot working set needs, no more, because the
//     collector marks every one of their objects. Once full, a first tier
//     stores a decoded entry only on its key's second miss of late; an
//     entry seen once is kept a short while in the cache's window (the
//     last few hundred), which serves the request's later reads of it
//     (a user is read for its key and again for the decision), and then
//     dropped, evicting nothing;
//   - the second holds the same entries encoded (a role's trust policy as
//     its shape's number and its principals, a key's secret and its signing
//     key of the day sealed), about 170 bytes an entity in the authorizer's
//     and 260 in the key cache's, in an unlinked scratch file in the data
//     directory (the *FileBytes bounds below: a million entities fit) of
//     which the process keeps a write buffer and an index (some 11 bytes a
//     record) in memory mapped outside the Go heap, and the kernel's page
//     cache the records; where the file cannot be made, all of it in that
//     memory (the *CompactBytes bounds: 100,000 entities fit, with room). A
//     first-tier miss that the second holds costs a read of the file (a
//     system call, served from the page cache) and a decode (the trust
//     policy rebuilt from its shape, not parsed) instead of three store
//     reads (the key; its user with its policy sources,
//     store.PrincipalSourceReader; the role).
//
// Before the second tier, the first held 20,000 entities and across
// 100,000 every miss read the store; twice that bound served fewer
// requests, the collector taking more CPU than the hits saved. With the
// second tier, halving the first tiers (from 7,000 entities: 8, 8 and 4
// MiB) let serve's soft memory limit come down from 80 to 56 MiB with the
// collector's share of the server's CPU across 100,000 roles where it was
// (4.1 and 5.1 % against 4.7 %, perf over internal/tools/scale), and peak
// RSS from 198-200 to 175-180 MiB; the full tiers under 56 MiB took 12.9 %
// (and 16.6 % under 48 MiB; the halved ones 6.5 %). With the second
// tiers in files the process no longer holds them, and the limit went back
// to 80 MiB for the same RSS bound (cmd/opensts tuneGC). Trust
// policies do not go through the policy cache, which holds identity,
// managed, session and SCP documents.
//
// The first tiers then held some 3,500 entities (4 MiB and 2.5 MiB), and
// at 100,000 entities, where serve's limit was at its 40 MiB floor (the
// mappings take the rest), the heap they made (some 16 MB live, 33 MB of
// spans in use) left the collector one or two MB of room: it ran 30 to 60
// times a second, each time as soon as it had finished, and one role's
// requests took 155-209 µs of CPU where they take some 85 (gctrace and
// internal/tools/scale, 2026-12-07). At a quarter of those bounds the
// live heap is some 13 MB, the spans in use 28 MB, and it runs some 20
// times a second; across 100,000 roles the rate went from 65-75 % of one
// role's (that regime) to 80-86 %. A first tier serves some 3 % of the
// requests across 100,000 entities either way; the second tier serves
// the rest of a hot set larger than its bound with a copy and a decode.
const (
	// PolicyCacheBytes bounds the compiled policies.
	PolicyCacheBytes = 4 << 20
	// AuthzCacheBytes bounds the authorizer's principals, roles, groups,
	// managed policies and SCPs.
	AuthzCacheBytes = 1 << 20
	// AuthzCompactBytes bounds the authorizer cache's second tier: users and
	// roles encoded, some 170 bytes an entity of the scale benchmark (a
	// user and a role), so 100,000 take 17 MB, with room for the copies
	// that reads of the oldest records make. Each of its segments stays
	// resident once written: at 40 MiB, the bound before, more than half
	// of it came to hold nothing in use.
	AuthzCompactBytes = 24 << 20
	// KeyCompactBytes bounds the key cache's second tier: keys encoded
	// with their secrets sealed and their signing key of the day too, some
	// 260 bytes each (100,000: 26 MB; a key's record is written twice, the
	// second time when its first request derived the signing key: 43 MB).
	KeyCompactBytes = 48 << 20
	// DetectTierBytes bounds detection's baselines kept encoded outside
	// the heap once its table (20,000 subjects) drops them: some 53 bytes
	// a subject (a role's or a principal's; strings by number in a
	// dictionary of detection's) and 11 of index, so the 200,000 subjects
	// of 100,000 roles and their users take some 10 MiB of it. Without it,
	// each of those subjects seen again was a read of the store, and at
	// 100,000 roles the reads took 10-17 % of the server's CPU.
	DetectTierBytes = 16 << 20
	// DetectBaselines bounds the baselines detection holds decoded in the
	// heap (some 330 bytes each with their table's entry); the tier keeps
	// the rest. At 20,000 (the engine's default), across 100,000 roles
	// and their users they were some 10 of the server's 21 MB of live
	// heap, scanned by every collection, for a hit rate of one in ten.
	DetectBaselines = 4096

	// AuthzCompactFileBytes, KeyCompactFileBytes and DetectTierFileBytes
	// bound the same tiers where they are in a scratch file in the data
	// directory (cache.Config.CompactDir; the default where the system can
	// unlink a file still open): a million entities fit, the process keeps
	// a write buffer of each in memory, and the kernel's page cache the
	// records in use.
	// The key cache's holds twice the authorizer's: a key's record (some
	// 260 bytes with its signing key) follows the one its fill wrote
	// without (170), so 1,000,000 keys append some 430 MB.
	AuthzCompactFileBytes = 256 << 20
	KeyCompactFileBytes   = 512 << 20
	DetectTierFileBytes   = 192 << 20

	// AuthzMapBytes and KeyMapBytes bound the records
	// of the tiers read through a mapping of their files
	// (cache.Config.CompactMapBytes): a read is then a copy where pread
	// cost a system call (some 3 µs on the VM of the figures, three of
	// them a request across 100,000 roles: the key, its user, the role),
	// and the pages read count toward the process's resident memory, for
	// which serve's soft memory limit gives way (Server.MappedBytes,
	// cmd/opensts). At 100,000 entities of the scale benchmark the
	// authorizer's and the key cache's hold some 17 MiB each; a tier whose
	// records grow past its bound leaves the mapping, its pages with it,
	// and reads with pread, as at 1,000,000. Detection's is not mapped: its
	// fast table judges most events without a baseline, so its file is
	// read seldom (a principal's baseline once in 10 minutes of its
	// history), and mapped, the pages those reads brought in grew the
	// resident memory by some 6 MiB over a scale run for no CPU to show.
	AuthzMapBytes = 24 << 20
	KeyMapBytes   = 24 << 20
)

// CacheStat is the size of one cache: its entries, their estimated size in
// bytes, and the bound that size stays within.
type CacheStat struct {
	Entries, Bytes, MaxBytes int
}

// CacheStats is the size of each of the server's in-memory caches, each
// bounded in bytes.
type CacheStats struct {
	Policies CacheStat // compiled policies (policy.Cache)
	Authz    CacheStat // loaded principals, roles, managed policies, SCPs
	Keys     CacheStat // long-term access keys
	Sessions CacheStat // verified session tokens
	// The second tiers: encoded entries in memory the collector does not
	// scan; Bytes is what their records hold, MaxBytes their bound.
	AuthzCompact, KeysCompact CacheStat
}

// CacheStats reports the size of the server's caches. It is safe for
// concurrent use.
func (s *Server) CacheStats() CacheStats {
	var st CacheStats
	st.Policies = CacheStat{Entries: s.policies.Len(), Bytes: s.policies.Bytes(), MaxBytes: PolicyCacheBytes}
	st.Authz.Entries, st.Authz.Bytes, st.Authz.MaxBytes = s.authz.CacheStats()
	st.Keys.Entries, st.Keys.Bytes, st.Keys.MaxBytes = s.keys.cache.Stats()
	st.Sessions.Entries, st.Sessions.Bytes = s.sessions.CacheStats()
	st.Sessions.MaxBytes = session.DefaultCacheBytes
	st.AuthzCompact.Entries, st.AuthzCompact.Bytes, _ = s.authz.TierStats()
	st.AuthzCompact.MaxBytes = AuthzCompactBytes
	st.KeysCompact.Entries, st.KeysCompact.Bytes, _ = s.keys.cache.TierStats()
	st.KeysCompact.MaxBytes = KeyCompactBytes
	return st
}

// MappedBytes is about what the caches' tiers read through mappings of
// their files may add to the process's resident memory (see
// cache.Config.CompactMapBytes); serve lowers its soft memory limit by it.
// It is safe for concurrent use.
func (s *Server) MappedBytes() int64 {
	return s.authz.MappedBytes() + s.keys.cache.MappedBytes()
}
