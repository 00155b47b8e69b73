package authz

import (
	"context"
	"fmt"

	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// Federated identities: a web identity (OIDC) caller has no policies of its
// own and is matched by trust policies' Principal {"Federated": ARN}; the
// role sessions it gets are role sessions like AssumeRole's.

// federatedCaller reports whether c is an identity provider's principal
// (not an AWS principal): no identity policies, no SCPs.
func federatedCaller(c *Caller) bool {
	return c.Type == policy.WebIdentity || c.Type == policy.SAMLUser
}

func oidcKey(b []byte, account, name string) []byte {
	b = append(b, "oidc\x00"...)
	b = append(b, account...)
	b = append(b, 0)
	return append(b, name...)
}

// OIDCProvider returns an account's OIDC provider by name (the URL without
// https://), cached; store.ErrNotFound when there is none. Provider changes
// reach the cache through Forget.
func (a *Authorizer) OIDCProvider(ctx context.Context, account, name string) (store.OIDCProvider, error) {
	var kb [160]byte
	v, err := a.load(oidcKey(kb[:0], account, name), func() (any, error) {
		p, err := a.store.GetOIDCProvider(ctx, account, name)
		if err != nil {
			return nil, fmt.Errorf("load oidc provider %s: %w", name, err)
		}
		return &p, nil
	})
	if err != nil {
		return store.OIDCProvider{}, err
	}
	return *v.(*store.OIDCProvider), nil
}
