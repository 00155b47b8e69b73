package iam

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	for _, kind := range []store.PrincipalKind{store.KindUser, store.KindRole} {
		if r, ok := arn.ParseIAM(v, string(kind)); ok {
			return principalRef{kind: kind, account: r.Account, path: r.Path, name: r.Name}, true
		}
	}
	return principalRef{}, false
}

// principalID returns the unique id of the user or role ref names, with
// its stored path and name, or store.ErrNotFound.
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
// MalformedPolicyDocument, as AWS answers. Without it (the upgrade of
// policies stored before binding existed), such an ARN is replaced by
// orphanID's id, which no principal has, and passed to unbound: the
// principal it named is gone, and whoever takes its name later is not it.
func (s *Service) bindPrincipals(ctx context.Context, doc string, strict bool, unbound func(arn, id string)) (string, error) {
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
			id := orphanID(ref.kind, v)
			if unbound != nil {
				unbound(v, id)
			}
			return id, nil
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

// orphanID is the id that stands for a principal ARN which named no user or
// role when its policy was bound: "AIDA0" or "AROA0" and 16 hex digits of
// the ARN's SHA-256. Issued ids never have a '0' (newID draws from A-Z2-7),
// so it matches no principal, ever.
func orphanID(kind store.PrincipalKind, arn string) string {
	sum := sha256.Sum256([]byte(arn))
	prefix := "AIDA0"
	if kind == store.KindRole {
		prefix = "AROA0"
	}
	return prefix + strings.ToUpper(hex.EncodeToString(sum[:8]))
}

// isUniqueID reports whether v looks like an IAM user or role unique id.
func isUniqueID(v string) bool {
	if len(v) < 16 || !strings.HasPrefix(v, "AIDA") && !strings.HasPrefix(v, "AROA") {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
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
// still names users or roles by ARN (policies saved before binding existed).
// It returns, as "role ARN: principal ARN -> id", the principals that named
// no entity any more: they are bound to ids that match nobody, as AWS's
// policies name a deleted principal, and an operator should review them. It
// is idempotent and safe to run on several nodes.
func (s *Service) BindTrustPolicies(ctx context.Context) (unbound []string, err error) {
	// Accounts and roles are read a batch at a time, so memory stays bounded
	// however many there are; a role renamed meanwhile may be visited twice,
	// which binding (idempotent) allows.
	const batch = 500
	for after := ""; ; {
		accounts, err := s.store.ListAccounts(ctx, store.ListOptions{After: after, Limit: batch})
		if err != nil {
			return nil, internal(err, "list accounts")
		}
		for _, a := range accounts {
			if unbound, err = s.bindAccountTrustPolicies(ctx, a.ID, batch, unbound); err != nil {
				return nil, err
			}
		}
		if len(accounts) < batch {
			return unbound, nil
		}
		after = accounts[len(accounts)-1].ID
	}
}

// bindAccountTrustPolicies binds the trust policies of account's roles, as
// BindTrustPolicies does, reading batch roles at a time; it appends to unbound.
func (s *Service) bindAccountTrustPolicies(ctx context.Context, account string, batch int, unbound []string) ([]string, error) {
	for after := ""; ; {
		roles, err := s.store.ListRoles(ctx, account, store.ListOptions{After: after, Limit: batch})
		if err != nil {
			return nil, internal(err, "list roles")
		}
		for _, r := range roles {
			doc, err := s.bindPrincipals(ctx, r.TrustPolicy, false, func(arn, id string) {
				unbound = append(unbound, roleARN(r.Account, r.Path, r.Name)+": "+arn+" -> "+id)
			})
			if err != nil {
				return nil, err
			}
			if doc == r.TrustPolicy {
				continue
			}
			r.TrustPolicy = doc
			if err := s.store.UpdateRole(ctx, r); err != nil && !isNotFound(err) {
				return nil, internal(err, "update role "+r.Name)
			}
		}
		if len(roles) < batch {
			return unbound, nil
		}
		after = roles[len(roles)-1].Name
	}
}
