package detect

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/opensts/opensts/internal/trustcheck"
)

// trust fires trust-opened when CreateRole or UpdateAssumeRolePolicy gives
// a role a trust policy that TrustFindings objects to.
func (e *Engine) trust(ev *Event, fired *[]Alert) {
	if ev.Source != "iam.amazonaws.com" || (ev.Name != "CreateRole" && ev.Name != "UpdateAssumeRolePolicy") {
		return
	}
	doc := ev.param("assumeRolePolicyDocument")
	if doc == "" {
		doc = ev.param("policyDocument")
	}
	fs := TrustFindings(doc, ev.Account)
	if len(fs) == 0 {
		return
	}
	role := ev.param("roleName")
	e.fire(ev, "trust-opened", "role:"+ev.Account+"/"+role+"|"+ev.ID, "role "+role+": "+strings.Join(fs, "; "), fired)
}

// TrustFindings lists what is dangerously open in a trust policy: trust of
// everyone ("*") without a narrowing condition, a foreign account trusted
// as a whole without sts:ExternalId, and web identity trust with no
// condition on the token's subject (":sub"), which lets any identity of the
// provider (any repository of a CI provider) assume the role. The first two
// are asked of the policy engine (internal/trustcheck), whatever the
// statement's spelling.
func TrustFindings(doc, account string) []string {
	var d struct{ Statement json.RawMessage }
	if json.Unmarshal([]byte(doc), &d) != nil {
		return nil
	}
	version, raw, err := trustcheck.Statements(doc)
	list := statements(d.Statement)
	if err != nil || len(raw) != len(list) {
		return nil
	}
	roleARN := "arn:aws:iam::" + account + ":role/trust-opened"
	stranger := trustcheck.Stranger(doc)
	var out []string
	for i, s := range list {
		if s.Effect != "Allow" {
			continue
		}
		name := s.Sid
		if name == "" {
			name = "statement " + itoa(i)
		}
		probe, err := trustcheck.NewProbe(roleARN, account, version, raw[i])
		if err != nil {
			continue
		}
		aws, federated, everyone := principals(s.Principal)
		if probe.Everyone(stranger) {
			out = append(out, name+" trusts everyone (\"*\") with no condition that narrows who")
		}
		// The foreign accounts it trusts: those its Principal names, and
		// with "*", those its conditions on who the caller is name.
		var foreign []string
		for _, p := range aws {
			if acct := accountOf(p); acct != "" && acct != account && p != "*" && !slices.Contains(foreign, acct) {
				foreign = append(foreign, acct)
			}
		}
		if everyone {
			for _, acct := range probe.Accounts() {
				if !slices.Contains(foreign, acct) {
					foreign = append(foreign, acct)
				}
			}
		}
		for _, acct := range foreign {
			if probe.AnyoneOf(acct) {
				out = append(out, name+" trusts all of account "+acct+" without sts:ExternalId")
			}
		}
		for _, f := range federated {
			if probe.AnySubject(f) {
				out = append(out, name+" trusts web identities of "+f[strings.Index(f, ":oidc-provider/")+len(":oidc-provider/"):]+" whatever their sub")
			}
		}
	}
	return out
}

// principals reads a Principal element.
func principals(raw json.RawMessage) (aws, federated []string, everyone bool) {
	var star string
	if json.Unmarshal(raw, &star) == nil {
		return nil, nil, star == "*"
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, nil, false
	}
	aws = strs(m["AWS"])
	for _, a := range aws {
		if a == "*" {
			everyone = true
		}
	}
	return aws, strs(m["Federated"]), everyone
}

// accountOf is the account of an AWS principal: a 12-digit id or an ARN.
func accountOf(p string) string {
	if len(p) == 12 && strings.Trim(p, "0123456789") == "" {
		return p
	}
	parts := strings.SplitN(p, ":", 6)
	if len(parts) == 6 && parts[0] == "arn" {
		return parts[4]
	}
	return ""
}
