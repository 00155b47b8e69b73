package policy

import (
	"strings"

	"github.com/opensts/opensts/internal/arn"
)

// principalSet is a compiled Principal/NotPrincipal element: its values in
// one slice, list by list (see the methods), so that a trust policy naming
// one principal keeps three small objects. A document of at most 131,072
// bytes holds fewer than 65,536 values (each takes at least two bytes).
type principalSet struct {
	vals []string
	end  [nPrincipalLists]uint16 // end[k] is where list k ends in vals
	any  bool                    // "*" or {"AWS":"*"}
}

// The lists of a principalSet.
const (
	listAccounts  = iota // 12-digit account ids (from "ACCT" or arn:...:root)
	listARNs             // user, role, assumed-role, federated-user ARNs
	listIDs              // unique ids (AIDA..., AROA...)
	listFederated        // Federated values
	listServices         // Service values
	listCanonical        // CanonicalUser values
	nPrincipalLists
)

func (ps *principalSet) list(k int) []string {
	lo := 0
	if k > 0 {
		lo = int(ps.end[k-1])
	}
	hi := int(ps.end[k])
	return ps.vals[lo:hi:hi]
}

func (ps *principalSet) accounts() []string  { return ps.list(listAccounts) }
func (ps *principalSet) arns() []string      { return ps.list(listARNs) }
func (ps *principalSet) ids() []string       { return ps.list(listIDs) }
func (ps *principalSet) federated() []string { return ps.list(listFederated) }
func (ps *principalSet) services() []string  { return ps.list(listServices) }
func (ps *principalSet) canonical() []string { return ps.list(listCanonical) }

// lists returns ps's lists of values.
func (ps *principalSet) lists() [nPrincipalLists][]string {
	var out [nPrincipalLists][]string
	for k := range out {
		out[k] = ps.list(k)
	}
	return out
}

func compilePrincipal(n *node) *principalSet {
	ps := &principalSet{}
	if n.kind == 's' {
		ps.any = n.str == "*"
		return ps
	}
	var lists [nPrincipalLists][]string
	for i, k := range n.keys {
		for _, v := range n.vals[i].strs() {
			switch k {
			case "AWS":
				switch {
				case v == "*":
					ps.any = true
				case isAccountID(v):
					lists[listAccounts] = append(lists[listAccounts], v)
				case strings.HasPrefix(v, "arn:"):
					if a, err := arn.Parse(v); err == nil && a.Resource == "root" {
						lists[listAccounts] = append(lists[listAccounts], a.Account)
					} else {
						lists[listARNs] = append(lists[listARNs], v)
					}
				default:
					lists[listIDs] = append(lists[listIDs], v)
				}
			case "Federated":
				lists[listFederated] = append(lists[listFederated], v)
			case "Service":
				lists[listServices] = append(lists[listServices], v)
			case "CanonicalUser":
				lists[listCanonical] = append(lists[listCanonical], v)
			}
		}
	}
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	if total > 0 {
		ps.vals = make([]string, 0, total)
	}
	for k, l := range lists {
		for _, v := range l {
			// Its own copy: not a substring pinning the document.
			ps.vals = append(ps.vals, strings.Clone(v))
		}
		ps.end[k] = uint16(len(ps.vals))
	}
	return ps
}

func isAccountID(s string) bool { return len(s) == 12 && isDigits(s) }

// principalValues validates the values of a Principal element and returns
// IAM's message for the first invalid one, or "".
func principalValues(n *node) string {
	if n.kind != 'o' {
		return ""
	}
	for i, k := range n.keys {
		for _, v := range n.vals[i].strs() {
			bad := false
			switch k {
			case "AWS":
				bad = !validAWSPrincipal(v)
			case "Federated", "Service", "CanonicalUser":
				bad = v == "" || strings.ContainsAny(v, "*?")
			}
			if bad {
				return `Invalid principal in policy: "` + k + `":"` + v + `"`
			}
		}
	}
	return ""
}

