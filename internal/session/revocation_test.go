package session

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

func TestRevocations(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	const a, b = "111111111111", "222222222222"
	role := func(acct, name, sess, key string, issued time.Time, chain ...string) *Session {
		s := &Session{Type: AssumedRole, AccessKeyID: key, Account: acct, ARN: "arn:aws:sts::" + acct + ":assumed-role/" + name + "/" + sess,
			RoleName: name, RoleID: "AROA" + name, IssuedAt: issued, SourceAccessKeyID: "AKIAALICE"}
		for i := 0; i+1 < len(chain); i += 2 {
			s.ChainKeys = append(s.ChainKeys, chain[i])
			s.ChainARNs = append(s.ChainARNs, chain[i+1])
		}
		return s
	}
	exp := t0.Add(MaxLifetime)
	var r Revocations
	if r.Revoked(role(a, "app", "s", "ASIA1", t0), t0) {
		t.Fatal("the empty set revokes")
	}
	r.Replace([]Revocation{
		{ID: "1", Account: a, Kind: RevokeSession, Target: "ASIASTOLEN", IssuedBefore: t0, ExpiresAt: exp},
		{ID: "2", Account: a, Kind: RevokePrincipal, Target: "arn:aws:sts::" + a + ":assumed-role/ops/Mallory", IssuedBefore: t0, ExpiresAt: exp},
		{ID: "3", Account: a, Kind: RevokeRole, Target: "arn:aws:iam::" + a + ":role/path/deploy", RoleID: "AROAdeploy", IssuedBefore: t0, ExpiresAt: exp},
		{ID: "4", Account: a, Kind: RevokePrincipal, Target: "arn:aws:iam::" + a + ":user/bob", OriginKeys: []string{"AKIABOB"}, IssuedBefore: t0, ExpiresAt: exp},
		{ID: "5", Account: b, Kind: RevokeAccount, Target: b, IssuedBefore: t0, ExpiresAt: t0.Add(time.Hour)},
		// Another account cannot revoke a's session by its key id.
		{ID: "6", Account: b, Kind: RevokeSession, Target: "ASIAVICTIM", IssuedBefore: t0, ExpiresAt: exp},
	})
	if r.Len() != 6 {
		t.Fatal(r.Len())
	}
	before, after := t0.Add(-time.Minute), t0.Add(time.Minute)
	bob := role(a, "app", "s", "ASIA9", before)
	bob.SourceAccessKeyID = "AKIABOB"
	for _, tc := range []struct {
		name string
		s    *Session
		now  time.Time
		want bool
	}{
		{"the session", role(a, "app", "s", "ASIASTOLEN", before), t0, true},
		{"chained from it, in another account", role(b, "x", "s", "ASIA2", before, "ASIASTOLEN", "arn:aws:sts::"+a+":assumed-role/app/s"), t0, true},
		{"another session", role(a, "app", "s", "ASIA3", before), t0, false},
		{"the session name, any case", role(a, "ops", "mallory", "ASIA4", before), t0, true},
		{"the principal's later session", role(a, "ops", "Mallory", "ASIA5", after), after, false},
		{"chained from the principal", role(a, "db", "s", "ASIA6", before, "ASIA5", "arn:aws:sts::"+a+":assumed-role/ops/Mallory"), t0, true},
		{"the role's older session", role(a, "deploy", "s", "ASIA7", before), t0, true},
		{"the role's newer session", role(a, "deploy", "s", "ASIA8", after), after, false},
		{"chained from the role", role(a, "db", "s", "ASIA10", before, "ASIA7", "arn:aws:sts::"+a+":assumed-role/deploy/s"), t0, true},
		{"started from the user's key", bob, t0, true},
		{"the account's session", role(b, "x", "s", "ASIA11", before), t0, true},
		{"the account entry expired", role(b, "x", "s", "ASIA12", before), t0.Add(2 * time.Hour), false},
		{"another account's key id", role(a, "app", "s", "ASIAVICTIM", before), t0, false},
	} {
		if got := r.Revoked(tc.s, tc.now); got != tc.want {
			t.Errorf("%s: revoked %v, want %v", tc.name, got, tc.want)
		}
	}
}

