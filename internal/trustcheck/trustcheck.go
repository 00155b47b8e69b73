// Package trustcheck asks the policy engine who a trust policy statement
// lets in, and whether a permission statement allows everything, for the
// trust report (opensts report trust) and the trust-opened detection.
package trustcheck

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/arn"
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
	// values are the statement's condition values by key (lowercase), of
	// every operator: what the names a stranger chooses (its roles', its
	// users', its sessions', its repositories') are made of to meet them;
	// named are those of the operators that are not negated.
	values, named map[string][]string
	// orgID and externalID are the stranger's organization and the
	// external id it brings, drawn at random so that no document can list
	// them among the values it excludes.
	orgID, externalID string
	now               time.Time
}

// NewProbe compiles stmt, a statement of the trust policy (of the given
// Version) of the role roleARN in account.
func NewProbe(roleARN, account, version string, stmt json.RawMessage) (*Probe, error) {
	t := &Probe{roleARN: roleARN, account: account, version: version, stmt: stmt, now: time.Now(),
		orgID: "o-" + strings.ToLower(rand.Text()[:12]), externalID: "opensts-trust-probe-" + rand.Text()}
	set, err := t.compile(chosenByCaller)
	if err != nil {
		return nil, err
	}
	t.set = *set
	t.values, t.named = conditionValues(stmt)
	return t, nil
}

// compile returns the statement as the role's only trust policy, with the
// conditions on the keys drop reports removed.
func (t *Probe) compile(drop func(key string) bool) (*policy.Set, error) {
	p, err := statementPolicy(policy.Trust, t.version, t.stmt, drop)
	if err != nil {
		return nil, err
	}
	return &policy.Set{Resource: []policy.Named{{ID: "probe", Policy: p}}, ResourceAccount: t.account}, nil
}

// decide reports whether set, a statement compiled by compile, allows pr
// action on the role with ctx.
func (t *Probe) decide(set *policy.Set, pr policy.Principal, action string, ctx *policy.Context) bool {
	req := policy.Request{Principal: pr, Action: action, Resource: t.roleARN, Context: ctx, Now: t.now}
	e, _ := policy.Evaluate(set, &req).Verdicts.Of(policy.Trust)
	return e == policy.Allow
}

// conditionValues reads the string values of a statement's conditions by
// key (lowercase): all of them, and those of operators that are not
// negated (StringNotEquals names what it excludes).
func conditionValues(stmt json.RawMessage) (all, named map[string][]string) {
	var st struct {
		Condition map[string]map[string]json.RawMessage
	}
	_ = json.Unmarshal(stmt, &st)
	all, named = map[string][]string{}, map[string][]string{}
	for op, keys := range st.Condition {
		negated := strings.Contains(strings.ToLower(op), "not")
		for key, raw := range keys {
			var one string
			var list []string
			if json.Unmarshal(raw, &one) == nil {
				list = []string{one}
			} else {
				_ = json.Unmarshal(raw, &list)
			}
			k := strings.ToLower(key)
			all[k] = append(all[k], list...)
			if !negated {
				named[k] = append(named[k], list...)
			}
		}
	}
	return all, named
}

// contexts are the stranger's request contexts: in an organization of its
// own or in none, with an external id it made up or none (a condition may
// ask for its absence, or exclude every value but no value); username is
// aws:username for a user ("" for a role session).
func (t *Probe) contexts(username string) []*policy.Context {
	var out []*policy.Context
	for _, org := range []bool{true, false} {
		for _, ext := range []bool{true, false} {
			c := new(policy.Context)
			if org {
				c.Set("aws:PrincipalOrgID", t.orgID)
				c.Set("aws:PrincipalOrgPaths", t.orgID+"/r-prob/ou-prob-"+t.orgID[2:]+"/")
			}
			if ext {
				c.Set("sts:ExternalId", t.externalID)
			}
			if username != "" {
				c.Set("aws:username", username)
			}
			out = append(out, c)
		}
	}
	return out
}

// allows reports whether the trust statement allows pr action.
func (t *Probe) allows(pr policy.Principal, action string) bool {
	username := ""
	if pr.Type == policy.User {
		username = pr.ARN[strings.LastIndex(pr.ARN, "/")+1:]
	}
	for _, ctx := range t.contexts(username) {
		if t.decide(&t.set, pr, action, ctx) {
			return true
		}
	}
	return false
}

const probeName = "opensts-trust-probe"

// user is a user of account, of path and name (path "/" for none).
func user(account, path, name string) policy.Principal {
	return policy.Principal{Type: policy.User, Account: account, ARN: "arn:aws:iam::" + account + ":user" + path + name, ID: "AIDAOPENSTSTRUSTPROBE"}
}

