// Package policy implements the IAM policy language: Parse (JSON to a typed,
// validated document), Compile (cached by content hash) and Evaluate (a
// request to a decision with diagnostics). It is pure: no I/O, no clock (the
// time comes in the request), and it imports only the standard library and
// internal/arn.
package policy

import (
	"iter"
	"time"
)

// Kind is what a policy is attached as; it decides the validation rules and
// the role a policy plays in evaluation.
type Kind uint8

// Policy kinds.
const (
	Identity Kind = iota + 1 // identity-based policy of a user, group or role
	Resource                 // resource-based policy
	Trust                    // role trust policy (a resource policy of the role)
	Boundary                 // permissions boundary
	Session                  // session policy passed to AssumeRole*/GetFederationToken
	SCP                      // organization service control policy
	// Managed is a managed policy document, whatever it is used as (an
	// identity policy, a permissions boundary, a session policy named in
	// PolicyArns): identity-policy rules and the managed-policy quota of
	// 6,144 characters. The Set slot it fills decides its role in
	// evaluation, so compile it as Managed wherever it is used.
	Managed
	// RCP is an organization resource control policy: it bounds what any
	// request to a resource of a member account may do (Set.RCP).
	RCP
)

// Error is a validation failure; Message is AWS's MalformedPolicyDocument
// message text.
type Error struct {
	Message string
	// Quota is the size limit the document exceeded, 0 for other failures
	// (IAM reports those as LimitExceeded, not MalformedPolicyDocument).
	Quota int
}

func (e *Error) Error() string { return e.Message }

// PrincipalType is the kind of principal making a request.
type PrincipalType uint8

// Principal types.
const (
	Anonymous PrincipalType = iota
	Root
	User
	AssumedRole
	FederatedUser
	Service
	WebIdentity
	SAMLUser
	LDAPUser // a user of an LDAP provider (AssumeRoleWithLDAPIdentity)
)

// Principal is who makes the request, as policies' Principal elements match it.
type Principal struct {
	Type      PrincipalType
	Account   string // 12 digits
	ARN       string // arn:aws:iam::111122223333:user/path/name, arn:aws:sts::...:assumed-role/Role/sess, ...:root
	ID        string // unique id: AIDA..., AROA...:session, account:name
	RoleARN   string // role sessions: the role's ARN (with path); trust/resource statements naming it match
	RoleID    string // role sessions: AROA...
	Federated string // web identity / SAML provider (ARN or host) for Federated principals
	Service   string // service principal, e.g. ec2.amazonaws.com
}

// Request is one authorization question.
type Request struct {
	Principal Principal
	Action    string   // "sts:AssumeRole"
	Resource  string   // ARN, or "*"
	Context   *Context // may be nil; aws:CurrentTime/aws:EpochTime come from Now when absent
	Now       time.Time
}

// Named is a policy with the label its diagnostics carry and where it came
// from.
type Named struct {
	ID     string // labels diagnostics (policy ARN, "role/R/inline/P", ...)
	Policy *Policy
	// Source says where the policy came from, for callers that report it
	// (the IAM policy simulator). Whoever builds the Set sets it;
	// evaluation ignores it.
	Source Source
	// Doc is the document Policy was compiled from, when whoever built
	// the Named kept it (internal/authz does, so that the authorize API
	// can hand a principal's policies to a local verifier); "" otherwise.
	// Evaluation ignores it.
	Doc string
}

// Source says where a policy came from.
type Source struct {
	Type SourceType
	// Owner holds the policy: the name of the user, group or role of an
	// inline policy, the ARN of the resource a resource-based policy is
	// attached to ("" when unknown).
	Owner string
	// Name is the policy's name: an inline or managed policy's, an SCP's,
	// or the label of a document passed in ("PolicyInputList.1"); "" for a
	// policy without one (a session's inline policy).
	Name string
	// ARN is a managed policy's ARN.
	ARN string
}

// SourceType is the kind of place a policy comes from. A permissions
// boundary is a managed policy (SourceManaged) that fills the Set's Boundary
// slot: the slot, not the source, says what role a policy plays.
type SourceType uint8

// Source types.
const (
	SourceUnknown     SourceType = iota // not said
	SourceUserInline                    // an inline policy of an IAM user
	SourceGroupInline                   // an inline policy of an IAM group
	SourceRoleInline                    // an inline policy of an IAM role
	SourceManaged                       // a managed policy, AWS's or the account's
	SourceSession                       // the inline policy a session was issued with
	SourceSCP                           // an organization's service control policy
	SourceResource                      // a resource-based policy: a bucket policy, a role's trust policy
	SourceInput                         // a document passed with a request (the simulator's inputs)
	SourceRoot                          // the account root's implicit full access
	SourceRCP                           // an organization's resource control policy
)

