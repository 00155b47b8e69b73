package iam

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// The IAM policy simulator: SimulateCustomPolicy and SimulatePrincipalPolicy
// evaluate policies with the same engine that authorizes real requests, and
// report the decision with the statements that made it.
//
// Results follow the current IAM model: one EvaluationResult per action,
// whose decision is the most restrictive over the requested resources, with
// one ResourceSpecificResult per resource when ResourceArns names resources.
// The simulator supplies no request context of its own beyond the simulated
// principal's identity keys (aws:PrincipalArn, aws:PrincipalAccount,
// aws:PrincipalType, aws:userid, aws:username): every other key a condition
// needs, aws:CurrentTime included, must come from ContextEntries or is
// reported in MissingContextValues.

// ContextEntry is one condition key value set for a simulation.
type ContextEntry struct {
	ContextKeyName   string `min:"5" max:"256"`
	ContextKeyValues []string
	ContextKeyType   string
}

// SimulateCustomPolicyInput is the input of SimulateCustomPolicy.
type SimulateCustomPolicyInput struct {
	PolicyInputList                    []string `required:"true" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	PermissionsBoundaryPolicyInputList []string `pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	ActionNames                        []string `required:"true"`
	ResourceARNs                       []string `query:"ResourceArns"`
	ResourcePolicy                     string   `min:"1" max:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	ResourceOwner                      string   `min:"1" max:"2048"`
	CallerARN                          string   `query:"CallerArn" min:"1" max:"2048"`
	ContextEntries                     []ContextEntry
	ResourceHandlingOption             string `min:"1" max:"64"`
	MaxItems                           *int32 `min:"1" max:"1000"`
	Marker                             string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
}

// SimulatePrincipalPolicyInput is the input of SimulatePrincipalPolicy.
// PolicySourceARN names a user, group or role of the caller's account or,
// beyond AWS, a role session (arn:aws:sts::ACCT:assumed-role/ROLE/SESSION),
// which is simulated with its role's policies and boundary and with session
// policies: those of the caller's own session when the caller simulates
// itself, or those passed in SessionPolicyInputList (an OpenSTS extension,
// sent as SessionPolicyInputList.member.N).
type SimulatePrincipalPolicyInput struct {
	PolicySourceARN                    string   `query:"PolicySourceArn" required:"true" min:"20" max:"2048"`
	PolicyInputList                    []string `pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	PermissionsBoundaryPolicyInputList []string `pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	SessionPolicyInputList             []string `max:"11" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	ActionNames                        []string `required:"true"`
	ResourceARNs                       []string `query:"ResourceArns"`
	ResourcePolicy                     string   `min:"1" max:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	ResourceOwner                      string   `min:"1" max:"2048"`
	CallerARN                          string   `query:"CallerArn" min:"1" max:"2048"`
	ContextEntries                     []ContextEntry
	ResourceHandlingOption             string `min:"1" max:"64"`
	MaxItems                           *int32 `min:"1" max:"1000"`
	Marker                             string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
}

// SimulatePolicyOutput is the output of both simulator actions
// (SimulatePolicyResponse).
type SimulatePolicyOutput struct {
	EvaluationResults []EvaluationResult `xml:"EvaluationResults>member"`
	Page
}

// EvaluationResult is the simulated decision for one action.
type EvaluationResult struct {
	EvalActionName string `xml:"EvalActionName"`
	// EvalResourceName is the resource when exactly one was simulated, "*"
	// otherwise (AWS reports an ARN template there; OpenSTS has none).
	EvalResourceName                  string                             `xml:"EvalResourceName"`
	EvalDecision                      string                             `xml:"EvalDecision"`
	MatchedStatements                 []Statement                        `xml:"MatchedStatements>member"`
	MissingContextValues              []string                           `xml:"MissingContextValues>member"`
	OrganizationsDecisionDetail       *OrganizationsDecisionDetail       `xml:"OrganizationsDecisionDetail,omitempty"`
	PermissionsBoundaryDecisionDetail *PermissionsBoundaryDecisionDetail `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
	EvalDecisionDetails               *DecisionDetails                   `xml:"EvalDecisionDetails,omitempty"`
	ResourceSpecificResults           []ResourceSpecificResult           `xml:"ResourceSpecificResults>member,omitempty"`
}

