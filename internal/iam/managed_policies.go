package iam

import (
	"context"
	"fmt"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

func invalidARN(arn string) error {
	return apierr.New(apierr.InvalidInput, "ARN %s is not valid.", arn)
}

func noSuchPolicy(arn string) error {
	return apierr.New(apierr.NoSuchEntity, "Policy %s was not found.", arn)
}

// getPolicy loads a managed policy the caller's account can see: its own
// customer managed policies and the AWS managed ones. found is false (with
// a nil error) otherwise.
func (s *Service) getPolicy(ctx context.Context, account, arn string) (mp store.ManagedPolicy, found bool, err error) {
	owner, _, _, ok := parsePolicyARN(arn)
	if !ok {
		return store.ManagedPolicy{}, false, invalidARN(arn)
	}
	if owner != account && owner != awsManagedPolicyOwner {
		return store.ManagedPolicy{}, false, nil
	}
	mp, err = s.store.GetManagedPolicy(ctx, arn)
	if isNotFound(err) {
		return store.ManagedPolicy{}, false, nil
	}
	if err != nil {
		return store.ManagedPolicy{}, false, internal(err, "load policy "+arn)
	}
	return mp, true, nil
}

// canonicalPolicyARN returns the stored spelling of a managed policy ARN
// the caller's account can use, or arn itself when there is no such policy
// (the action then fails on its own). Condition keys that name a policy
// (iam:PolicyARN, iam:PermissionsBoundary) carry this value.
func (s *Service) canonicalPolicyARN(ctx context.Context, account, arn string) (string, error) {
	if _, _, _, ok := parsePolicyARN(arn); !ok {
		return arn, nil // refused later, with the action's own error
	}
	mp, found, err := s.getPolicy(ctx, account, arn)
	if err != nil || !found {
		return arn, err
	}
	return mp.ARN, nil
}

// authPolicy validates a policy ARN, authorizes action on it (with the
// policy's tags as aws:ResourceTag keys) and loads it. modify refuses
// changes to AWS managed policies.
func (s *Service) authPolicy(ctx context.Context, c *authz.Caller, action, arn string, modify bool, keys ...authz.Key) (store.ManagedPolicy, error) {
	mp, found, err := s.getPolicy(ctx, c.Account, arn)
	if err != nil {
		return store.ManagedPolicy{}, err
	}
	keys = append(keys, resourceTagKeys(mp.Tags)...)
	// Policy ARNs are looked up case-insensitively; the decision is about the
	// stored policy, so it is made on its stored ARN, never the caller's
	// spelling (a Deny on policy/Admin must hold for policy/admin). The
	// message names the policy as the caller typed it, so that it tells an
	// unauthorized caller nothing a missing policy would not.
	resource := arn
	if found {
		resource = mp.ARN
	}
	if err := s.checkAs(ctx, c, action, resource, "policy "+arn, keys...); err != nil {
		return store.ManagedPolicy{}, err
	}
	if !found {
		return store.ManagedPolicy{}, noSuchPolicy(arn)
	}
	if modify && mp.Account == awsManagedPolicyOwner {
		return store.ManagedPolicy{}, apierr.New(apierr.AccessDenied, "User: %s is not authorized to perform: %s on resource: %s", c.ARN, action, arn)
	}
	return mp, nil
}

// usage is how a managed policy is used in one account.
type usage struct{ attachments, boundaries int }

// policyUsage counts mp's attachments and its uses as a permissions
// boundary in account.
func (s *Service) policyUsage(ctx context.Context, account string, mp store.ManagedPolicy) (usage, error) {
	a, b, err := s.store.PolicyUsage(ctx, account, mp.ARN)
	if err != nil {
		return usage{}, internal(err, "count policy usage")
	}
	return usage{attachments: a, boundaries: b}, nil
}

// Which response a managed policy is rendered for: AWS's Policy shape
// differs between them.
const (
	policyListed  = iota // ListPolicies: neither Description nor Tags
	policyCreated        // CreatePolicy: Tags when the request had some, no Description
	policyGot            // GetPolicy: Description, and Tags even when empty
)

// policyOut renders a managed policy for the response kind.
func policyOut(mp store.ManagedPolicy, u usage, kind int) Policy {
	out := Policy{
		PolicyName: mp.Name, PolicyID: mp.ID, ARN: mp.ARN, Path: mp.Path, DefaultVersionID: mp.DefaultVersionID,
		AttachmentCount: int32(u.attachments), PermissionsBoundaryUsageCount: int32(u.boundaries), IsAttachable: true,
		CreateDate: mp.CreatedAt.UTC(), UpdateDate: mp.UpdatedAt.UTC(),
	}
	switch kind {
	case policyCreated:
		if len(mp.Tags) > 0 {
			tags := tagsOut(mp.Tags)
			out.Tags = &tags
		}
	case policyGot:
		out.Description = mp.Description
		tags := tagsOut(mp.Tags)
		if tags == nil {
			tags = []Tag{}
		}
		out.Tags = &tags
	}
	return out
}

// checkManagedDocument validates a managed policy document and its size.
func (s *Service) checkManagedDocument(doc string) error {
	if err := s.compile(policy.Identity, doc); err != nil {
		return err
	}
	if policySize(doc) > maxManagedPolicySize {
		return apierr.New(apierr.LimitExceeded, "Cannot exceed quota for PolicySize: %d", maxManagedPolicySize)
	}
	return nil
}

// CreatePolicyInput is the input of CreatePolicy.
type CreatePolicyInput struct {
	PolicyName     string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Path           string `min:"1" max:"512" pattern:"((/[A-Za-z0-9\\.,\\+@=_-]+)*)/"`
	PolicyDocument string `required:"true" min:"1" max:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	Description    string `max:"1000"`
	Tags           []Tag  `max:"50"`
}

// CreatePolicyOutput is the output of CreatePolicy.
type CreatePolicyOutput struct {
	Policy Policy `xml:"Policy"`
}

// CreatePolicy creates a customer managed policy with its first version v1.
// Creating it with tags also needs iam:TagPolicy.
func (s *Service) CreatePolicy(ctx context.Context, c *authz.Caller, in *CreatePolicyInput) (*CreatePolicyOutput, error) {
	path, err := checkPath(in.Path, "path")
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	arn := policyARN(c.Account, path, in.PolicyName)
	keys := requestTagKeys(in.Tags)
	if err := s.check(ctx, c, "iam:CreatePolicy", arn, keys...); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if err := s.check(ctx, c, "iam:TagPolicy", arn, keys...); err != nil {
			return nil, err
		}
	}
	if err := s.checkManagedDocument(in.PolicyDocument); err != nil {
		return nil, err
	}
	id, err := s.newID("ANPA")
	if err != nil {
		return nil, err
	}
	now := s.time()
	mp := store.ManagedPolicy{Account: c.Account, ID: id, Name: in.PolicyName, Path: path, ARN: arn, Description: in.Description,
		DefaultVersionID: "v1", CreatedAt: now, UpdatedAt: now, Tags: storeTags(in.Tags)}
	v := store.PolicyVersion{PolicyARN: arn, VersionID: "v1", Document: in.PolicyDocument, CreatedAt: now}
	if err := s.store.CreateManagedPolicy(ctx, mp, v); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "A policy called %s already exists. Duplicate names are not allowed.", in.PolicyName)
		}
		return nil, internal(err, "create policy "+arn)
	}
	return &CreatePolicyOutput{Policy: policyOut(mp, usage{}, policyCreated)}, nil
}

// GetPolicyInput is the input of GetPolicy.
type GetPolicyInput struct {
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
}

// GetPolicyOutput is the output of GetPolicy.
type GetPolicyOutput struct {
	Policy Policy `xml:"Policy"`
}

// GetPolicy returns a managed policy with its usage counts in the caller's
// account (not its document: see GetPolicyVersion).
func (s *Service) GetPolicy(ctx context.Context, c *authz.Caller, in *GetPolicyInput) (*GetPolicyOutput, error) {
	mp, err := s.authPolicy(ctx, c, "iam:GetPolicy", in.PolicyARN, false)
	if err != nil {
		return nil, err
	}
	u, err := s.policyUsage(ctx, c.Account, mp)
	if err != nil {
		return nil, err
	}
	return &GetPolicyOutput{Policy: policyOut(mp, u, policyGot)}, nil
}

// ListPoliciesInput is the input of ListPolicies.
type ListPoliciesInput struct {
	Scope             string // All | AWS | Local, checked by ListPolicies for AWS's enum message
	OnlyAttached      *bool
	PathPrefix        string `min:"1" max:"512" pattern:"((/[A-Za-z0-9\\.,\\+@=_-]+)*)/"`
	PolicyUsageFilter string `enum:"PermissionsPolicy,PermissionsBoundary"` // PermissionsPolicy | PermissionsBoundary
	Marker            string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems          *int32 `min:"1" max:"1000"`
}

// ListPoliciesOutput is the output of ListPolicies.
type ListPoliciesOutput struct {
	Policies []Policy `xml:"Policies>member"`
	Page
}

// ListPolicies lists the customer managed policies of the caller's account
// and the AWS managed policies (Scope), optionally only those in use
// (OnlyAttached, as a permissions policy or, with PolicyUsageFilter
// PermissionsBoundary, as a boundary).
func (s *Service) ListPolicies(ctx context.Context, c *authz.Caller, in *ListPoliciesInput) (*ListPoliciesOutput, error) {
	prefix, err := checkPathPrefix(in.PathPrefix)
	if err != nil {
		return nil, err
	}
	var owners []string
	switch in.Scope {
	case "", "All":
		owners = []string{awsManagedPolicyOwner, c.Account}
	case "AWS":
		owners = []string{awsManagedPolicyOwner}
	case "Local":
		owners = []string{c.Account}
	default:
		return nil, apierr.Validation(fmt.Sprintf("Value '%s' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]", in.Scope))
	}
	if err := checkUsageFilter(in.PolicyUsageFilter); err != nil {
		return nil, err
	}
	if err := s.check(ctx, c, "iam:ListPolicies", policyARN(c.Account, prefix, "")); err != nil {
		return nil, err
	}
	req, err := pageRequest(in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	// The list is the owners' lists merged by (name key, ARN key): names
	// are unique within an owner, and a customer policy sorts before an AWS
	// managed one of the same name (a digit before "aws"). Each owner's list
	// is read from the store a page at a time, from the marker's name on.
	afterName, _, _ := strings.Cut(req.after, "\x00")
	key := func(mp store.ManagedPolicy) string { return nameKey(mp.Name) + "\x00" + strings.ToLower(mp.ARN) }
	lists := make([]*policyList, len(owners))
	for i, owner := range owners {
		lists[i] = &policyList{svc: s, owner: owner, prefix: prefix, after: afterName, include: afterName != "", batch: req.size + 2}
	}
	onlyAttached := in.OnlyAttached != nil && *in.OnlyAttached
	var (
		page []store.ManagedPolicy
		uses []usage
	)
	for len(page) <= req.size {
		var next *policyList
		for _, l := range lists {
			head, ok, err := l.peek(ctx)
			if err != nil {
				return nil, err
			}
			if ok && (next == nil || key(head) < key(next.buf[0])) {
				next = l
			}
		}
		if next == nil {
			break
		}
		mp := next.pop()
		if req.after != "" && key(mp) <= req.after {
			continue // at or before the marker's position
		}
		u, err := s.policyUsage(ctx, c.Account, mp)
		if err != nil {
			return nil, err
		}
		if onlyAttached && (in.PolicyUsageFilter == "PermissionsBoundary" && u.boundaries == 0 ||
			in.PolicyUsageFilter != "PermissionsBoundary" && u.attachments == 0) {
			continue
		}
		page = append(page, mp)
		uses = append(uses, u)
	}
	page, p := cut(req, page, key)
	out := &ListPoliciesOutput{Policies: make([]Policy, 0, len(page)), Page: p}
	for i, mp := range page {
		out.Policies = append(out.Policies, policyOut(mp, uses[i], policyListed))
	}
	return out, nil
}

// policyList reads one owner's managed policies from the store in key
// order, a batch at a time, for ListPolicies.
type policyList struct {
	svc     *Service
	owner   string
	prefix  string
	after   string // the name key to continue from
	include bool   // whether a policy named after comes first
	batch   int
	buf     []store.ManagedPolicy
	done    bool
}

// peek returns the next policy, reading a batch when needed; false at the end.
func (l *policyList) peek(ctx context.Context) (store.ManagedPolicy, bool, error) {
	if len(l.buf) == 0 && !l.done {
		ps, err := l.svc.store.ListManagedPolicies(ctx, l.owner, store.ListOptions{PathPrefix: l.prefix, After: l.after, IncludeAfter: l.include, Limit: l.batch})
		if err != nil {
			return store.ManagedPolicy{}, false, internal(err, "list policies")
		}
		l.buf, l.done = ps, len(ps) < l.batch
		if len(ps) > 0 {
			l.after, l.include = nameKey(ps[len(ps)-1].Name), false
		}
	}
	if len(l.buf) == 0 {
		return store.ManagedPolicy{}, false, nil
	}
	return l.buf[0], true, nil
}

func (l *policyList) pop() store.ManagedPolicy {
	mp := l.buf[0]
	l.buf = l.buf[1:]
	return mp
}

// DeletePolicyInput is the input of DeletePolicy.
type DeletePolicyInput struct {
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
}

// DeletePolicyOutput is the (empty) output of DeletePolicy.
type DeletePolicyOutput struct{}

// DeletePolicy deletes a customer managed policy that is neither attached
// nor used as a permissions boundary and has only its default version left.
func (s *Service) DeletePolicy(ctx context.Context, c *authz.Caller, in *DeletePolicyInput) (*DeletePolicyOutput, error) {
	mp, err := s.authPolicy(ctx, c, "iam:DeletePolicy", in.PolicyARN, true)
	if err != nil {
		return nil, err
	}
	u, err := s.policyUsage(ctx, c.Account, mp)
	if err != nil {
		return nil, err
	}
	if u.attachments > 0 || u.boundaries > 0 {
		return nil, apierr.New(apierr.DeleteConflict, "Cannot delete a policy attached to entities.")
	}
	versions, err := s.store.ListPolicyVersions(ctx, mp.ARN)
	if err != nil {
		return nil, internal(err, "list policy versions")
	}
	if len(versions) > 1 {
		return nil, apierr.New(apierr.DeleteConflict, "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.")
	}
	if err := s.store.DeleteManagedPolicy(ctx, mp.ARN); err != nil {
		switch {
		case isNotFound(err):
			return nil, noSuchPolicy(in.PolicyARN)
		case isConflict(err):
			return nil, apierr.New(apierr.DeleteConflict, "Cannot delete a policy attached to entities.")
		}
		return nil, internal(err, "delete policy "+mp.ARN)
	}
	return &DeletePolicyOutput{}, nil
}

func checkUsageFilter(f string) error {
	switch f {
	case "", "PermissionsPolicy", "PermissionsBoundary":
		return nil
	}
	return apierr.Validation(fmt.Sprintf("Value '%s' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]", f))
}