// Set is every policy that applies to one request.
type Set struct {
	Identity        []Named   // identity-based policies of the principal (user+groups, or role for sessions)
	Boundary        []Named   // permissions boundary; nil means none
	Session         []Named   // session policies; nil means none were passed
	SessionRequired bool      // federated-user sessions: no session policy => implicit deny
	SCP             [][]Named // one slice per organization level; nil means no guardrails apply
	// RCP is the resource control policies of the resource's account, one
	// slice per organization level (root, OUs top first, the account);
	// nil means none apply (the resource is the management account's or a
	// standalone account's, or the policy type is disabled). They bound
	// the actions of the services RCPs cover (RCPApplies), for every
	// principal but service-linked roles.
	RCP             [][]Named
	Resource        []Named // resource-based policy (a role's trust policy for sts:AssumeRole*)
	ResourceAccount string  // account that owns the resource; "" means the principal's account
}

// All yields every policy of s, slot by slot, with the Kind the matches of
// its statements carry: its slot's, or Trust for a trust policy in the
// Resource slot. A Match's PolicyID and Kind name one of them (equal IDs in
// a slot name the same policy: a managed policy attached twice).
func (s *Set) All() iter.Seq2[Kind, *Named] {
	return func(yield func(Kind, *Named) bool) {
		each := func(k Kind, list []Named) bool {
			for i := range list {
				n := &list[i]
				kind := k
				if k == Resource && n.Policy != nil && n.Policy.kind == Trust {
					kind = Trust
				}
				if !yield(kind, n) {
					return false
				}
			}
			return true
		}
		if !each(Identity, s.Identity) || !each(Boundary, s.Boundary) || !each(Session, s.Session) || !each(Resource, s.Resource) {
			return
		}
		for _, level := range s.SCP {
			if !each(SCP, level) {
				return
			}
		}
		for _, level := range s.RCP {
			if !each(RCP, level) {
				return
			}
		}
	}
}

// Effect is the outcome of an evaluation, or the effect of a matched statement
// (Allow or ExplicitDeny).
type Effect uint8

// Effects.
const (
	ImplicitDeny Effect = iota
	Allow
	ExplicitDeny
)

// Match identifies one statement that applied to a request.
type Match struct {
	PolicyID string // Named.ID of the policy
	Kind     Kind
	Sid      string // the statement's Sid, "" when it has none
	Index    int    // the statement's position in the policy, from 0
	Effect   Effect // Allow or ExplicitDeny
}

// NamedBy says how the resource-based policy statements that allowed a
// request named the principal; it decides whether the resource policy alone
// can allow (IAM UG, policy evaluation logic).
type NamedBy uint8

// Ways a resource-based policy names a principal, from weakest to strongest.
const (
	NamedNone      NamedBy = iota // no resource-based Allow matched
	NamedAccount                  // the principal's account ("AWS":"ACCT" or :root)
	NamedEveryone                 // "*" or {"AWS":"*"}
	NamedRole                     // the role ARN or role unique id of a role session
	NamedUser                     // the IAM user ARN or unique id
	NamedSession                  // the session ARN (assumed-role or federated-user)
	NamedFederated                // a Federated or Service principal
	NamedOther                    // NotPrincipal or a canonical user
)

// Decision is the result of Evaluate.
type Decision struct {
	Effect   Effect
	Matched  []Match  // statements that matched (all of them, not first-match)
	DeniedBy Kind     // for a denial: the kind that denied or failed to allow (0 if allowed)
	Missing  []string // condition keys a condition needed but the request lacked
	// ResourceNamedBy is how the strongest matching resource-based Allow
	// named the principal (NamedNone when none matched).
	ResourceNamedBy NamedBy
	// CrossAccount reports that the resource belongs to another account than
	// the principal, so both sides had to allow.
	CrossAccount bool
	// Verdicts is what the policies of each kind said, whatever the
	// decision: a caller can tell that a boundary allowed a request the
	// identity-based policies did not.
	Verdicts Verdicts
}

// Verdicts records what the policies in each slot of a Set said about a
// request: three bits a slot (the slot has policies, one allowed, one
// denied). The zero value records no policies at all.
type Verdicts uint32

// Of returns the verdict of the policies of kind k: Allow when one of them
// allowed and none denied, ExplicitDeny when one denied, ImplicitDeny when
// none matched. ok is false, and the effect ImplicitDeny, when the Set had
// no policies of that kind (its slot was nil). Resource and Trust both name
// the Set's Resource slot; SCP (and RCP) is every organization level
// together, which allows when each level allows.
func (v Verdicts) Of(k Kind) (e Effect, ok bool) {
	switch b := v >> (3 * verdictSlot(k)); {
	case b&1 == 0:
		return ImplicitDeny, false
	case b&4 != 0:
		return ExplicitDeny, true
	case b&2 != 0:
		return Allow, true
	}
	return ImplicitDeny, true
}

// verdict records the verdict of kind k: whether the Set has policies of
// that kind, and whether one of them allowed and one denied.
func verdict(k Kind, present, allow, deny bool) Verdicts {
	return (bit(present) | bit(allow)<<1 | bit(deny)<<2) << (3 * verdictSlot(k))
}

func bit(b bool) Verdicts {
	if b {
		return 1
	}
	return 0
}

func verdictSlot(k Kind) Kind {
	if k == Trust {
		return Resource
	}
	return k
}

// Evaluate decides req against every policy in set. It allocates only the
// Matched and Missing slices; use Set.EvaluateInto to reuse them.
func Evaluate(set *Set, req *Request) Decision {
	var d Decision
	set.EvaluateInto(req, &d)
	return d
}
