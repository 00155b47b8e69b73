package policy

import "testing"

var ldapUser = Principal{Type: LDAPUser, Federated: "arn:aws:iam::111122223333:ldap-provider/corp"}

func rcpAllowAll() string {
	return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`
}

func rcpDeny(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":{"Sid":"R","Effect":"Deny","Principal":"*","Action":"` + action + `","Resource":"` + resource + `"}}`
}

// TestResourceControlPolicies: RCPs of the resource's account bound every
// request to it, whatever the identity and resource policies allow; an
// explicit deny at any level denies, and each level needs an Allow.
func TestResourceControlPolicies(t *testing.T) {
	t.Parallel()
	const obj = "arn:aws:s3:::b/k"
	full := func(t *testing.T) []Named { return named(t, RCP, rcpAllowAll()) }
	slr := Principal{Type: AssumedRole, Account: acctA, ARN: "arn:aws:sts::111122223333:assumed-role/AWSServiceRoleForX/s",
		ID: "AROASLR0000000000:s", RoleARN: "arn:aws:iam::111122223333:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX", RoleID: "AROASLR0000000000"}
	// CreateRole accepts the path /x:role/aws-service-role/ (':' is a path
	// character): the role's ARN contains ":role/aws-service-role/", and
	// its sessions were taken for a service-linked role's, which RCPs do
	// not restrict.
	fakeSLR := Principal{Type: AssumedRole, Account: acctA, ARN: "arn:aws:sts::111122223333:assumed-role/fake/s",
		ID: "AROAFAKE000000000:s", RoleARN: "arn:aws:iam::111122223333:role/x:role/aws-service-role/fake", RoleID: "AROAFAKE000000000"}
	tests := []struct {
		name     string
		pr       Principal
		action   string
		resource string
		set      func(t *testing.T) *Set
		want     Effect
		deniedBy Kind
	}{
		{"deny in an OU's RCP beats identity and bucket policy", alice, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), Resource: named(t, Resource, resDoc(`"*"`, "s3:GetObject", obj)),
				RCP: [][]Named{full(t), append(full(t), named(t, RCP, rcpDeny("s3:GetObject", "*"))...), full(t)}}
		}, ExplicitDeny, RCP},
		{"full access at every level allows", alice, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), RCP: [][]Named{full(t), full(t), full(t)}}
		}, Allow, 0},
		{"a level without an Allow denies", alice, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), RCP: [][]Named{full(t), {}, full(t)}}
		}, ImplicitDeny, RCP},
		{"a level allowing other actions only denies", alice, "s3:GetObject", obj, func(t *testing.T) *Set {
			only := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:PutObject","Resource":"*"}}`
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), RCP: [][]Named{full(t), named(t, RCP, only)}}
		}, ImplicitDeny, RCP},
		{"no RCPs (nil): not applied", alice, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*"))}
		}, Allow, 0},
		{"RCPs grant nothing", alice, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{RCP: [][]Named{full(t)}}
		}, ImplicitDeny, Identity},
		{"cross-account request: the bucket policy allows, the owner's RCP denies", bobB, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), Resource: named(t, Resource, resDoc(`{"AWS":"`+acctB+`"}`, "s3:GetObject", obj)),
				ResourceAccount: acctA, RCP: [][]Named{append(full(t), named(t, RCP, rcpDeny("s3:*", "*"))...)}}
		}, ExplicitDeny, RCP},
		{"cross-account request allowed when the RCPs allow", bobB, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), Resource: named(t, Resource, resDoc(`{"AWS":"`+acctB+`"}`, "s3:GetObject", obj)),
				ResourceAccount: acctA, RCP: [][]Named{full(t), full(t)}}
		}, Allow, 0},
		{"the account root is bound too", root, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{RCP: [][]Named{append(full(t), named(t, RCP, rcpDeny("s3:GetObject", "*"))...)}}
		}, ExplicitDeny, RCP},
		{"anonymous access through a bucket policy is bound", Principal{Type: Anonymous}, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Resource, resDoc(`"*"`, "s3:GetObject", obj)), RCP: [][]Named{append(full(t), named(t, RCP, rcpDeny("s3:*", "*"))...)}}
		}, ExplicitDeny, RCP},
		{"a service-linked role is not restricted", slr, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), RCP: [][]Named{named(t, RCP, rcpDeny("*", "*"))}}
		}, Allow, 0},
		{"a role whose path holds :role/aws-service-role/ is restricted (attack)", fakeSLR, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), RCP: [][]Named{named(t, RCP, rcpAllowAll(), rcpDeny("*", "*"))}}
		}, ExplicitDeny, RCP},
		{"a service RCPs do not cover is not restricted", alice, "iam:GetUser", "*", func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("iam:*", "*")), RCP: [][]Named{named(t, RCP, rcpDeny("*", "*")), {}}}
		}, Allow, 0},
		{"sts:AssumeRole is covered", sess, "sts:AssumeRole", "arn:aws:iam::111122223333:role/Target", func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("sts:*", "*")), RCP: [][]Named{named(t, RCP, rcpAllowAll(), rcpDeny("sts:AssumeRole", "*"))}}
		}, ExplicitDeny, RCP},
		{"sts:AssumeRoleWithLDAPIdentity is covered as the other federations are", ldapUser, "sts:AssumeRoleWithLDAPIdentity", "arn:aws:iam::111122223333:role/Target", func(t *testing.T) *Set {
			trust := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"` + ldapUser.Federated + `"},"Action":"sts:AssumeRoleWithLDAPIdentity"}}`
			return &Set{Resource: named(t, Trust, trust), ResourceAccount: acctA, RCP: [][]Named{named(t, RCP, rcpAllowAll(), rcpDeny("sts:AssumeRole*", "*"))}}
		}, ExplicitDeny, RCP},
		{"other STS actions are not", sess, "sts:DecodeAuthorizationMessage", "*", func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("sts:*", "*")), RCP: [][]Named{named(t, RCP, rcpDeny("sts:*", "*"))}}
		}, Allow, 0},
		{"a deny scoped to another resource does not apply", alice, "s3:GetObject", obj, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), RCP: [][]Named{append(full(t), named(t, RCP, rcpDeny("s3:*", "arn:aws:s3:::other/*"))...)}}
		}, Allow, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set := tt.set(t)
			req := &Request{Principal: tt.pr, Action: tt.action, Resource: tt.resource}
			for _, linear := range []bool{false, true} {
				var d Decision
				if linear {
					set.evaluateLinear(req, &d)
				} else {
					set.EvaluateInto(req, &d)
				}
				if d.Effect != tt.want || d.DeniedBy != tt.deniedBy {
					t.Fatalf("linear=%v: effect %v denied by %v, want %v by %v (matched %+v)", linear, d.Effect, d.DeniedBy, tt.want, tt.deniedBy, d.Matched)
				}
			}
		})
	}
}

func TestRCPVerdictAndExplanation(t *testing.T) {
	t.Parallel()
	set := &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), RCP: [][]Named{named(t, RCP, rcpAllowAll(), rcpDeny("s3:GetObject", "*"))}}
	d := Evaluate(set, &Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"})
	if e, ok := d.Verdicts.Of(RCP); !ok || e != ExplicitDeny {
		t.Fatalf("RCP verdict %v %v", e, ok)
	}
	if got, want := d.Explain("s3:GetObject"), "with an explicit deny in a resource control policy"; got != want {
		t.Fatalf("Explain = %q, want %q", got, want)
	}
	var sawRCP bool
	for k := range set.All() {
		sawRCP = sawRCP || k == RCP
	}
	if !sawRCP {
		t.Fatal("Set.All does not yield the RCPs")
	}
	if k, ok := ParseKind("rcp"); !ok || k != RCP {
		t.Fatalf("ParseKind(rcp) = %v %v", k, ok)
	}
}

func TestRCPValidation(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}}`,
		`{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":"*","Action":"s3:*","Resource":"*"}}`,
	} {
		if _, err := Parse(RCP, doc); err == nil {
			t.Errorf("Parse(RCP, %s) accepted", doc)
		}
	}
	if _, err := Parse(RCP, rcpDeny("s3:*", "*")); err != nil {
		t.Fatalf("Parse(RCP) of a valid RCP: %v", err)
	}
}

// TestIsServiceLinkedRole: a service-linked role is told by its ARN's
// resource, never by a substring a role's path can hold.
func TestIsServiceLinkedRole(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		arn  string
		want bool
	}{
		{"arn:aws:iam::111122223333:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX", true},
		{"arn:aws-us-gov:iam::111122223333:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX", true},
		{"arn:aws:iam::111122223333:role/x:role/aws-service-role/fake", false},
		{"arn:aws:iam::111122223333:role/a/b:role/aws-service-role/c/fake", false},
		{"arn:aws:iam::111122223333:role/aws-service-role", false},
		{"arn:aws:iam::111122223333:role/deploy", false},
		{"arn:aws:sts::111122223333:role/aws-service-role/x/y", false},
		{"xarn:aws:iam::111122223333:role/aws-service-role/x/y", false},
		{"arn:aws:iam::111122223333", false},
		{"", false},
	} {
		if got := isServiceLinkedRole(c.arn); got != c.want {
			t.Errorf("isServiceLinkedRole(%q) = %v, want %v", c.arn, got, c.want)
		}
	}
}
