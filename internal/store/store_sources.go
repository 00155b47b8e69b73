package store

import "context"

// PolicySources is what a user, group or role has of policies: its inline
// policies (Account, Kind and Owner unset), the ARNs of its attached
// managed policies and, for a user, its groups (ID and Name set), each in
// the order the list calls return them.
type PolicySources struct {
	Inline   []InlinePolicy
	Attached []string
	Groups   []Group
}

// PolicySourceReader reads a principal's PolicySources in one round trip,
// in place of ListInlinePolicies, ListAttachments and ListGroupsForUser.
// ErrNotFound when the owner does not exist. The SQL backends have it; a
// caller falls back to the list calls without it.
type PolicySourceReader interface {
	PolicySources(ctx context.Context, account string, kind PrincipalKind, owner string) (PolicySources, error)
}

// PrincipalSources is a user or role as an authorization decision needs
// it: its account, stored name and path, permissions boundary, tags and
// policy sources.
type PrincipalSources struct {
	Account, Name, Path, PermissionsBoundary string
	Tags                                     []Tag
	Sources                                  PolicySources
}

// PrincipalSourceReader reads a user or role by unique id with its
// PolicySources in one statement: one round trip and one snapshot, where
// GetUserByID (or GetRoleByID) and PolicySources took two of each.
// ErrNotFound when no principal of kind (KindUser or KindRole) has the id.
// The SQL backends have it; a caller falls back to the two calls without
// it.
type PrincipalSourceReader interface {
	PrincipalSources(ctx context.Context, kind PrincipalKind, id string) (PrincipalSources, error)
}
