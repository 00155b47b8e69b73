package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/opensts/opensts/internal/trustcheck"
)

// A trust policy as the trust report reads it: leniently, since the server
// already validated it; what cannot be read is reported, not guessed.
type trustDoc struct {
	Statement oneOrMany[trustStatement] `json:"Statement"`
}

type trustStatement struct {
	Sid       string                                `json:"Sid"`
	Effect    string                                `json:"Effect"`
	Principal json.RawMessage                       `json:"Principal"`
	Action    oneOrMany[string]                     `json:"Action"`
	Condition map[string]map[string]json.RawMessage `json:"Condition"`
}

// oneOrMany is a JSON value that is one T or an array of them.
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '[' {
		var many []T
		err := json.Unmarshal(b, &many)
		*o = many
		return err
	}
	var one T
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*o = oneOrMany[T]{one}
	return nil
}

// principals returns the statement's principals by type: "*" for
// "Principal": "*" (as {"AWS": "*"}).
func (st *trustStatement) principals() (map[string][]string, error) {
	out := map[string][]string{}
	if len(st.Principal) == 0 {
		return out, nil
	}
	var star string
	if json.Unmarshal(st.Principal, &star) == nil {
		out["AWS"] = []string{star}
		return out, nil
	}
	var m map[string]oneOrMany[string]
	if err := json.Unmarshal(st.Principal, &m); err != nil {
		return nil, fmt.Errorf("read Principal: %w", err)
	}
	for k, v := range m {
		out[k] = v
	}
	return out, nil
}

// condition is one key of a statement's Condition with its operator and
// values.
type condition struct {
	Op     string
	Key    string // lowercase
	Values []string
}

func (st *trustStatement) conditions() []condition {
	var out []condition
	for op, keys := range st.Condition {
		for k, raw := range keys {
			var vals oneOrMany[string]
			if json.Unmarshal(raw, &vals) != nil {
				var vs oneOrMany[any]
				_ = json.Unmarshal(raw, &vs)
				for _, v := range vs {
					vals = append(vals, fmt.Sprint(v))
				}
			}
			out = append(out, condition{Op: op, Key: strings.ToLower(k), Values: vals})
		}
	}
	slices.SortFunc(out, func(a, b condition) int { return strings.Compare(a.Key+a.Op, b.Key+b.Op) })
	return out
}

// specific reports whether some value is more than wildcards.
func (c condition) specific() bool {
	if strings.HasPrefix(strings.ToLower(c.Op), "null") {
		return false
	}
	for _, v := range c.Values {
		if strings.Trim(v, "*?") != "" {
			return true
		}
	}
	return false
}

// readStatements decodes a policy document into doc (as the report reads
// its statements) and returns its Version and its statements as written
// (for the policy engine's probes); n is how many statements doc holds,
// which must be as many.
func readStatements(document string, doc any, n func() int) (version string, stmts []json.RawMessage, err error) {
	if err := json.Unmarshal([]byte(document), doc); err != nil {
		return "", nil, err
	}
	if version, stmts, err = trustcheck.Statements(document); err != nil {
		return "", nil, err
	}
	if len(stmts) != n() {
		return "", nil, errors.New("statements could not be read")
	}
	return version, stmts, nil
}

// TrustFinding is one problem with one role's trust policy.
type TrustFinding struct {
	Role      string `json:"role"`
	RoleARN   string `json:"roleArn"`
	Statement string `json:"statement"` // Sid, or its position
	Severity  string `json:"severity"`  // HIGH, MEDIUM, LOW
	Finding   string `json:"finding"`
	Principal string `json:"principal,omitempty"`
	Fix       string `json:"fix"`
}

// CrossAccountTrust is one foreign principal a role trusts.
type CrossAccountTrust struct {
	Role       string   `json:"role"`
	RoleARN    string   `json:"roleArn"`
	Statement  string   `json:"statement"`
	Principal  string   `json:"principal"`
	Account    string   `json:"account"`
	ExternalID bool     `json:"externalId"`
	Conditions []string `json:"conditions,omitempty"`
}

// trustRole is what the trust report knows of a role.
type trustRole struct {
	Name, ARN, Account string
	Document           string // the trust policy, decoded
}

// principalAccount returns the account an AWS principal names, and whether
// it names the whole account ("123456789012" or its :root).
func principalAccount(p string) (account string, whole bool) {
	if len(p) == 12 && strings.Trim(p, "0123456789") == "" {
		return p, true
	}
	parts := strings.SplitN(p, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return "", false
	}
	return parts[4], parts[5] == "root"
}