// The chain survives the token, and tokens without one still verify.
func TestChainInToken(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	s := &Session{Type: AssumedRole, AccessKeyID: "ASIACHILD00000000001", Account: "123456789012", ARN: "arn:aws:sts::123456789012:assumed-role/c/z",
		PrincipalID: "AROAC:z", RoleName: "c", RoleID: "AROAC", RolePath: "/", SessionName: "z", IssuedAt: t0, Expires: t0.Add(time.Hour), ChainDepth: 2}
	s.ChainKeys = []string{"ASIAPARENT0000000001", "ASIAPARENT0000000002"}
	s.ChainARNs = []string{"arn:aws:sts::123456789012:assumed-role/a/x", "arn:aws:sts::123456789012:assumed-role/b/y"}
	p, err := appendPayloadID(nil, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := parsePayload(p)
	if !ok || fmt.Sprint(got.ChainKeys, got.ChainARNs) != fmt.Sprint(s.ChainKeys, s.ChainARNs) || got.ChainIssued != nil {
		t.Fatalf("%v %+v", ok, got)
	}
	// With the ancestors' issue times: a long-term key's zero time stays
	// zero (it was read back as this session's time, which let a chain a
	// key started before a cut escape its account's revocation), and one
	// issued in this session's second stays that second.
	s.ChainIssued = []time.Time{{}, t0.Add(-time.Hour), t0}
	s.ChainKeys = append(s.ChainKeys, "ASIAPARENT0000000003")
	s.ChainARNs = append(s.ChainARNs, "arn:aws:sts::123456789012:assumed-role/c/w")
	if p, err = appendPayloadID(nil, s, nil); err != nil {
		t.Fatal(err)
	}
	got, ok = parsePayload(p)
	if !ok || len(got.ChainIssued) != 3 || !got.ChainIssued[0].IsZero() || !got.ChainIssued[1].Equal(t0.Add(-time.Hour)) || !got.ChainIssued[2].Equal(t0) {
		t.Fatalf("issue times: %v %+v", ok, got.ChainIssued)
	}
	s.ChainKeys, s.ChainARNs = s.ChainKeys[:2], s.ChainARNs[:2]
	for _, bad := range [][]time.Time{{t0.Add(time.Second), t0}, {t0}, {time.Unix(0, 0), t0}} {
		s.ChainIssued = bad
		if _, err := appendPayloadID(nil, s, nil); err == nil {
			t.Errorf("encoded issue times %v (after the session, mismatched, or at the epoch)", bad)
		}
	}
	s.ChainIssued = nil
	s.ChainARNs = s.ChainARNs[:1]
	if _, err := appendPayloadID(nil, s, nil); err == nil {
		t.Fatal("mismatched chain encoded")
	}
	s.ChainKeys, s.ChainARNs = nil, nil
	p, _ = appendPayloadID(nil, s, nil)
	if got, ok := parsePayload(p); !ok || got.ChainKeys != nil {
		t.Fatalf("no chain: %v %+v", ok, got)
	}
}

func BenchmarkRevoked(b *testing.B) {
	t0 := time.Now()
	var r Revocations
	es := make([]Revocation, 100_000)
	for i := range es {
		es[i] = Revocation{ID: fmt.Sprint(i), Account: "111111111111", Kind: []string{RevokeSession, RevokePrincipal, RevokeRole}[i%3],
			Target: fmt.Sprintf("ASIA%016d", i), RoleID: fmt.Sprintf("AROA%d", i), IssuedBefore: t0, ExpiresAt: t0.Add(time.Hour)}
	}
	r.Replace(es)
	s := &Session{AccessKeyID: "ASIAOTHER", Account: "111111111111", ARN: "arn:aws:sts::111111111111:assumed-role/app/s", RoleID: "AROAAPP",
		IssuedAt: t0.Add(-time.Minute), SourceAccessKeyID: "AKIAX", ChainKeys: []string{"ASIAP"}, ChainARNs: []string{"arn:aws:sts::111111111111:assumed-role/p/q"}}
	b.ReportAllocs()
	for b.Loop() {
		if r.Revoked(s, t0) {
			b.Fatal("revoked")
		}
	}
}

// Snapshot gives back what Replace was given (sorted by ID, times in UTC),
// and the same version on a set rebuilt from it.
func TestRevocationsSnapshot(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 123456789, time.UTC)
	in := []Revocation{
		{ID: "b", Account: "111111111111", Kind: RevokePrincipal, Target: "arn:aws:iam::111111111111:user/Bob", OriginKeys: []string{"AKIA1", "AKIA2"},
			IssuedBefore: t0, ExpiresAt: t0.Add(MaxLifetime)},
		{ID: "a", Account: "111111111111", Kind: RevokeRole, Target: "arn:aws:iam::111111111111:role/p/r", RoleID: "AROAR",
			IssuedBefore: t0.Add(-time.Hour), ExpiresAt: t0.Add(time.Hour)},
		{ID: "c", Account: "222222222222", Kind: RevokeSession, Target: "ASIAX", IssuedBefore: t0, ExpiresAt: t0.Add(time.Minute)},
	}
	var r Revocations
	r.Replace(in)
	v, got := r.Snapshot()
	want := []Revocation{in[1], in[0], in[2]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Snapshot:\n%v\nwant\n%v", got, want)
	}
	var r2 Revocations
	r2.Replace(got)
	if v2, _ := r2.Snapshot(); v2 != v {
		t.Fatalf("version %s after a round trip, want %s", v2, v)
	}
	in[2].ExpiresAt = in[2].ExpiresAt.Add(time.Nanosecond)
	r2.Replace(in)
	if v2, _ := r2.Snapshot(); v2 == v {
		t.Fatal("a changed entry kept the version")
	}
}