// ResourceSpecificResult is the simulated decision for one action on one
// resource.
type ResourceSpecificResult struct {
	EvalResourceName                  string                             `xml:"EvalResourceName"`
	EvalResourceDecision              string                             `xml:"EvalResourceDecision"`
	MatchedStatements                 []Statement                        `xml:"MatchedStatements>member"`
	MissingContextValues              []string                           `xml:"MissingContextValues>member"`
	EvalDecisionDetails               *DecisionDetails                   `xml:"EvalDecisionDetails,omitempty"`
	PermissionsBoundaryDecisionDetail *PermissionsBoundaryDecisionDetail `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
}

// Statement identifies a statement that decided a result. Positions are
// 1-based; EndPosition is just past the statement's closing brace.
type Statement struct {
	SourcePolicyID   string    `xml:"SourcePolicyId"`
	SourcePolicyType string    `xml:"SourcePolicyType"`
	StartPosition    *Position `xml:"StartPosition,omitempty"`
	EndPosition      *Position `xml:"EndPosition,omitempty"`
}

// Position is a line and column in a policy document, both from 1.
type Position struct {
	Line   int32 `xml:"Line"`
	Column int32 `xml:"Column"`
}

// OrganizationsDecisionDetail says whether the account's SCPs allow.
type OrganizationsDecisionDetail struct {
	AllowedByOrganizations bool `xml:"AllowedByOrganizations"`
}

// PermissionsBoundaryDecisionDetail says whether the boundary allows.
type PermissionsBoundaryDecisionDetail struct {
	AllowedByPermissionsBoundary bool `xml:"AllowedByPermissionsBoundary"`
}

// DecisionDetails is the EvalDecisionDetails map (policy type to decision),
// encoded as AWS encodes maps: <entry><key/><value/></entry>. A non-nil
// empty value renders as an empty element, as AWS returns for same-account
// simulations of named resources.
type DecisionDetails struct {
	Entries []DecisionDetail `xml:"entry"`
}

// DecisionDetail is one EvalDecisionDetails entry.
type DecisionDetail struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// Keys of EvalDecisionDetails: the two sides of a cross-account decision.
const (
	detailIdentity = "IAM Policy"
	detailResource = "Resource Policy"
)

// SourcePolicyType values.
const (
	sourceUser        = "user"
	sourceGroup       = "group"
	sourceRole        = "role"
	sourceAWSManaged  = "aws-managed"
	sourceUserManaged = "user-managed"
	sourceResource    = "resource"
	sourceNone        = "none"
)

// SimulateCustomPolicy evaluates the given policies for each action on each
// resource. It needs iam:SimulateCustomPolicy on "*".
func (s *Service) SimulateCustomPolicy(ctx context.Context, c *authz.Caller, in *SimulateCustomPolicyInput) (*SimulatePolicyOutput, error) {
	if err := s.check(ctx, c, "iam:SimulateCustomPolicy", "*"); err != nil {
		return nil, err
	}
	sim := &simulation{svc: s, account: c.Account, sources: map[string]policySource{}}
	if err := sim.addInputs(in.PolicyInputList, in.PermissionsBoundaryPolicyInputList, in.ResourcePolicy); err != nil {
		return nil, err
	}
	if in.ResourcePolicy != "" && in.CallerARN == "" {
		return nil, apierr.New(apierr.InvalidInput, "CallerArn must be specified when simulating a resource policy.")
	}
	pr := policy.Principal{Type: policy.User, Account: c.Account}
	username := ""
	if in.CallerARN != "" {
		var err error
		if pr, username, err = s.callerPrincipal(ctx, c.Account, in.CallerARN); err != nil {
			return nil, err
		}
	}
	return sim.run(ctx, pr, username, simParams{
		actions: in.ActionNames, resources: in.ResourceARNs, owner: in.ResourceOwner, entries: in.ContextEntries,
		handling: in.ResourceHandlingOption, marker: in.Marker, maxItems: in.MaxItems,
	})
}

// SimulatePrincipalPolicy evaluates the stored policies of a user (its own
// and its groups'), group or role, with its permissions boundary and the
// account's SCPs, plus any policies passed in, for each action on each
// resource. It needs iam:SimulatePrincipalPolicy on PolicySourceArn.
//
// PolicySourceArn names exactly one entity: one of the caller's account at
// exactly that path (names compare case-insensitively, as IAM's do; paths
// exactly). The caller is authorized on the entity's canonical ARN (stored
// path and spelling); for an ARN that names no entity (none of that name,
// one at another path, another account) on the ARN as given, and then
// answered NoSuchEntity, so that the answer does not tell a missing entity
// from one elsewhere.
func (s *Service) SimulatePrincipalPolicy(ctx context.Context, c *authz.Caller, in *SimulatePrincipalPolicyInput) (*SimulatePolicyOutput, error) {
	src, err := parseSourceARN(in.PolicySourceARN)
	if err != nil {
		return nil, err
	}
	var e entity
	found := false
	if src.account == c.Account {
		if e, found, err = s.load(ctx, c.Account, src.kind, src.name); err != nil {
			return nil, err
		}
	}
	// A session ARN carries no path; an IAM ARN must carry the stored one.
	found = found && (src.session != "" || orRoot(e.path) == src.path)
	resource := in.PolicySourceARN
	if found {
		resource = e.arn
		if src.session != "" {
			resource = sessionARN(c.Account, e.name, src.session)
		}
	}
	if err := s.check(ctx, c, "iam:SimulatePrincipalPolicy", resource); err != nil {
		return nil, err
	}
	if !found {
		return nil, noSuchEntity(src.kind, src.name)
	}

	sim := &simulation{svc: s, account: c.Account, sources: map[string]policySource{}}
	var pr policy.Principal
	username := ""
	var set policy.Set
	switch src.kind {
	case store.KindUser:
		set, err = s.authz.PolicySet(ctx, &authz.Caller{Account: c.Account, Type: policy.User, UserName: e.name, UserID: e.user.ID})
		pr = policy.Principal{Type: policy.User, Account: c.Account, ARN: e.arn, ID: e.user.ID}
		username = e.name
	case store.KindRole:
		self := c.Session != nil && c.Session.Type == session.AssumedRole && src.session != "" && strings.EqualFold(c.ARN, resource)
		if self {
			// The caller simulates its own session: its real session
			// policies (inline and managed ARNs) apply.
			set, err = s.authz.PolicySet(ctx, c)
		} else {
			set, err = s.authz.PolicySet(ctx, &authz.Caller{Account: c.Account, Type: policy.AssumedRole,
				Session: &session.Session{Type: session.AssumedRole, RoleName: e.name, RoleID: e.role.ID, RolePath: e.path}})
		}
		pr = policy.Principal{Type: policy.AssumedRole, Account: c.Account, ARN: e.arn, ID: e.role.ID, RoleARN: e.arn, RoleID: e.role.ID}
		if src.session != "" {
			pr.ARN = resource
			pr.ID = e.role.ID + ":" + src.session
		}
	case store.KindGroup:
		// The account's SCPs (what the root's policy set holds), then the
		// group's own policies.
		set, err = s.authz.PolicySet(ctx, &authz.Caller{Account: c.Account, Type: policy.Root})
		if err == nil {
			set.Identity, err = s.groupPolicies(ctx, c.Account, e.name)
		}
		pr = policy.Principal{Type: policy.User, Account: c.Account}
	}
	if err != nil {
		return nil, internal(err, "load policies of "+in.PolicySourceARN)
	}
	sim.set = set
	for _, n := range slices.Concat(set.Identity, set.Boundary) {
		sim.sources[n.ID] = storedSource(n.ID)
	}
	// Copy before appending: the slices may be the authorizer's cache.
	sim.set.Identity = slices.Clip(set.Identity)
	if err := sim.addInputs(in.PolicyInputList, in.PermissionsBoundaryPolicyInputList, in.ResourcePolicy); err != nil {
		return nil, err
	}
	for _, n := range set.Session {
		// Only a caller simulating its own session has session policies
		// here: its inline one, and managed ones by ARN.
		if n.ID == "session-policy" && c.Session != nil {
			sim.sources[n.ID] = policySource{id: n.ID, typ: sourceNone, doc: c.Session.Policy}
		} else {
			sim.sources[n.ID] = storedSource(n.ID)
		}
	}
	if len(in.SessionPolicyInputList) > 0 {
		if src.kind != store.KindRole || src.session == "" {
			return nil, apierr.New(apierr.InvalidInput, "SessionPolicyInputList applies only to a role session PolicySourceArn (arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION).")
		}
		if err := checkDocuments(map[string][]string{"sessionPolicyInputList": in.SessionPolicyInputList}); err != nil {
			return nil, err
		}
		sim.set.Session = slices.Clip(sim.set.Session)
		for i, doc := range in.SessionPolicyInputList {
			id := "SessionPolicyInputList." + strconv.Itoa(i+1)
			p, err := parsePolicy(policy.Session, doc)
			if err != nil {
				return nil, err
			}
			sim.set.Session = append(sim.set.Session, policy.Named{ID: id, Policy: p})
			sim.sources[id] = policySource{id: id, typ: sourceNone, doc: doc}
		}
	}
	if in.CallerARN != "" {
		if pr, username, err = s.callerPrincipal(ctx, c.Account, in.CallerARN); err != nil {
			return nil, err
		}
	} else if in.ResourcePolicy != "" && src.kind == store.KindGroup {
		return nil, apierr.New(apierr.InvalidInput, "CallerArn must be specified when simulating a resource policy for a group.")
	}
	return sim.run(ctx, pr, username, simParams{
		actions: in.ActionNames, resources: in.ResourceARNs, owner: in.ResourceOwner, entries: in.ContextEntries,
		handling: in.ResourceHandlingOption, marker: in.Marker, maxItems: in.MaxItems,
	})
}

// groupPolicies compiles a group's inline and attached policies, labelled
// as the authorizer labels them.
func (s *Service) groupPolicies(ctx context.Context, account, group string) ([]policy.Named, error) {
	var out []policy.Named
	inline, err := s.store.ListInlinePolicies(ctx, account, store.KindGroup, group)
	if err != nil {
		return nil, fmt.Errorf("list inline policies of group %s: %w", group, err)
	}
	for _, ip := range inline {
		p, err := s.policies.Compile(policy.Identity, ip.Document)
		if err != nil {
			return nil, fmt.Errorf("compile inline policy %s of group %s: %w", ip.Name, group, err)
		}
		out = append(out, policy.Named{ID: string(store.KindGroup) + "/" + group + "/" + ip.Name, Policy: p})
	}
	atts, err := s.store.ListAttachments(ctx, account, store.KindGroup, group)
	if err != nil {
		return nil, fmt.Errorf("list attachments of group %s: %w", group, err)
	}
	for _, at := range atts {
		n, err := s.authz.ManagedPolicy(ctx, at.PolicyARN)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// sourceARN is a parsed PolicySourceArn.
type sourceARN struct {
	kind    store.PrincipalKind
	account string
	path    string // IAM ARNs only: "/" or "/a/b/"
	name    string
	session string // role sessions only
}

// orRoot is path, or "/" for a path not set.
func orRoot(path string) string {
	if path == "" {
		return "/"
	}
	return path
}

// sessionARN is the ARN of a role session.
func sessionARN(account, role, session string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session
}

func parseSourceARN(s string) (sourceARN, error) {
	bad := apierr.New(apierr.InvalidInput, "Invalid ARN: %s", s)
	a, err := arn.Parse(s)
	if err != nil || a.Partition != "aws" || a.Region != "" || !isAccountID(a.Account) {
		return sourceARN{}, bad
	}
	src := sourceARN{account: a.Account}
	switch a.Service {
	case "iam":
		typ, rest, ok := strings.Cut(a.Resource, "/")
		switch store.PrincipalKind(typ) {
		case store.KindUser, store.KindGroup, store.KindRole:
			src.kind = store.PrincipalKind(typ)
		default:
			return sourceARN{}, bad
		}
		slash := strings.LastIndexByte(rest, '/')
		src.path, src.name = "/"+rest[:slash+1], rest[slash+1:]
		if !ok || !validName(src.name, 128) {
			return sourceARN{}, bad
		}
	case "sts":
		parts := strings.Split(a.Resource, "/")
		if len(parts) != 3 || parts[0] != "assumed-role" || !validName(parts[1], 64) || !validName(parts[2], 64) {
			return sourceARN{}, bad
		}
		src.kind, src.name, src.session = store.KindRole, parts[1], parts[2]
	default:
		return sourceARN{}, bad
	}
	return src, nil
}

// callerPrincipal turns CallerArn (an IAM user or role ARN) into the
// simulated principal, with the user's name for aws:username.
func (s *Service) callerPrincipal(ctx context.Context, account, callerARN string) (policy.Principal, string, error) {
	a, err := arn.Parse(callerARN)
	bad := apierr.New(apierr.InvalidInput, "Invalid CallerArn: %s. CallerArn must be the ARN of an IAM user or role.", callerARN)
	if err != nil || a.Service != "iam" || a.Region != "" || !isAccountID(a.Account) {
		return policy.Principal{}, "", bad
	}
	typ, rest, _ := strings.Cut(a.Resource, "/")
	slash := strings.LastIndexByte(rest, '/')
	path, name := "/"+rest[:slash+1], rest[slash+1:]
	if !validName(name, 128) {
		return policy.Principal{}, "", bad
	}
	// The caller's unique id is that of the entity at exactly that path.
	switch typ {
	case "user":
		pr := policy.Principal{Type: policy.User, Account: a.Account, ARN: callerARN}
		if a.Account == account {
			if u, err := s.store.GetUser(ctx, account, name); err == nil && orRoot(u.Path) == path {
				pr.ID = u.ID
			} else if err != nil && !isNotFound(err) {
				return policy.Principal{}, "", internal(err, "load caller "+callerARN)
			}
		}
		return pr, name, nil
	case "role":
		pr := policy.Principal{Type: policy.AssumedRole, Account: a.Account, ARN: callerARN, RoleARN: callerARN}
		if a.Account == account {
			if r, err := s.store.GetRole(ctx, account, name); err == nil && orRoot(r.Path) == path {
				pr.ID, pr.RoleID = r.ID, r.ID
			} else if err != nil && !isNotFound(err) {
				return policy.Principal{}, "", internal(err, "load caller "+callerARN)
			}
		}
		return pr, "", nil
	}
	return policy.Principal{}, "", bad
}

// policySource is how a policy appears in MatchedStatements.
type policySource struct {
	id, typ string
	doc     string // the source document; "" until loaded for stored policies
	stored  string // the authorizer's label of a stored policy, to load it
}

// storedSource describes a stored policy from the authorizer's label: a
// managed policy ARN, or "user|group|role/OWNER/NAME" for inline policies.
func storedSource(label string) policySource {
	if a, err := arn.Parse(label); err == nil {
		typ := sourceUserManaged
		if a.Account == awsManagedPolicyOwner {
			typ = sourceAWSManaged
		}
		return policySource{id: label[strings.LastIndexByte(label, '/')+1:], typ: typ, stored: label}
	}
	kind, rest, _ := strings.Cut(label, "/")
	_, name, _ := strings.Cut(rest, "/")
	return policySource{id: name, typ: kind, stored: label}
}

type simulation struct {
	svc     *Service
	account string // the caller's account, where stored policies live
	set     policy.Set
	sources map[string]policySource // by policy.Named.ID
	spans   map[string][]span       // statement spans by policy.Named.ID, computed lazily
}

type simParams struct {
	actions, resources []string
	owner              string
	entries            []ContextEntry
	handling           string
	marker             string
	maxItems           *int32
}

// addInputs compiles the policies passed in the request and adds them to
// the set: identity policies after the stored ones, an input boundary in
// place of the stored one.
func (sim *simulation) addInputs(identity, boundary []string, resource string) error {
	if err := checkDocuments(map[string][]string{"policyInputList": identity, "permissionsBoundaryPolicyInputList": boundary}); err != nil {
		return err
	}
	for i, doc := range identity {
		id := "PolicyInputList." + strconv.Itoa(i+1)
		p, err := parsePolicy(policy.Identity, doc)
		if err != nil {
			return err
		}
		sim.set.Identity = append(sim.set.Identity, policy.Named{ID: id, Policy: p})
		sim.sources[id] = policySource{id: id, typ: sourceNone, doc: doc}
	}
	if len(boundary) > 1 {
		return apierr.New(apierr.InvalidInput, "Only one permissions boundary policy can be simulated.")
	}
	for i, doc := range boundary {
		id := "PermissionsBoundaryPolicyInputList." + strconv.Itoa(i+1)
		p, err := parsePolicy(policy.Boundary, doc)
		if err != nil {
			return err
		}
		sim.set.Boundary = []policy.Named{{ID: id, Policy: p}}
		sim.sources[id] = policySource{id: id, typ: sourceNone, doc: doc}
	}
	if resource != "" {
		const id = "ResourcePolicy"
		p, err := parsePolicy(policy.Resource, resource)
		if err != nil {
			return err
		}
		sim.set.Resource = []policy.Named{{ID: id, Policy: p}}
		sim.sources[id] = policySource{id: id, typ: sourceResource, doc: resource}
	}
	return nil
}

// checkDocuments checks the length of the policy documents of lists (by
// their field names) against AWS's policyDocumentType: 1 to 131072
// characters.
func checkDocuments(lists map[string][]string) error {
	var violations []string
	for _, field := range slices.Sorted(maps.Keys(lists)) {
		for i, doc := range lists[field] {
			at := field + "." + strconv.Itoa(i+1) + ".member"
			if n := utf8.RuneCountInString(doc); n < 1 {
				violations = append(violations, fmt.Sprintf("Value '' at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", at))
			} else if n > 131072 {
				violations = append(violations, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to 131072", doc, at))
			}
		}
	}
	if len(violations) > 0 {
		return apierr.Validation(violations...)
	}
	return nil
}

// parsePolicy compiles a policy passed in a simulation request,
// returning MalformedPolicyDocument with the engine's message when it is
// invalid. It parses doc afresh rather than through the service's cache:
// such documents serve one request, and a long-lived cache would let callers
// fill it with documents of their choosing.
func parsePolicy(kind policy.Kind, doc string) (*policy.Policy, error) {
	p, err := policy.Parse(kind, doc)
	if err == nil {
		return p, nil
	}
	var pe *policy.Error
	if errors.As(err, &pe) {
		return nil, apierr.New(apierr.MalformedPolicyDocument, "%s", pe.Message)
	}
	return nil, apierr.Internal(fmt.Errorf("compile policy: %w", err))
}

// The size of one simulation. AWS limits the length of each input (action
// names 3 to 128 characters, resource ARNs 1 to 2048, policy documents 1 to
// 131072) but not how many a request holds, nor the work they make; OpenSTS
// bounds both for each page of results (MaxItems actions), estimated before
// any evaluation from the inputs and the compiled policies' policy.Work. A
// page over either bound fails with InvalidInput, before any work: a caller
// simulates fewer actions a page, fewer resources or smaller policies.
const (
	// maxSimulationWork bounds the matching work of a page: for each
	// action and resource, every policy's bytes, each of its terms against
	// the longest request value, and each condition value against all the
	// context's values (policy.Work), in bytes. The costliest byte is a
	// wildcard run with '?' scanned across a value (arn.Glob), at 1 to 2
	// ns: a page at the bound costs about half a second of CPU at worst.
	maxSimulationWork = 1 << 28
	// maxSimulationAnswer bounds the estimated size of a page's answer:
	// for each action and resource, the resource's ARN twice and 256 bytes,
	// plus 256 bytes for each statement and condition of the policies (a
	// matched statement, a missing context key).
	maxSimulationAnswer = 32 << 20
)

// checkSize estimates the work and the answer of simulating n actions on
// resources and refuses a page over the bounds.
func (sim *simulation) checkSize(n int, resources []string, pr policy.Principal, username string, entries []ContextEntry) error {
	var w policy.Work
	add := func(list []policy.Named) {
		for _, p := range list {
			if p.Policy == nil {
				continue
			}
			pw := p.Policy.Work()
			w.Statements += pw.Statements
			w.Conditions += pw.Conditions
			w.Terms += pw.Terms
			w.Values += pw.Values
			w.Bytes += pw.Bytes
		}
	}
	add(sim.set.Identity)
	add(sim.set.Boundary)
	add(sim.set.Session)
	add(sim.set.Resource)
	for _, level := range sim.set.SCP {
		add(level)
	}
	// The longest value a term meets: an action name (at most 128), a
	// resource ARN, the principal's ARNs; and all the context's values,
	// with the keys every request has.
	longest, resLongest := 128, 0
	for _, r := range resources {
		resLongest = max(resLongest, len(r))
	}
	longest = max(longest, resLongest, len(pr.ARN), len(pr.RoleARN), len(username))
	ctxBytes := 1024
	for _, e := range entries {
		for _, v := range e.ContextKeyValues {
			ctxBytes += len(v) + 16
		}
	}
	pairs := n * len(resources)
	work := mulSat(pairs, addSat(w.Bytes, mulSat(w.Terms, longest), mulSat(w.Values, ctxBytes+longest)))
	answer := mulSat(pairs, addSat(256, 2*resLongest, mulSat(256, w.Statements+w.Conditions)))
	if work > maxSimulationWork || answer > maxSimulationAnswer {
		return apierr.New(apierr.InvalidInput, "The simulation is too large: %d actions on %d resources with these policies and context would take about %d units of work (at most %d) and %d bytes of results (at most %d). Simulate fewer actions at a time (MaxItems), fewer resources, or smaller policies.",
			n, len(resources), work, maxSimulationWork, answer, maxSimulationAnswer)
	}
	return nil
}

// addSat and mulSat add and multiply non-negative ints, saturating at the
// largest int instead of overflowing.
func addSat(xs ...int) int {
	s := 0
	for _, x := range xs {
		if s > math.MaxInt-x {
			return math.MaxInt
		}
		s += x
	}
	return s
}

func mulSat(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}

var resourceHandlingOptions = []string{"EC2-VPC-InstanceStore", "EC2-VPC-InstanceStore-Subnet", "EC2-VPC-EBS", "EC2-VPC-EBS-Subnet"}

func (sim *simulation) run(ctx context.Context, pr policy.Principal, username string, p simParams) (*SimulatePolicyOutput, error) {
	if err := checkActions(p.actions); err != nil {
		return nil, err
	}
	resources, named, err := checkResources(p.resources)
	if err != nil {
		return nil, err
	}
	owner := pr.Account
	if p.owner != "" {
		if owner, err = parseResourceOwner(p.owner); err != nil {
			return nil, err
		}
	}
	if p.handling != "" && !slices.Contains(resourceHandlingOptions, p.handling) {
		return nil, apierr.New(apierr.InvalidInput, "Invalid ResourceHandlingOption: %s", p.handling)
	}
	pctx := &policy.Context{}
	if username != "" {
		pctx.Set("aws:username", username)
	}
	if err := setContextEntries(pctx, p.entries); err != nil {
		return nil, err
	}

	// Paginate over the actions, in request order.
	idx := make([]int, len(p.actions))
	for i := range idx {
		idx[i] = i
	}
	page, pg, err := paginate(idx, func(i int) string { return fmt.Sprintf("%08d", i) }, p.marker, p.maxItems)
	if err != nil {
		return nil, err
	}
	if err := sim.checkSize(len(page), resources, pr, username, p.entries); err != nil {
		return nil, err
	}
	out := &SimulatePolicyOutput{EvaluationResults: make([]EvaluationResult, 0, len(page)), Page: pg}
	for _, i := range page {
		r, err := sim.evaluate(ctx, pr, pctx, p.actions[i], resources, named, owner)
		if err != nil {
			return nil, err
		}
		out.EvaluationResults = append(out.EvaluationResults, r)
	}
	return out, nil
}

func checkActions(actions []string) error {
	var violations []string
	for i, a := range actions {
		n := utf8.RuneCountInString(a)
		at := "actionNames." + strconv.Itoa(i+1) + ".member"
		if n < 3 {
			violations = append(violations, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must have length greater than or equal to 3", a, at))
		} else if n > 128 {
			violations = append(violations, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to 128", a, at))
		}
	}
	if len(violations) > 0 {
		return apierr.Validation(violations...)
	}
	if len(actions) == 0 {
		return apierr.New(apierr.InvalidInput, "ActionNames must contain at least one action.")
	}
	for _, a := range actions {
		svc, name, ok := strings.Cut(a, ":")
		if !ok || svc == "" || name == "" {
			return apierr.New(apierr.InvalidInput, "Invalid action name %s: it must be of the form service:Action.", a)
		}
		if strings.ContainsAny(a, "*?") {
			return apierr.New(apierr.InvalidInput, "Action name %s must not contain wildcards.", a)
		}
	}
	return nil
}

// checkResources validates ResourceArns and returns the resources to
// simulate ("*" when none are given) and whether specific ones were named.
func checkResources(resources []string) ([]string, bool, error) {
	var violations []string
	for i, r := range resources {
		at := "resourceArns." + strconv.Itoa(i+1) + ".member"
		if r == "" {
			violations = append(violations, fmt.Sprintf("Value '' at '%s' failed to satisfy constraint: Member must have length greater than or equal to 1", at))
		} else if utf8.RuneCountInString(r) > 2048 {
			violations = append(violations, fmt.Sprintf("Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to 2048", r, at))
		}
	}
	if len(violations) > 0 {
		return nil, false, apierr.Validation(violations...)
	}
	for _, r := range resources {
		if _, err := arn.Parse(r); r != "*" && err != nil {
			return nil, false, apierr.New(apierr.InvalidInput, "Invalid ARN: %s", r)
		}
	}
	if len(resources) == 0 || (len(resources) == 1 && resources[0] == "*") {
		return []string{"*"}, false, nil
	}
	return resources, true, nil
}

// parseResourceOwner accepts arn:aws:iam::ACCOUNT:root or an account id.
func parseResourceOwner(s string) (string, error) {
	if isAccountID(s) {
		return s, nil
	}
	if acct, ok := strings.CutPrefix(s, "arn:aws:iam::"); ok {
		if acct, ok = strings.CutSuffix(acct, ":root"); ok && isAccountID(acct) {
			return acct, nil
		}
	}
	return "", apierr.New(apierr.InvalidInput, "Invalid ResourceOwner: %s. It must be an account ARN such as arn:aws:iam::123456789012:root.", s)
}

// setContextEntries validates ContextEntries and sets them in pc: list types
// with SetList, so that only ForAllValues:/ForAnyValue: operators match
// them, as in AWS's simulator.
func setContextEntries(pc *policy.Context, entries []ContextEntry) error {
	for i, e := range entries {
		at := "contextEntries." + strconv.Itoa(i+1) + ".member"
		if e.ContextKeyName == "" {
			return apierr.New(apierr.InvalidInput, "ContextKeyName is required at %s.", at)
		}
		base, list := strings.CutSuffix(e.ContextKeyType, "List")
		valid := contextValueCheck[base]
		if valid == nil {
			return apierr.New(apierr.InvalidInput, "Invalid ContextKeyType %q for context key %s: it must be one of string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, dateList.", e.ContextKeyType, e.ContextKeyName)
		}
		if !list && len(e.ContextKeyValues) != 1 {
			return apierr.New(apierr.InvalidInput, "Context key %s of type %s takes exactly one value, got %d.", e.ContextKeyName, e.ContextKeyType, len(e.ContextKeyValues))
		}
		values := make([]string, len(e.ContextKeyValues))
		for j, v := range e.ContextKeyValues {
			norm, ok := valid(v)
			if !ok {
				return apierr.New(apierr.InvalidInput, "Invalid value %q for context key %s of type %s.", v, e.ContextKeyName, e.ContextKeyType)
			}
			values[j] = norm
		}
		if list {
			pc.SetList(e.ContextKeyName, values...)
		} else {
			pc.Set(e.ContextKeyName, values...)
		}
	}
	return nil
}

// contextValueCheck validates (and normalizes) a value of each base type.
var contextValueCheck = map[string]func(string) (string, bool){
	"string": func(v string) (string, bool) { return v, true },
	"numeric": func(v string) (string, bool) {
		_, err := strconv.ParseFloat(v, 64)
		return v, err == nil
	},
	"boolean": func(v string) (string, bool) {
		l := strings.ToLower(v)
		return l, l == "true" || l == "false"
	},
	"ip": func(v string) (string, bool) {
		if _, err := netip.ParseAddr(v); err == nil {
			return v, true
		}
		_, err := netip.ParsePrefix(v)
		return v, err == nil
	},
	"binary": func(v string) (string, bool) {
		_, err := base64.StdEncoding.DecodeString(v)
		return v, err == nil
	},
	"date": func(v string) (string, bool) { return v, validDate(v) },
}

// validDate accepts what date condition operators compare: ISO 8601 date or
// date-time, or epoch seconds.
func validDate(v string) bool {
	if v != "" && strings.Trim(v, "0123456789") == "" {
		return true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02T15:04Z07:00", "2006-01-02T15:04Z", "2006-01-02"} {
		if _, err := time.Parse(layout, v); err == nil {
			return true
		}
	}
	return false
}

// resourceEval is the decision for one action on one resource.
type resourceEval struct {
	resource string
	effect   policy.Effect
	matched  []Statement
	missing  []string
	boundary *bool // nil: no boundary applies
	orgs     *bool // nil: no SCPs apply
	details  []DecisionDetail
	cross    bool
}

func (sim *simulation) evaluate(ctx context.Context, pr policy.Principal, pctx *policy.Context, action string, resources []string, named bool, owner string) (EvaluationResult, error) {
	evals := make([]resourceEval, 0, len(resources))
	for _, r := range resources {
		// Stop when the client is gone (the request's context ends): the
		// error is the context's, which the server does not report as a
		// decision.
		if err := ctx.Err(); err != nil {
			return EvaluationResult{}, err
		}
		set := sim.set
		set.ResourceAccount = owner
		if a, err := arn.Parse(r); err == nil && a.Account != "" {
			set.ResourceAccount = a.Account
		}
		d := policy.Evaluate(&set, &policy.Request{Principal: pr, Action: action, Resource: r, Context: pctx})
		ev, err := sim.resourceEval(ctx, r, &set, d)
		if err != nil {
			return EvaluationResult{}, err
		}
		evals = append(evals, ev)
	}

	// The top level is the most restrictive decision over the resources,
	// with the statements of the resources that reached it.
	top := evals[0].effect
	for _, ev := range evals[1:] {
		if restrictiveness(ev.effect) > restrictiveness(top) {
			top = ev.effect
		}
	}
	res := EvaluationResult{EvalActionName: action, EvalResourceName: "*", EvalDecision: top.String(),
		MatchedStatements: []Statement{}, MissingContextValues: []string{}}
	if len(resources) == 1 {
		res.EvalResourceName = resources[0]
	}
	details := map[string]policy.Effect{}
	var detailKeys []string
	cross := false
	seen := map[statementKey]bool{}
	seenKeys := map[string]bool{}
	for _, ev := range evals {
		if ev.effect == top {
			res.MatchedStatements = appendStatements(res.MatchedStatements, seen, ev.matched...)
		}
		for _, k := range ev.missing {
			if !seenKeys[k] {
				seenKeys[k] = true
				res.MissingContextValues = append(res.MissingContextValues, k)
			}
		}
		if ev.boundary != nil {
			if res.PermissionsBoundaryDecisionDetail == nil {
				res.PermissionsBoundaryDecisionDetail = &PermissionsBoundaryDecisionDetail{AllowedByPermissionsBoundary: true}
			}
			res.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary = res.PermissionsBoundaryDecisionDetail.AllowedByPermissionsBoundary && *ev.boundary
		}
		if ev.orgs != nil {
			if res.OrganizationsDecisionDetail == nil {
				res.OrganizationsDecisionDetail = &OrganizationsDecisionDetail{AllowedByOrganizations: true}
			}
			res.OrganizationsDecisionDetail.AllowedByOrganizations = res.OrganizationsDecisionDetail.AllowedByOrganizations && *ev.orgs
		}
		cross = cross || ev.cross
		for _, dd := range ev.details {
			e := parseEffect(dd.Value)
			old, seen := details[dd.Key]
			if !seen {
				detailKeys = append(detailKeys, dd.Key)
			}
			if !seen || restrictiveness(e) > restrictiveness(old) {
				details[dd.Key] = e
			}
		}
	}
	if cross || named {
		res.EvalDecisionDetails = &DecisionDetails{}
		for _, k := range detailKeys {
			res.EvalDecisionDetails.Entries = append(res.EvalDecisionDetails.Entries, DecisionDetail{Key: k, Value: details[k].String()})
		}
	}
	if named {
		for _, ev := range evals {
			rr := ResourceSpecificResult{EvalResourceName: ev.resource, EvalResourceDecision: ev.effect.String(),
				MatchedStatements: ev.matched, MissingContextValues: ev.missing}
			if ev.cross {
				rr.EvalDecisionDetails = &DecisionDetails{Entries: ev.details}
			}
			if ev.boundary != nil {
				rr.PermissionsBoundaryDecisionDetail = &PermissionsBoundaryDecisionDetail{AllowedByPermissionsBoundary: *ev.boundary}
			}
			res.ResourceSpecificResults = append(res.ResourceSpecificResults, rr)
		}
	}
	return res, nil
}

func restrictiveness(e policy.Effect) int {
	switch e {
	case policy.ExplicitDeny:
		return 2
	case policy.ImplicitDeny:
		return 1
	}
	return 0
}

func parseEffect(s string) policy.Effect {
	for _, e := range []policy.Effect{policy.Allow, policy.ExplicitDeny} {
		if e.String() == s {
			return e
		}
	}
	return policy.ImplicitDeny
}

// resourceEval turns a decision into the simulator's terms. Matched
// statements are those that decided it: the Allow statements of identity and
// resource policies for an allow, every non-SCP Deny statement for an
// explicit deny, none for an implicit deny.
func (sim *simulation) resourceEval(ctx context.Context, resource string, set *policy.Set, d policy.Decision) (resourceEval, error) {
	ev := resourceEval{resource: resource, effect: d.Effect, matched: []Statement{}, missing: []string{}, cross: d.CrossAccount}
	ev.missing = append(ev.missing, d.Missing...)
	var idAllow, idDeny, bdAllow, bdDeny, resAllow, resDeny bool
	var seen map[statementKey]bool
	for _, m := range d.Matched {
		allow := m.Effect == policy.Allow
		switch m.Kind {
		case policy.Identity:
			idAllow, idDeny = idAllow || allow, idDeny || !allow
		case policy.Boundary:
			bdAllow, bdDeny = bdAllow || allow, bdDeny || !allow
		case policy.Resource, policy.Trust:
			resAllow, resDeny = resAllow || allow, resDeny || !allow
		}
		var decides bool
		switch d.Effect {
		case policy.Allow:
			decides = allow && (m.Kind == policy.Identity || m.Kind == policy.Resource)
		case policy.ExplicitDeny:
			decides = !allow && m.Kind != policy.SCP
		}
		if !decides {
			continue
		}
		st, err := sim.statement(ctx, m)
		if err != nil {
			return resourceEval{}, err
		}
		if seen == nil {
			seen = map[statementKey]bool{}
		}
		ev.matched = appendStatements(ev.matched, seen, st)
	}
	if set.Boundary != nil {
		ok := bdAllow && !bdDeny
		ev.boundary = &ok
	}
	if set.SCP != nil {
		ok := d.DeniedBy != policy.SCP
		ev.orgs = &ok
	}
	if d.CrossAccount {
		side := func(allow, deny bool) string {
			switch {
			case deny:
				return policy.ExplicitDeny.String()
			case allow:
				return policy.Allow.String()
			}
			return policy.ImplicitDeny.String()
		}
		ev.details = []DecisionDetail{
			{Key: detailIdentity, Value: side(idAllow && (set.Boundary == nil || bdAllow), idDeny || bdDeny)},
			{Key: detailResource, Value: side(resAllow, resDeny)},
		}
	}
	return ev, nil
}

// appendStatements appends to list those of sts that seen does not hold
// yet, and adds them to seen.
func appendStatements(list []Statement, seen map[statementKey]bool, sts ...Statement) []Statement {
	for _, st := range sts {
		k := statementKey{st.SourcePolicyID, st.SourcePolicyType, *st.StartPosition, *st.EndPosition}
		if !seen[k] {
			seen[k] = true
			list = append(list, st)
		}
	}
	return list
}

// statementKey identifies a Statement: equal keys are the same statement.
type statementKey struct {
	id, typ    string
	start, end Position
}

// statement describes a matched statement with its position in the source
// document (1/1 when the document cannot be located).
func (sim *simulation) statement(ctx context.Context, m policy.Match) (Statement, error) {
	src, ok := sim.sources[m.PolicyID]
	if !ok {
		src = policySource{id: m.PolicyID, typ: sourceNone}
	}
	st := Statement{SourcePolicyID: src.id, SourcePolicyType: src.typ, StartPosition: &Position{1, 1}, EndPosition: &Position{1, 1}}
	spans, err := sim.statementSpans(ctx, m.PolicyID, src)
	if err != nil {
		return Statement{}, err
	}
	if m.Index >= 0 && m.Index < len(spans) {
		sp := spans[m.Index]
		st.StartPosition, st.EndPosition = &sp.start, &sp.end
	}
	return st, nil
}

func (sim *simulation) statementSpans(ctx context.Context, id string, src policySource) ([]span, error) {
	if sp, ok := sim.spans[id]; ok {
		return sp, nil
	}
	doc := src.doc
	if doc == "" && src.stored != "" {
		var err error
		if doc, err = sim.storedDocument(ctx, src.stored); err != nil {
			return nil, err
		}
	}
	if sim.spans == nil {
		sim.spans = map[string][]span{}
	}
	sp := statementSpans(doc)
	sim.spans[id] = sp
	return sp, nil
}

// storedDocument loads the source of a stored policy by its authorizer
// label; "" when it is gone (deleted since it was compiled).
func (sim *simulation) storedDocument(ctx context.Context, label string) (string, error) {
	st := sim.svc.store
	if strings.HasPrefix(label, "arn:") {
		mp, err := st.GetManagedPolicy(ctx, label)
		if err == nil {
			var v store.PolicyVersion
			v, err = st.GetPolicyVersion(ctx, label, mp.DefaultVersionID)
			if err == nil {
				return v.Document, nil
			}
		}
		if isNotFound(err) {
			return "", nil
		}
		return "", internal(err, "load policy "+label)
	}
	kind, rest, _ := strings.Cut(label, "/")
	owner, name, _ := strings.Cut(rest, "/")
	p, err := st.GetInlinePolicy(ctx, sim.account, store.PrincipalKind(kind), owner, name)
	if isNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", internal(err, "load inline policy "+label)
	}
	return p.Document, nil
}

// span is where one statement sits in its policy document.
type span struct{ start, end Position }

// statementSpans locates each statement of a policy document: the start of
// its opening brace and the position just past its closing brace, in
// statement order. The document has already been validated; anything
// unexpected yields nil.
func statementSpans(doc string) []span {
	sc := jsonScanner{s: doc}
	sc.ws()
	if !sc.eat('{') {
		return nil
	}
	for {
		sc.ws()
		if sc.eat('}') {
			return nil
		}
		key, ok := sc.str()
		if !ok {
			return nil
		}
		sc.ws()
		if !sc.eat(':') {
			return nil
		}
		sc.ws()
		if key == "Statement" {
			return sc.statements()
		}
		if !sc.skip() {
			return nil
		}
		sc.ws()
		if !sc.eat(',') {
			return nil
		}
	}
}

// jsonScanner walks a JSON document by byte offset.
type jsonScanner struct {
	s string
	i int
}

func (sc *jsonScanner) ws() {
	for sc.i < len(sc.s) && strings.IndexByte(" \t\r\n", sc.s[sc.i]) >= 0 {
		sc.i++
	}
}

func (sc *jsonScanner) eat(b byte) bool {
	if sc.i < len(sc.s) && sc.s[sc.i] == b {
		sc.i++
		return true
	}
	return false
}

// str reads a string and returns it unquoted.
func (sc *jsonScanner) str() (string, bool) {
	start := sc.i
	if !sc.eat('"') {
		return "", false
	}
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case '\\':
			sc.i += 2
		case '"':
			sc.i++
			v, err := strconv.Unquote(sc.s[start:sc.i])
			return v, err == nil
		default:
			sc.i++
		}
	}
	return "", false
}

// skip moves past one value.
func (sc *jsonScanner) skip() bool {
	if sc.i >= len(sc.s) {
		return false
	}
	switch sc.s[sc.i] {
	case '"':
		_, ok := sc.str()
		return ok
	case '{', '[':
		depth := 0
		for sc.i < len(sc.s) {
			switch sc.s[sc.i] {
			case '"':
				if _, ok := sc.str(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			sc.i++
			if depth == 0 {
				return true
			}
		}
		return false
	}
	for sc.i < len(sc.s) && strings.IndexByte(",}] \t\r\n", sc.s[sc.i]) < 0 {
		sc.i++
	}
	return true
}

// statements reads the Statement value: one object or an array of them.
func (sc *jsonScanner) statements() []span {
	one := func() (span, bool) {
		start := sc.i
		if sc.i >= len(sc.s) || sc.s[sc.i] != '{' || !sc.skip() {
			return span{}, false
		}
		return span{start: sc.pos(start), end: sc.pos(sc.i)}, true
	}
	if !sc.eat('[') {
		sp, ok := one()
		if !ok {
			return nil
		}
		return []span{sp}
	}
	var out []span
	for {
		sc.ws()
		if sc.eat(']') {
			return out
		}
		sp, ok := one()
		if !ok {
			return nil
		}
		out = append(out, sp)
		sc.ws()
		sc.eat(',')
	}
}

// pos converts a byte offset to a 1-based line and column (in characters).
func (sc *jsonScanner) pos(off int) Position {
	line := strings.Count(sc.s[:off], "\n") + 1
	lineStart := strings.LastIndexByte(sc.s[:off], '\n') + 1
	return Position{Line: int32(line), Column: int32(utf8.RuneCountInString(sc.s[lineStart:off]) + 1)}
}
