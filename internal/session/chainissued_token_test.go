package session

import (
	"testing"
	"time"
)

// A chain started from user alice's key in account A (first session S1, a
// role in account B, issued before the cut), chained once more after the
// cut (S2, a role in account B). Account A is revoked with IssuedBefore=cut.
// S2 is revoked in memory (ChainIssued[0] zero) and after a trip through the
// token, where ChainIssued[0] came back as S2's own issue time and S2
// escaped (found by a review of the fix as an attacker).
func TestLongTermKeyTimeSurvivesTheToken(t *testing.T) {
	const a, b = "111111111111", "222222222222"
	cut := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	t1, t2 := cut.Add(-10*time.Minute), cut.Add(time.Minute)
	s1 := &Session{Type: AssumedRole, AccessKeyID: "ASIAS1", Account: b, ARN: "arn:aws:sts::" + b + ":assumed-role/r1/s", RoleID: "AROAR1",
		IssuedAt: t1, SourceAccessKeyID: "AKIAALICE", ChainKeys: []string{"AKIAALICE"}, ChainARNs: []string{"arn:aws:iam::" + a + ":user/alice"}}
	s2 := &Session{Type: AssumedRole, AccessKeyID: "ASIAS2", Account: b, ARN: "arn:aws:sts::" + b + ":assumed-role/r2/s", RoleID: "AROAR2",
		IssuedAt: t2, Expires: t2.Add(time.Hour), SourceAccessKeyID: "AKIAALICE",
		ChainKeys: append(s1.ChainKeys, s1.AccessKeyID), ChainARNs: append(s1.ChainARNs, s1.ARN), ChainIssued: ChainIssuedAfter(s1)}
	var r Revocations
	r.Replace([]Revocation{{ID: "1", Account: a, Kind: RevokeAccount, Target: a, IssuedBefore: cut, ExpiresAt: cut.Add(MaxLifetime)}})
	now := t2.Add(time.Minute)
	if !r.Revoked(s1, now) {
		t.Fatal("s1 not revoked")
	}
	if !r.Revoked(s2, now) {
		t.Fatal("s2 not revoked in memory")
	}
	p, err := appendPayloadID(nil, s2, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := parsePayload(p)
	if !ok {
		t.Fatal("parse")
	}
	if !r.Revoked(got, now) {
		t.Error("after the token round trip, S2 (chained after the cut from a chain alice's key started before it) escapes account A's revocation")
	}
}
