package authz

import (
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// inlineSource is the source of the inline policy name of the user, group
// or role owner.
func inlineSource(kind store.PrincipalKind, owner, name string) policy.Source {
	t := policy.SourceUnknown
	switch kind {
	case store.KindUser:
		t = policy.SourceUserInline
	case store.KindGroup:
		t = policy.SourceGroupInline
	case store.KindRole:
		t = policy.SourceRoleInline
	}
	return policy.Source{Type: t, Owner: owner, Name: name}
}
