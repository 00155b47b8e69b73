package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	acctA = "111122223333"
	acctB = "444455556666"
)

var (
	alice = Principal{Type: User, Account: acctA, ARN: "arn:aws:iam::111122223333:user/alice", ID: "AIDAALICE0000000000"}
	sess  = Principal{Type: AssumedRole, Account: acctA, ARN: "arn:aws:sts::111122223333:assumed-role/Dev/s1",
		ID: "AROADEV00000000000:s1", RoleARN: "arn:aws:iam::111122223333:role/Dev", RoleID: "AROADEV00000000000"}
	fedUser = Principal{Type: FederatedUser, Account: acctA, ARN: "arn:aws:sts::111122223333:federated-user/bob", ID: "111122223333:bob"}
	root    = Principal{Type: Root, Account: acctA, ARN: "arn:aws:iam::111122223333:root", ID: acctA}
	bobB    = Principal{Type: User, Account: acctB, ARN: "arn:aws:iam::444455556666:user/bob", ID: "AIDABOB00000000000"}
	ec2Svc  = Principal{Type: Service, Service: "ec2.amazonaws.com"}
	oidc    = Principal{Type: WebIdentity, Federated: "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}
)

func allowDoc(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"` + action + `","Resource":"` + resource + `"}}`
}

func denyDoc(action, resource string) string {
	return `{"Version":"2012-10-17","Statement":{"Sid":"D","Effect":"Deny","Action":"` + action + `","Resource":"` + resource + `"}}`
}

func trustDoc(principal string) string {
	return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":` + principal + `,"Action":["sts:AssumeRole","sts:AssumeRoleWithWebIdentity"]}}`
}

func resDoc(principal, action, resource string) string {
	return `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":` + principal + `,"Action":"` + action + `","Resource":"` + resource + `"}}`
}

func named(t *testing.T, kind Kind, docs ...string) []Named {
	t.Helper()
	var out []Named
	for i, d := range docs {
		out = append(out, Named{ID: kind.String() + string(rune('0'+i)), Policy: mustParse(t, kind, d)})
	}
	return out
}

