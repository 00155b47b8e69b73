package session

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"
	"sync/atomic"
	"time"
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
// a check is a handful of map lookups with no lock and no store access.
type Revocations struct {
	idx atomic.Pointer[revIndex]
}

type revIndex struct {
	n        int
	entries  []Revocation // as given to Replace, sorted by ID
	version  string
	sessions map[string][]*Revocation // access key id
	names    map[string][]*Revocation // lower-cased principal ARN
	origins  map[string][]*Revocation // long-term access key id
	roles    map[string][]*Revocation // role id
	prefixes map[string][]*Revocation // lower-cased "arn:aws:sts::ACCT:assumed-role/NAME/"
	accounts map[string][]*Revocation
}

// Replace makes entries the set.
func (r *Revocations) Replace(entries []Revocation) {
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b Revocation) int { return strings.Compare(a.ID, b.ID) })
	x := &revIndex{n: len(entries), entries: entries, version: revVersion(entries), sessions: map[string][]*Revocation{}, names: map[string][]*Revocation{}, origins: map[string][]*Revocation{},
		roles: map[string][]*Revocation{}, prefixes: map[string][]*Revocation{}, accounts: map[string][]*Revocation{}}
	for i := range entries {
		e := &entries[i]
		switch e.Kind {
		case RevokeSession:
			x.sessions[e.Target] = append(x.sessions[e.Target], e)
		case RevokePrincipal:
			k := strings.ToLower(e.Target)
			x.names[k] = append(x.names[k], e)
			for _, o := range e.OriginKeys {
				x.origins[o] = append(x.origins[o], e)
			}
		case RevokeRole:
			x.roles[e.RoleID] = append(x.roles[e.RoleID], e)
			if p := rolePrefix(e.Target); p != "" {
				x.prefixes[p] = append(x.prefixes[p], e)
			}
		case RevokeAccount:
			x.accounts[e.Target] = append(x.accounts[e.Target], e)
		}
	}
	r.idx.Store(x)
}

// revVersion is a digest of entries (sorted by ID): equal sets have equal
// versions on every node, and any change to an entry changes it.
func revVersion(entries []Revocation) string {
	h := sha256.New()
	var b []byte
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for i := range entries {
		e := &entries[i]
		b = b[:0]
		str(e.ID)
		str(e.Account)
		str(e.Kind)
		str(e.Target)
		str(e.RoleID)
		b = binary.AppendUvarint(b, uint64(len(e.OriginKeys)))
		for _, k := range e.OriginKeys {
			str(k)
		}
		b = binary.AppendVarint(b, e.IssuedBefore.UnixNano())
		b = binary.AppendVarint(b, e.ExpiresAt.UnixNano())
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Snapshot returns the set's version and its entries, sorted by ID. The
// version is a digest of the entries, so every node holding the same set
// reports the same one: a copy elsewhere (the public verifier's local
// mode) asks whether its version is still current. The entries are shared:
// callers must not modify them.
func (r *Revocations) Snapshot() (version string, entries []Revocation) {
	x := r.idx.Load()
	if x == nil {
		return revVersion(nil), nil
	}
	return x.version, x.entries
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
	live := func(es []*Revocation, issued time.Time, account string) bool {
		for _, e := range es {
			if now.Before(e.ExpiresAt) && issued.Before(e.IssuedBefore) && (account == "" || account == e.Account) {
				return true
			}
		}
		return false
	}
	iss := s.IssuedAt
	// Sessions are revoked whatever their issue time (an entry names
	// them); IssuedBefore is the entry's time, after every session it
	// names was issued.
	if live(x.sessions[s.AccessKeyID], iss, s.Account) || live(x.names[strings.ToLower(s.ARN)], iss, "") ||
		live(x.origins[s.SourceAccessKeyID], iss, "") || live(x.roles[s.RoleID], iss, "") || live(x.accounts[s.Account], iss, "") {
		return true
	}
	for i, k := range s.ChainKeys {
		a := s.ChainARNs[i]
		// What was chained from a revoked session, principal, role or
		// account goes with it (checked with this session's issue time:
		// it was issued after every ancestor).
		if live(x.sessions[k], iss, accountOf(a)) || live(x.names[strings.ToLower(a)], iss, "") ||
			live(x.prefixes[sessionPrefix(a)], iss, "") || live(x.accounts[accountOf(a)], iss, "") {
			return true
		}
	}
	return false
}
