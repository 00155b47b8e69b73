package server

import (
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
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
	st.Policies = CacheStat{Entries: s.policies.Len(), Bytes: s.policies.Bytes(), MaxBytes: policy.DefaultCacheBytes}
	st.Authz.Entries, st.Authz.Bytes = s.authz.CacheStats()
	st.Authz.MaxBytes = authz.DefaultCacheBytes
	st.Keys.Entries, st.Keys.Bytes, st.Keys.MaxBytes = s.keys.cache.Stats()
	st.Sessions.Entries, st.Sessions.Bytes = s.sessions.CacheStats()
	st.Sessions.MaxBytes = session.DefaultCacheBytes
	return st
}