// Keys whose hashes collide share a run of postings; each posting's own
// key decides, so a collision never revokes the wrong session.
func TestRevocationsHashCollision(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var r Revocations
	r.Replace([]Revocation{{ID: "1", Account: "111111111111", Kind: RevokeSession, Target: "ASIASTOLEN", IssuedBefore: t0, ExpiresAt: t0.Add(time.Hour)}})
	x := r.idx.Load()
	// Make every key collide: one run holds the entry's posting.
	v, _ := x.keys.Get(x.hash(bySession, "ASIASTOLEN"))
	x.keys.Set(x.hash(bySession, "ASIAOTHER"), v)
	s := &Session{AccessKeyID: "ASIAOTHER", Account: "111111111111", IssuedAt: t0.Add(-time.Minute)}
	if r.Revoked(s, t0) {
		t.Fatal("a colliding key revoked another session")
	}
	s.AccessKeyID = "ASIASTOLEN"
	if !r.Revoked(s, t0) {
		t.Fatal("the session is not revoked")
	}
}

// Snapshot's strings are the caller's: they stay readable after the set
// they came from is replaced and its memory (outside the heap) given back.
func TestRevocationsSnapshotOutlivesTheSet(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var r Revocations
	var entries []Revocation
	for i := range 1000 {
		entries = append(entries, Revocation{ID: fmt.Sprintf("%04d", i), Account: "111111111111", Kind: RevokePrincipal,
			Target: fmt.Sprintf("arn:aws:iam::111111111111:user/u%04d", i), OriginKeys: []string{fmt.Sprintf("AKIA%016d", i)},
			IssuedBefore: t0, ExpiresAt: t0.Add(time.Hour)})
	}
	r.Replace(entries)
	_, snap := r.Snapshot()
	for range 5 {
		r.Replace(nil)
		runtime.GC()
	}
	for i, e := range snap {
		if e.Target != entries[i].Target || e.OriginKeys[0] != entries[i].OriginKeys[0] || e.ID != entries[i].ID {
			t.Fatalf("entry %d after its set was freed: %+v", i, e)
		}
	}
	if r.Len() != 0 || r.Revoked(&Session{ARN: entries[0].Target, IssuedAt: t0.Add(-time.Minute)}, t0) {
		t.Fatal("the emptied set still revokes")
	}
}

