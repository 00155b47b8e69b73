package iam

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Service-specific credentials: a user name and a generated password for
// one service (CodeCommit's Git over HTTPS, Keyspaces). The password is
// returned by the action that makes it (create, reset) and nowhere else; it
// is stored sealed (aad: the credential id), and ServicePassword is
// sensitive, so the audit trail never holds it.

// serviceCredentialServices are the services AWS issues these for.
var serviceCredentialServices = map[string]bool{"codecommit.amazonaws.com": true, "cassandra.amazonaws.com": true}

// servicePasswordBytes is the randomness of a service password: 32 bytes,
// 44 characters of base64.
const servicePasswordBytes = 32

// ServiceSpecificCredential is the ServiceSpecificCredential shape, with
// the password.
type ServiceSpecificCredential struct {
	CreateDate                  time.Time  `xml:"CreateDate"`
	ExpirationDate              *time.Time `xml:"ExpirationDate,omitempty"`
	ServiceName                 string     `xml:"ServiceName"`
	ServiceUserName             string     `xml:"ServiceUserName"`
	ServicePassword             string     `xml:"ServicePassword" sensitive:"true"`
	ServiceSpecificCredentialID string     `xml:"ServiceSpecificCredentialId"`
	UserName                    string     `xml:"UserName"`
	Status                      string     `xml:"Status"`
}

// ServiceSpecificCredentialMetadata is a credential without its password.
type ServiceSpecificCredentialMetadata struct {
	UserName                    string     `xml:"UserName"`
	Status                      string     `xml:"Status"`
	ServiceUserName             string     `xml:"ServiceUserName"`
	CreateDate                  time.Time  `xml:"CreateDate"`
	ExpirationDate              *time.Time `xml:"ExpirationDate,omitempty"`
	ServiceSpecificCredentialID string     `xml:"ServiceSpecificCredentialId"`
	ServiceName                 string     `xml:"ServiceName"`
}

// status is a credential's status, Expired once past its expiry.
func (s *Service) serviceCredentialStatus(cr store.UserCredential) string {
	if !cr.ExpiresAt.IsZero() && !s.now().Before(cr.ExpiresAt) {
		return "Expired"
	}
	return cr.Status
}

func expiry(cr store.UserCredential) *time.Time {
	if cr.ExpiresAt.IsZero() {
		return nil
	}
	t := cr.ExpiresAt.UTC()
	return &t
}

// newServicePassword generates a password and seals it under id.
func (s *Service) newServicePassword(id string) (password string, sealed []byte, err error) {
	b := make([]byte, servicePasswordBytes)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", nil, apierr.Internal(fmt.Errorf("new service password: %w", err))
	}
	password = base64.StdEncoding.EncodeToString(b)
	if sealed, err = s.sealer.Seal([]byte(password), []byte(id)); err != nil {
		return "", nil, apierr.Internal(fmt.Errorf("seal service password: %w", err))
	}
	return password, sealed, nil
}

func (s *Service) serviceCredentialOut(cr store.UserCredential, password string) ServiceSpecificCredential {
	return ServiceSpecificCredential{CreateDate: cr.CreatedAt.UTC(), ExpirationDate: expiry(cr), ServiceName: cr.ServiceName, ServiceUserName: cr.ServiceUserName,
		ServicePassword: password, ServiceSpecificCredentialID: cr.ID, UserName: cr.UserName, Status: s.serviceCredentialStatus(cr)}
}

// CreateServiceSpecificCredentialInput is the input of CreateServiceSpecificCredential.
type CreateServiceSpecificCredentialInput struct {
	UserName          string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	ServiceName       string `required:"true"`
	CredentialAgeDays *int32 `min:"1" max:"36600"`
}

// CreateServiceSpecificCredentialOutput is the output of CreateServiceSpecificCredential.
type CreateServiceSpecificCredentialOutput struct {
	ServiceSpecificCredential ServiceSpecificCredential `xml:"ServiceSpecificCredential"`
}

