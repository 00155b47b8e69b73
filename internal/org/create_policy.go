package org

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// CreatePolicyInput is the CreatePolicy request.
type CreatePolicyInput struct {
	Content     string `json:"Content" min:"1" max:"1000000"`
	Description string `json:"Description" max:"512"`
	Name        string `json:"Name" min:"1" max:"128"`
	Type        string `json:"Type" enum:"SERVICE_CONTROL_POLICY,RESOURCE_CONTROL_POLICY,DECLARATIVE_POLICY_EC2,BACKUP_POLICY,TAG_POLICY,CHATBOT_POLICY,AISERVICES_OPT_OUT_POLICY,SECURITYHUB_POLICY"`
	Tags        []Tag  `json:"Tags"`
}

// PolicyOutput is the result of CreatePolicy, DescribePolicy and UpdatePolicy.
type PolicyOutput struct {
	Policy *Policy `json:"Policy"`
}

// CreatePolicy creates a policy of a type OpenSTS keeps (checkTypedContent
// says how each is validated); the type need not be enabled to create one,
// only to attach it.
func (s *Service) CreatePolicy(ctx context.Context, c *authz.Caller, in *CreatePolicyInput) (*PolicyOutput, error) {
	if err := checkPolicyName(in.Name); err != nil {
		return nil, err
	}
	if err := checkPolicyDescription(in.Description); err != nil {
		return nil, err
	}
	if err := checkPolicyType(in.Type); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	o, err := s.member(ctx, c, "CreatePolicy")
	if err != nil {
		return nil, err
	}
	// The tags it is created with are in the context (aws:RequestTag/KEY,
	// aws:TagKeys), as for IAM's Create* actions.
	if err := s.checkKeys(ctx, c, o, "CreatePolicy", append(policyTypeKey(in.Type), authz.RequestTagKeys(in.Tags)...)); err != nil {
		return nil, err
	}
	if err := o.scpAvailable(); err != nil {
		return nil, err
	}
	if err := s.checkTypedContent(in.Type, in.Content); err != nil {
		return nil, err
	}
	p := store.OrgPolicy{Name: in.Name, Description: in.Description, Type: in.Type, Content: in.Content}
	for range 5 {
		suffix, err := s.randomString(lowerDigits, 8)
		if err != nil {
			return nil, err
		}
		p.ID = "p-" + suffix
		err = s.store.CreateOrgPolicy(ctx, p)
		if err == nil {
			if len(tags) > 0 {
				if err := s.store.TagOrgResource(ctx, p.ID, tags, maxTags); err != nil {
					return nil, internal(err, "create policy: tag")
				}
			}
			return &PolicyOutput{Policy: o.policy(p)}, nil
		}
		if !isExists(err) {
			return nil, internal(err, "create policy "+in.Name)
		}
		// Ids and names are both unique: retry only an id collision.
		if _, err := s.store.GetOrgPolicy(ctx, p.ID); isNotFound(err) {
			return nil, apierr.New(apierr.DuplicatePolicyException, "A policy with the same name already exists.")
		}
	}
	return nil, apierr.Internal(errFiveCollisions)
}