// A revocation of what was issued before a time reaches what was chained
// from such a session later: each ancestor is judged by its own issue time
// (as the token carries it), and a chain started from a user's key by its
// first session's.
func TestRevocationsReachLaterChains(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	const a = "111111111111"
	old, later, cut := t0.Add(-10*time.Minute), t0.Add(time.Minute), t0
	exp := t0.Add(MaxLifetime)
	app := "arn:aws:sts::" + a + ":assumed-role/app/s"
	chained := func(issued time.Time, keys, arns []string, times ...time.Time) *Session {
		return &Session{Type: AssumedRole, AccessKeyID: "ASIACHILD", Account: a, ARN: "arn:aws:sts::" + a + ":assumed-role/db/s",
			RoleName: "db", RoleID: "AROAdb", IssuedAt: issued, SourceAccessKeyID: "AKIAALICE", ChainKeys: keys, ChainARNs: arns, ChainIssued: times}
	}
	for _, tc := range []struct {
		name  string
		entry Revocation
		s     *Session
		want  bool
	}{
		{"the role, its old session's later chain", Revocation{Kind: RevokeRole, Target: "arn:aws:iam::" + a + ":role/app", RoleID: "AROAapp"},
			chained(later, []string{"ASIAPARENT"}, []string{app}, old), true},
		{"the role, a chain from its newer session", Revocation{Kind: RevokeRole, Target: "arn:aws:iam::" + a + ":role/app", RoleID: "AROAapp"},
			chained(later.Add(time.Minute), []string{"ASIAPARENT"}, []string{app}, later), false},
		{"the account, its old session's later chain", Revocation{Kind: RevokeAccount, Target: a},
			chained(later, []string{"ASIAPARENT"}, []string{app}, old), true},
		{"the account, a chain from its newer session", Revocation{Kind: RevokeAccount, Target: a},
			chained(later.Add(time.Minute), []string{"ASIAPARENT"}, []string{app}, later), false},
		{"the principal, its old session's later chain", Revocation{Kind: RevokePrincipal, Target: app},
			chained(later, []string{"ASIAPARENT"}, []string{app}, old), true},
		{"the user, a chain its key started before", Revocation{Kind: RevokePrincipal, Target: "arn:aws:iam::" + a + ":user/alice", OriginKeys: []string{"AKIAALICE"}},
			chained(later, []string{"AKIAALICE", "ASIAPARENT"}, []string{"arn:aws:iam::" + a + ":user/alice", app}, time.Time{}, old), true},
		{"the user, a chain its key started after", Revocation{Kind: RevokePrincipal, Target: "arn:aws:iam::" + a + ":user/alice", OriginKeys: []string{"AKIAALICE"}},
			chained(later.Add(time.Minute), []string{"AKIAALICE", "ASIAPARENT"}, []string{"arn:aws:iam::" + a + ":user/alice", app}, time.Time{}, later), false},
		// A token of an earlier version carries no times: its ancestors
		// are judged by its own (later) issue time, as before.
		{"a token without times", Revocation{Kind: RevokeRole, Target: "arn:aws:iam::" + a + ":role/app", RoleID: "AROAapp"},
			chained(later, []string{"ASIAPARENT"}, []string{app}), false},
	} {
		e := tc.entry
		e.ID, e.Account, e.IssuedBefore, e.ExpiresAt = "1", a, cut, exp
		var r Revocations
		r.Replace([]Revocation{e})
		if got := r.Revoked(tc.s, later.Add(2*time.Minute)); got != tc.want {
			t.Errorf("%s: revoked %v, want %v", tc.name, got, tc.want)
		}
	}
}
