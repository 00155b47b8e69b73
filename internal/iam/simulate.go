package iam

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
	ContextKeyType   string `enum:"string,stringList,numeric,numericList,boolean,booleanList,ip,ipList,binary,binaryList,date,dateList"`
}

// SimulateCustomPolicyInput is the input of SimulateCustomPolicy.
type SimulateCustomPolicyInput struct {
	PolicyInputList                    []string `required:"true" memberMin:"1" memberMax:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	PermissionsBoundaryPolicyInputList []string `memberMin:"1" memberMax:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	ActionNames                        []string `required:"true" memberMin:"3" memberMax:"128"`
	ResourceARNs                       []string `query:"ResourceArns" memberMin:"1" memberMax:"2048"`
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
	PolicyInputList                    []string `memberMin:"1" memberMax:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	PermissionsBoundaryPolicyInputList []string `memberMin:"1" memberMax:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	SessionPolicyInputList             []string `max:"11" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	ActionNames                        []string `required:"true" memberMin:"3" memberMax:"128"`
	ResourceARNs                       []string `query:"ResourceArns" memberMin:"1" memberMax:"2048"`
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
	sim := &simulation{}
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
		// With neither a caller nor a resource policy, AWS's simulator
		// decides from the identity policies alone, whatever accounts
		// the resources' ARNs or ResourceOwner name.
		identityOnly: in.CallerARN == "" && in.ResourcePolicy == "",
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

	sim := &simulation{}
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
	// Copy before appending: the slices may be the authorizer's cache.
	sim.set.Identity = slices.Clip(set.Identity)
	if err := sim.addInputs(in.PolicyInputList, in.PermissionsBoundaryPolicyInputList, in.ResourcePolicy); err != nil {
		return nil, err
	}
	// The set has session policies only when the caller simulates its own
	// session (its inline one, managed ones by ARN); the input ones follow.
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
			sim.set.Session = append(sim.set.Session, policy.Named{ID: id, Policy: p, Source: policy.Source{Type: policy.SourceInput, Name: id}})
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
// as the authorizer labels them, with their sources.
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
		out = append(out, policy.Named{ID: string(store.KindGroup) + "/" + group + "/" + ip.Name, Policy: p,
			Source: policy.Source{Type: policy.SourceGroupInline, Owner: group, Name: ip.Name}})
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

// simulation is one simulator request: its policies, stored and passed in.
type simulation struct {
	set      policy.Set
	policies map[policyKey]*policy.Named // set's policies by the Match that names them
}

// policyKey names a policy as a Match does.
type policyKey struct {
	kind policy.Kind
	id   string
}

type simParams struct {
	actions, resources []string
	owner              string
	entries            []ContextEntry
	handling           string
	marker             string
	maxItems           *int32
	// identityOnly: every resource is in the principal's account, so that
	// no resource side takes part in the decisions.
	identityOnly bool
}

// addInputs compiles the policies passed in the request and adds them to
// the set: identity policies after the stored ones, an input boundary in
// place of the stored one.
func (sim *simulation) addInputs(identity, boundary []string, resource string) error {
	if err := checkDocuments(map[string][]string{"policyInputList": identity, "permissionsBoundaryPolicyInputList": boundary}); err != nil {
		return err
	}
	input := func(id string) policy.Source { return policy.Source{Type: policy.SourceInput, Name: id} }
	for i, doc := range identity {
		id := "PolicyInputList." + strconv.Itoa(i+1)
		p, err := parsePolicy(policy.Identity, doc)
		if err != nil {
			return err
		}
		sim.set.Identity = append(sim.set.Identity, policy.Named{ID: id, Policy: p, Source: input(id)})
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
		sim.set.Boundary = []policy.Named{{ID: id, Policy: p, Source: input(id)}}
	}
	if resource != "" {
		const id = "ResourcePolicy"
		p, err := parsePolicy(policy.Resource, resource)
		if err != nil {
			return err
		}
		sim.set.Resource = []policy.Named{{ID: id, Policy: p, Source: policy.Source{Type: policy.SourceResource, Name: id}}}
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

var resourceHandlingOptions = []string{"EC2-VPC-InstanceStore", "EC2-VPC-InstanceStore-Subnet", "EC2-VPC-EBS", "EC2-VPC-EBS-Subnet"}

// run checks the request, simulates a page of its actions (Simulate) and
// renders the decisions in IAM's terms.
func (sim *simulation) run(ctx context.Context, pr policy.Principal, username string, p simParams) (*SimulatePolicyOutput, error) {
	if err := checkActions(p.actions); err != nil {
		return nil, err
	}
	resources, named, err := checkResources(p.resources)
	if err != nil {
		return nil, err
	}
	owner := ""
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
	actions := make([]string, len(page))
	for k, i := range page {
		actions[k] = p.actions[i]
	}
	if p.identityOnly {
		owner = ""
	}
	decisions, err := Simulate(ctx, &Simulation{Set: &sim.set, Principal: pr, Context: pctx, Actions: actions, Resources: resources,
		ResourceOwner: owner, OwnerFromARN: !p.identityOnly})
	if err != nil {
		return nil, err
	}
	sim.policies = map[policyKey]*policy.Named{}
	for kind, n := range sim.set.All() {
		sim.policies[policyKey{kind, n.ID}] = n
	}
	out := &SimulatePolicyOutput{EvaluationResults: make([]EvaluationResult, 0, len(page)), Page: pg}
	for k, action := range actions {
		out.EvaluationResults = append(out.EvaluationResults, sim.result(action, resources, named, decisions[k]))
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

// contextKeyTypes are the ContextKeyType values, without their List
// suffix, and the types of their values.
var contextKeyTypes = map[string]policy.ValueType{
	"string": policy.StringValue, "numeric": policy.NumericValue, "boolean": policy.BooleanValue,
	"date": policy.DateValue, "ip": policy.IPValue, "binary": policy.BinaryValue,
}

// setContextEntries validates ContextEntries as the engine reads values of
// their types and sets them in pc: list types with SetList, so that only
// ForAllValues:/ForAnyValue: operators match them, as in AWS's simulator.
func setContextEntries(pc *policy.Context, entries []ContextEntry) error {
	for i, e := range entries {
		at := "contextEntries." + strconv.Itoa(i+1) + ".member"
		if e.ContextKeyName == "" {
			return apierr.New(apierr.InvalidInput, "ContextKeyName is required at %s.", at)
		}
		base, list := strings.CutSuffix(e.ContextKeyType, "List")
		typ, ok := contextKeyTypes[base]
		if !ok {
			return apierr.New(apierr.InvalidInput, "Invalid ContextKeyType %q for context key %s: it must be one of string, stringList, numeric, numericList, boolean, booleanList, ip, ipList, binary, binaryList, date, dateList.", e.ContextKeyType, e.ContextKeyName)
		}
		if !list && len(e.ContextKeyValues) != 1 {
			return apierr.New(apierr.InvalidInput, "Context key %s of type %s takes exactly one value, got %d.", e.ContextKeyName, e.ContextKeyType, len(e.ContextKeyValues))
		}
		values := make([]string, len(e.ContextKeyValues))
		for j, v := range e.ContextKeyValues {
			norm, ok := policy.ParseValue(typ, v)
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

// resourceEval is the decision for one action on one resource, in the
// simulator's terms.
type resourceEval struct {
	resource string
	effect   policy.Effect
	matched  []Statement
	missing  []string
	boundary *bool // nil: no boundary applies
	orgs     *bool // nil: no SCPs apply
	details  []sideEffect
	cross    bool
}

// sideEffect is one side's decision in EvalDecisionDetails.
type sideEffect struct {
	key    string
	effect policy.Effect
}

// result renders the decisions for one action on each resource. The top
// level is the most restrictive decision over the resources, with the
// statements of the resources that reached it.
func (sim *simulation) result(action string, resources []string, named bool, decisions []policy.Decision) EvaluationResult {
	evals := make([]resourceEval, len(decisions))
	for j := range decisions {
		evals[j] = sim.resourceEval(resources[j], &decisions[j])
	}
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
			old, seen := details[dd.key]
			if !seen {
				detailKeys = append(detailKeys, dd.key)
			}
			if !seen || restrictiveness(dd.effect) > restrictiveness(old) {
				details[dd.key] = dd.effect
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
				rr.EvalDecisionDetails = &DecisionDetails{}
				for _, dd := range ev.details {
					rr.EvalDecisionDetails.Entries = append(rr.EvalDecisionDetails.Entries, DecisionDetail{Key: dd.key, Value: dd.effect.String()})
				}
			}
			if ev.boundary != nil {
				rr.PermissionsBoundaryDecisionDetail = &PermissionsBoundaryDecisionDetail{AllowedByPermissionsBoundary: *ev.boundary}
			}
			res.ResourceSpecificResults = append(res.ResourceSpecificResults, rr)
		}
	}
	return res
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

// resourceEval turns a decision into the simulator's terms. Matched
// statements are those that decided it: the Allow statements of identity and
// resource policies for an allow, every non-SCP Deny statement for an
// explicit deny, none for an implicit deny. The boundary and cross-account
// details are the decision's verdicts: the identity side of a cross-account
// decision is the identity-based policies within the boundary.
func (sim *simulation) resourceEval(resource string, d *policy.Decision) resourceEval {
	ev := resourceEval{resource: resource, effect: d.Effect, matched: []Statement{}, missing: []string{}, cross: d.CrossAccount}
	ev.missing = append(ev.missing, d.Missing...)
	var seen map[statementKey]bool
	for _, m := range d.Matched {
		var decides bool
		switch d.Effect {
		case policy.Allow:
			decides = m.Effect == policy.Allow && (m.Kind == policy.Identity || m.Kind == policy.Resource)
		case policy.ExplicitDeny:
			decides = m.Effect == policy.ExplicitDeny && m.Kind != policy.SCP
		}
		if !decides {
			continue
		}
		if seen == nil {
			seen = map[statementKey]bool{}
		}
		ev.matched = appendStatements(ev.matched, seen, sim.statement(m))
	}
	boundary, hasBoundary := d.Verdicts.Of(policy.Boundary)
	if hasBoundary {
		ok := boundary == policy.Allow
		ev.boundary = &ok
	}
	if _, ok := d.Verdicts.Of(policy.SCP); ok {
		// The SCPs allow unless they decided the denial. An explicit deny
		// of another kind decides first: the SCPs are then reported as
		// allowing even when their verdict is an implicit deny, as this
		// simulator always has.
		ok := d.DeniedBy != policy.SCP
		ev.orgs = &ok
	}
	if d.CrossAccount {
		identity, _ := d.Verdicts.Of(policy.Identity)
		resource, _ := d.Verdicts.Of(policy.Resource)
		switch {
		case boundary == policy.ExplicitDeny:
			identity = policy.ExplicitDeny
		case identity == policy.Allow && hasBoundary && boundary != policy.Allow:
			identity = policy.ImplicitDeny
		}
		ev.details = []sideEffect{{detailIdentity, identity}, {detailResource, resource}}
	}
	return ev
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

// statement describes a matched statement: its policy's source, and where
// it sits in the policy's document (1/1 when the policy is not the set's).
func (sim *simulation) statement(m policy.Match) Statement {
	st := Statement{SourcePolicyID: m.PolicyID, SourcePolicyType: sourceNone, StartPosition: &Position{1, 1}, EndPosition: &Position{1, 1}}
	n := sim.policies[policyKey{m.Kind, m.PolicyID}]
	if n == nil {
		return st
	}
	st.SourcePolicyID, st.SourcePolicyType = source(n)
	if sp, ok := n.Policy.Span(m.Index); ok {
		st.StartPosition = &Position{Line: int32(sp.Start.Line), Column: int32(sp.Start.Column)}
		st.EndPosition = &Position{Line: int32(sp.End.Line), Column: int32(sp.End.Column)}
	}
	return st
}

// source returns a policy's SourcePolicyId (its name, or its label when it
// has none) and SourcePolicyType.
func source(n *policy.Named) (id, typ string) {
	id = n.Source.Name
	if id == "" {
		id = n.ID
	}
	switch n.Source.Type {
	case policy.SourceUserInline:
		return id, sourceUser
	case policy.SourceGroupInline:
		return id, sourceGroup
	case policy.SourceRoleInline:
		return id, sourceRole
	case policy.SourceManaged:
		if a, err := arn.Parse(n.Source.ARN); err == nil && a.Account == awsManagedPolicyOwner {
			return id, sourceAWSManaged
		}
		return id, sourceUserManaged
	case policy.SourceResource:
		return id, sourceResource
	}
	return id, sourceNone
}