// session is a session named session of the role of account of path and
// name.
func session(account, path, name, session string) policy.Principal {
	return policy.Principal{Type: policy.AssumedRole, Account: account,
		ARN:     "arn:aws:sts::" + account + ":assumed-role/" + name + "/" + session,
		ID:      "AROAOPENSTSTRUSTPROBE:" + session,
		RoleARN: "arn:aws:iam::" + account + ":role" + path + name, RoleID: "AROAOPENSTSTRUSTPROBE"}
}

// AnyoneOf reports whether the statement lets any user or role of account
// assume the role: a made-up user and a made-up role session of it.
func (t *Probe) AnyoneOf(account string) bool {
	return t.allows(user(account, "/", probeName), "sts:AssumeRole") || t.allows(session(account, "/", probeName, "probe"), "sts:AssumeRole")
}

// Accounts returns the accounts other than the role's that the
// statement's conditions on who the caller is name (aws:PrincipalAccount,
// and the account of an aws:PrincipalArn): a statement that trusts "*" and
// a condition naming a foreign account trusts that account, as one naming
// it in its Principal does, and AnyoneOf says whether it does so whole.
func (t *Probe) Accounts() []string {
	var out []string
	add := func(a string) {
		if len(a) == 12 && strings.Trim(a, "0123456789") == "" && a != t.account && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	for _, v := range t.named["aws:principalaccount"] {
		add(v)
	}
	for _, v := range t.named["aws:principalarn"] {
		if parts := strings.SplitN(v, ":", 6); len(parts) == 6 {
			add(parts[4])
		}
	}
	slices.Sort(out)
	return out
}

// wildAccounts returns accounts a stranger may hold that the statement's
// account patterns match (aws:PrincipalAccount, aws:SourceAccount, and
// the account of an aws:PrincipalArn or aws:SourceArn): "9*" or
// "12345678901?" lets in accounts it does not name, as "*" does. Each is
// drawn at random, and is not the role's account.
func (t *Probe) wildAccounts() []string {
	var pats []string
	for _, k := range []string{"aws:principalaccount", "aws:sourceaccount"} {
		pats = append(pats, t.values[k]...)
	}
	for _, k := range []string{"aws:principalarn", "aws:sourcearn"} {
		for _, v := range t.values[k] {
			if acct, _, ok := arnAccount(v); ok {
				pats = append(pats, acct)
			}
		}
	}
	var out []string
	for _, pat := range pats {
		lit := strings.Trim(pat, "*?")
		if !strings.ContainsAny(pat, "*?") || strings.Trim(strings.NewReplacer("*", "", "?", "").Replace(pat), "0123456789") != "" ||
			lit == "" && strings.Trim(pat, "*") == "" {
			continue // no wildcard, not of digits, or "*" (the stranger's own account meets it)
		}
		fixed := len(pat) - strings.Count(pat, "*")
		if fixed > 12 || fixed < 12 && !strings.Contains(pat, "*") {
			continue
		}
		for range 4 {
			var b strings.Builder
			star := false
			for _, r := range pat {
				switch r {
				case '?':
					b.WriteByte(byte('0' + randDigit()))
				case '*':
					if !star {
						for range 12 - fixed {
							b.WriteByte(byte('0' + randDigit()))
						}
						star = true
					}
				default:
					b.WriteRune(r)
				}
			}
			if a := b.String(); a != t.account && !slices.Contains(out, a) {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// arnAccount returns the account field of an ARN pattern and what follows
// it (the resource), and whether it has one. A "*" in the account may hold
// the ":" that ends it ("arn:aws:iam::9*role/deploy", "arn:aws:iam::9*"):
// the account is then its digits and "*", and the resource what follows.
func arnAccount(v string) (acct, resource string, ok bool) {
	parts := strings.SplitN(v, ":", 6)
	switch {
	case len(parts) == 6:
		return parts[4], parts[5], true
	case len(parts) == 5:
		if i := strings.IndexByte(parts[4], '*'); i >= 0 && strings.Trim(parts[4][:i], "0123456789?") == "" {
			return parts[4][:i+1], parts[4][i+1:], true
		}
	}
	return "", "", false
}

// randDigit returns a random digit.
func randDigit() int64 {
	v, err := rand.Int(rand.Reader, big.NewInt(10))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return v.Int64()
}

// fill returns pattern (an IAM glob) with each "*" replaced by star and
// each "?" by one letter: a value the pattern matches.
func fill(pattern, star string) string { return fillWith(pattern, star, star, 'p') }

// chosen returns the principals of the account stranger whose names the
// stranger chose to meet the statement's conditions on aws:PrincipalArn
// (an account that is a wildcard, with a role or user name the pattern
// matches), aws:username and aws:userid (a session name): a condition on
// who the caller is narrows nothing when a stranger can take the name it
// asks for.
func (t *Probe) chosen(stranger string) []policy.Principal {
	var out []policy.Principal
	for _, v := range t.values["aws:principalarn"] {
		// The resource part (role/NAME) of an ARN whose account is a
		// wildcard, or of a pattern that begins with one ("*:role/deploy",
		// "*deploy").
		var resource string
		if acct, res, ok := arnAccount(v); ok && strings.ContainsAny(acct, "*?") {
			resource = res
		} else if strings.HasPrefix(v, "*") {
			resource = v[strings.LastIndexByte(v, ':')+1:]
		} else {
			continue
		}
		for _, star := range []string{probeName, ""} {
			res := fill(resource, star)
			for _, r := range []string{res, "role/" + res, "user/" + res} {
				kind, rest, _ := strings.Cut(r, "/")
				i := strings.LastIndex(rest, "/")
				path, name := "/"+rest[:i+1], rest[i+1:]
				if name == "" {
					continue
				}
				switch kind {
				case "role":
					out = append(out, session(stranger, path, name, "probe"))
				case "user":
					out = append(out, user(stranger, path, name))
				}
			}
		}
	}
	for _, v := range t.values["aws:username"] {
		for _, star := range []string{probeName, ""} {
			if name := fill(v, star); name != "" && !strings.Contains(name, "/") {
				out = append(out, user(stranger, "/", name))
			}
		}
	}
	for _, v := range t.values["aws:userid"] {
		// A session's id is the role's unique id (not chosen) and the
		// session name (chosen).
		id, name, ok := strings.Cut(v, ":")
		switch {
		case !ok && strings.HasPrefix(v, "*"):
			name = strings.TrimPrefix(v, "*")
		case !ok || strings.Trim(id, "*?") != "":
			continue
		}
		for _, star := range []string{"probe", ""} {
			if n := fill(name, star); n != "" {
				out = append(out, session(stranger, "/", probeName, n))
			}
		}
	}
	return out
}

// Everyone reports whether the statement lets in a principal of an account
// it does not name (stranger, see Stranger), or any identity of any
// provider. The stranger is a made-up user and role session, and those
// whose names it chose to meet the statement's conditions on who the
// caller is.
func (t *Probe) Everyone(stranger string) bool {
	for _, acct := range append([]string{stranger}, t.wildAccounts()...) {
		if t.AnyoneOf(acct) {
			return true
		}
		for _, pr := range t.chosen(acct) {
			if t.allows(pr, "sts:AssumeRole") {
				return true
			}
		}
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
	// A statement that trusts "*" for web identity with conditions on the
	// claims of a provider (token.actions.githubusercontent.com:sub or
	// :aud) lets in whom that provider's tokens may name.
	for _, host := range claimHosts(t.values) {
		// The principal is of a provider the statement does not name:
		// statements that name one are AnySubject's.
		if t.anySubject(host, "arn:aws:iam::"+acct+":oidc-provider/opensts-trust-probe.invalid") {
			return true
		}
	}
	return false
}

// claimHosts returns the OIDC providers (hosts, lowercase) whose claims
// the condition keys name: "token.actions.githubusercontent.com:aud",
// "localhost:8443:sub"; a service's keys ("s3:prefix") name none.
func claimHosts(values map[string][]string) []string {
	var out []string
	for key := range values {
		i := strings.LastIndexByte(key, ':')
		if i <= 0 || strings.HasPrefix(key, "aws:") || strings.HasPrefix(key, "sts:") {
			continue
		}
		host := key[:i]
		if strings.ContainsAny(host, ".:") && !slices.Contains(out, host) {
			out = append(out, host)
		}
	}
	slices.Sort(out)
	return out
}

// ci is what the probe knows of a CI provider whose tokens name a
// repository anyone may create (a GitHub Actions or GitLab CI job of a
// stranger's own repository).
type ci struct {
	// repo is the key of OWNER/REPOSITORY in the provider's subjects,
	// which begin with it by default ("repo:OWNER/REPO:ref:...").
	repo string
	// claims are the token's claims that say whose repository (or job) it
	// is of, by what the stranger's token holds in them: PATH
	// (OWNER/REPOSITORY), OWNER, USER (the login of who ran the job),
	// OWNERID, REPOID, USERID, WORKFLOW (a workflow file of the stranger's
	// repository), ENTERPRISE (GitHub's enterprise slug, absent from the
	// stranger's token unless a pattern asks for one it may take). A
	// condition on them narrows who gets in, so the probe
	// keeps it and gives them the stranger's values, or values it may
	// take (an owner "acme-*" asks for, a repository "*/deploy" asks for).
	// Other claims (ref, environment, event, job_workflow_ref, which names
	// a reusable workflow any repository may call) are the stranger's to
	// choose: their conditions are taken as met.
	claims map[string]string
	// subOnly are keys of who the job is of that subjects hold and tokens
	// do not carry as claims (GitHub's "repo").
	subOnly map[string]string
	// kept are further claims whose conditions are kept, and absent from
	// the stranger's token: GitHub's enterprise_id (a stranger's
	// repository is in no enterprise, but one it names: ENTERPRISE, whose
	// slug a stranger may take as an owner's name), and names no GitHub
	// token carries ("repo", "triggering_actor"), on which
	// StringEqualsIfExists admits every job.
	kept []string
	// colon are the claims the stranger chooses whose values may hold a
	// ":" (a workflow's name, an environment's): in a subject, such a
	// claim's value may hold every claim that follows it.
	colon []string
	// nested reports whether a path may hold more than one "/" (GitLab's
	// subgroups).
	nested bool
	// defaultTail completes the default subject after OWNER/REPOSITORY.
	defaultTail string
	// custom are subjects of templates an owner may choose (GitHub's
	// include_claim_keys), of the stranger's values (see stranger.value)
	// or claims it chooses: a condition that excludes subjects
	// (StringNotLike sub "repo:*") lets in a stranger of another template.
	custom []string
}

var (
	githubActions = &ci{repo: "repo", defaultTail: ":ref:refs/heads/main", claims: map[string]string{
		"repository": "PATH", "repository_owner": "OWNER", "repository_owner_id": "OWNERID",
		"repository_id": "REPOID", "actor": "USER", "actor_id": "USERID", "workflow_ref": "WORKFLOW",
		"enterprise": "ENTERPRISE",
	}, subOnly: map[string]string{"repo": "PATH"},
		kept:  []string{"enterprise_id", "repo", "triggering_actor"},
		colon: []string{"workflow", "environment"},
		custom: []string{"repository_owner:OWNER", "repository_owner_id:OWNERID", "repository:PATH", "repository_id:REPOID",
			"actor:USER", "actor_id:USERID", "workflow_ref:WORKFLOW", "job_workflow_ref:WORKFLOW", "workflow:probe",
			"environment:probe", "ref:refs/heads/main", "pull_request", "event_name:push", "runner_environment:self-hosted"}}
	gitlabCI = &ci{repo: "project_path", defaultTail: ":ref_type:branch:ref:main", nested: true, claims: map[string]string{
		"project_path": "PATH", "namespace_path": "OWNER", "namespace_id": "OWNERID", "project_id": "REPOID",
		"user_login": "USER", "user_id": "USERID", "user_email": "USER@example.invalid", "groups_direct": "OWNER",
	}}
)

// ciOf returns the CI provider of host (lowercase), or nil.
func ciOf(host string) *ci {
	switch {
	case host == "token.actions.githubusercontent.com":
		return githubActions
	case strings.Contains(host, "gitlab"):
		return gitlabCI
	}
	return nil
}

// stranger is a CI job of a repository of a stranger's: its owner's name,
// the repository's, the workflow file's (and ref), the login of who ran
// it, their ids, its enterprise's slug (none unless a condition asks for
// one it may take), and the subject its token carries.
type stranger struct {
	owner, repo, wf, user, ownerID, repoID, userID, enterprise, sub string
}

// probeOwner is the name of the stranger's account at a CI provider,
// which a condition may extend ("repo:acme*": the stranger's is
// "acme"+probeOwner); probeUser is the login of who runs its jobs.
const (
	probeOwner = "opensts-trust-probe-7c1f0e"
	probeUser  = "opensts-probe-runner-3d9a1b"
)

// base returns a stranger's job with the provider's default subject.
func (c *ci) base() stranger {
	s := stranger{owner: probeOwner, repo: "probe", wf: ".github/workflows/probe.yml@refs/heads/main", user: probeUser,
		ownerID: probeDigits(), repoID: probeDigits(), userID: probeDigits()}
	s.sub = c.repo + ":" + s.owner + "/" + s.repo + c.defaultTail
	return s
}

// value returns what the stranger's token holds in a claim of kind (see
// ci.claims).
func (s stranger) value(kind string) string {
	switch kind {
	case "PATH":
		return s.owner + "/" + s.repo
	case "OWNER":
		return s.owner
	case "USER":
		return s.user
	case "OWNERID":
		return s.ownerID
	case "REPOID":
		return s.repoID
	case "USERID":
		return s.userID
	case "WORKFLOW":
		return s.owner + "/" + s.repo + "/" + s.wf
	case "ENTERPRISE":
		return s.enterprise
	}
	return strings.ReplaceAll(kind, "USER", s.user)
}

// claim returns the value of claim in the stranger's token, and whether it
// carries one.
func (c *ci) claim(s stranger, claim string) (string, bool) {
	kind, ok := c.claims[claim]
	if !ok || kind == "ENTERPRISE" && s.enterprise == "" {
		return "", false
	}
	return s.value(kind), true
}

// whoClaim reports whether key (lowercase) is a claim of host that says
// whose job a token is of (see ci.claims), or one kept absent.
func (c *ci) whoClaim(host, key string) bool {
	claim, ok := strings.CutPrefix(key, host+":")
	if !ok {
		return false
	}
	_, listed := c.claims[claim]
	return listed || slices.Contains(c.kept, claim)
}

// subKey returns the kind of a key of a subject (in any case) that says
// whose job it is, and whether it is one.
func (c *ci) subKey(key string) (string, bool) {
	key = strings.ToLower(key)
	if kind, ok := c.claims[key]; ok {
		return kind, true
	}
	kind, ok := c.subOnly[key]
	return kind, ok
}

// named reports whether kind is of a name a stranger may register or
// create (an owner, a user, a repository, a workflow file).
func named(kind string) bool {
	return kind == "OWNER" || kind == "USER" || kind == "PATH" || kind == "WORKFLOW" || kind == "ENTERPRISE"
}

// takes reports whether a stranger may take a value of kind that pattern
// (a value in a subject, up to its first "*") asks for: a name with a "?"
// before its first "/" ("ac?e", "ac?e/app"), which a stranger registers.
func takes(kind, pattern string) bool {
	i := strings.IndexByte(pattern, '?')
	return named(kind) && i >= 0 && !strings.Contains(pattern[:i], "/")
}

// completions are what the first "*" of a pattern on a value of kind may
// hold in the stranger's job: the rest of its owner's name, its path, or
// its workflow file.
func (s stranger) completions(kind string) []string {
	path := s.owner + "/" + s.repo
	switch kind {
	case "OWNER", "ENTERPRISE":
		return []string{s.owner}
	case "USER":
		return []string{s.user}
	case "PATH":
		return []string{s.owner, path}
	case "WORKFLOW":
		return []string{s.owner, path, path + "/" + s.wf}
	}
	return nil
}

// set returns the stranger with its value of kind v, and its subject
// following it, when a job of a stranger's may hold v.
func (c *ci) set(s stranger, kind, v string) (stranger, bool) {
	n := s
	switch kind {
	case "OWNER":
		if v == "" || strings.Contains(v, "/") && !c.nested {
			return s, false
		}
		n.owner = v
	case "USER":
		if v == "" || strings.Contains(v, "/") {
			return s, false
		}
		n.user = v
	case "ENTERPRISE":
		if v == "" || strings.Contains(v, "/") {
			return s, false
		}
		n.enterprise = v
	case "PATH":
		owner, repo, ok := strings.Cut(v, "/")
		if !ok || owner == "" || repo == "" || !c.nested && strings.Contains(repo, "/") {
			return s, false
		}
		n.owner, n.repo = owner, repo
	case "WORKFLOW":
		parts := strings.SplitN(v, "/", 3)
		if len(parts) != 3 || parts[0] == "" || parts[1] == "" || !strings.HasPrefix(parts[2], ".github/workflows/") || !strings.Contains(parts[2], "@") {
			return s, false
		}
		n.owner, n.repo, n.wf = parts[0], parts[1], parts[2]
	case "OWNERID", "REPOID", "USERID":
		if v == "" || strings.Trim(v, "0123456789") != "" {
			return s, false
		}
		switch kind {
		case "OWNERID":
			n.ownerID = v
		case "REPOID":
			n.repoID = v
		default:
			n.userID = v
		}
	default:
		return s, false
	}
	var pairs []string
	for _, p := range [][2]string{{s.owner + "/" + s.repo, n.owner + "/" + n.repo}, {s.owner, n.owner}, {s.user, n.user},
		{s.ownerID, n.ownerID}, {s.repoID, n.repoID}, {s.userID, n.userID}} {
		if p[0] != p[1] {
			pairs = append(pairs, p[0], p[1])
		}
	}
	if len(pairs) > 0 {
		n.sub = strings.NewReplacer(pairs...).Replace(s.sub)
	}
	return n, true
}

// adjust returns the stranger with a value of claim that pattern (a
// condition's value) matches, when the stranger does not hold one and may
// take one: a name the pattern does not pin before its first wildcard
// ("acme-*", "*-corp", "*/deploy", "ac?e"; not "acme/*"), an id it gives a
// prefix of ("12*"), or the login of an app's bot ("dependabot[bot]"),
// which acts in any repository that installs it.
func (c *ci) adjust(s stranger, claim, pattern string) (stranger, bool) {
	kind := c.claims[claim]
	if arn.Glob(pattern, s.value(kind)) {
		return s, false
	}
	w := strings.IndexAny(pattern, "*?")
	switch {
	case w < 0:
		if kind == "USER" && strings.HasSuffix(pattern, "[bot]") {
			return c.set(s, kind, pattern)
		}
	case named(kind):
		if strings.Contains(pattern[:w], "/") {
			return s, false
		}
		for _, first := range s.completions(kind) {
			if v := fillWith(pattern, first, "x", 'p'); arn.Glob(pattern, v) {
				if n, ok := c.set(s, kind, v); ok {
					return n, true
				}
			}
		}
	case strings.HasSuffix(kind, "ID") && !strings.Contains(pattern, "?"):
		return c.set(s, kind, fillWith(pattern, probeDigits(), "", '0'))
	}
	return s, false
}

// strangers returns the CI jobs of a stranger's repositories that may meet
// the statement's conditions on the provider host's claims: one with the
// default subject, one with each custom one, one for each pattern on sub that does not pin an owner
// (see fillSubject), and each of those with the values of the claims of
// who the job is of that the statement's patterns ask for and the
// stranger may take (see adjust): one at a time for the default subject,
// and all together for each.
func (t *Probe) strangers(host string, c *ci) []stranger {
	base := c.base()
	cands := []stranger{base}
	for _, tmpl := range c.custom {
		s := base
		key, v, _ := strings.Cut(tmpl, ":")
		if v != "" && v == strings.ToUpper(v) {
			v = s.value(v)
		}
		s.sub = strings.TrimSuffix(key+":"+v, ":")
		cands = append(cands, s)
	}
	for _, pat := range t.values[host+":sub"] {
		if s, ok := c.fillSubject(pat, base); ok {
			cands = append(cands, s)
		}
	}
	type claimPattern struct{ claim, pattern string }
	var pats []claimPattern
	for _, claim := range slices.Sorted(maps.Keys(c.claims)) {
		for _, pat := range t.named[host+":"+claim] {
			pats = append(pats, claimPattern{claim, pat})
		}
	}
	var out []stranger
	for i, s := range cands {
		out = append(out, s)
		all, changed := s, false
		for _, p := range pats {
			if n, ok := c.adjust(s, p.claim, p.pattern); ok && i == 0 {
				out = append(out, n)
			}
			if n, ok := c.adjust(all, p.claim, p.pattern); ok {
				all, changed = n, true
			}
		}
		if changed {
			out = append(out, all)
		}
	}
	return out
}

// fillSubject returns a stranger (from s) whose subject pattern pat
// matches, when pat does not pin who the job is of before its first "*".
// A subject is claims and their values (KEY:VALUE:KEY:VALUE, "context"
// giving ref:REF, environment:NAME or pull_request, which has no value),
// in the order its owner chose; the stranger chooses its own. It pins an
// owner when a claim of who the job is of, with its whole value, comes
// before the first "*" ("repo:acme/app:*", "repository_owner_id:123:*",
// "environment:prod:repository_owner:acme") and no claim the stranger
// chooses whose value may hold ":" (a workflow's name) comes before that:
// "workflow:deploy:repository_owner:acme" is the subject of a stranger's
// workflow named "deploy:repository_owner:acme". A "*" in the value of a
// claim of who ("repo:acme*", "repository_owner_id:12*"), of one the
// stranger chooses, or in a claim's name ("environment:prod:*") does not
// pin one, nor a "?" in a name ("repo:ac?e/*", which owner "acpe" meets).
func (c *ci) fillSubject(pat string, s stranger) (stranger, bool) {
	w := strings.IndexByte(pat, '*')
	if w < 0 {
		w = len(pat)
	}
	toks := strings.Split(pat[:w], ":")
	last := len(toks) - 1
	j := 0
	for j < last {
		key := strings.ToLower(toks[j])
		if key == "pull_request" {
			j++
			continue
		}
		if j+1 == last {
			break // the "*" (or the end) falls in key's value
		}
		if !claimKey(key) {
			return stranger{}, false // not a subject of claims
		}
		if kind, who := c.subKey(key); who {
			if !takes(kind, toks[j+1]) {
				return stranger{}, false // who the job is of, named in full
			}
			n, ok := c.set(s, kind, fill(toks[j+1], ""))
			if !ok {
				return stranger{}, false
			}
			s = n
		} else if slices.Contains(c.colon, key) {
			s.sub = fillWith(pat, "x", "x", 'p')
			return s, true
		}
		j += 2
	}
	prefix := fill(strings.Join(toks[:j], ":"), "")
	if prefix != "" {
		prefix += ":"
	}
	if w == len(pat) {
		// A subject without "*": it ends in a context of no value, or a
		// claim and its value.
		switch {
		case j == last && strings.ToLower(toks[j]) == "pull_request":
		case j+1 == last && claimKey(strings.ToLower(toks[j])):
			if kind, who := c.subKey(toks[j]); who {
				if !takes(kind, toks[last]) {
					return stranger{}, false
				}
				n, ok := c.set(s, kind, fill(toks[last], ""))
				if !ok {
					return stranger{}, false
				}
				s = n
			}
		default:
			return stranger{}, false
		}
		s.sub = fill(pat, "")
		return s, true
	}
	rest := fillWith(pat[w+1:], "x", "x", 'p')
	path := func() string { return s.owner + "/" + s.repo }
	if j == last {
		// The "*" is in a claim's name: the owner's claim within it.
		part := fill(toks[last], "")
		if strings.HasPrefix(c.repo, part) {
			s.sub = prefix + c.repo + ":" + path() + rest
		} else {
			s.sub = prefix + part + "x:x:" + c.repo + ":" + path() + rest
		}
		return s, true
	}
	// The "*" is in the value of claim toks[j].
	prefix += toks[j] + ":"
	v := toks[last]
	kind, who := c.subKey(toks[j])
	switch {
	case who && named(kind):
		lit := v
		if i := strings.IndexByte(v, '?'); i >= 0 {
			lit = v[:i]
		}
		if strings.Contains(lit, "/") {
			return stranger{}, false // "repo:acme/*"
		}
		for _, first := range s.completions(kind) {
			if n, ok := c.set(s, kind, fill(v, "")+first); ok {
				n.sub = prefix + n.value(kind) + rest
				return n, true
			}
		}
		return stranger{}, false
	case who:
		if strings.Trim(v, "0123456789") != "" {
			return stranger{}, false
		}
		n, ok := c.set(s, kind, v+probeDigits())
		if !ok {
			return stranger{}, false
		}
		n.sub = prefix + n.value(kind) + rest
		return n, true
	}
	// A claim the stranger chooses: its value ends, and the owner's claim
	// follows within the "*".
	s.sub = prefix + fill(v, "") + "x:" + c.repo + ":" + path() + rest
	return s, true
}

// claimKey reports whether key may be the name of a claim in a subject
// (letters, digits and underscores).
func claimKey(key string) bool {
	return key != "" && strings.Trim(key, "abcdefghijklmnopqrstuvwxyz0123456789_") == ""
}

// fillWith returns pattern (an IAM glob) with its first "*" replaced by
// first, the others by star, and each "?" by q: a value the pattern
// matches.
func fillWith(pattern, first, star string, q byte) string {
	var b strings.Builder
	seen := false
	for _, r := range pattern {
		switch r {
		case '*':
			if seen {
				b.WriteString(star)
			} else {
				b.WriteString(first)
				seen = true
			}
		case '?':
			b.WriteByte(q)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// probeDigits returns a made-up id of a CI provider's (nine digits), drawn
// at random so that no document can exclude it by value.
func probeDigits() string {
	v, err := rand.Int(rand.Reader, big.NewInt(8e8))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprint(1e8 + v.Int64())
}

// AnySubject reports whether the statement lets in a web identity of the
// OIDC provider federated (its ARN, as the statement names it) whatever
// the token's subject: one the provider would issue to anyone (for GitHub
// Actions and GitLab, a job of a repository of an owner nobody here is,
// whose claims of who it is are the stranger's), with every other
// condition taken as met. No condition on sub, "repo:*",
// "repo:*:environment:prod" and "*" let any repository of a CI provider
// assume the role; "repo:acme/*", and a condition on the repository's
// owner, do not.
func (t *Probe) AnySubject(federated string) bool {
	i := strings.Index(federated, ":oidc-provider/")
	if i < 0 {
		return false
	}
	return t.anySubject(federated[i+len(":oidc-provider/"):], federated)
}

// anySubject reports whether the statement lets in a web identity of the
// provider federated whatever the subject of host's tokens.
func (t *Probe) anySubject(host, federated string) bool {
	h := strings.ToLower(host)
	sub := h + ":sub"
	c := ciOf(h)
	set, err := t.compile(func(key string) bool {
		return key != sub && !whoKeys[key] && (c == nil || !c.whoClaim(h, key))
	})
	if err != nil {
		return false
	}
	if c == nil {
		// A made-up subject, which a condition on sub must name.
		var ctx policy.Context
		ctx.Set(host+":sub", probeOwner)
		pr := policy.Principal{Type: policy.WebIdentity, Account: t.account, Federated: federated, ID: probeOwner}
		return t.decide(set, pr, "sts:AssumeRoleWithWebIdentity", &ctx)
	}
	for _, s := range t.strangers(h, c) {
		var ctx policy.Context
		ctx.Set(host+":sub", s.sub)
		for claim := range c.claims {
			if v, ok := c.claim(s, claim); ok {
				ctx.Set(host+":"+claim, v)
			}
		}
		pr := policy.Principal{Type: policy.WebIdentity, Account: t.account, Federated: federated, ID: s.sub}
		if t.decide(set, pr, "sts:AssumeRoleWithWebIdentity", &ctx) {
			return true
		}
	}
	return false
}

// sameForEveryUser are the SAML keys whose value is the same for every
// user of a provider (its issuer, the role's audience): a condition on them
// narrows nothing among its users.
var sameForEveryUser = map[string]bool{"saml:aud": true, "saml:iss": true, "saml:doc": true, "saml:namequalifier": true, "saml:sub_type": true}

// AnyUser reports whether the statement lets in a user of the SAML or
// LDAP provider federated (its ARN) whoever the user is: a made-up user,
// of a name nobody has and in no group, with the conditions on what is
// the same for every user, and on what the caller chooses, taken as met.
// A condition that only excludes (StringNotEquals ldap:username, saml:sub)
// narrows nothing.
func (t *Probe) AnyUser(federated string) bool {
	typ, action := policy.SAMLUser, "sts:AssumeRoleWithSAML"
	keys := []string{"saml:sub"}
	if strings.Contains(federated, ":ldap-provider/") {
		typ, action = policy.LDAPUser, "sts:AssumeRoleWithLDAPIdentity"
		keys = []string{"ldap:username", "ldap:dn", "ldap:upn", "ldap:samaccountname"}
	} else if !strings.Contains(federated, ":saml-provider/") {
		return false
	}
	set, err := t.compile(func(key string) bool { return chosenByCaller(key) || sameForEveryUser[key] })
	if err != nil {
		return false
	}
	user := "opensts-trust-probe-" + strings.ToLower(rand.Text()[:10])
	var ctx policy.Context
	for _, k := range keys {
		ctx.Set(k, user)
	}
	return t.decide(set, policy.Principal{Type: typ, Account: t.account, Federated: federated, ID: user}, action, &ctx)
}

// Stranger returns an account id doc does not mention, drawn at random so
// that no document can exclude it by name.
func Stranger(doc string) string {
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(1e12))
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		a := fmt.Sprintf("%012d", n)
		if !strings.Contains(doc, a) {
			return a
		}
	}
}

// Every action on every resource, as the permission review asks it: IAM,
// data and key actions and a service nobody lists, on resources of the
// role's account and of none. A service counts as granted when one of its
// actions is: the one listed, or one drawn at random (a statement with
// NotAction naming the listed one still allows the rest of the service);
// the names of the resources and of the made-up service are drawn at
// random too, so that no NotAction or NotResource can name them.
var (
	everyActions = []string{"iam:CreateUser", "iam:PutRolePolicy", "sts:AssumeRole", "s3:GetObject", "ec2:RunInstances",
		"kms:Decrypt", "organizations:LeaveOrganization", "opensts-probe-RAND:Probe"}
	everyResources = []string{"arn:aws:iam::ACCOUNT:role/opensts-probe-RAND", "arn:aws:s3:::opensts-probe-RAND/object",
		"arn:aws:kms:us-east-1:ACCOUNT:key/opensts-probe-RAND", "arn:aws:opensts-probe-RAND:us-east-1:000000000000:probe/x"}
)

// Statement is one statement of a permission policy and the policy's
// Version.
type Statement struct {
	Version string
	Raw     json.RawMessage
}

// GrantsEverything reports whether one statement (of a policy of the given
// Version) of the permission policy of the role roleARN in account, its
// conditions taken as met, allows every action on every resource.
func GrantsEverything(roleARN, account, version string, stmt json.RawMessage) bool {
	return GrantTogether(roleARN, account, []Statement{{version, stmt}})
}

// GrantTogether reports whether the Allow statements of a role's
// permission policies, their conditions taken as met, together allow
// every action on every resource (one NotAction "iam:*", another "iam:*").
func GrantTogether(roleARN, account string, stmts []Statement) bool {
	var set policy.Set
	for _, st := range stmts {
		var e struct{ Effect string }
		if json.Unmarshal(st.Raw, &e) != nil || e.Effect != "Allow" {
			continue
		}
		p, err := statementPolicy(policy.Identity, st.Version, st.Raw, func(string) bool { return true })
		if err != nil {
			continue
		}
		set.Identity = append(set.Identity, policy.Named{ID: "probe", Policy: p})
	}
	if len(set.Identity) == 0 {
		return false
	}
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	pr := policy.Principal{Type: policy.AssumedRole, Account: account, ARN: "arn:aws:sts::" + account + ":assumed-role/" + name + "/probe",
		ID: "AROAOPENSTSPROBE:probe", RoleARN: roleARN, RoleID: "AROAOPENSTSPROBE"}
	now := time.Now()
	random := strings.ToLower(rand.Text()[:10])
	for _, action := range everyActions {
		action = strings.ReplaceAll(action, "RAND", random)
		service, _, _ := strings.Cut(action, ":")
		for _, res := range everyResources {
			res = strings.ReplaceAll(strings.ReplaceAll(res, "ACCOUNT", account), "RAND", random)
			allowed := false
			for _, a := range []string{action, service + ":OpenstsProbe" + random} {
				req := policy.Request{Principal: pr, Action: a, Resource: res, Now: now}
				if e, _ := policy.Evaluate(&set, &req).Verdicts.Of(policy.Identity); e == policy.Allow {
					allowed = true
					break
				}
			}
			if !allowed {
				return false
			}
		}
	}
	return true
}