func TestEvaluationRules(t *testing.T) {
	t.Parallel()
	const role = "arn:aws:iam::111122223333:role/Target"
	const bucket = "arn:aws:s3:::b/k"
	tests := []struct {
		name     string
		pr       Principal
		action   string
		resource string
		set      func(t *testing.T) *Set
		want     Effect
		deniedBy Kind
	}{
		{"default implicit deny", alice, "s3:GetObject", bucket, func(t *testing.T) *Set { return &Set{} }, ImplicitDeny, Identity},
		{"identity allow", alice, "s3:GetObject", bucket, func(t *testing.T) *Set { return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*"))} }, Allow, 0},
		{"explicit deny wins over allow", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*"), denyDoc("s3:Get*", "*"))}
		}, ExplicitDeny, Identity},
		{"boundary narrows", alice, "s3:PutObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), Boundary: named(t, Boundary, allowDoc("s3:Get*", "*"))}
		}, ImplicitDeny, Boundary},
		{"boundary allows intersection", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), Boundary: named(t, Boundary, allowDoc("s3:Get*", "*"))}
		}, Allow, 0},
		{"boundary alone grants nothing", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Boundary: named(t, Boundary, allowDoc("*", "*"))}
		}, ImplicitDeny, Identity},
		{"session policy narrows", sess, "s3:PutObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), Session: named(t, Session, allowDoc("s3:GetObject", "*"))}
		}, ImplicitDeny, Session},
		{"session policy cannot widen", sess, "ec2:RunInstances", "*", func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), Session: named(t, Session, allowDoc("*", "*"))}
		}, ImplicitDeny, Identity},
		{"federated user without session policy", fedUser, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), SessionRequired: true}
		}, ImplicitDeny, Session},
		{"federated user with session policy", fedUser, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), Session: named(t, Session, allowDoc("s3:*", "*")), SessionRequired: true}
		}, Allow, 0},
		{"SCP every level must allow", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("*", "*")), SCP: [][]Named{named(t, SCP, allowDoc("*", "*")), named(t, SCP, allowDoc("ec2:*", "*"))}}
		}, ImplicitDeny, SCP},
		{"SCP all levels allow", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("*", "*")), SCP: [][]Named{named(t, SCP, allowDoc("*", "*")), named(t, SCP, allowDoc("s3:*", "*"))}}
		}, Allow, 0},
		{"SCP explicit deny", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("*", "*")), SCP: [][]Named{named(t, SCP, allowDoc("*", "*"), denyDoc("s3:*", "*"))}}
		}, ExplicitDeny, SCP},
		{"SCP does not grant", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{SCP: [][]Named{named(t, SCP, allowDoc("*", "*"))}}
		}, ImplicitDeny, Identity},
		{"root allowed in own account", root, "iam:DeleteUser", "*", func(t *testing.T) *Set { return &Set{} }, Allow, 0},
		{"root limited by SCP", root, "iam:DeleteUser", "*", func(t *testing.T) *Set {
			return &Set{SCP: [][]Named{named(t, SCP, allowDoc("s3:*", "*"))}}
		}, ImplicitDeny, SCP},
		// Resource-based policies, same account (rule 5).
		{"resource policy naming user allows alone", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Resource, resDoc(`{"AWS":"arn:aws:iam::111122223333:user/alice"}`, "s3:GetObject", "arn:aws:s3:::b/*")),
				Boundary: named(t, Boundary, allowDoc("ec2:*", "*"))}
		}, Allow, 0},
		{"resource policy naming session allows alone", sess, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Resource, resDoc(`{"AWS":"arn:aws:sts::111122223333:assumed-role/Dev/s1"}`, "s3:GetObject", "*")),
				Session: named(t, Session, allowDoc("ec2:*", "*"))}
		}, Allow, 0},
		{"resource policy naming role limited by session policy", sess, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Resource, resDoc(`{"AWS":"arn:aws:iam::111122223333:role/Dev"}`, "s3:GetObject", "*")),
				Session: named(t, Session, allowDoc("ec2:*", "*"))}
		}, ImplicitDeny, Identity},
		{"resource policy naming role without identity policy", sess, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Resource, resDoc(`{"AWS":"arn:aws:iam::111122223333:role/Dev"}`, "s3:GetObject", "*"))}
		}, Allow, 0},
		{"resource policy naming account delegates to identity", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Resource, resDoc(`{"AWS":"111122223333"}`, "s3:GetObject", "*"))}
		}, ImplicitDeny, Identity},
		{"resource policy explicit deny", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")),
				Resource: named(t, Resource, `{"Statement":{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}`)}
		}, ExplicitDeny, Resource},
		{"service principal", ec2Svc, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Resource, resDoc(`{"Service":"ec2.amazonaws.com"}`, "s3:GetObject", "*"))}
		}, Allow, 0},
		{"NotPrincipal deny exempts fully listed user", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")),
				Resource: named(t, Resource, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:root"]},"Action":"s3:*","Resource":"*"}}`)}
		}, Allow, 0},
		{"NotPrincipal deny without account ARN denies", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")),
				Resource: named(t, Resource, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"s3:*","Resource":"*"}}`)}
		}, ExplicitDeny, Resource},
		{"NotPrincipal deny session needs role and session", sess, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")),
				Resource: named(t, Resource, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:sts::111122223333:assumed-role/Dev/s1","111122223333"]},"Action":"s3:*","Resource":"*"}}`)}
		}, ExplicitDeny, Resource},
		{"NotPrincipal deny other principal", bobB, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), ResourceAccount: acctA,
				Resource: named(t, Resource, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"},{"Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/alice","111122223333"]},"Action":"s3:*","Resource":"*"}]}`)}
		}, ExplicitDeny, Resource},
		// Cross-account: both sides.
		{"cross-account both allow", bobB, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), ResourceAccount: acctA,
				Resource: named(t, Resource, resDoc(`{"AWS":"444455556666"}`, "s3:GetObject", "*"))}
		}, Allow, 0},
		{"cross-account resource only", bobB, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{ResourceAccount: acctA, Resource: named(t, Resource, resDoc(`{"AWS":"arn:aws:iam::444455556666:user/bob"}`, "s3:GetObject", "*"))}
		}, ImplicitDeny, Identity},
		{"cross-account identity only", bobB, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), ResourceAccount: acctA}
		}, ImplicitDeny, Resource},
		{"cross-account SCP of principal", bobB, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowDoc("s3:*", "*")), ResourceAccount: acctA, SCP: [][]Named{named(t, SCP, allowDoc("ec2:*", "*"))},
				Resource: named(t, Resource, resDoc(`{"AWS":"444455556666"}`, "s3:GetObject", "*"))}
		}, ImplicitDeny, SCP},
		// Trust policies (sts:AssumeRole*).
		{"trust names user directly", alice, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"arn:aws:iam::111122223333:user/alice"}`))}
		}, Allow, 0},
		{"trust names user by unique id", alice, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"AIDAALICE0000000000"}`))}
		}, Allow, 0},
		{"trust names account needs identity", alice, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"arn:aws:iam::111122223333:root"}`))}
		}, ImplicitDeny, Identity},
		{"trust names account with identity", alice, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"111122223333"}`)), Identity: named(t, Identity, allowDoc("sts:AssumeRole", role))}
		}, Allow, 0},
		{"trust must allow even with identity", alice, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"arn:aws:iam::111122223333:user/carol"}`)), Identity: named(t, Identity, allowDoc("sts:AssumeRole", "*"))}
		}, ImplicitDeny, Trust},
		{"trust names session ARN", sess, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"arn:aws:sts::111122223333:assumed-role/Dev/s1"}`)), Session: named(t, Session, allowDoc("s3:*", "*"))}
		}, Allow, 0},
		{"trust names role ARN, session policy implicitly denies", sess, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"arn:aws:iam::111122223333:role/Dev"}`)), Session: named(t, Session, allowDoc("s3:*", "*"))}
		}, ImplicitDeny, Identity},
		{"trust names role ARN, no boundary or session policy", sess, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"arn:aws:iam::111122223333:role/Dev"}`))}
		}, Allow, 0},
		{"trust names role ARN, boundary allows", sess, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"arn:aws:iam::111122223333:role/Dev"}`)), Boundary: named(t, Boundary, allowDoc("sts:*", "*"))}
		}, Allow, 0},
		{"trust cross-account user needs identity", bobB, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{ResourceAccount: acctA, Resource: named(t, Trust, trustDoc(`{"AWS":"arn:aws:iam::444455556666:user/bob"}`))}
		}, ImplicitDeny, Identity},
		{"trust cross-account with identity", bobB, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{ResourceAccount: acctA, Resource: named(t, Trust, trustDoc(`{"AWS":"444455556666"}`)), Identity: named(t, Identity, allowDoc("sts:AssumeRole", role))}
		}, Allow, 0},
		{"trust explicit deny on caller side", alice, "sts:AssumeRole", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"arn:aws:iam::111122223333:user/alice"}`)), Identity: named(t, Identity, denyDoc("sts:*", "*"))}
		}, ExplicitDeny, Identity},
		{"trust federated", oidc, "sts:AssumeRoleWithWebIdentity", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"Federated":"arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"}`))}
		}, Allow, 0},
		{"trust other federated provider", oidc, "sts:AssumeRoleWithWebIdentity", role, func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"Federated":"accounts.google.com"}`))}
		}, ImplicitDeny, Trust},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			set := tt.set(t)
			req := &Request{Principal: tt.pr, Action: tt.action, Resource: tt.resource, Now: testNow}
			d := Evaluate(set, req)
			if d.Effect != tt.want || d.DeniedBy != tt.deniedBy {
				t.Errorf("decision = %v by %v, want %v by %v (matched %+v)", d.Effect, d.DeniedBy, tt.want, tt.deniedBy, d.Matched)
			}
			// EvaluateInto into a used Decision gives the same answer.
			d2 := Decision{Matched: make([]Match, 3), Missing: []string{"stale"}}
			set.EvaluateInto(req, &d2)
			if diff := cmp.Diff(d, d2, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("EvaluateInto differs (-Evaluate +EvaluateInto):\n%s", diff)
			}
		})
	}
}