// CreateServiceSpecificCredential generates a user name and password for a
// user and a service, at most two per user and service.
func (s *Service) CreateServiceSpecificCredential(ctx context.Context, c *authz.Caller, in *CreateServiceSpecificCredentialInput) (*CreateServiceSpecificCredentialOutput, error) {
	e, err := s.credentialOwner(ctx, c, "iam:CreateServiceSpecificCredential", in.UserName)
	if err != nil {
		return nil, err
	}
	if !serviceCredentialServices[in.ServiceName] {
		return nil, apierr.New(apierr.NotSupportedService, "No such service %s is supported for Service-Specific Credentials", in.ServiceName)
	}
	existing, err := s.listCredentials(ctx, c.Account, e.name, store.CredentialService)
	if err != nil {
		return nil, err
	}
	forService := 0
	for _, o := range existing {
		if o.ServiceName == in.ServiceName {
			forService++
		}
	}
	id, err := s.newID("ACCA")
	if err != nil {
		return nil, err
	}
	password, sealed, err := s.newServicePassword(id)
	if err != nil {
		return nil, err
	}
	cr := store.UserCredential{Account: c.Account, UserName: e.name, Kind: store.CredentialService, ID: id, Status: statusActive, CreatedAt: s.time(),
		Fingerprint: id, ServiceName: in.ServiceName, ServiceUserName: e.name + "-at-" + c.Account, Secret: sealed}
	if in.CredentialAgeDays != nil {
		cr.ExpiresAt = cr.CreatedAt.AddDate(0, 0, int(*in.CredentialAgeDays))
	}
	if err := s.createCredential(ctx, cr, forService, apierr.New(apierr.ConcurrentModification, "Credential id %s is taken; retry.", id)); err != nil {
		return nil, err
	}
	return &CreateServiceSpecificCredentialOutput{ServiceSpecificCredential: s.serviceCredentialOut(cr, password)}, nil
}

// ListServiceSpecificCredentialsInput is the input of ListServiceSpecificCredentials.
type ListServiceSpecificCredentialsInput struct {
	UserName    string `min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	ServiceName string
	Marker      string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems    *int32 `min:"1" max:"1000"`
}

// ListServiceSpecificCredentialsOutput is the output of ListServiceSpecificCredentials.
type ListServiceSpecificCredentialsOutput struct {
	ServiceSpecificCredentials []ServiceSpecificCredentialMetadata `xml:"ServiceSpecificCredentials>member"`
	Page
}

// ListServiceSpecificCredentials lists a user's service-specific
// credentials (all services, or ServiceName's), without passwords.
func (s *Service) ListServiceSpecificCredentials(ctx context.Context, c *authz.Caller, in *ListServiceSpecificCredentialsInput) (*ListServiceSpecificCredentialsOutput, error) {
	e, err := s.credentialOwner(ctx, c, "iam:ListServiceSpecificCredentials", in.UserName)
	if err != nil {
		return nil, err
	}
	if in.ServiceName != "" && !serviceCredentialServices[in.ServiceName] {
		return nil, apierr.New(apierr.NotSupportedService, "No such service %s is supported for Service-Specific Credentials", in.ServiceName)
	}
	cs, err := s.listCredentials(ctx, c.Account, e.name, store.CredentialService)
	if err != nil {
		return nil, err
	}
	kept := cs[:0]
	for _, cr := range cs {
		if in.ServiceName == "" || cr.ServiceName == in.ServiceName {
			kept = append(kept, cr)
		}
	}
	page, p, err := paginate(kept, credentialOrder, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListServiceSpecificCredentialsOutput{ServiceSpecificCredentials: make([]ServiceSpecificCredentialMetadata, 0, len(page)), Page: p}
	for _, cr := range page {
		out.ServiceSpecificCredentials = append(out.ServiceSpecificCredentials, ServiceSpecificCredentialMetadata{UserName: cr.UserName, Status: s.serviceCredentialStatus(cr),
			ServiceUserName: cr.ServiceUserName, CreateDate: cr.CreatedAt.UTC(), ExpirationDate: expiry(cr), ServiceSpecificCredentialID: cr.ID, ServiceName: cr.ServiceName})
	}
	return out, nil
}

// ResetServiceSpecificCredentialInput is the input of ResetServiceSpecificCredential.
type ResetServiceSpecificCredentialInput struct {
	UserName                    string `min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	ServiceSpecificCredentialID string `query:"ServiceSpecificCredentialId" required:"true" min:"20" max:"128" pattern:"[\\w]+"`
}

