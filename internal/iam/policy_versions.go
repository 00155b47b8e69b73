package iam

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// versionNumber returns n for "vN" (and "vN.suffix"), 0 if malformed.
func versionNumber(id string) int {
	s, ok := strings.CutPrefix(id, "v")
	if !ok {
		return 0
	}
	s, _, _ = strings.Cut(s, ".")
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0
	}
	return n
}

func noSuchVersion(arn, id string) error {
	return apierr.New(apierr.NoSuchEntity, "Policy %s version %s does not exist or is not attachable.", arn, id)
}

// getVersion loads version id of the managed policy stored as arn;
// NoSuchEntity names the policy as the request spelled it (asked).
func (s *Service) getVersion(ctx context.Context, arn, asked, id string) (store.PolicyVersion, error) {
	v, err := s.store.GetPolicyVersion(ctx, arn, id)
	if isNotFound(err) {
		return store.PolicyVersion{}, noSuchVersion(asked, id)
	}
	if err != nil {
		return store.PolicyVersion{}, internal(err, "get policy version")
	}
	return v, nil
}

func versionOut(v store.PolicyVersion, defaultID string, withDocument bool) PolicyVersion {
	out := PolicyVersion{VersionID: v.VersionID, IsDefaultVersion: v.VersionID == defaultID, CreateDate: v.CreatedAt.UTC()}
	if withDocument {
		out.Document = encodeDocument(v.Document)
	}
	return out
}

