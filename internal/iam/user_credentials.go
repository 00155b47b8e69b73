package iam

import (
	"context"
	"errors"
	"fmt"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// A user's credentials other than access keys and its password: SSH public
// keys (ssh_public_keys.go), signing certificates (signing_certificates.go)
// and service-specific credentials (service_credentials.go). Each action
// is authorized on the user that owns the credential (UserName, or the
// calling user where the model makes it optional), before anything about
// the credential is looked up.

// credentialKinds says, per kind, how AWS names a credential that is not
// found and the quota on how many a user has.
var credentialKinds = map[store.CredentialKind]struct {
	notFound string // format with the id
	quota    string
	max      int
}{
	store.CredentialSSHKey:      {"The Public Key with id %s cannot be found.", "SSHPublicKeysPerUser", 5},
	store.CredentialSigningCert: {"The Certificate with id %s cannot be found.", "SigningCertificatesPerUser", 2},
	store.CredentialService:     {"No such credential %s exists.", "ServiceSpecificCredentialsPerUserPerService", 2},
}

func noSuchCredential(kind store.CredentialKind, id string) error {
	return apierr.New(apierr.NoSuchEntity, credentialKinds[kind].notFound, id)
}

// credentialOwner resolves a credential action's UserName (omitted: the
// calling user) and authorizes action on that user.
func (s *Service) credentialOwner(ctx context.Context, c *authz.Caller, action, userName string) (entity, error) {
	return s.loginUser(ctx, c, action, userName)
}

// authCredential authorizes action on the owner of a credential (see
// credentialOwner) and loads the owner's credential of kind with id.
func (s *Service) authCredential(ctx context.Context, c *authz.Caller, action, userName string, kind store.CredentialKind, id string) (store.UserCredential, error) {
	e, err := s.credentialOwner(ctx, c, action, userName)
	if err != nil {
		return store.UserCredential{}, err
	}
	cr, err := s.store.GetUserCredential(ctx, c.Account, e.name, kind, id)
	if isNotFound(err) {
		return store.UserCredential{}, noSuchCredential(kind, id)
	}
	if err != nil {
		return store.UserCredential{}, internal(err, fmt.Sprintf("load %s %s", kind, id))
	}
	return cr, nil
}

// listCredentials lists the credentials of kind of a user already
// authorized.
func (s *Service) listCredentials(ctx context.Context, account, user string, kind store.CredentialKind) ([]store.UserCredential, error) {
	cs, err := s.store.ListUserCredentials(ctx, account, user, kind)
	if err != nil {
		return nil, internal(err, fmt.Sprintf("list %s of %s", kind, user))
	}
	return cs, nil
}

// createCredential stores a new credential of a user, refusing one over
// the kind's quota (counted among others, which createCredential is given
// already listed) and answering dup for a duplicate.
func (s *Service) createCredential(ctx context.Context, cr store.UserCredential, others int, dup error) error {
	k := credentialKinds[cr.Kind]
	limit := apierr.New(apierr.LimitExceeded, "Cannot exceed quota for %s: %d", k.quota, k.max)
	if others >= k.max {
		return limit
	}
	// The store counts again, atomically with the insert: concurrent
	// uploads that each saw room never exceed the quota together.
	if err := s.store.CreateUserCredential(ctx, cr, k.max); err != nil {
		switch {
		case errors.Is(err, store.ErrConflict):
			return limit
		case isExists(err):
			return dup
		case isNotFound(err):
			return noSuchEntity(store.KindUser, cr.UserName)
		}
		return internal(err, fmt.Sprintf("create %s of %s", cr.Kind, cr.UserName))
	}
	return nil
}

// setCredentialStatus sets the status (Active or Inactive) of a user's
// credential.
func (s *Service) setCredentialStatus(ctx context.Context, c *authz.Caller, action, userName string, kind store.CredentialKind, id, status string) error {
	if status != statusActive && status != statusInactive {
		return apierr.Validation(fmt.Sprintf("Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]", status))
	}
	cr, err := s.authCredential(ctx, c, action, userName, kind, id)
	if err != nil {
		return err
	}
	cr.Status = status
	return s.saveCredential(ctx, cr)
}

func (s *Service) saveCredential(ctx context.Context, cr store.UserCredential) error {
	if err := s.store.UpdateUserCredential(ctx, cr); err != nil {
		if isNotFound(err) {
			return noSuchCredential(cr.Kind, cr.ID)
		}
		return internal(err, fmt.Sprintf("update %s %s", cr.Kind, cr.ID))
	}
	return nil
}

// deleteCredential deletes a user's credential.
func (s *Service) deleteCredential(ctx context.Context, c *authz.Caller, action, userName string, kind store.CredentialKind, id string) error {
	e, err := s.credentialOwner(ctx, c, action, userName)
	if err != nil {
		return err
	}
	if err := s.store.DeleteUserCredential(ctx, c.Account, e.name, kind, id); err != nil {
		if isNotFound(err) {
			return noSuchCredential(kind, id)
		}
		return internal(err, fmt.Sprintf("delete %s %s", kind, id))
	}
	return nil
}

// credentialConflicts returns DeleteConflict when a user still has
// credentials of any kind, with AWS's messages (DeleteUser).
func (s *Service) credentialConflicts(ctx context.Context, account, user string) error {
	for _, k := range []struct {
		kind store.CredentialKind
		what string
	}{{store.CredentialSigningCert, "signing certificates"}, {store.CredentialSSHKey, "SSH public keys"}, {store.CredentialService, "service specific credentials"}} {
		cs, err := s.listCredentials(ctx, account, user, k.kind)
		if err != nil {
			return err
		}
		if len(cs) > 0 {
			return apierr.New(apierr.DeleteConflict, "Cannot delete entity, must delete %s first.", k.what)
		}
	}
	return nil
}
