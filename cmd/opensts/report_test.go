package main

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReviewTrust(t *testing.T) {
	t.Parallel()
	const acct = "111111111111"
	tests := []struct {
		name      string
		doc       string
		findings  []string // severity + statement, in order
		inventory []string // principal + external id
	}{
		{"own account", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}`, nil, nil},
		{"everyone", `{"Version":"2012-10-17","Statement":[{"Sid":"Open","Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}`,
			[]string{"HIGH Open"}, nil},
		{"everyone in the org", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}]}`,
			nil, nil},
		{"everyone, a wildcard condition", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"*"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"denied everyone", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}]}`, nil, nil},
		{"foreign account", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["222222222222","arn:aws:iam::333333333333:role/ci"]},"Action":"sts:AssumeRole"}]}`,
			[]string{"HIGH #1"}, []string{"222222222222 false", "arn:aws:iam::333333333333:role/ci false"}},
		{"foreign account with external id", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x-7781"}}}}`,
			nil, []string{"arn:aws:iam::222222222222:root true"}},
		{"github without sub", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"github with a wildcard sub and no aud", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"*"}}}]}`,
			[]string{"HIGH #1", "MEDIUM #1"}, nil},
		{"github, any repository", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"github, an organization", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/*"}}}]}`,
			nil, nil},
		{"github, one owner by claim", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:repository_owner":"acme"}}}]}`,
			nil, nil},
		{"github, a custom subject of an environment", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"environment:prod"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"everyone in accounts that begin with 9", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalAccount":"9*"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"github pinned", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com","token.actions.githubusercontent.com:sub":"repo:org/app:ref:refs/heads/main"}}}]}`,
			nil, nil},
		{"saml, audience only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:saml-provider/corp"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}]}`,
			[]string{"MEDIUM #1"}, nil},
		{"ldap with a group", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:ldap-provider/corp"},"Action":"sts:AssumeRoleWithLDAPIdentity","Condition":{"ForAnyValue:StringEquals":{"ldap:groups":"cn=ops,dc=corp"}}}]}`,
			nil, nil},
		{"ldap open", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:ldap-provider/corp"},"Action":"sts:AssumeRoleWithLDAPIdentity"}]}`,
			[]string{"MEDIUM #1"}, nil},
		{"unreadable", `{"Statement":7}`, []string{"MEDIUM -"}, nil},
		// A condition that only excludes narrows nothing among a
		// provider's users.
		{"saml, every user but one", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:saml-provider/corp"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringNotEquals":{"SAML:sub":"intern"}}}]}`,
			[]string{"MEDIUM #1"}, nil},
		{"saml, the issuer", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:saml-provider/corp"},"Action":"sts:AssumeRoleWithSAML","Condition":{"StringEquals":{"SAML:iss":"https://idp.example/"}}}]}`,
			[]string{"MEDIUM #1"}, nil},
		{"saml, a group", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:saml-provider/corp"},"Action":"sts:AssumeRoleWithSAML","Condition":{"ForAnyValue:StringEquals":{"SAML:groups":"admins"}}}]}`,
			nil, nil},
		{"ldap, every user but one", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:ldap-provider/corp"},"Action":"sts:AssumeRoleWithLDAPIdentity","Condition":{"StringNotEquals":{"ldap:username":"intern"}}}]}`,
			[]string{"MEDIUM #1"}, nil},
		{"ldap, a group", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:ldap-provider/corp"},"Action":"sts:AssumeRoleWithLDAPIdentity","Condition":{"ForAnyValue:StringEquals":{"ldap:groups":"cn=ops,dc=example"}}}]}`,
			nil, nil},
		// Spellings that let a stranger in while looking narrowed, and
		// narrowings that look open: the engine is asked, not the text.
		{"everyone, an IfExists org condition", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEqualsIfExists":{"aws:PrincipalOrgID":"o-abc123"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"everyone, a partial wildcard on the principal ARN", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"everyone, an external id any value meets", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"sts:ExternalId":"?*"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"everyone, a condition the caller meets", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"},"StringEquals":{"sts:RoleSessionName":"ops"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"everyone, any organization", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"Null":{"aws:PrincipalOrgID":"false"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"everyone, by web identity", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity"}]}`,
			[]string{"HIGH #1"}, nil},
		{"everyone, the own account by condition", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":"111111111111"}}}]}`,
			nil, nil},
		{"everyone, tagging only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:TagSession"}]}`,
			nil, nil},
		{"foreign account, a negated narrowing", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sts:AssumeRole","Condition":{"StringNotEquals":{"aws:PrincipalArn":"arn:aws:iam::222222222222:role/intern"}}}]}`,
			[]string{"HIGH #1"}, []string{"222222222222 false"}},
		{"foreign account narrowed to a role", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::222222222222:role/deployer"}}}]}`,
			nil, []string{"arn:aws:iam::222222222222:root false"}},
		// Evasions confirmed against a running server (a stranger's user
		// or role session assumed each role; the report said nothing).
		{"everyone, no external id", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"Null":{"sts:ExternalId":"true"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"everyone, all but the probe's accounts", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringNotEquals":{"aws:PrincipalAccount":["999999999999","987654321098","135792468013","246813579024"]}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"everyone, a role name", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/deploy"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"everyone, a session name", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:userid":"*:admin"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"github, any repository's environment", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*:environment:prod"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"github by \"*\", any repository", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*"}}}]}`,
			[]string{"HIGH #1"}, nil},
		{"everyone, a foreign account by condition", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":"222222222222"}}}]}`,
			[]string{"HIGH #1"}, []string{"* false"}},
		{"everyone, a foreign account's principals by ARN", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::222222222222:*"}}}]}`,
			[]string{"HIGH #1"}, []string{"* false"}},
		{"everyone, a foreign role by ARN", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::222222222222:role/ci"}}}]}`,
			nil, []string{"* false"}},
		{"everyone, a foreign account with an external id", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":"222222222222","sts:ExternalId":"c0ffee"}}}]}`,
			nil, []string{"* true"}},
		{"foreign account, an external id any value meets", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"sts:ExternalId":"*"}}}]}`,
			[]string{"HIGH #1"}, []string{"222222222222 false"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fs, inv := reviewTrust(trustRole{Name: "r", ARN: "arn:aws:iam::" + acct + ":role/r", Account: acct, Document: tc.doc})
			var got, gotInv []string
			for _, f := range fs {
				got = append(got, f.Severity+" "+f.Statement)
				if f.Fix == "" || f.Role != "r" {
					t.Errorf("finding without a fix or role: %+v", f)
				}
			}
			for _, i := range inv {
				gotInv = append(gotInv, i.Principal+" "+map[bool]string{true: "true", false: "false"}[i.ExternalID])
			}
			if d := cmp.Diff(tc.findings, got); d != "" {
				t.Errorf("findings (-want +got):\n%s\n%+v", d, fs)
			}
			if d := cmp.Diff(tc.inventory, gotInv); d != "" {
				t.Errorf("inventory (-want +got):\n%s", d)
			}
		})
	}
}

func TestUnusedFindings(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	ago := func(days int) *time.Time { t := now.Add(-time.Duration(days) * 24 * time.Hour); return &t }
	d := unusedData{
		Roles: []reportRole{
			{Name: "busy", ARN: "arn:r/busy", Created: *ago(400), LastUsed: ago(3)},
			{Name: "idle", ARN: "arn:r/idle", Created: *ago(400)},
			{Name: "stale", ARN: "arn:r/stale", Created: *ago(400), LastUsed: ago(120)},
			{Name: "new", ARN: "arn:r/new", Created: *ago(10)},
		},
		Users: []reportUser{
			{Name: "alice", ARN: "arn:u/alice", Created: *ago(400), Keys: []reportKey{
				{ID: "AKIAUSED", Active: true, Created: *ago(300), LastUsed: ago(1)},
				{ID: "AKIAIDLE", Active: true, Created: *ago(300)},
				{ID: "AKIAOFF", Active: false, Created: *ago(300)},
			}},
			// No key used, but a call (a session of the user) is recent.
			{Name: "bob", ARN: "arn:u/bob", Created: *ago(400)},
			{Name: "carol", ARN: "arn:u/carol", Created: *ago(400), Keys: []reportKey{{ID: "AKIACAROL", Active: true, Created: *ago(400), LastUsed: ago(200)}}},
		},
		Services: map[string][]reportService{
			"arn:r/busy":  {{Namespace: "iam", Last: ago(3)}, {Namespace: "organizations"}},
			"arn:u/bob":   {{Namespace: "sts", Last: ago(5)}},
			"arn:u/alice": {{Namespace: "iam", Last: ago(1)}, {Namespace: "sts", Last: ago(95)}},
		},
	}
	var got []string
	for _, f := range unusedFindings(d, now, 90) {
		got = append(got, f.Kind+" "+f.Name)
	}
	want := []string{
		"role idle", "role stale",
		"user carol",
		"access-key AKIACAROL", "access-key AKIAIDLE",
		"permission alice sts", "permission busy organizations",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("findings (-want +got):\n%s", diff)
	}
	// --days 0: everything used before now is unused, what is created now is not.
	if n := len(unusedFindings(d, now, 0)); n <= len(want) {
		t.Fatalf("--days 0 found %d, want more than %d", n, len(want))
	}
}

func TestTrustReportUnassumed(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	old := now.Add(-200 * 24 * time.Hour)
	recent := now.Add(-time.Hour)
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}`
	fs, _ := trustReport([]reportRole{
		{Name: "old", ARN: "arn:aws:iam::111111111111:role/old", Account: "111111111111", Created: old, Trust: doc},
		{Name: "used", ARN: "arn:aws:iam::111111111111:role/used", Account: "111111111111", Created: old, LastUsed: &recent, Trust: doc},
	}, now, 90)
	if len(fs) != 1 || fs[0].Role != "old" || fs[0].Severity != "LOW" {
		t.Fatalf("findings: %+v", fs)
	}
}

