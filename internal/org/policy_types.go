package org

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// The policy types a root can enable, and how their content is checked:
// SCPs by the policy engine; resource control policies by their IAM-like
// shape and the policy engine; management policies (tag, backup, AI
// services opt-out) as a JSON object with the type's top-level member. SCPs
// and RCPs are enforced (internal/authz).
const (
	rcpType          = "RESOURCE_CONTROL_POLICY"
	tagType          = "TAG_POLICY"
	backupType       = "BACKUP_POLICY"
	aiOptOutType     = "AISERVICES_OPT_OUT_POLICY"
	maxManagementDoc = 10000 // characters, as AWS limits management policies
	maxRCPDoc        = 5120
)

// managedTopKey is each management policy type's required top-level member.
var managedTopKey = map[string]string{tagType: "tags", backupType: "plans", aiOptOutType: "services"}

// supportedType reports whether OpenSTS keeps policies of type t.
func supportedType(t string) bool {
	return t == scpType || t == rcpType || managedTopKey[t] != ""
}

// maxPerTarget is how many policies of a type one target may have attached.
func maxPerTarget(t string) int {
	if t == scpType || t == rcpType {
		return maxSCPsPerTarget
	}
	return 10
}

// checkTypedContent validates content for policy type typ.
func (s *Service) checkTypedContent(typ, content string) error {
	switch typ {
	case scpType:
		return s.checkContent(content)
	case rcpType:
		return checkRCP(content)
	}
	return checkManagementPolicy(typ, content)
}

func errMalformed(msg string) *apierr.Error {
	return apierr.New(apierr.MalformedPolicyDocumentException, "%s", msg)
}

// checkManagementPolicy checks a tag, backup or AI services opt-out policy:
// a JSON object of at most maxManagementDoc characters whose type's
// top-level member is an object.
func checkManagementPolicy(typ, content string) error {
	if content == "" {
		return invalidInput("You specified an invalid value for content.")
	}
	if utf8.RuneCountInString(content) > maxManagementDoc {
		return constraint("MAX_POLICY_SIZE_EXCEEDED", "You attempted to create or update a policy whose content is larger than the maximum size.")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(content), &doc); err != nil {
		return errMalformed("The provided policy document is not valid JSON.")
	}
	key := managedTopKey[typ]
	raw, ok := doc[key]
	if !ok {
		return errMalformed("The provided policy document must have the top-level member " + key + ".")
	}
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(raw, &inner); err != nil {
		return errMalformed("The member " + key + " of the policy document must be an object.")
	}
	return nil
}

// defaultPolicy is the AWS managed policy every target gets while policy
// type t is enabled ("" for a type without one).
func defaultPolicy(t string) (id, name string) {
	switch t {
	case scpType:
		return FullAWSAccessID, fullAWSAccessName
	case rcpType:
		return RCPFullAWSAccessID, rcpFullAWSAccessName
	}
	return "", ""
}

// attachDefaults attaches to a new OU or a joining account the default
// policy of each enabled type that has one (FullAWSAccess,
// RCPFullAWSAccess); skipSCP when the caller attached FullAWSAccess itself.
func (s *Service) attachDefaults(ctx context.Context, o org, target string, skipSCP bool) error {
	for _, t := range []string{scpType, rcpType} {
		if !o.typeEnabled(t) || t == scpType && skipSCP {
			continue
		}
		id, name := defaultPolicy(t)
		if err := s.store.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: id, TargetID: target}); err != nil && !isExists(err) {
			return internal(err, "attach "+name)
		}
	}
	return nil
}

