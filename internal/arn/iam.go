package arn

import "strings"

// Constructors for the ARNs OpenSTS issues and names. Paths are "/" or
// "/a/b/" (IAM's pathType); an empty path means "/".

// IAM returns arn:aws:iam::ACCOUNT:RESOURCE.
func IAM(account, resource string) string { return "arn:aws:iam::" + account + ":" + resource }

func iamPathed(account, kind, path, name string) string {
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + account + ":" + kind + path + name
}

// User returns the ARN of an IAM user.
func User(account, path, name string) string { return iamPathed(account, "user", path, name) }

// Group returns the ARN of an IAM group.
func Group(account, path, name string) string { return iamPathed(account, "group", path, name) }

// Role returns the ARN of an IAM role.
func Role(account, path, name string) string { return iamPathed(account, "role", path, name) }

// RoleWithSuffix returns the ARN of an IAM role followed by suffix, in one
// string (one allocation: a caller keeps the ARN as its prefix).
func RoleWithSuffix(account, path, name, suffix string) string {
	if path == "" {
		path = "/"
	}
	return "arn:aws:iam::" + account + ":role" + path + name + suffix
}

// Policy returns the ARN of a managed policy; account is 12 digits, or
// "aws" for AWS managed policies.
func Policy(account, path, name string) string { return iamPathed(account, "policy", path, name) }

// MFA returns the serial number (ARN) of a virtual MFA device.
func MFA(account, path, name string) string { return iamPathed(account, "mfa", path, name) }

// InstanceProfile is arn:aws:iam::ACCOUNT:instance-profile/PATH/NAME.
func InstanceProfile(account, path, name string) string {
	return iamPathed(account, "instance-profile", path, name)
}

// Root returns the ARN of an account's root user.
func Root(account string) string { return "arn:aws:iam::" + account + ":root" }

// AssumedRole returns the ARN of a role session.
func AssumedRole(account, role, session string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session
}

// FederatedUser returns the ARN of a GetFederationToken session.
func FederatedUser(account, name string) string {
	return "arn:aws:sts::" + account + ":federated-user/" + name
}

// IAMResource is a parsed ARN of an IAM entity with a path:
// arn:aws:iam::ACCOUNT:KIND/PATH/NAME.
type IAMResource struct {
	Account string // as written: 12 digits, or "aws" (managed policies)
	Kind    string // "user", "group", "role", "policy", "mfa", ...
	Path    string // "/" or "/a/b/"
	Name    string // never empty
}

// ParseIAM parses arn:aws:iam::ACCOUNT:KIND/PATH/NAME for the given kind
// (user, group, role, policy, mfa). The account must be 12 digits, or "aws"
// for a policy; the region must be empty. It checks the shape only: names
// and paths are validated by whoever knows their rules.
func ParseIAM(s, kind string) (IAMResource, bool) {
	rest, ok := strings.CutPrefix(s, "arn:aws:iam::")
	if !ok {
		return IAMResource{}, false
	}
	account, rest, ok := strings.Cut(rest, ":")
	if !ok || !(IsAccountID(account) || kind == "policy" && account == "aws") {
		return IAMResource{}, false
	}
	rest, ok = strings.CutPrefix(rest, kind+"/")
	if !ok {
		return IAMResource{}, false
	}
	i := strings.LastIndexByte(rest, '/')
	r := IAMResource{Account: account, Kind: kind, Path: "/" + rest[:i+1], Name: rest[i+1:]}
	if r.Name == "" {
		return IAMResource{}, false
	}
	return r, true
}

// String formats r back into its ARN.
func (r IAMResource) String() string { return iamPathed(r.Account, r.Kind, r.Path, r.Name) }

// IsAccountID reports whether s is a 12-digit account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ServerCertificate is arn:aws:iam::ACCOUNT:server-certificate/PATH/NAME.
func ServerCertificate(account, path, name string) string {
	return iamPathed(account, "server-certificate", path, name)
}
