package server

import (
	"github.com/opensts/opensts/internal/session"
)

// The caches' bounds add up to 80 MiB with the session caches, which
// `opensts serve`'s soft memory limit (cmd/opensts) leaves room for: with
// 100,000 users, keys and roles (internal/tools/scale) they fill up, and a
// process whose live heap nears its limit spends its CPU collecting garbage.
// A role costs about 1.8 KiB cached (its compiled trust policy 1.1 KiB of
// it, in both the authorizer's cache and the policy cache when its document
// is its own), a user's entry 0.35 KiB, a key 0.45 KiB.
const (
	// PolicyCacheBytes bounds the compiled policies.
	PolicyCacheBytes = 16 << 20
	// AuthzCacheBytes bounds the authorizer's principals, roles, groups,
	// managed policies and SCPs.
	AuthzCacheBytes = 32 << 20
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
	return st
}