// checkRCP checks a resource control policy's shape: Version, and
// statements each with Effect Allow or Deny, an Action or NotAction, a
// Resource or NotResource, and the principal "*" (RCPs bind every caller).
func checkRCP(content string) error {
	if content == "" {
		return invalidInput("You specified an invalid value for content.")
	}
	if utf8.RuneCountInString(content) > maxRCPDoc {
		return constraint("MAX_POLICY_SIZE_EXCEEDED", "You attempted to create or update a policy whose content is larger than the maximum size.")
	}
	var doc struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(content), &doc); err != nil {
		return errMalformed("The provided policy document is not valid JSON.")
	}
	if doc.Version != "2012-10-17" {
		return errMalformed("The policy document must have Version 2012-10-17.")
	}
	var stmts []map[string]json.RawMessage
	if err := json.Unmarshal(doc.Statement, &stmts); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(doc.Statement, &one); err != nil || one == nil {
			return errMalformed("The policy document must have a Statement.")
		}
		stmts = []map[string]json.RawMessage{one}
	}
	if len(stmts) == 0 {
		return errMalformed("The policy document must have a Statement.")
	}
	for _, st := range stmts {
		var effect string
		if err := json.Unmarshal(st["Effect"], &effect); err != nil || (effect != "Allow" && effect != "Deny") {
			return errMalformed("Each statement must have Effect Allow or Deny.")
		}
		if (st["Action"] == nil) == (st["NotAction"] == nil) {
			return errMalformed("Each statement must have exactly one of Action and NotAction.")
		}
		if (st["Resource"] == nil) == (st["NotResource"] == nil) {
			return errMalformed("Each statement must have exactly one of Resource and NotResource.")
		}
		if p := st["Principal"]; p != nil && string(p) != `"*"` {
			return errMalformed(`A resource control policy's Principal must be "*".`)
		}
		if st["NotPrincipal"] != nil {
			return errMalformed("A resource control policy can't have NotPrincipal.")
		}
	}
	// What is enforced must compile: the policy engine's own checks.
	if _, err := policy.Parse(policy.RCP, content); err != nil {
		var pe *policy.Error
		if errors.As(err, &pe) && pe.Quota > 0 {
			return constraint("MAX_POLICY_SIZE_EXCEEDED", "You attempted to create or update a policy whose content is larger than the maximum size.")
		}
		return errMalformed(err.Error())
	}
	return nil
}

// EnablePolicyTypeInput is the EnablePolicyType request.
type EnablePolicyTypeInput struct {
	RootID     string `json:"RootId" max:"34" pattern:"^r-[0-9a-z]{4,32}$"`
	PolicyType string `json:"PolicyType" enum:"SERVICE_CONTROL_POLICY,RESOURCE_CONTROL_POLICY,DECLARATIVE_POLICY_EC2,BACKUP_POLICY,TAG_POLICY,CHATBOT_POLICY,AISERVICES_OPT_OUT_POLICY,SECURITYHUB_POLICY"`
}

// DisablePolicyTypeInput is the DisablePolicyType request.
type DisablePolicyTypeInput = EnablePolicyTypeInput

// PolicyTypeOutput is the result of EnablePolicyType and DisablePolicyType.
type PolicyTypeOutput struct {
	Root Root `json:"Root"`
}

// EnablePolicyType enables a policy type in the root. Enabling SCPs
// attaches FullAWSAccess (RCPs: RCPFullAWSAccess) to the root, every OU and
// every account first, as AWS does, so that nothing is refused for want of
// an Allow.
func (s *Service) EnablePolicyType(ctx context.Context, c *authz.Caller, in *EnablePolicyTypeInput) (*PolicyTypeOutput, error) {
	o, err := s.authRoot(ctx, c, "EnablePolicyType", in)
	if err != nil {
		return nil, err
	}
	if o.typeEnabled(in.PolicyType) {
		return nil, apierr.New(apierr.PolicyTypeAlreadyEnabledException, "The specified policy type is already enabled.")
	}
	if id, name := defaultPolicy(in.PolicyType); id != "" {
		targets, err := s.allTargets(ctx, o)
		if err != nil {
			return nil, err
		}
		for _, t := range targets {
			err := s.store.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: id, TargetID: t})
			if err != nil && !isExists(err) {
				return nil, internal(err, "enable policy type: attach "+name)
			}
		}
	}
	o.enabled = append(o.enabled, in.PolicyType)
	slices.Sort(o.enabled)
	if err := s.store.PutSetting(ctx, authz.OrgPolicyTypesSetting, strings.Join(o.enabled, ",")); err != nil {
		return nil, internal(err, "enable policy type")
	}
	return &PolicyTypeOutput{Root: o.rootOut()}, nil
}