// reviewTrust returns the findings and the cross-account inventory of one
// role's trust policy.
func reviewTrust(r trustRole) ([]TrustFinding, []CrossAccountTrust) {
	var findings []TrustFinding
	var inventory []CrossAccountTrust
	var doc trustDoc
	version, stmts, err := readStatements(r.Document, &doc, func() int { return len(doc.Statement) })
	if err != nil {
		return []TrustFinding{{Role: r.Name, RoleARN: r.ARN, Statement: "-", Severity: "MEDIUM", Finding: "trust policy could not be read: " + err.Error(),
			Fix: "check the policy with aws iam get-role"}}, nil
	}
	stranger := trustcheck.Stranger(r.Document)
	for i, st := range doc.Statement {
		if !strings.EqualFold(st.Effect, "Allow") {
			continue
		}
		name := st.Sid
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		add := func(sev, what, principal, fix string) {
			findings = append(findings, TrustFinding{Role: r.Name, RoleARN: r.ARN, Statement: name, Severity: sev, Finding: what, Principal: principal, Fix: fix})
		}
		conds := st.conditions()
		has := func(pred func(condition) bool) bool { return slices.ContainsFunc(conds, pred) }
		ps, err := st.principals()
		if err != nil {
			add("MEDIUM", "principal could not be read: "+err.Error(), "", "check the policy with aws iam get-role")
			continue
		}
		// Who the statement lets in is asked of the policy engine, as
		// AssumeRole asks it, not read from how the statement is spelled.
		probe, err := trustcheck.NewProbe(r.ARN, r.Account, version, stmts[i])
		if err != nil {
			add("MEDIUM", "statement could not be read: "+err.Error(), "", "check the policy with aws iam get-role")
			continue
		}
		if probe.Everyone(stranger) {
			who := strings.Join(ps["AWS"], ", ")
			if who == "" {
				who = "*"
			}
			add("HIGH", "trusts every AWS principal (\"*\") without a condition that narrows who: a principal of any account may assume it", who,
				"name the trusted accounts or roles, or add a Condition on aws:PrincipalOrgID, aws:PrincipalAccount or aws:PrincipalArn")
		}
		// The foreign accounts it trusts: those its Principal names, and
		// with "*", those its conditions on who the caller is name.
		type trusted struct{ principal, account string }
		var foreign []trusted
		star := false
		for _, p := range ps["AWS"] {
			acct, _ := principalAccount(p)
			star = star || p == "*"
			if p != "*" && acct != "" && acct != r.Account {
				foreign = append(foreign, trusted{p, acct})
			}
		}
		if star {
			for _, acct := range probe.Accounts() {
				if !slices.ContainsFunc(foreign, func(f trusted) bool { return f.account == acct }) {
					foreign = append(foreign, trusted{"*", acct})
				}
			}
		}
		for _, f := range foreign {
			p, acct := f.principal, f.account
			ext := has(func(c condition) bool { return c.Key == "sts:externalid" && c.specific() })
			var keys []string
			for _, c := range conds {
				keys = append(keys, c.Op+" "+c.Key)
			}
			inventory = append(inventory, CrossAccountTrust{Role: r.Name, RoleARN: r.ARN, Statement: name, Principal: p, Account: acct, ExternalID: ext, Conditions: keys})
			if probe.AnyoneOf(acct) {
				add("HIGH", "trusts the whole foreign account "+acct+" without sts:ExternalId", p,
					"add a Condition StringEquals sts:ExternalId (the confused-deputy guard), or name the foreign role that may assume it")
			}
		}
		for _, p := range ps["Federated"] {
			switch {
			case strings.Contains(p, ":saml-provider/"):
				if probe.AnyUser(p) || !has(func(c condition) bool {
					return strings.HasPrefix(c.Key, "saml:") && c.Key != "saml:aud" && c.specific()
				}) {
					add("MEDIUM", "trusts every user of the SAML provider: no condition on a SAML attribute", p,
						"add a Condition on SAML:sub, SAML:eduPersonAffiliation or a group attribute so that only the intended users can assume it")
				}
			case strings.Contains(p, ":ldap-provider/"):
				if probe.AnyUser(p) || !has(func(c condition) bool { return strings.HasPrefix(c.Key, "ldap:") && c.specific() }) {
					add("MEDIUM", "trusts every user of the LDAP directory: no condition on ldap:groups or ldap:username", p,
						"add a Condition ForAnyValue:StringEquals ldap:groups (a group DN) or StringEquals ldap:username")
				}
			default:
				provider := strings.ToLower(p)
				if i := strings.Index(provider, ":oidc-provider/"); i >= 0 {
					provider = provider[i+len(":oidc-provider/"):]
				}
				if probe.AnySubject(p) {
					add("HIGH", "web identity trust that admits any subject (no sub condition, or one any subject meets, such as repo:*, or a custom subject that names no owner, such as environment:prod): any identity the provider issues tokens for (any repository, for GitHub Actions or GitLab) can assume it", p,
						"add a Condition StringEquals "+provider+":sub naming the subject, e.g. repo:ORG/REPO:ref:refs/heads/main (or "+provider+":repository_owner naming the owner)")
				}
				if !has(func(c condition) bool {
					return (strings.HasSuffix(c.Key, ":aud") || strings.HasSuffix(c.Key, ":azp")) && c.specific()
				}) {
					add("MEDIUM", "web identity trust without an aud condition: tokens minted for other audiences are accepted", p,
						"add a Condition StringEquals "+provider+":aud naming this role's audience, e.g. sts.amazonaws.com")
				}
			}
		}
	}
	return findings, inventory
}