func TestReviewPermissions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"admin", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`, []string{"p #1"}},
		{"admin as *:*", `{"Version":"2012-10-17","Statement":{"Sid":"All","Effect":"Allow","Action":["s3:GetObject","*:*"],"Resource":["*"]}}`, []string{"p All"}},
		{"one service", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`, nil},
		{"one resource", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/*"}]}`, nil},
		{"deny", `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`, nil},
		{"everything but one action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:DeleteAccountPasswordPolicy","Resource":"*"}]}`, []string{"p #1"}},
		{"everything but one bucket", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::audit/*"}]}`, []string{"p #1"}},
		{"every action, wildcards", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*:?*"],"Resource":["*"]}]}`, []string{"p #1"}},
		{"under a condition", `{"Version":"2012-10-17","Statement":[{"Sid":"MFA","Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`, []string{"p MFA"}},
		{"many services", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:*","s3:*","ec2:*","kms:*","sts:*","organizations:*"],"Resource":"*"}]}`, nil},
		{"everything but IAM", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`, nil},
		// Evasions confirmed against a running server (the simulator
		// allowed every action; the report said nothing): NotAction and
		// NotResource naming what the probe asked about.
		{"everything but the probe's action", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"kms:Decrypt","Resource":"*"}]}`, []string{"p #1"}},
		{"everything but the probe's bucket", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::opensts-probe/object"}]}`, []string{"p #1"}},
		{"everything but the probe's service", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"opensts-probe:Probe","Resource":"*"}]}`, []string{"p #1"}},
		{"everything but S3", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","NotResource":"arn:aws:s3:::*"}]}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, f := range reviewPermissions("r", "arn:aws:iam::111111111111:role/r", namedDoc{Name: "p", Document: tc.doc}) {
				got = append(got, f.Statement)
				if f.Severity != "HIGH" || f.Fix == "" {
					t.Errorf("finding %+v", f)
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestReviewPermissionsTogether: statements (of one policy or several)
// that allow everything together, though none does alone, are found.
func TestReviewPermissionsTogether(t *testing.T) {
	t.Parallel()
	const arn = "arn:aws:iam::111111111111:role/r"
	notIAM := namedDoc{Name: "a", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}`}
	iam := namedDoc{Name: "b", Document: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:*","Resource":"*"}}`}
	both := namedDoc{Name: "c", Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"},{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`}
	denyIAM := namedDoc{Name: "d", Document: `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iam:*","Resource":"*"}}`}
	for _, tc := range []struct {
		name     string
		policies []namedDoc
		want     bool
	}{
		{"two policies", []namedDoc{notIAM, iam}, true},
		{"one policy", []namedDoc{both}, true},
		{"one of them", []namedDoc{notIAM}, false},
		{"a deny is not a grant", []namedDoc{notIAM, denyIAM}, false},
	} {
		if got := len(reviewPermissionsTogether("r", arn, tc.policies)) == 1; got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
	roles := []reportRole{{Name: "r", ARN: arn, Account: "111111111111", Trust: `{"Version":"2012-10-17","Statement":[]}`, Policies: []namedDoc{notIAM, iam}}}
	fs, _ := trustReport(roles, time.Now(), 90)
	n := 0
	for _, f := range fs {
		if strings.Contains(f.Finding, "together allow every action") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("trust report: %d findings of policies together: %+v", n, fs)
	}
}