// ResetServiceSpecificCredentialOutput is the output of ResetServiceSpecificCredential.
type ResetServiceSpecificCredentialOutput struct {
	ServiceSpecificCredential ServiceSpecificCredential `xml:"ServiceSpecificCredential"`
}

// ResetServiceSpecificCredential replaces a credential's password with a
// new one, returned here once.
func (s *Service) ResetServiceSpecificCredential(ctx context.Context, c *authz.Caller, in *ResetServiceSpecificCredentialInput) (*ResetServiceSpecificCredentialOutput, error) {
	cr, err := s.authCredential(ctx, c, "iam:ResetServiceSpecificCredential", in.UserName, store.CredentialService, in.ServiceSpecificCredentialID)
	if err != nil {
		return nil, err
	}
	password, sealed, err := s.newServicePassword(cr.ID)
	if err != nil {
		return nil, err
	}
	cr.Secret = sealed
	if err := s.saveCredential(ctx, cr); err != nil {
		return nil, err
	}
	return &ResetServiceSpecificCredentialOutput{ServiceSpecificCredential: s.serviceCredentialOut(cr, password)}, nil
}

// UpdateServiceSpecificCredentialInput is the input of UpdateServiceSpecificCredential.
type UpdateServiceSpecificCredentialInput struct {
	UserName                    string `min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	ServiceSpecificCredentialID string `query:"ServiceSpecificCredentialId" required:"true" min:"20" max:"128" pattern:"[\\w]+"`
	Status                      string `required:"true" enum:"Active,Inactive,Expired"`
}

// UpdateServiceSpecificCredentialOutput is the (empty) output of UpdateServiceSpecificCredential.
type UpdateServiceSpecificCredentialOutput struct{}

// UpdateServiceSpecificCredential activates or deactivates a credential.
func (s *Service) UpdateServiceSpecificCredential(ctx context.Context, c *authz.Caller, in *UpdateServiceSpecificCredentialInput) (*UpdateServiceSpecificCredentialOutput, error) {
	return done[UpdateServiceSpecificCredentialOutput](s.setCredentialStatus(ctx, c, "iam:UpdateServiceSpecificCredential", in.UserName, store.CredentialService, in.ServiceSpecificCredentialID, in.Status))
}

// DeleteServiceSpecificCredentialInput is the input of DeleteServiceSpecificCredential.
type DeleteServiceSpecificCredentialInput struct {
	UserName                    string `min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	ServiceSpecificCredentialID string `query:"ServiceSpecificCredentialId" required:"true" min:"20" max:"128" pattern:"[\\w]+"`
}

// DeleteServiceSpecificCredentialOutput is the (empty) output of DeleteServiceSpecificCredential.
type DeleteServiceSpecificCredentialOutput struct{}

// DeleteServiceSpecificCredential deletes a credential.
func (s *Service) DeleteServiceSpecificCredential(ctx context.Context, c *authz.Caller, in *DeleteServiceSpecificCredentialInput) (*DeleteServiceSpecificCredentialOutput, error) {
	return done[DeleteServiceSpecificCredentialOutput](s.deleteCredential(ctx, c, "iam:DeleteServiceSpecificCredential", in.UserName, store.CredentialService, in.ServiceSpecificCredentialID))
}
