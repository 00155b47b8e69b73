package sts

import (
	"context"
	"slices"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// RootOrg is what AssumeRoot reads of the organization (store.Store).
type RootOrg interface {
	GetAccount(ctx context.Context, id string) (store.Account, error)
	GetSetting(ctx context.Context, key string) (string, error)
	ListOrgDelegatedAdmins(ctx context.Context) ([]store.OrgDelegatedAdmin, error)
}

// orgIDSetting is org.OrgIDSetting: the organization exists once it is set.
const orgIDSetting = "org.id"

// RootTaskPolicies are the AWS managed policies that scope an AssumeRoot
// session, by ARN.
var RootTaskPolicies = []string{
	"arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials",
	"arn:aws:iam::aws:policy/root-task/IAMCreateRootUserPassword",
	"arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials",
	"arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy",
	"arn:aws:iam::aws:policy/root-task/SQSUnlockQueuePolicy",
}

// AssumeRootInput is the AssumeRoot request.
type AssumeRootInput struct {
	TargetPrincipal string           `required:"true" min:"12" max:"2048"`
	TaskPolicyArn   PolicyDescriptor `required:"true"`
	DurationSeconds *int32           `min:"0" max:"900"`
}

// AssumeRootOutput is the AssumeRoot result.
type AssumeRootOutput struct {
	Credentials    *Credentials `xml:"Credentials"`
	SourceIdentity string       `xml:"SourceIdentity,omitempty"`
}

const rootSessionMaxSeconds = 900

// AssumeRoot returns credentials of the root user of a member account,
// scoped to one of AWS's root task policies, for at most 15 minutes. The
// caller must be an IAM user or role session of the organization's
// management account (or of the delegated administrator for
// iam.amazonaws.com), allowed sts:AssumeRoot on the target's root with
// sts:TaskPolicyArn as a condition key. The session is the target's root,
// whose every decision also needs the task policy to allow it.
func (s *Service) AssumeRoot(ctx context.Context, c *authz.Caller, in *AssumeRootInput) (*AssumeRootOutput, error) {
	if c.IsRoot() {
		return nil, apierr.New(apierr.AccessDenied, "AssumeRoot cannot be called with root user credentials")
	}
	target, ok := rootTarget(in.TargetPrincipal)
	if !ok {
		return nil, apierr.Validation("Value '" + apierr.Quote(in.TargetPrincipal) + "' at 'targetPrincipal' failed to satisfy constraint: Member must be an account id or the ARN of an account's root user")
	}
	task := in.TaskPolicyArn.ARN
	if !slices.Contains(RootTaskPolicies, task) {
		return nil, apierr.New(apierr.ValidationError, "TaskPolicyArn %s is not a root task policy: use one of %s", task, strings.Join(RootTaskPolicies, ", "))
	}
	duration := int32(rootSessionMaxSeconds)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	if duration < 1 {
		return nil, apierr.Validation("Value 0 at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1")
	}
	rootARN := arn.Root(target)
	if err := s.authz.Check(ctx, c, "sts:AssumeRoot", rootARN, authz.Key{Name: "sts:TaskPolicyArn", Values: []string{task}}); err != nil {
		return nil, err
	}
	if err := s.rootAllowed(ctx, c, target); err != nil {
		return nil, err
	}
	now := s.time()
	sess := session.Session{
		Type:              session.SessionToken,
		Account:           target,
		ARN:               rootARN,
		PrincipalID:       target,
		IssuedAt:          now,
		Expires:           now.Add(secondsDuration(duration)),
		PolicyARNs:        []string{task},
		SourceAccessKeyID: c.AccessKeyID,
	}
	if c.Session != nil {
		// The source identity a chain carries stays with it, into the
		// root session too (reference §10.4: inherited, and returned).
		sess.SourceIdentity = c.Session.SourceIdentity
		sess.ChainKeys = append(slices.Clone(c.Session.ChainKeys), c.AccessKeyID)
		sess.ChainARNs = append(slices.Clone(c.Session.ChainARNs), c.ARN)
		sess.ChainIssued = session.ChainIssuedAfter(c.Session)
		if len(sess.ChainKeys) > maxChainAncestors {
			return nil, apierr.New(apierr.ValidationError, "The role chain is too long")
		}
	} else if c.AccessKeyID != "" {
		sess.ChainKeys, sess.ChainARNs = []string{c.AccessKeyID}, []string{c.ARN}
	}
	creds, err := s.sessions.Mint(sess)
	if err != nil {
		return nil, internal(err, "assume root: mint")
	}
	return &AssumeRootOutput{Credentials: credentials(creds), SourceIdentity: sess.SourceIdentity}, nil
}

// rootAllowed checks the organization: it exists, the caller's account
// manages it (or is IAM's delegated administrator) and target is another
// open member account. Every refusal is the same AccessDenied, so that a
// caller learns nothing of accounts it may not act on.
func (s *Service) rootAllowed(ctx context.Context, c *authz.Caller, target string) error {
	denied := apierr.New(apierr.AccessDenied, "User: %s is not authorized to perform: sts:AssumeRoot on resource: %s", c.ARN, arn.Root(target))
	if s.org == nil {
		return denied
	}
	if id, err := s.org.GetSetting(ctx, orgIDSetting); isNotFound(err) || err == nil && id == "" {
		return denied
	} else if err != nil {
		return internal(err, "assume root: organization")
	}
	caller, err := s.org.GetAccount(ctx, c.Account)
	if isNotFound(err) {
		return denied
	}
	if err != nil {
		return internal(err, "assume root: caller account")
	}
	if !caller.Management {
		admins, err := s.org.ListOrgDelegatedAdmins(ctx)
		if err != nil {
			return internal(err, "assume root: delegated administrators")
		}
		if caller.Standalone || !slices.ContainsFunc(admins, func(d store.OrgDelegatedAdmin) bool {
			return d.Account == c.Account && d.ServicePrincipal == "iam.amazonaws.com"
		}) {
			return denied
		}
	}
	t, err := s.org.GetAccount(ctx, target)
	if isNotFound(err) {
		return denied
	}
	if err != nil {
		return internal(err, "assume root: target account")
	}
	if t.Management || t.Standalone || !t.ClosedAt.IsZero() {
		return denied
	}
	return nil
}

// rootTarget reads TargetPrincipal: an account id, or the ARN of an
// account's root user (arn:PARTITION:iam::ACCOUNT:root).
func rootTarget(s string) (string, bool) {
	if isAccountID(s) {
		return s, true
	}
	parts := strings.Split(s, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || parts[3] != "" || parts[5] != "root" || !isAccountID(parts[4]) {
		return "", false
	}
	return parts[4], true
}

func isAccountID(s string) bool {
	return len(s) == 12 && strings.Trim(s, "0123456789") == ""
}
