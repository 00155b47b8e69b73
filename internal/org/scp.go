package org

import (
	"context"
	"errors"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// Helpers shared by the policy actions.

func errPolicyNotFound() *apierr.Error {
	return apierr.New(apierr.PolicyNotFoundException, "We can't find a policy with the PolicyId that you specified.")
}

func errTargetNotFound() *apierr.Error {
	return apierr.New(apierr.TargetNotFoundException, "We can't find a root, OU, account, or policy with the TargetId that you specified.")
}

// getPolicy loads a policy by id: InvalidInputException for a malformed id,
// PolicyNotFoundException for an unknown one.
func (s *Service) getPolicy(ctx context.Context, id string) (store.OrgPolicy, error) {
	if !policyIDPattern.MatchString(id) {
		return store.OrgPolicy{}, invalidInput("You specified an invalid value for policyId.")
	}
	p, err := s.store.GetOrgPolicy(ctx, id)
	if isNotFound(err) {
		return store.OrgPolicy{}, errPolicyNotFound()
	}
	if err != nil {
		return store.OrgPolicy{}, internal(err, "get policy "+id)
	}
	return p, nil
}

// knownPolicy is getPolicy for a caller about to be decided on the policy:
// an id that names none is PolicyNotFoundException only to a caller allowed
// action on every policy ("*"), and AccessDeniedException to the others,
// who would otherwise learn which ids exist (a delegated member account's
// principal, say; an attack review).
func (s *Service) knownPolicy(ctx context.Context, c *authz.Caller, o org, action, id string) (store.OrgPolicy, error) {
	p, err := s.getPolicy(ctx, id)
	if e, ok := apierr.As(err); ok && e.Code == apierr.PolicyNotFoundException {
		if cerr := s.check(ctx, c, o, action); cerr != nil {
			return store.OrgPolicy{}, cerr
		}
	}
	return p, err
}

// checkContent validates an SCP document with the policy engine.
func (s *Service) checkContent(content string) error {
	if content == "" {
		return invalidInput("You specified an invalid value for content.")
	}
	if _, err := s.policies.Compile(policy.SCP, content); err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) {
			if pe.Quota > 0 {
				return apierr.New(apierr.ConstraintViolationException, "You attempted to create or update a policy whose content is larger than the maximum size of %d characters.", pe.Quota)
			}
			return apierr.New(apierr.MalformedPolicyDocumentException, "%s", pe.Message)
		}
		return internal(err, "compile service control policy")
	}
	return nil
}

func checkPolicyName(name string) error {
	if n := utf8.RuneCountInString(name); n < 1 || n > 128 {
		return invalidInput("You specified an invalid value for name.")
	}
	return nil
}

func checkPolicyDescription(d string) error {
	if utf8.RuneCountInString(d) > 512 {
		return invalidInput("You specified an invalid value for description.")
	}
	return nil
}

// checkPolicyType accepts the types OpenSTS keeps; another AWS type is not
// available here, anything else is not a type.
func checkPolicyType(t string) error {
	if supportedType(t) {
		return nil
	}
	if policyTypes[t] {
		return apierr.New(apierr.PolicyTypeNotAvailableForOrganizationException, "You can't use the specified policy type with the feature set currently enabled for this organization.")
	}
	return invalidInput("You specified an invalid value for type.")
}

// errAWSManaged is the answer to changing or deleting an AWS managed policy.
func errAWSManaged() *apierr.Error { return errDenied() }

// target is a root, an OU or an account a policy can be attached to.
type target struct {
	ID, ARN, Name, Type string
}

// resolveTarget finds a target: InvalidInputException for a malformed id,
// TargetNotFoundException for an unknown one.
func (s *Service) resolveTarget(ctx context.Context, o org, id string) (target, error) {
	if !targetIDPattern.MatchString(id) {
		return target{}, invalidInput("You specified an invalid value for targetId.")
	}
	if id == o.root {
		return target{ID: id, ARN: o.rootARN(), Name: "Root", Type: "ROOT"}, nil
	}
	if ouIDPattern.MatchString(id) {
		u, err := s.store.GetOrgUnit(ctx, id)
		if isNotFound(err) {
			return target{}, errTargetNotFound()
		}
		if err != nil {
			return target{}, internal(err, "get organizational unit "+id)
		}
		return target{ID: id, ARN: o.ouARN(id), Name: u.Name, Type: "ORGANIZATIONAL_UNIT"}, nil
	}
	if !accountIDPattern.MatchString(id) {
		return target{}, errTargetNotFound()
	}
	a, err := s.store.GetAccount(ctx, id)
	if isNotFound(err) || err == nil && a.Standalone {
		return target{}, errTargetNotFound()
	}
	if err != nil {
		return target{}, internal(err, "get account "+id)
	}
	return target{ID: id, ARN: o.accountARN(id), Name: a.Name, Type: "ACCOUNT"}, nil
}

// authPolicy admits a member of the management account, loads the policy id
// names and authorizes "organizations:"+action on the policy's ARN, in that
// order, for the actions on one policy.
func (s *Service) authPolicy(ctx context.Context, c *authz.Caller, action, id string) (org, store.OrgPolicy, error) {
	o, err := s.member(ctx, c, action)
	if err != nil {
		return org{}, store.OrgPolicy{}, err
	}
	p, err := s.knownPolicy(ctx, c, o, action, id)
	if err != nil {
		return org{}, store.OrgPolicy{}, err
	}
	if err := s.checkKeys(ctx, c, o, action, policyTypeKey(p.Type), policyResource(p)); err != nil {
		return org{}, store.OrgPolicy{}, err
	}
	return o, p, nil
}

// authAttachment serves AttachPolicy and DetachPolicy: it admits a member,
// loads the policy and the target, authorizes "organizations:"+action on
// both ARNs, and returns the ids of the policies attached to the target.
func (s *Service) authAttachment(ctx context.Context, c *authz.Caller, action, policyID, targetID string) (store.OrgPolicy, target, []string, error) {
	o, err := s.member(ctx, c, action)
	if err != nil {
		return store.OrgPolicy{}, target{}, nil, err
	}
	p, err := s.knownPolicy(ctx, c, o, action, policyID)
	if err != nil {
		return store.OrgPolicy{}, target{}, nil, err
	}
	t, err := s.resolveTarget(ctx, o, targetID)
	if err != nil {
		return store.OrgPolicy{}, target{}, nil, err
	}
	if err := s.checkKeys(ctx, c, o, action, policyTypeKey(p.Type), policyResource(p), func(org) string { return t.ARN }); err != nil {
		return store.OrgPolicy{}, target{}, nil, err
	}
	if err := o.scpAvailable(); err != nil {
		return store.OrgPolicy{}, target{}, nil, err
	}
	if !o.typeEnabled(p.Type) {
		return store.OrgPolicy{}, target{}, nil, apierr.New(apierr.PolicyTypeNotEnabledException, "This operation can be performed only for enabled policy types.")
	}
	attached, err := s.attachedTo(ctx, t.ID, p.Type)
	if err != nil {
		return store.OrgPolicy{}, target{}, nil, err
	}
	return p, t, attached, nil
}

// attachedTo returns the ids of the policies of type typ attached to targetID.
func (s *Service) attachedTo(ctx context.Context, targetID, typ string) ([]string, error) {
	ps, err := s.store.ListOrgPoliciesForTarget(ctx, targetID)
	if err != nil {
		return nil, internal(err, "list policy attachments")
	}
	ids := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.Type == typ {
			ids = append(ids, p.ID)
		}
	}
	return ids, nil
}
