package server

import (
	"strings"
	"testing"
)

// TestKeyRecordAccountNotAliased: a key's entry takes the account of its
// tier record as decodeRecord interns it (no unique.Make of its own since
// 45a1eb6). The account must be a copy, not the record's bytes (the tier
// reuses its read buffers: an entry's account would turn into another
// key's), and two records of different accounts, or of accounts past the
// interner's bound, must never share one.
func TestKeyRecordAccountNotAliased(t *testing.T) {
	var got []string
	for i, acct := range []string{"111111111111", "222222222222", strings.Repeat("9", 300), strings.Repeat("9", 299) + "8", "111111111111"} {
		row := keyRow{expires: 1, account: acct, id: "AKIATEST" + string(rune('A'+i)), userID: "AIDA", active: true}
		b := row.encode(nil, "", nil)
		r, ok := decodeRecord(b)
		if !ok || r.row.account != acct {
			t.Fatalf("record %d: decoded account %q, ok %v", i, r.row.account, ok)
		}
		for j := range b { // the buffer reused for another record
			b[j] = '7'
		}
		if r.row.account != acct {
			t.Fatalf("record %d: account %q changed with the record's buffer to %q", i, acct, r.row.account)
		}
		got = append(got, r.row.account)
	}
	for i, a := range got {
		if a != []string{"111111111111", "222222222222", strings.Repeat("9", 300), strings.Repeat("9", 299) + "8", "111111111111"}[i] {
			t.Fatalf("account %d is %q after later records", i, a)
		}
	}
}