func validAWSPrincipal(v string) bool {
	if v == "*" || isAccountID(v) {
		return true
	}
	if strings.ContainsAny(v, "*?") {
		return false // no partial wildcards
	}
	if a, err := arn.Parse(v); err == nil {
		if !isAccountID(a.Account) || a.Region != "" {
			return false
		}
		switch a.Service {
		case "iam":
			return a.Resource == "root" || strings.HasPrefix(a.Resource, "user/") || strings.HasPrefix(a.Resource, "role/")
		case "sts":
			return strings.HasPrefix(a.Resource, "assumed-role/") && strings.Count(a.Resource, "/") == 2 ||
				strings.HasPrefix(a.Resource, "federated-user/")
		}
		return false
	}
	// Unique ids: AIDA (user), AROA (role), and other A???-prefixed ids.
	if len(v) >= 16 && v[0] == 'A' {
		for i := 0; i < len(v); i++ {
			c := v[i]
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				return false
			}
		}
		return true
	}
	return false
}

// match reports whether p names principal pr and how (the strongest way).
func (ps *principalSet) match(pr *Principal) (NamedBy, bool) {
	best, ok := NamedNone, false
	up := func(n NamedBy) {
		if !ok || rank(n) > rank(best) {
			best = n
		}
		ok = true
	}
	if ps.any {
		up(NamedEveryone)
	}
	if pr.Account != "" && pr.Type != Anonymous && pr.Type != Service && pr.Type != WebIdentity && pr.Type != SAMLUser && pr.Type != LDAPUser {
		for _, a := range ps.accounts() {
			if a == pr.Account {
				up(NamedAccount)
			}
		}
	}
	for _, a := range ps.arns() {
		switch {
		case pr.ARN != "" && a == pr.ARN:
			switch pr.Type {
			case User:
				up(NamedUser)
			case AssumedRole, FederatedUser:
				up(NamedSession)
			case Root:
				up(NamedAccount)
			default:
				up(NamedOther)
			}
		case pr.RoleARN != "" && a == pr.RoleARN:
			up(NamedRole)
		}
	}
	for _, id := range ps.ids() {
		switch {
		case pr.ID != "" && id == pr.ID && pr.Type == User:
			up(NamedUser)
		case pr.RoleID != "" && id == pr.RoleID:
			up(NamedRole)
		}
	}
	if pr.Federated != "" {
		for _, f := range ps.federated() {
			if strings.EqualFold(f, pr.Federated) {
				up(NamedFederated)
			}
		}
	}
	if pr.Service != "" {
		for _, s := range ps.services() {
			if strings.EqualFold(s, pr.Service) {
				up(NamedFederated)
			}
		}
	}
	for _, c := range ps.canonical() {
		if pr.ID != "" && c == pr.ID {
			up(NamedOther)
		}
	}
	return best, ok
}

// exempt reports whether a NotPrincipal element lists every identity AWS
// evaluates for pr separately: the account, and for a user its ARN, for a
// role session the session ARN and the role ARN. Anyone not exempt is
// matched by the statement.
func (ps *principalSet) exempt(pr *Principal) bool {
	if ps.any {
		return true
	}
	hasAcct := false
	for _, a := range ps.accounts() {
		if a == pr.Account && pr.Account != "" {
			hasAcct = true
		}
	}
	has := func(list []string, s string) bool {
		return s != "" && contains(list, s)
	}
	switch pr.Type {
	case Root:
		return hasAcct || has(ps.arns(), pr.ARN)
	case User:
		return hasAcct && (has(ps.arns(), pr.ARN) || has(ps.ids(), pr.ID))
	case AssumedRole:
		return hasAcct && has(ps.arns(), pr.ARN) && (has(ps.arns(), pr.RoleARN) || has(ps.ids(), pr.RoleID))
	case FederatedUser:
		return hasAcct && has(ps.arns(), pr.ARN)
	case Service:
		return has(ps.services(), pr.Service)
	case WebIdentity, SAMLUser, LDAPUser:
		return has(ps.federated(), pr.Federated)
	}
	return false
}

// rank orders how directly a resource policy named the principal: a grant
// to the session or user itself is stronger than one to its role, which is
// stronger than one to its account.
func rank(n NamedBy) int {
	switch n {
	case NamedAccount:
		return 1
	case NamedRole:
		return 2
	case NamedEveryone, NamedOther:
		return 3
	case NamedUser, NamedSession, NamedFederated:
		return 4
	}
	return 0
}