// CreatePolicyVersionInput is the input of CreatePolicyVersion.
type CreatePolicyVersionInput struct {
	PolicyARN      string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
	PolicyDocument string `required:"true" min:"1" max:"131072" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	SetAsDefault   *bool
}

// CreatePolicyVersionOutput is the output of CreatePolicyVersion.
type CreatePolicyVersionOutput struct {
	PolicyVersion PolicyVersion `xml:"PolicyVersion"`
}

// CreatePolicyVersion adds a version to a customer managed policy (at most
// five), optionally making it the default.
func (s *Service) CreatePolicyVersion(ctx context.Context, c *authz.Caller, in *CreatePolicyVersionInput) (*CreatePolicyVersionOutput, error) {
	mp, err := s.authPolicy(ctx, c, "iam:CreatePolicyVersion", in.PolicyARN, true)
	if err != nil {
		return nil, err
	}
	if err := s.checkManagedDocument(in.PolicyDocument); err != nil {
		return nil, err
	}
	versions, err := s.store.ListPolicyVersions(ctx, mp.ARN)
	if err != nil {
		return nil, internal(err, "list policy versions")
	}
	if len(versions) >= maxPolicyVersions {
		return nil, apierr.New(apierr.LimitExceeded, "A managed policy can have up to %d versions. Before you create a new version, you must delete an existing version.", maxPolicyVersions)
	}
	next := 1
	for _, v := range versions {
		next = max(next, versionNumber(v.VersionID)+1)
	}
	now := s.time()
	v := store.PolicyVersion{PolicyARN: mp.ARN, VersionID: fmt.Sprintf("v%d", next), Document: in.PolicyDocument, CreatedAt: now}
	if err := s.store.CreatePolicyVersion(ctx, v); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.ConcurrentModification, "The policy %s was modified concurrently. Try again.", mp.ARN)
		}
		return nil, internal(err, "create policy version")
	}
	if in.SetAsDefault != nil && *in.SetAsDefault {
		mp.DefaultVersionID, mp.UpdatedAt = v.VersionID, now
		if err := s.store.UpdateManagedPolicy(ctx, mp); err != nil {
			return nil, internal(err, "set default policy version")
		}
	}
	return &CreatePolicyVersionOutput{PolicyVersion: versionOut(v, mp.DefaultVersionID, false)}, nil
}

// GetPolicyVersionInput is the input of GetPolicyVersion.
type GetPolicyVersionInput struct {
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
	VersionID string `query:"VersionId" required:"true" pattern:"v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"`
}

// GetPolicyVersionOutput is the output of GetPolicyVersion.
type GetPolicyVersionOutput struct {
	PolicyVersion PolicyVersion `xml:"PolicyVersion"`
}

// GetPolicyVersion returns one version of a managed policy with its
// URL-encoded document.
func (s *Service) GetPolicyVersion(ctx context.Context, c *authz.Caller, in *GetPolicyVersionInput) (*GetPolicyVersionOutput, error) {
	mp, err := s.authPolicy(ctx, c, "iam:GetPolicyVersion", in.PolicyARN, false)
	if err != nil {
		return nil, err
	}
	v, err := s.getVersion(ctx, mp.ARN, in.PolicyARN, in.VersionID)
	if err != nil {
		return nil, err
	}
	return &GetPolicyVersionOutput{PolicyVersion: versionOut(v, mp.DefaultVersionID, true)}, nil
}

// ListPolicyVersionsInput is the input of ListPolicyVersions.
type ListPolicyVersionsInput struct {
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
	Marker    string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems  *int32 `min:"1" max:"1000"`
}

// ListPolicyVersionsOutput is the output of ListPolicyVersions.
type ListPolicyVersionsOutput struct {
	Versions []PolicyVersion `xml:"Versions>member"`
	Page
}

// ListPolicyVersions lists a managed policy's versions, newest first,
// without their documents.
func (s *Service) ListPolicyVersions(ctx context.Context, c *authz.Caller, in *ListPolicyVersionsInput) (*ListPolicyVersionsOutput, error) {
	mp, err := s.authPolicy(ctx, c, "iam:ListPolicyVersions", in.PolicyARN, false)
	if err != nil {
		return nil, err
	}
	versions, err := s.store.ListPolicyVersions(ctx, mp.ARN)
	if err != nil {
		return nil, internal(err, "list policy versions")
	}
	newestFirst := func(v store.PolicyVersion) string { return fmt.Sprintf("%010d", 1<<30-versionNumber(v.VersionID)) }
	page, p, err := paginate(versions, newestFirst, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListPolicyVersionsOutput{Versions: make([]PolicyVersion, 0, len(page)), Page: p}
	for _, v := range page {
		out.Versions = append(out.Versions, versionOut(v, mp.DefaultVersionID, false))
	}
	return out, nil
}

// DeletePolicyVersionInput is the input of DeletePolicyVersion.
type DeletePolicyVersionInput struct {
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
	VersionID string `query:"VersionId" required:"true" pattern:"v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"`
}

// DeletePolicyVersionOutput is the (empty) output of DeletePolicyVersion.
type DeletePolicyVersionOutput struct{}

// DeletePolicyVersion deletes a version that is not the default.
func (s *Service) DeletePolicyVersion(ctx context.Context, c *authz.Caller, in *DeletePolicyVersionInput) (*DeletePolicyVersionOutput, error) {
	mp, err := s.authPolicy(ctx, c, "iam:DeletePolicyVersion", in.PolicyARN, true)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(in.VersionID, mp.DefaultVersionID) {
		return nil, apierr.New(apierr.DeleteConflict, "Cannot delete the default version of a policy.")
	}
	if err := s.store.DeletePolicyVersion(ctx, mp.ARN, in.VersionID); err != nil {
		if isNotFound(err) {
			return nil, noSuchVersion(in.PolicyARN, in.VersionID)
		}
		return nil, internal(err, "delete policy version")
	}
	return &DeletePolicyVersionOutput{}, nil
}

// SetDefaultPolicyVersionInput is the input of SetDefaultPolicyVersion.
type SetDefaultPolicyVersionInput struct {
	PolicyARN string `query:"PolicyArn" required:"true" min:"20" max:"2048"`
	VersionID string `query:"VersionId" required:"true" pattern:"v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?"`
}

// SetDefaultPolicyVersionOutput is the (empty) output of SetDefaultPolicyVersion.
type SetDefaultPolicyVersionOutput struct{}

// SetDefaultPolicyVersion makes a version the one that applies.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, c *authz.Caller, in *SetDefaultPolicyVersionInput) (*SetDefaultPolicyVersionOutput, error) {
	mp, err := s.authPolicy(ctx, c, "iam:SetDefaultPolicyVersion", in.PolicyARN, true)
	if err != nil {
		return nil, err
	}
	v, err := s.getVersion(ctx, mp.ARN, in.PolicyARN, in.VersionID)
	if err != nil {
		return nil, err
	}
	if v.VersionID == mp.DefaultVersionID {
		return &SetDefaultPolicyVersionOutput{}, nil
	}
	mp.DefaultVersionID, mp.UpdatedAt = v.VersionID, s.time()
	if err := s.store.UpdateManagedPolicy(ctx, mp); err != nil {
		return nil, internal(err, "set default policy version")
	}
	return &SetDefaultPolicyVersionOutput{}, nil
}
