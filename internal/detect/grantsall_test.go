package detect

import "testing"

// TestGrantsAllSpellings checks the documents that grant everything in IAM
// however they spell it — each of the evasions below passed the statement
// reading GrantsAll replaced — and the ones that do not.
func TestGrantsAllSpellings(t *testing.T) {
	const acct = "111122223333"
	doc := func(stmt string) string { return `{"Version":"2012-10-17","Statement":[` + stmt + `]}` }
	for _, c := range []struct {
		name string
		doc  string
		want bool
	}{
		{"star", doc(`{"Effect":"Allow","Action":"*","Resource":"*"}`), true},
		{"iam star", doc(`{"Effect":"Allow","Action":"iam:*","Resource":"*"}`), true},
		{"iam double star", doc(`{"Effect":"Allow","Action":"iam:**","Resource":"*"}`), true},
		{"iam wildcards", doc(`{"Effect":"Allow","Action":["iam:*Policy*","iam:*Key","iam:*Role"],"Resource":"*"}`), true},
		{"NotAction of something else", doc(`{"Effect":"Allow","NotAction":"s3:GetObject","Resource":"*"}`), true},
		{"NotResource of something else", doc(`{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::bucket"}`), true},
		{"the account's users, roles and policies", doc(`{"Effect":"Allow","Action":"iam:*","Resource":["arn:aws:iam::` + acct + `:user/*","arn:aws:iam::` + acct + `:role/*","arn:aws:iam::` + acct + `:policy/*"]}`), true},
		// Refused by the engine as by AWS: not policies anyone can attach.
		{"double star", doc(`{"Effect":"Allow","Action":"**","Resource":"*"}`), false},
		{"a vendor with a wildcard", doc(`{"Effect":"Allow","Action":"i?m:*","Resource":"*"}`), false},
		{"every ARN", doc(`{"Effect":"Allow","Action":"*","Resource":"arn:*"}`), false},
		{"split over wildcards", doc(`{"Effect":"Allow","Action":"iam:Put*","Resource":"*"},{"Effect":"Allow","Action":["iam:A*","iam:C*","iam:U*","iam:Pa*"],"Resource":"*"}`), true},
		{"narrow", doc(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}`), false},
		{"another account's IAM", doc(`{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::999999999999:*"}`), false},
		{"conditional on MFA", doc(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}`), false},
		{"denied again", doc(`{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"iam:*","Resource":"*"}`), false},
		{"NotAction covering IAM", doc(`{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}`), false},
		{"lower-case effect (refused by the engine)", doc(`{"effect":"Allow","Action":"*","Resource":"*"}`), false},
		{"not a policy", `{"Statement":`, false},
	} {
		if got := GrantsAll(c.doc, acct); got != c.want {
			t.Errorf("%s: GrantsAll = %v, want %v", c.name, got, c.want)
		}
	}
}
