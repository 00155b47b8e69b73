// Package trustcheck asks the policy engine who a trust policy statement
// lets in, and whether a permission statement allows everything, for the
// trust report (opensts report trust) and the trust-opened detection.
package trustcheck

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/policy"
)

// Who a statement lets in is asked of the policy engine, so that
// how it is spelled (a wildcard in a condition on aws:PrincipalArn, an
// IfExists operator, an ExternalId condition that any value meets) does
// not hide what it allows. Each statement is asked on its own, as its
// findings are reported, and the conditions on what the caller chooses
// (session name, tags, source identity, MFA, source IP, time) are taken as
// met: a stranger can meet them. The conditions kept are those on who the
// caller is, which the engine fills in from the probing principal, on
// claims of an identity provider (which a stranger does not issue), and on
// sts:ExternalId, which the probe sets to a value nobody was given.

// Statements returns a policy's Version and its statements as written.
func Statements(doc string) (version string, stmts []json.RawMessage, err error) {
	var d struct {
		Version   string
		Statement json.RawMessage
	}
	if err := json.Unmarshal([]byte(doc), &d); err != nil {
		return "", nil, err
	}
	if len(d.Statement) > 0 && d.Statement[0] == '[' {
		if err := json.Unmarshal(d.Statement, &stmts); err != nil {
			return "", nil, err
		}
	} else if len(d.Statement) > 0 && string(d.Statement) != "null" {
		stmts = []json.RawMessage{d.Statement}
	}
	for _, st := range stmts {
		if len(st) == 0 || st[0] != '{' {
			return "", nil, errors.New("a statement is not an object")
		}
	}
	return d.Version, stmts, nil
}

// whoKeys are the global condition keys a caller cannot choose: they say
// who it is (lowercase).
var whoKeys = map[string]bool{
	"aws:principalorgid": true, "aws:principalorgpaths": true, "aws:principalaccount": true,
	"aws:principalarn": true, "aws:userid": true, "aws:username": true, "aws:principaltype": true,
	"aws:principalisawsservice": true, "aws:principalservicename": true, "aws:principalservicenameslist": true,
	"aws:sourceaccount": true, "aws:sourcearn": true, "aws:sourceorgid": true, "aws:sourceorgpaths": true,
	"sts:externalid": true,
}

// chosenByCaller reports whether a request's caller chooses the value of a
// condition key (lowercase): the aws: and sts: keys that do not say who it
// is. Keys of an identity provider's claims (provider:sub, saml:aud,
// ldap:groups) are the provider's to set.
func chosenByCaller(key string) bool {
	return (strings.HasPrefix(key, "aws:") || strings.HasPrefix(key, "sts:")) && !whoKeys[key]
}

