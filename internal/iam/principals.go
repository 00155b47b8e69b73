package iam

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// Stored trust policies name IAM users and roles by unique id, as AWS keeps
// them: when a policy is saved, each user or role ARN among its principals
// is replaced by the id of the entity it names, and an ARN that names no
// entity is refused ("Invalid principal in policy"). So a user who later
// takes a deleted principal's name, by creating or renaming, is a different
// principal to the policy, and a recreated role does not inherit trust
// granted to the one it replaces. When the policy is read, ids of entities
// that still exist are shown as their current ARNs again, and ids of deleted
// ones stay ids.
//
// Account roots, account ids, assumed-role session ARNs and "*" are kept as
// written, as AWS keeps them.

// principalRef is an IAM user or role named by ARN in a policy.
type principalRef struct {
	kind       store.PrincipalKind
	account    string
	path, name string
}

// parsePrincipalARN recognises arn:aws:iam::ACCOUNT:user/PATH/NAME and
// role/PATH/NAME.
func parsePrincipalARN(v string) (principalRef, bool) {
	a, err := arn.Parse(v)
	if err != nil || a.Partition != "aws" || a.Service != "iam" || a.Region != "" || !isAccountID(a.Account) {
		return principalRef{}, false
	}
	var ref principalRef
	rest, ok := strings.CutPrefix(a.Resource, "user/")
	ref.kind = store.KindUser
	if !ok {
		rest, ok = strings.CutPrefix(a.Resource, "role/")
		ref.kind = store.KindRole
	}
	if !ok || rest == "" {
		return principalRef{}, false
	}
	i := strings.LastIndexByte(rest, '/')
	ref.account, ref.path, ref.name = a.Account, "/"+rest[:i+1], rest[i+1:]
	return ref, true
}

// errUnbound marks a principal ARN that names no existing user or role.
var errUnbound = errors.New("principal does not exist")

// principalID returns the unique id of the user or role ref names, with
// its stored path and name, or errUnbound.
func (s *Service) principalID(ctx context.Context, ref principalRef) (id, storedARN string, err error) {
	switch ref.kind {
	case store.KindUser:
		u, err := s.store.GetUser(ctx, ref.account, ref.name)
		if err != nil {
			return "", "", err
		}
		return u.ID, userARN(u.Account, u.Path, u.Name), nil
	default:
		r, err := s.store.GetRole(ctx, ref.account, ref.name)
		if err != nil {
			return "", "", err
		}
		return r.ID, roleARN(r.Account, r.Path, r.Name), nil
	}
}

// bindPrincipals returns doc with every IAM user and role ARN among its
// principals replaced by the unique id of the entity it names. With strict,
// an ARN that names no entity (none by that name, or not at that path) is
// MalformedPolicyDocument, as AWS answers; without it, such an ARN is kept
// (the upgrade of policies stored before binding existed).
func (s *Service) bindPrincipals(ctx context.Context, doc string, strict bool) (string, error) {
	out, err := policy.MapAWSPrincipals(doc, func(v string) (string, error) {
		ref, ok := parsePrincipalARN(v)
		if !ok {
			return v, nil
		}
		id, stored, err := s.principalID(ctx, ref)
		if err == nil && !strings.EqualFold(stored, v) {
			err = store.ErrNotFound // right name, wrong path
		}
		switch {
		case err == nil:
			return id, nil
		case isNotFound(err) && strict:
			return "", apierr.New(apierr.MalformedPolicyDocument, `Invalid principal in policy: "AWS":"%s"`, v)
		case isNotFound(err):
			return v, nil
		}
		return "", internal(err, "bind principal "+v)
	})
	if err != nil {
		if _, ok := apierr.As(err); ok {
			return "", err
		}
		return "", apierr.Internal(fmt.Errorf("bind principals: %w", err))
	}
	return out, nil
}

// isUniqueID reports whether v looks like an IAM user or role unique id.
func isUniqueID(v string) bool {
	if len(v) < 16 || !(strings.HasPrefix(v, "AIDA") || strings.HasPrefix(v, "AROA")) {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// principalNames resolves unique ids back to ARNs for display; it
// remembers what it looked up, so a list resolves each id once.
type principalNames struct {
	svc  *Service
	seen map[string]string
}

func (s *Service) principalNames() *principalNames {
	return &principalNames{svc: s, seen: map[string]string{}}
}

// show returns doc with the unique ids among its principals replaced by the
// current ARNs of the users and roles they name; ids of deleted entities
// stay as they are. A document that cannot be walked is returned unchanged.
func (pn *principalNames) show(ctx context.Context, doc string) string {
	out, err := policy.MapAWSPrincipals(doc, func(v string) (string, error) {
		if !isUniqueID(v) {
			return v, nil
		}
		if a, ok := pn.seen[v]; ok {
			return a, nil
		}
		a := v
		if strings.HasPrefix(v, "AIDA") {
			if u, err := pn.svc.store.GetUserByID(ctx, v); err == nil {
				a = userARN(u.Account, u.Path, u.Name)
			}
		} else if r, err := pn.svc.store.GetRoleByID(ctx, v); err == nil {
			a = roleARN(r.Account, r.Path, r.Name)
		}
		pn.seen[v] = a
		return a, nil
	})
	if err != nil {
		return doc
	}
	return out
}

// BindTrustPolicies binds the principals of every stored trust policy that
// still names users or roles by ARN (policies saved before binding
// existed). ARNs that name no entity are kept and reported: such a
// principal matches only a caller with exactly that ARN, so an operator
// should review them. It is idempotent and safe to run on several nodes.
func (s *Service) BindTrustPolicies(ctx context.Context) (unbound []string, err error) {
	accounts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return nil, internal(err, "list accounts")
	}
	for _, a := range accounts {
		roles, err := s.store.ListRoles(ctx, a.ID, store.ListOptions{})
		if err != nil {
			return nil, internal(err, "list roles")
		}
		for _, r := range roles {
			doc, err := s.bindPrincipals(ctx, r.TrustPolicy, false)
			if err != nil {
				return nil, err
			}
			_, _ = policy.MapAWSPrincipals(doc, func(v string) (string, error) {
				if _, ok := parsePrincipalARN(v); ok {
					unbound = append(unbound, roleARN(r.Account, r.Path, r.Name)+": "+v)
				}
				return v, nil
			})
			if doc == r.TrustPolicy {
				continue
			}
			r.TrustPolicy = doc
			if err := s.store.UpdateRole(ctx, r); err != nil && !isNotFound(err) {
				return nil, internal(err, "update role "+r.Name)
			}
		}
	}
	s.authz.Invalidate()
	return unbound, nil
}
