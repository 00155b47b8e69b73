package org_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/org"
)

func (e *env) attachTyped(typ, name, content, target string) {
	e.t.Helper()
	p, err := e.svc.CreatePolicy(e.ctx, e.root, &org.CreatePolicyInput{Name: name, Type: typ, Content: content})
	if err != nil {
		e.t.Fatalf("create %s: %v", name, err)
	}
	if _, err := e.svc.AttachPolicy(e.ctx, e.root, &org.AttachPolicyInput{PolicyID: p.Policy.PolicySummary.ID, TargetID: target}); err != nil {
		e.t.Fatalf("attach %s: %v", name, err)
	}
}

func (e *env) effective(c bool, typ, target string) (any, error) {
	e.t.Helper()
	caller := e.root
	if c {
		caller = rootCaller(member)
	}
	out, err := e.svc.DescribeEffectivePolicy(e.ctx, caller, &org.DescribeEffectivePolicyInput{PolicyType: typ, TargetID: target})
	if err != nil {
		return nil, err
	}
	if out.EffectivePolicy.TargetID != member || out.EffectivePolicy.PolicyType != typ {
		e.t.Errorf("effective policy names %s %s", out.EffectivePolicy.TargetID, out.EffectivePolicy.PolicyType)
	}
	var v any
	if err := json.Unmarshal([]byte(out.EffectivePolicy.PolicyContent), &v); err != nil {
		e.t.Fatal(err)
	}
	return v, nil
}

// TestDescribeEffectivePolicy follows AWS's inheritance examples: a root
// policy, an OU policy that assigns, appends and removes, a child control
// operator that stops the account's policy from changing the key.
func TestDescribeEffectivePolicy(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.rootID()
	_, err := e.effective(false, "TAG_POLICY", member)
	wantCode(t, "type not enabled", err, apierr.EffectivePolicyNotFoundException)
	if _, err := e.svc.EnablePolicyType(e.ctx, e.root, &org.EnablePolicyTypeInput{RootID: root, PolicyType: "TAG_POLICY"}); err != nil {
		t.Fatal(err)
	}
	_, err = e.effective(false, "TAG_POLICY", member)
	wantCode(t, "no policy attached", err, apierr.EffectivePolicyNotFoundException)
	_, err = e.effective(false, "SERVICE_CONTROL_POLICY", member)
	wantCode(t, "SCPs have no effective policy", err, apierr.OrgInvalidInputException)
	_, err = e.effective(false, "TAG_POLICY", root)
	wantCode(t, "a root as target", err, apierr.OrgInvalidInputException)
	_, err = e.effective(false, "TAG_POLICY", "999999999999")
	wantCode(t, "a missing account", err, apierr.TargetNotFoundException)
	_, err = e.effective(true, "TAG_POLICY", mgmt)
	wantCode(t, "a member asks about another account", err, apierr.OrgAccessDeniedException)

	ou := e.createOU(root, "Eng")
	if _, err := e.svc.MoveAccount(e.ctx, e.root, &org.MoveAccountInput{AccountID: member, SourceParentID: root, DestinationParentID: ou.ID}); err != nil {
		t.Fatal(err)
	}
	e.attachTyped("TAG_POLICY", "root", `{"tags":{
		"costcenter":{"tag_key":{"@@assign":"CostCenter"},"tag_value":{"@@assign":["Development","Support"]}},
		"project":{"tag_key":{"@@assign":"Project","@@operators_allowed_for_child_policies":["@@none"]},
			"tag_value":{"@@assign":["Alpha"],"@@operators_allowed_for_child_policies":["@@append"]}}}}`, root)
	e.attachTyped("TAG_POLICY", "ou", `{"tags":{
		"costcenter":{"tag_value":{"@@append":["Sandbox"],"@@remove":["Support"]},"enforced_for":{"@@assign":["redshift:*"]}},
		"project":{"tag_key":{"@@assign":"PROJECT"},"tag_value":{"@@assign":["Beta"],"@@append":["Gamma"]}}}}`, ou.ID)
	e.attachTyped("TAG_POLICY", "account", `{"tags":{"costcenter":{"enforced_for":{"@@remove":["redshift:*"]}},"owner":{"tag_key":"Owner"}}}`, member)

	got, err := e.effective(false, "TAG_POLICY", member)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"tags": map[string]any{
		// The OU appended Sandbox and removed Support; the account
		// removed the only enforced_for value, so the key is gone.
		"costcenter": map[string]any{"tag_key": "CostCenter", "tag_value": []any{"Development", "Sandbox"}},
		// The root allowed no change of tag_key and only appends to
		// tag_value: the OU's assignments are ignored, its append kept.
		"project": map[string]any{"tag_key": "Project", "tag_value": []any{"Alpha", "Gamma"}},
		"owner":   map[string]any{"tag_key": "Owner"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("effective tag policy (-want +got):\n%s", diff)
	}
	// The member asks about itself, without a TargetId.
	mine, err := e.effective(true, "TAG_POLICY", "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, mine); diff != "" {
		t.Errorf("the member's own (-want +got):\n%s", diff)
	}

	// AI services opt-out: the account's assignment replaces the root's.
	if _, err := e.svc.EnablePolicyType(e.ctx, e.root, &org.EnablePolicyTypeInput{RootID: root, PolicyType: "AISERVICES_OPT_OUT_POLICY"}); err != nil {
		t.Fatal(err)
	}
	e.attachTyped("AISERVICES_OPT_OUT_POLICY", "optout", `{"services":{"default":{"opt_out_policy":{"@@assign":"optOut"}}}}`, root)
	e.attachTyped("AISERVICES_OPT_OUT_POLICY", "optin", `{"services":{"default":{"opt_out_policy":{"@@assign":"optIn"}}}}`, member)
	got, err = e.effective(false, "AISERVICES_OPT_OUT_POLICY", member)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"services": map[string]any{"default": map[string]any{"opt_out_policy": "optIn"}}}, got); diff != "" {
		t.Errorf("effective opt-out policy (-want +got):\n%s", diff)
	}
}
