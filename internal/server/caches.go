package server

import (
	"github.com/opensts/opensts/internal/session"
)

// The caches' bounds are chosen for `opensts serve`'s soft memory limit
// (cmd/opensts) from TestScaleBytesPerEntity and internal/tools/scale: an
// entity of the scale benchmark (a user, its access key and a role trusting
// it alone) costs about 1.1 KiB of the authorizer's cache (the role 0.6 KiB
// with its compiled trust policy, whose shape it shares with the other
// roles', the user 0.3 KiB, and the entries' bookkeeping) and 0.5 KiB of
// the key cache, 1.5 KiB of live heap in all. The bounds hold some 20,000
// of them (30 MiB of live heap). Twice that held more (a hit for 40% of the
// requests across 100,000 entities rather than 20%) and served fewer: the
// collector, marking the caches' million objects in the 40 MiB the limit
// left it, took more CPU than the hits saved (internal/tools/scale at
// 100,000: 30.5% and 32.1% of one role's rate, against 36.5% with these
// bounds). Trust policies do not go through the policy cache, which holds
// identity, managed, session and SCP documents.
const (
	// PolicyCacheBytes bounds the compiled policies.
	PolicyCacheBytes = 8 << 20
	// AuthzCacheBytes bounds the authorizer's principals, roles, groups,
	// managed policies and SCPs.
	AuthzCacheBytes = 8 << 20
	// AuthzCompactBytes bounds the authorizer cache's second tier: users and
	// roles encoded, some 300 bytes an entity of the scale benchmark.
	AuthzCompactBytes = 40 << 20
	// KeyCompactBytes bounds the key cache's second tier: keys encoded
	// with their secrets sealed, some 170 bytes each.
	KeyCompactBytes = 20 << 20
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
	st.Authz.Entries, st.Authz.Bytes = s.authz.CacheStats()
	st.Authz.MaxBytes = AuthzCacheBytes
	st.Keys.Entries, st.Keys.Bytes, st.Keys.MaxBytes = s.keys.cache.Stats()
	st.Sessions.Entries, st.Sessions.Bytes = s.sessions.CacheStats()
	st.Sessions.MaxBytes = session.DefaultCacheBytes
	st.AuthzCompact.Entries, st.AuthzCompact.Bytes, _ = s.authz.TierStats()
	st.AuthzCompact.MaxBytes = AuthzCompactBytes
	st.KeysCompact.Entries, st.KeysCompact.Bytes, _ = s.keys.cache.TierStats()
	st.KeysCompact.MaxBytes = KeyCompactBytes
	return st
}