// DisablePolicyType disables a policy type in the root and, as AWS does,
// detaches every policy of that type from every target. SCPs stop applying
// from the next request.
func (s *Service) DisablePolicyType(ctx context.Context, c *authz.Caller, in *DisablePolicyTypeInput) (*PolicyTypeOutput, error) {
	o, err := s.authRoot(ctx, c, "DisablePolicyType", in)
	if err != nil {
		return nil, err
	}
	if !o.typeEnabled(in.PolicyType) {
		return nil, apierr.New(apierr.PolicyTypeNotEnabledException, "This operation can be performed only for enabled policy types.")
	}
	o.enabled = slices.DeleteFunc(o.enabled, func(t string) bool { return t == in.PolicyType })
	if err := s.store.PutSetting(ctx, authz.OrgPolicyTypesSetting, strings.Join(o.enabled, ",")); err != nil {
		return nil, internal(err, "disable policy type")
	}
	atts, err := s.store.ListOrgAttachments(ctx)
	if err != nil {
		return nil, internal(err, "disable policy type")
	}
	types := map[string]string{}
	for _, a := range atts {
		t, ok := types[a.PolicyID]
		if !ok {
			p, err := s.store.GetOrgPolicy(ctx, a.PolicyID)
			if err != nil {
				return nil, internal(err, "disable policy type")
			}
			t, types[a.PolicyID] = p.Type, p.Type
		}
		if t != in.PolicyType {
			continue
		}
		if err := s.store.DetachOrgPolicy(ctx, a); err != nil && !isNotFound(err) {
			return nil, internal(err, "disable policy type: detach "+a.PolicyID)
		}
	}
	return &PolicyTypeOutput{Root: o.rootOut()}, nil
}

func (o org) rootOut() Root {
	return Root{ID: o.root, ARN: o.rootARN(), Name: "Root", PolicyTypes: o.policyTypes()}
}

// authRoot admits a member, validates the request, authorizes action on
// the root's ARN, and checks the root and the policy type.
func (s *Service) authRoot(ctx context.Context, c *authz.Caller, action string, in *EnablePolicyTypeInput) (org, error) {
	o, err := s.member(ctx, c, action)
	if err != nil {
		return org{}, err
	}
	if !rootIDPattern.MatchString(in.RootID) {
		return org{}, invalidInput("You specified an invalid value for rootId.")
	}
	if !policyTypes[in.PolicyType] {
		return org{}, invalidInput("You specified an invalid value for policyType.")
	}
	if err := s.checkKeys(ctx, c, o, action, policyTypeKey(in.PolicyType), func(o org) string { return o.parentARN(in.RootID) }); err != nil {
		return org{}, err
	}
	if in.RootID != o.root {
		return org{}, apierr.New(apierr.RootNotFoundException, "We can't find a root with the RootId that you specified.")
	}
	if err := o.scpAvailable(); err != nil {
		return org{}, err
	}
	if !supportedType(in.PolicyType) {
		return org{}, apierr.New(apierr.PolicyTypeNotAvailableForOrganizationException, "You can't use the specified policy type with the feature set currently enabled for this organization.")
	}
	return o, nil
}

// allTargets is the root, every OU and every account.
func (s *Service) allTargets(ctx context.Context, o org) ([]string, error) {
	out := []string{o.root}
	queue := []string{""}
	for len(queue) > 0 {
		parent := queue[0]
		queue = queue[1:]
		us, err := s.store.ListOrgUnits(ctx, parent)
		if err != nil {
			return nil, internal(err, "list organizational units")
		}
		for _, u := range us {
			out = append(out, u.ID)
			queue = append(queue, u.ID)
		}
	}
	for after := ""; ; {
		as, err := s.store.ListAccounts(ctx, store.ListOptions{After: after, Limit: 1000})
		if err != nil {
			return nil, internal(err, "list accounts")
		}
		for _, a := range as {
			if !a.Standalone {
				out = append(out, a.ID)
			}
		}
		if len(as) < 1000 {
			return out, nil
		}
		after = as[len(as)-1].ID
	}
}
