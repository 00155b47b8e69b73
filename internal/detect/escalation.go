package detect

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/policy"
)

// escalation fires self-escalation when a principal grants itself more: it
// attaches an all-powerful policy (AdministratorAccess, IAMFullAccess, or
// one allowing every action on every resource) to itself, a group it is in
// or a role it can assume (or is); puts such an inline policy there; makes
// such a version the default of a policy attached to it; or deletes its own
// permissions boundary.
func (e *Engine) escalation(ctx context.Context, ev *Event, fired *[]Alert) {
	if ev.Source != "iam.amazonaws.com" || !e.rules["self-escalation"].enabled {
		return
	}
	var target, what string
	switch ev.Name {
	case "AttachUserPolicy", "AttachGroupPolicy", "AttachRolePolicy":
		arn := ev.param("policyArn")
		if !e.powerful(ctx, arn) {
			return
		}
		target, what = e.selfTarget(ctx, ev), "attached "+arn
	case "PutUserPolicy", "PutGroupPolicy", "PutRolePolicy":
		if !GrantsAll(ev.param("policyDocument"), ev.Account) {
			return
		}
		target, what = e.selfTarget(ctx, ev), "put an inline policy allowing every action ("+ev.param("policyName")+")"
	case "CreatePolicyVersion":
		arn := ev.param("policyArn")
		if !strings.EqualFold(ev.param("setAsDefault"), "true") || !GrantsAll(ev.param("policyDocument"), ev.Account) ||
			e.opt.Directory == nil || !e.opt.Directory.AttachedToPrincipal(ctx, ev.ARN, arn) {
			return
		}
		target, what = "itself", "made a version allowing every action the default of "+arn+", which applies to it"
	case "DeleteUserPermissionsBoundary", "DeleteRolePermissionsBoundary":
		target, what = e.selfTarget(ctx, ev), "deleted the permissions boundary"
	default:
		return
	}
	if target == "" {
		return
	}
	e.fire(ev, "self-escalation", "principal:"+ev.ARN+"|"+ev.Name, ev.ARN+" "+what+" of "+target, fired)
}

// powerful reports whether a managed policy grants everything or all of
// IAM.
func (e *Engine) powerful(ctx context.Context, arn string) bool {
	switch arn {
	case "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess":
		return true
	}
	return e.opt.Directory != nil && e.opt.Directory.GrantsAll(ctx, arn)
}

// selfTarget names what an IAM write targets when that is the caller
// itself, a group it belongs to or a role it is or can assume; "" when it
// targets someone else.
func (e *Engine) selfTarget(ctx context.Context, ev *Event) string {
	d := e.opt.Directory
	if u := ev.param("userName"); u != "" && ev.Type == "IAMUser" && u == ev.UserName {
		return "itself (user " + u + ")"
	}
	if g := ev.param("groupName"); g != "" && ev.Type == "IAMUser" && d != nil && d.InGroup(ctx, ev.Account, ev.UserName, g) {
		return "its group " + g
	}
	if r := ev.param("roleName"); r != "" {
		if ev.Type == "AssumedRole" && strings.HasSuffix(ev.IssuerARN, "/"+r) {
			return "its own role " + r
		}
		if d != nil && d.CanAssume(ctx, ev.ARN, ev.PrincipalID, ev.Account, r) {
			return "role " + r + ", which it can assume"
		}
	}
	return ""
}

// GrantsAll reports whether a policy document, attached to a principal of
// account, lets it do anything in IAM: the policy engine itself, with no
// request context, allows each of the actions that hand out permissions on
// the account's users, roles and policies. Asking the engine, not reading
// the statements, leaves no spelling that grants everything and is not
// seen ("**", "i?m:*", Allow with a NotAction, "arn:*", the account's own
// ARNs); a document the engine refuses grants nothing.
func GrantsAll(doc, account string) bool {
	p, err := policy.Parse(policy.Identity, doc)
	if err != nil {
		return false
	}
	if account == "" {
		account = "000000000000"
	}
	set := &policy.Set{Identity: []policy.Named{{ID: "probe", Policy: p}}}
	now := time.Now()
	pr := policy.Principal{Type: policy.User, Account: account, ARN: "arn:aws:iam::" + account + ":user/probe", ID: "AIDAPROBE"}
	for _, action := range grantsAllActions {
		for _, res := range grantsAllResources {
			req := policy.Request{Principal: pr, Action: action, Resource: strings.ReplaceAll(res, "ACCOUNT", account), Now: now}
			if policy.Evaluate(set, &req).Effect != policy.Allow {
				return false
			}
		}
	}
	return true
}

// The questions GrantsAll asks: the IAM actions that grant permissions or
// credentials, on a user, a role and a policy of the account (at the
// present time, without any other context: a condition on something the
// request would have to carry does not count as granting).
var (
	grantsAllActions = []string{"iam:PutUserPolicy", "iam:AttachRolePolicy", "iam:CreatePolicyVersion",
		"iam:CreateAccessKey", "iam:UpdateAssumeRolePolicy", "iam:PassRole"}
	grantsAllResources = []string{"arn:aws:iam::ACCOUNT:user/probe", "arn:aws:iam::ACCOUNT:role/probe",
		"arn:aws:iam::ACCOUNT:policy/probe"}
)

type statement struct {
	Sid         string
	Effect      string
	Principal   json.RawMessage
	Action      json.RawMessage
	NotAction   json.RawMessage
	Resource    json.RawMessage
	NotResource json.RawMessage
	Condition   map[string]map[string]json.RawMessage
}

// statements reads Statement, an object or a list of them.
func statements(raw json.RawMessage) []statement {
	var list []statement
	if json.Unmarshal(raw, &list) == nil {
		return list
	}
	var one statement
	if json.Unmarshal(raw, &one) == nil {
		return []statement{one}
	}
	return nil
}

// strs reads a string or a list of strings.
func strs(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var list []string
	_ = json.Unmarshal(raw, &list)
	return list
}