func TestDecisionDiagnostics(t *testing.T) {
	t.Parallel()
	set := &Set{
		Identity: []Named{{ID: "arn:aws:iam::111122223333:policy/P", Policy: mustParse(t, Identity, `{"Version":"2012-10-17","Statement":[
			{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},
			{"Effect":"Allow","Action":"s3:Get*","Resource":"*"},
			{"Sid":"Other","Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`)}},
		SCP: [][]Named{{{ID: "scp", Policy: mustParse(t, SCP, `{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoS3","Effect":"Deny","Action":"s3:*","Resource":"*"}]}`)}}},
	}
	d := Evaluate(set, &Request{Principal: alice, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k", Now: testNow})
	want := Decision{
		Effect:   ExplicitDeny,
		DeniedBy: SCP,
		Matched: []Match{
			{PolicyID: "scp", Kind: SCP, Sid: "All", Index: 0, Effect: Allow},
			{PolicyID: "scp", Kind: SCP, Sid: "NoS3", Index: 1, Effect: ExplicitDeny},
			{PolicyID: "arn:aws:iam::111122223333:policy/P", Kind: Identity, Sid: "A", Index: 0, Effect: Allow},
			{PolicyID: "arn:aws:iam::111122223333:policy/P", Kind: Identity, Index: 1, Effect: Allow},
		},
		Verdicts: verdict(SCP, true, true, true) | verdict(Identity, true, true, false),
	}
	if diff := cmp.Diff(want, d, cmp.Comparer(func(a, b []string) bool { return len(a) == len(b) })); diff != "" {
		t.Errorf("decision mismatch (-want +got):\n%s", diff)
	}
	if got, want := d.Explain("s3:GetObject"), "with an explicit deny in a service control policy"; got != want {
		t.Errorf("Explain = %q, want %q", got, want)
	}
	if got := (Decision{Effect: ImplicitDeny, DeniedBy: Boundary}).Explain("iam:CreateUser"); got != "because no permissions boundary allows the iam:CreateUser action" {
		t.Errorf("Explain = %q", got)
	}
	for e, s := range map[Effect]string{Allow: "allowed", ExplicitDeny: "explicitDeny", ImplicitDeny: "implicitDeny"} {
		if e.String() != s {
			t.Errorf("%d.String() = %q, want %q", e, e.String(), s)
		}
	}
}

// TestDecisionVerdicts checks the per-kind verdicts of decisions: recorded
// for each slot the Set has (an empty one included), whatever the decision
// and wherever it was made, and absent for the slots it has not.
func TestDecisionVerdicts(t *testing.T) {
	t.Parallel()
	const bucket = "arn:aws:s3:::b/k"
	allowS3, allowAll := allowDoc("s3:*", "*"), allowDoc("*", "*")
	tests := []struct {
		name     string
		pr       Principal
		action   string
		resource string
		set      func(t *testing.T) *Set
		want     Effect
		verdicts map[Kind]string // kind to Effect.String(), "-" for none
	}{
		{"identity only", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowS3)}
		}, Allow, map[Kind]string{Identity: "allowed", Resource: "-", Trust: "-", Boundary: "-", Session: "-", SCP: "-"}},
		{"no identity policy matches", alice, "ec2:RunInstances", "*", func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowS3)}
		}, ImplicitDeny, map[Kind]string{Identity: "implicitDeny", Boundary: "-"}},
		{"boundary does not allow", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowS3), Boundary: named(t, Boundary, allowDoc("sqs:*", "*"))}
		}, ImplicitDeny, map[Kind]string{Identity: "allowed", Boundary: "implicitDeny"}},
		{"empty boundary", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowS3), Boundary: []Named{}}
		}, ImplicitDeny, map[Kind]string{Identity: "allowed", Boundary: "implicitDeny"}},
		{"boundary allows and denies", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowS3), Boundary: named(t, Boundary, allowAll, denyDoc("s3:GetObject", "*"))}
		}, ExplicitDeny, map[Kind]string{Identity: "allowed", Boundary: "explicitDeny"}},
		{"identity denies, session allows", sess, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowS3, denyDoc("s3:GetObject", "*")), Session: named(t, Session, allowS3)}
		}, ExplicitDeny, map[Kind]string{Identity: "explicitDeny", Session: "allowed", Boundary: "-"}},
		{"one SCP level does not allow", alice, "ec2:RunInstances", "*", func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowAll), SCP: [][]Named{named(t, SCP, allowAll), named(t, SCP, allowS3)}}
		}, ImplicitDeny, map[Kind]string{SCP: "implicitDeny", Identity: "allowed"}},
		{"every SCP level allows", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowAll), SCP: [][]Named{named(t, SCP, allowAll), named(t, SCP, allowS3)}}
		}, Allow, map[Kind]string{SCP: "allowed", Identity: "allowed"}},
		{"an SCP denies", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowAll), SCP: [][]Named{named(t, SCP, allowAll), named(t, SCP, allowAll, denyDoc("s3:*", "*"))}}
		}, ExplicitDeny, map[Kind]string{SCP: "explicitDeny", Identity: "allowed"}},
		{"trust policy", sess, "sts:AssumeRole", "arn:aws:iam::111122223333:role/Target", func(t *testing.T) *Set {
			return &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"arn:aws:iam::111122223333:role/Dev"}`))}
		}, Allow, map[Kind]string{Trust: "allowed", Resource: "allowed", Identity: "-"}},
		{"cross account without the resource's allow", alice, "s3:GetObject", bucket, func(t *testing.T) *Set {
			return &Set{Identity: named(t, Identity, allowS3), Resource: named(t, Resource, resDoc(`{"AWS":"444455556666"}`, "s3:*", "*")), ResourceAccount: acctB}
		}, ImplicitDeny, map[Kind]string{Identity: "allowed", Resource: "implicitDeny"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := Evaluate(tt.set(t), &Request{Principal: tt.pr, Action: tt.action, Resource: tt.resource, Now: testNow})
			if d.Effect != tt.want {
				t.Errorf("decision = %v, want %v", d.Effect, tt.want)
			}
			got := map[Kind]string{}
			for k := range tt.verdicts {
				e, ok := d.Verdicts.Of(k)
				got[k] = e.String()
				if !ok {
					if e != ImplicitDeny {
						t.Errorf("%v: absent with effect %v", k, e)
					}
					got[k] = "-"
				}
			}
			if diff := cmp.Diff(tt.verdicts, got); diff != "" {
				t.Errorf("verdicts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSetAll checks that every match of a decision leads back to its
// policy, with the kind of its slot, and to the statement it names.
func TestSetAll(t *testing.T) {
	t.Parallel()
	managed := Named{ID: "arn:aws:iam::111122223333:policy/M", Policy: mustParse(t, Managed, allowDoc("s3:*", "*")),
		Source: Source{Type: SourceManaged, Name: "M", ARN: "arn:aws:iam::111122223333:policy/M"}}
	set := &Set{
		Identity: []Named{{ID: "user/alice/p", Policy: mustParse(t, Identity, denyDoc("s3:DeleteObject", "*")),
			Source: Source{Type: SourceUserInline, Owner: "alice", Name: "p"}}, managed},
		Boundary: []Named{managed},
		Session:  []Named{{ID: "session-policy", Policy: mustParse(t, Session, allowDoc("*", "*")), Source: Source{Type: SourceSession}}},
		SCP:      [][]Named{named(t, SCP, allowDoc("*", "*")), named(t, SCP, allowDoc("s3:*", "*"))},
		Resource: []Named{{ID: "bucket", Policy: mustParse(t, Resource, resDoc(`"*"`, "s3:*", "*")), Source: Source{Type: SourceResource, Owner: "arn:aws:s3:::b"}}},
	}
	type key struct {
		kind Kind
		id   string
	}
	all := map[key]*Named{}
	n := 0
	for k, p := range set.All() {
		all[key{k, p.ID}] = p
		n++
	}
	if n != 7 {
		t.Errorf("All yields %d policies, want 7", n)
	}
	d := Evaluate(set, &Request{Principal: sess, Action: "s3:DeleteObject", Resource: "arn:aws:s3:::b/k", Now: testNow})
	if len(d.Matched) != 7 {
		t.Fatalf("matched %+v, want 7 statements", d.Matched)
	}
	for _, m := range d.Matched {
		if p := all[key{m.Kind, m.PolicyID}]; p == nil || m.Index >= p.Policy.Len() {
			t.Errorf("match %+v: policy %+v", m, p)
		}
	}

	trust := &Set{Resource: named(t, Trust, trustDoc(`{"AWS":"arn:aws:iam::111122223333:role/Dev"}`))}
	for k, p := range trust.All() {
		if k != Trust || p.ID != "trust0" {
			t.Errorf("trust policy yielded as %v %q", k, p.ID)
		}
	}
	for range set.All() {
		break // stopping early is safe
	}
}
