package org

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// DescribeEffectivePolicy merges the management policies (tag, backup, AI
// services opt-out) that apply to an account, from the root down through
// its OUs to the account, with AWS's inheritance operators:
//
//   - value operators: "@@assign" replaces the inherited value,
//     "@@append" adds values to an inherited list (or assigns if there is
//     none), "@@remove" takes values out of an inherited list (and the key
//     away when the list is left empty); a plain value is an "@@assign";
//   - the child control operator "@@operators_allowed_for_child_policies"
//     (["@@all"], ["@@none"] or a list of value operators) limits what
//     policies attached further down may do to that key and everything
//     below it; a value operator a parent does not allow is ignored. Two
//     limits on one key, at one level or at several, intersect.
//
// Policies attached to one target apply in name order. The effective
// policy is the merged document without operators, its keys sorted. Not
// supported: rules particular to one policy type (e.g. a backup plan's
// "@@remove" of a whole plan, or AWS's case folding of tag policy keys):
// every type follows the general rules above.

// effectiveTypes are the types DescribeEffectivePolicy answers for.
var effectiveTypes = map[string]bool{
	tagType: true, backupType: true, aiOptOutType: true, "CHATBOT_POLICY": true, "DECLARATIVE_POLICY_EC2": true,
	"SECURITYHUB_POLICY": true, "INSPECTOR_POLICY": true, "UPGRADE_ROLLOUT_POLICY": true, "BEDROCK_POLICY": true,
	"S3_POLICY": true, "NETWORK_SECURITY_DIRECTOR_POLICY": true,
}

const (
	opAssign   = "@@assign"
	opAppend   = "@@append"
	opRemove   = "@@remove"
	opChildren = "@@operators_allowed_for_child_policies"
)

// DescribeEffectivePolicyInput is the DescribeEffectivePolicy request.
type DescribeEffectivePolicyInput struct {
	PolicyType string `json:"PolicyType" enum:"TAG_POLICY,BACKUP_POLICY,AISERVICES_OPT_OUT_POLICY,CHATBOT_POLICY,DECLARATIVE_POLICY_EC2,SECURITYHUB_POLICY,INSPECTOR_POLICY,UPGRADE_ROLLOUT_POLICY,BEDROCK_POLICY,S3_POLICY,NETWORK_SECURITY_DIRECTOR_POLICY"`
	TargetID   string `json:"TargetId" max:"100" pattern:"^(r-[0-9a-z]{4,32})|(\\d{12})|(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$"`
}

// EffectivePolicy is an effective policy on the wire.
type EffectivePolicy struct {
	PolicyContent string `json:"PolicyContent"`
	TargetID      string `json:"TargetId"`
	PolicyType    string `json:"PolicyType"`
}

// DescribeEffectivePolicyOutput is the DescribeEffectivePolicy result.
type DescribeEffectivePolicyOutput struct {
	EffectivePolicy EffectivePolicy `json:"EffectivePolicy"`
}

// DescribeEffectivePolicy returns the effective policy of a type for an
// account: the management account names any member (TargetId), a member
// account asks for its own (TargetId absent or its id). A root or an OU is
// not a target, as in AWS. EffectivePolicyNotFoundException when no policy
// of the type applies (or the type is not enabled in the root).
func (s *Service) DescribeEffectivePolicy(ctx context.Context, c *authz.Caller, in *DescribeEffectivePolicyInput) (*DescribeEffectivePolicyOutput, error) {
	if !effectiveTypes[in.PolicyType] {
		return nil, invalidInput("You specified an invalid value for policyType.")
	}
	if in.TargetID != "" && !targetIDPattern.MatchString(in.TargetID) {
		return nil, invalidInput("You specified an invalid value for targetId.")
	}
	if in.TargetID != "" && !accountIDPattern.MatchString(in.TargetID) {
		return nil, invalidInput("You can't specify a root or an organizational unit as the target of an effective policy: specify an account.")
	}
	a, o, err := s.selfOn(ctx, c, "DescribeEffectivePolicy", policyTypeKey(in.PolicyType), func(a store.Account, o org) string {
		return o.accountARN(cmp.Or(in.TargetID, a.ID))
	})
	if err != nil {
		return nil, err
	}
	if a.Standalone {
		return nil, errNotInUse()
	}
	target := in.TargetID
	switch {
	case target == "":
		target = a.ID
	case target != a.ID && a.ID != o.mgmt:
		return nil, errDenied()
	}
	t, err := s.store.GetAccount(ctx, target)
	if isNotFound(err) || err == nil && t.Standalone {
		return nil, errTargetNotFound()
	}
	if err != nil {
		return nil, internal(err, "get account "+target)
	}
	notFound := apierr.New(apierr.EffectivePolicyNotFoundException, "We can't find an effective policy of the specified type for the target.")
	if !o.typeEnabled(in.PolicyType) {
		return nil, notFound
	}
	// The targets from the root down: root, OUs top first, the account.
	var ous []string
	parent, err := s.store.OrgAccountParent(ctx, t.ID)
	if err != nil {
		return nil, internal(err, "get parent of account "+t.ID)
	}
	for parent != "" && len(ous) <= maxOUDepth {
		ous = append(ous, parent)
		u, err := s.store.GetOrgUnit(ctx, parent)
		if err != nil {
			return nil, internal(err, "get organizational unit "+parent)
		}
		parent = u.ParentID
	}
	slices.Reverse(ous)
	levels := append(append([]string{o.root}, ous...), t.ID)
	m := newMerger()
	found := false
	for _, target := range levels {
		ps, err := s.store.ListOrgPoliciesForTarget(ctx, target)
		if err != nil {
			return nil, internal(err, "list policies for "+target)
		}
		var docs []map[string]any
		for _, p := range ps {
			if p.Type != in.PolicyType {
				continue
			}
			var doc map[string]any
			if err := json.Unmarshal([]byte(p.Content), &doc); err != nil {
				return nil, internal(err, "decode policy "+p.ID)
			}
			docs = append(docs, doc)
			found = true
		}
		m.level(docs)
	}
	if !found {
		return nil, notFound
	}
	b, err := json.Marshal(m.eff)
	if err != nil {
		return nil, internal(err, "encode effective policy")
	}
	return &DescribeEffectivePolicyOutput{EffectivePolicy: EffectivePolicy{PolicyContent: string(b), TargetID: t.ID, PolicyType: in.PolicyType}}, nil
}

