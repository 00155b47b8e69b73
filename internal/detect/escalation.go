package detect

import (
	"context"
	"encoding/json"
	"strings"
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
		if !GrantsAll(ev.param("policyDocument")) {
			return
		}
		target, what = e.selfTarget(ctx, ev), "put an inline policy allowing every action ("+ev.param("policyName")+")"
	case "CreatePolicyVersion":
		arn := ev.param("policyArn")
		if !strings.EqualFold(ev.param("setAsDefault"), "true") || !GrantsAll(ev.param("policyDocument")) ||
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

// GrantsAll reports whether a policy document has an Allow statement for
// every action ("*", "*:*" or "iam:*") on every resource without a
// condition.
func GrantsAll(doc string) bool {
	var d struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &d) != nil {
		return false
	}
	for _, s := range statements(d.Statement) {
		if s.Effect != "Allow" || len(s.Condition) > 0 || s.NotAction != nil || s.NotResource != nil {
			continue
		}
		if anyOf(s.Action, "*", "*:*", "iam:*") && anyOf(s.Resource, "*") {
			return true
		}
	}
	return false
}

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

func anyOf(raw json.RawMessage, want ...string) bool {
	for _, v := range strs(raw) {
		for _, w := range want {
			if strings.EqualFold(v, w) {
				return true
			}
		}
	}
	return false
}