// permissionStatement is a statement of a permission policy, as the trust
// report reads it.
type permissionStatement struct {
	Sid       string          `json:"Sid"`
	Effect    string          `json:"Effect"`
	Condition json.RawMessage `json:"Condition"`
}

// reviewPermissions flags the statements of a role's permission policy
// that allow every action on every resource (*:*), however spelled
// ("*", "*:*", NotAction, NotResource): the policy engine is asked, with
// the statement's conditions taken as met.
func reviewPermissions(role, roleARN string, p namedDoc) []TrustFinding {
	var doc struct {
		Statement oneOrMany[permissionStatement] `json:"Statement"`
	}
	version, stmts, err := readStatements(p.Document, &doc, func() int { return len(doc.Statement) })
	if err != nil {
		return []TrustFinding{{Role: role, RoleARN: roleARN, Statement: p.Name, Severity: "MEDIUM", Finding: "permission policy could not be read: " + err.Error(),
			Fix: "check the policy with aws iam get-role-policy or get-policy-version"}}
	}
	account, _ := principalAccount(roleARN)
	var out []TrustFinding
	for i, st := range doc.Statement {
		if !strings.EqualFold(st.Effect, "Allow") || !trustcheck.GrantsEverything(roleARN, account, version, stmts[i]) {
			continue
		}
		name := st.Sid
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		what := "permission policy " + p.Name + " allows every action on every resource (*:*)"
		if len(st.Condition) > 0 && string(st.Condition) != "{}" && string(st.Condition) != "null" {
			what += ", under a condition"
		}
		out = append(out, TrustFinding{Role: role, RoleARN: roleARN, Statement: p.Name + " " + name, Severity: "HIGH", Finding: what,
			Fix: "grant only the actions and resources the role needs (aws iam generate-service-last-accessed-details shows what it uses)"})
	}
	return out
}

// reviewPermissionsTogether flags a role whose permission policies allow
// every action on every resource together though no statement does alone
// (one allows everything but IAM, another IAM).
func reviewPermissionsTogether(role, roleARN string, policies []namedDoc) []TrustFinding {
	var stmts []trustcheck.Statement
	var names []string
	for _, p := range policies {
		version, raw, err := trustcheck.Statements(p.Document)
		if err != nil {
			continue
		}
		names = append(names, p.Name)
		for _, st := range raw {
			stmts = append(stmts, trustcheck.Statement{Version: version, Raw: st})
		}
	}
	account, _ := principalAccount(roleARN)
	if len(stmts) < 2 || !trustcheck.GrantTogether(roleARN, account, stmts) {
		return nil
	}
	return []TrustFinding{{Role: role, RoleARN: roleARN, Statement: strings.Join(names, ", "), Severity: "HIGH",
		Finding: "permission policies " + strings.Join(names, ", ") + " together allow every action on every resource (*:*), though no statement does alone",
		Fix:     "grant only the actions and resources the role needs (aws iam generate-service-last-accessed-details shows what it uses)"}}
}