// statementPolicy compiles one statement as a policy of kind k, with the
// conditions on keys drop reports removed.
func statementPolicy(k policy.Kind, version string, stmt json.RawMessage, drop func(key string) bool) (*policy.Policy, error) {
	var st map[string]json.RawMessage
	if err := json.Unmarshal(stmt, &st); err != nil {
		return nil, err
	}
	if c, ok := st["Condition"]; ok {
		var cond map[string]map[string]json.RawMessage
		if err := json.Unmarshal(c, &cond); err != nil {
			return nil, err
		}
		for op, keys := range cond {
			for key := range keys {
				if drop(strings.ToLower(key)) {
					delete(keys, key)
				}
			}
			if len(keys) == 0 {
				delete(cond, op)
			}
		}
		if len(cond) == 0 {
			delete(st, "Condition")
		} else {
			st["Condition"], _ = json.Marshal(cond)
		}
	}
	doc := map[string]any{"Statement": []any{st}}
	if version != "" {
		doc["Version"] = version
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return policy.Parse(k, string(b))
}

// Probe asks whether one statement of a role's trust policy lets in a
// principal the role did not mean to trust.
type Probe struct {
	roleARN, account string
	version          string
	stmt             json.RawMessage
	set              policy.Set
	// The stranger as two callers: one in an organization of its own, one
	// in none; both bring an external id they made up.
	ctx [2]policy.Context
	now time.Time
}

// NewProbe compiles stmt, a statement of the trust policy (of the given
// Version) of the role roleARN in account.
func NewProbe(roleARN, account, version string, stmt json.RawMessage) (*Probe, error) {
	p, err := statementPolicy(policy.Trust, version, stmt, chosenByCaller)
	if err != nil {
		return nil, err
	}
	t := &Probe{roleARN: roleARN, account: account, version: version, stmt: stmt, now: time.Now(), set: policy.Set{Resource: []policy.Named{{ID: "probe", Policy: p}}, ResourceAccount: account}}
	for i := range t.ctx {
		t.ctx[i].Set("sts:ExternalId", "opensts-trust-probe-not-an-external-id")
	}
	t.ctx[0].Set("aws:PrincipalOrgID", "o-openstsprobe")
	t.ctx[0].Set("aws:PrincipalOrgPaths", "o-openstsprobe/r-prob/ou-prob-openstsprobe/")
	return t, nil
}

// allows reports whether the trust statement allows pr action.
func (t *Probe) allows(pr policy.Principal, action string) bool {
	for i := range t.ctx {
		req := policy.Request{Principal: pr, Action: action, Resource: t.roleARN, Context: &t.ctx[i], Now: t.now}
		if e, _ := policy.Evaluate(&t.set, &req).Verdicts.Of(policy.Trust); e == policy.Allow {
			return true
		}
	}
	return false
}

// AnyoneOf reports whether the statement lets any user or role of account
// assume the role: a made-up user and a made-up role session of it.
func (t *Probe) AnyoneOf(account string) bool {
	user := policy.Principal{Type: policy.User, Account: account, ARN: "arn:aws:iam::" + account + ":user/opensts-trust-probe",
		ID: "AIDAOPENSTSTRUSTPROBE"}
	session := policy.Principal{Type: policy.AssumedRole, Account: account,
		ARN:     "arn:aws:sts::" + account + ":assumed-role/opensts-trust-probe/probe",
		ID:      "AROAOPENSTSTRUSTPROBE:probe",
		RoleARN: "arn:aws:iam::" + account + ":role/opensts-trust-probe", RoleID: "AROAOPENSTSTRUSTPROBE"}
	return t.allows(user, "sts:AssumeRole") || t.allows(session, "sts:AssumeRole")
}

// Everyone reports whether the statement lets in a principal of an account
// it does not name (stranger, see Stranger), or any identity of any
// provider.
func (t *Probe) Everyone(stranger string) bool {
	if t.AnyoneOf(stranger) {
		return true
	}
	acct := t.account
	for _, f := range []struct {
		typ    policy.PrincipalType
		action string
		arn    string
	}{
		{policy.WebIdentity, "sts:AssumeRoleWithWebIdentity", "arn:aws:iam::" + acct + ":oidc-provider/opensts-trust-probe.invalid"},
		{policy.SAMLUser, "sts:AssumeRoleWithSAML", "arn:aws:iam::" + acct + ":saml-provider/opensts-trust-probe"},
		{policy.LDAPUser, "sts:AssumeRoleWithLDAPIdentity", "arn:aws:iam::" + acct + ":ldap-provider/opensts-trust-probe"},
	} {
		if t.allows(policy.Principal{Type: f.typ, Account: acct, Federated: f.arn, ID: "opensts-trust-probe"}, f.action) {
			return true
		}
	}
	return false
}

// AnySubject reports whether the statement lets in a web identity of the
// OIDC provider federated (its ARN, as the statement names it) whatever
// the token's subject: one the provider would issue to anyone (for GitHub
// Actions, "repo:" and a repository nobody here owns), with every other
// condition taken as met. No condition on sub, "repo:*" and "*" let any
// repository of a CI provider assume the role; "repo:acme/*" does not.
func (t *Probe) AnySubject(federated string) bool {
	i := strings.Index(federated, ":oidc-provider/")
	if i < 0 {
		return false
	}
	host := federated[i+len(":oidc-provider/"):]
	sub := strings.ToLower(host) + ":sub"
	p, err := statementPolicy(policy.Trust, t.version, t.stmt, func(key string) bool { return key != sub && !whoKeys[key] })
	if err != nil {
		return false
	}
	set := policy.Set{Resource: []policy.Named{{ID: "probe", Policy: p}}, ResourceAccount: t.account}
	subject := "opensts-trust-probe-7c1f0e"
	if strings.EqualFold(host, "token.actions.githubusercontent.com") {
		subject = "repo:opensts-trust-probe-7c1f0e/probe:ref:refs/heads/main"
	} else if strings.Contains(strings.ToLower(host), "gitlab") {
		subject = "project_path:opensts-trust-probe-7c1f0e/probe:ref_type:branch:ref:main"
	}
	var ctx policy.Context
	ctx.Set(host+":sub", subject)
	pr := policy.Principal{Type: policy.WebIdentity, Account: t.account, Federated: federated, ID: subject}
	req := policy.Request{Principal: pr, Action: "sts:AssumeRoleWithWebIdentity", Resource: t.roleARN, Context: &ctx, Now: t.now}
	e, _ := policy.Evaluate(&set, &req).Verdicts.Of(policy.Trust)
	return e == policy.Allow
}

// Stranger returns an account id doc does not mention.
func Stranger(doc string) string {
	for _, a := range []string{"999999999999", "987654321098", "135792468013"} {
		if !strings.Contains(doc, a) {
			return a
		}
	}
	return "246813579024"
}

// Every action on every resource, as the permission review asks it: IAM,
// data and key actions and a service nobody lists, on resources of the
// role's account and of none.
var (
	everyActions = []string{"iam:CreateUser", "iam:PutRolePolicy", "sts:AssumeRole", "s3:GetObject", "ec2:RunInstances",
		"kms:Decrypt", "organizations:LeaveOrganization", "opensts-probe:Probe"}
	everyResources = []string{"arn:aws:iam::ACCOUNT:role/opensts-probe", "arn:aws:s3:::opensts-probe/object",
		"arn:aws:kms:us-east-1:ACCOUNT:key/opensts-probe", "arn:aws:opensts-probe:us-east-1:000000000000:probe/x"}
)

// GrantsEverything reports whether one statement (of a policy of the given
// Version) of the permission policy of the role roleARN in account, its
// conditions taken as met, allows every action on every resource.
func GrantsEverything(roleARN, account, version string, stmt json.RawMessage) bool {
	p, err := statementPolicy(policy.Identity, version, stmt, func(string) bool { return true })
	if err != nil {
		return false
	}
	set := policy.Set{Identity: []policy.Named{{ID: "probe", Policy: p}}}
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	pr := policy.Principal{Type: policy.AssumedRole, Account: account, ARN: "arn:aws:sts::" + account + ":assumed-role/" + name + "/probe",
		ID: "AROAOPENSTSPROBE:probe", RoleARN: roleARN, RoleID: "AROAOPENSTSPROBE"}
	now := time.Now()
	for _, action := range everyActions {
		for _, res := range everyResources {
			req := policy.Request{Principal: pr, Action: action, Resource: strings.ReplaceAll(res, "ACCOUNT", account), Now: now}
			if e, _ := policy.Evaluate(&set, &req).Verdicts.Of(policy.Identity); e != policy.Allow {
				return false
			}
		}
	}
	return true
}