// merger merges management policy documents level by level.
type merger struct {
	eff map[string]any
	// allowed is the set of value operators policies of later levels may
	// use at a key path ("/"-joined) and below; absent: all.
	allowed map[string][]string
}

func newMerger() *merger { return &merger{eff: map[string]any{}, allowed: map[string][]string{}} }

var allOps = []string{opAssign, opAppend, opRemove}

// permits reports whether op may be used at path: every limit on path and
// on its ancestors allows it.
func (m *merger) permits(path []string, op string) bool {
	for i := 1; i <= len(path); i++ {
		if ops, ok := m.allowed[strings.Join(path[:i], "/")]; ok && !slices.Contains(ops, op) {
			return false
		}
	}
	return true
}

// level applies the documents attached to one target; the limits they set
// bind the levels below only.
func (m *merger) level(docs []map[string]any) {
	limits := map[string][]string{}
	for _, d := range docs {
		m.apply(m.eff, nil, d, limits)
	}
	for path, ops := range limits {
		if have, ok := m.allowed[path]; ok {
			ops = slices.DeleteFunc(slices.Clone(ops), func(op string) bool { return !slices.Contains(have, op) })
		}
		m.allowed[path] = ops
	}
}

// apply merges the object doc at path into eff.
func (m *merger) apply(eff map[string]any, path []string, doc map[string]any, limits map[string][]string) {
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if strings.HasPrefix(k, "@@") {
			continue
		}
		p := append(slices.Clone(path), k)
		v := doc[k]
		obj, isObj := v.(map[string]any)
		if isObj {
			if lim, ok := obj[opChildren]; ok {
				addLimit(limits, strings.Join(p, "/"), lim)
			}
		}
		if isObj && !hasValueOp(obj) {
			child, ok := eff[k].(map[string]any)
			if !ok {
				child = map[string]any{}
			}
			m.apply(child, p, obj, limits)
			if len(child) > 0 {
				eff[k] = child
			}
			continue
		}
		if !isObj {
			obj = map[string]any{opAssign: v}
		}
		if a, ok := obj[opAssign]; ok && m.permits(p, opAssign) {
			eff[k] = a
		}
		if a, ok := obj[opAppend]; ok && m.permits(p, opAppend) {
			eff[k] = appendValues(eff[k], a)
		}
		if r, ok := obj[opRemove]; ok && m.permits(p, opRemove) {
			if rest, keep := removeValues(eff[k], r); keep {
				eff[k] = rest
			} else {
				delete(eff, k)
			}
		}
	}
}

func hasValueOp(obj map[string]any) bool {
	for _, op := range allOps {
		if _, ok := obj[op]; ok {
			return true
		}
	}
	return false
}

// addLimit records a child control operator's value at path; two at one
// level intersect.
func addLimit(limits map[string][]string, path string, v any) {
	var ops []string
	list, _ := v.([]any)
	for _, x := range list {
		switch s, _ := x.(string); s {
		case "@@all":
			ops = append(ops, allOps...)
		case opAssign, opAppend, opRemove:
			ops = append(ops, s)
		}
	}
	if have, ok := limits[path]; ok {
		ops = slices.DeleteFunc(ops, func(op string) bool { return !slices.Contains(have, op) })
	}
	limits[path] = ops
}

func asList(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}

// appendValues adds the values of add missing from have.
func appendValues(have, add any) any {
	out := slices.Clone(asList(have))
	for _, x := range asList(add) {
		if !containsValue(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// removeValues takes the values of rm out of have; keep is false when
// nothing is left.
func removeValues(have, rm any) (any, bool) {
	drop := asList(rm)
	out := slices.DeleteFunc(slices.Clone(asList(have)), func(x any) bool { return containsValue(drop, x) })
	return out, len(out) > 0
}

func containsValue(list []any, x any) bool {
	for _, y := range list {
		if jsonEqual(x, y) {
			return true
		}
	}
	return false
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
