package iam

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Signing certificates: X.509 certificates a user registers (for the SOAP
// and other services that authenticate with them). OpenSTS parses and
// validates them and keeps them; nothing it serves authenticates with them.

// SigningCertificate is the SigningCertificate shape.
type SigningCertificate struct {
	UserName        string    `xml:"UserName"`
	CertificateID   string    `xml:"CertificateId"`
	CertificateBody string    `xml:"CertificateBody"`
	Status          string    `xml:"Status"`
	UploadDate      time.Time `xml:"UploadDate"`
}

func signingCertOut(cr store.UserCredential) SigningCertificate {
	return SigningCertificate{UserName: cr.UserName, CertificateID: cr.ID, CertificateBody: cr.Body, Status: cr.Status, UploadDate: cr.CreatedAt.UTC()}
}

// parseCertificates reads the PEM CERTIFICATE blocks of body, at least one
// and nothing else, as MalformedCertificate when they do not parse.
func parseCertificates(body, what string) ([]*x509.Certificate, error) {
	rest := []byte(strings.TrimSpace(body))
	var certs []*x509.Certificate
	for len(rest) > 0 {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, apierr.New(apierr.MalformedCertificate, "Unable to parse %s. Please check that it is a PEM-encoded X.509 certificate.", what)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, apierr.New(apierr.MalformedCertificate, "Unable to parse %s: it is not a valid X.509 certificate.", what)
		}
		certs = append(certs, c)
		rest = []byte(strings.TrimSpace(string(rest)))
	}
	if len(certs) == 0 {
		return nil, apierr.New(apierr.MalformedCertificate, "Unable to parse %s. Please check that it is a PEM-encoded X.509 certificate.", what)
	}
	return certs, nil
}

// parseCertificate reads exactly one PEM certificate that is valid at now.
func parseCertificate(body, what string, now time.Time, invalid apierr.Code) (*x509.Certificate, error) {
	certs, err := parseCertificates(body, what)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, apierr.New(apierr.MalformedCertificate, "Unable to parse %s: more than one certificate given.", what)
	}
	c := certs[0]
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil, apierr.New(invalid, "The %s is not valid at this time (valid from %s to %s).", what, c.NotBefore.UTC().Format(time.RFC3339), c.NotAfter.UTC().Format(time.RFC3339))
	}
	return c, nil
}

// UploadSigningCertificateInput is the input of UploadSigningCertificate.
type UploadSigningCertificateInput struct {
	UserName        string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	CertificateBody string `required:"true" min:"1" max:"16384" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
}

// UploadSigningCertificateOutput is the output of UploadSigningCertificate.
type UploadSigningCertificateOutput struct {
	Certificate SigningCertificate `xml:"Certificate"`
}

// UploadSigningCertificate adds an X.509 signing certificate to a user
// (without UserName: the calling user), at most two.
func (s *Service) UploadSigningCertificate(ctx context.Context, c *authz.Caller, in *UploadSigningCertificateInput) (*UploadSigningCertificateOutput, error) {
	e, err := s.credentialOwner(ctx, c, "iam:UploadSigningCertificate", in.UserName)
	if err != nil {
		return nil, err
	}
	cert, err := parseCertificate(in.CertificateBody, "certificate", s.now(), apierr.InvalidCertificate)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(cert.Raw)
	existing, err := s.listCredentials(ctx, c.Account, e.name, store.CredentialSigningCert)
	if err != nil {
		return nil, err
	}
	dup := apierr.New(apierr.DuplicateCertificate, "The certificate is already uploaded for this user.")
	for _, o := range existing {
		if o.Fingerprint == hex.EncodeToString(sum[:]) {
			return nil, dup
		}
	}
	id, err := s.randomID("", 28)
	if err != nil {
		return nil, err
	}
	cr := store.UserCredential{Account: c.Account, UserName: e.name, Kind: store.CredentialSigningCert, ID: id, Status: statusActive, CreatedAt: s.time(),
		Body: strings.TrimSpace(in.CertificateBody) + "\n", Fingerprint: hex.EncodeToString(sum[:])}
	if err := s.createCredential(ctx, cr, len(existing), dup); err != nil {
		return nil, err
	}
	return &UploadSigningCertificateOutput{Certificate: signingCertOut(cr)}, nil
}

// ListSigningCertificatesInput is the input of ListSigningCertificates.
type ListSigningCertificatesInput struct {
	UserName string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// ListSigningCertificatesOutput is the output of ListSigningCertificates.
type ListSigningCertificatesOutput struct {
	Certificates []SigningCertificate `xml:"Certificates>member"`
	Page
}

// ListSigningCertificates lists a user's signing certificates, oldest first.
func (s *Service) ListSigningCertificates(ctx context.Context, c *authz.Caller, in *ListSigningCertificatesInput) (*ListSigningCertificatesOutput, error) {
	e, err := s.credentialOwner(ctx, c, "iam:ListSigningCertificates", in.UserName)
	if err != nil {
		return nil, err
	}
	cs, err := s.listCredentials(ctx, c.Account, e.name, store.CredentialSigningCert)
	if err != nil {
		return nil, err
	}
	page, p, err := paginate(cs, credentialOrder, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListSigningCertificatesOutput{Certificates: make([]SigningCertificate, 0, len(page)), Page: p}
	for _, cr := range page {
		out.Certificates = append(out.Certificates, signingCertOut(cr))
	}
	return out, nil
}

// UpdateSigningCertificateInput is the input of UpdateSigningCertificate.
type UpdateSigningCertificateInput struct {
	UserName      string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	CertificateID string `query:"CertificateId" required:"true" min:"24" max:"128" pattern:"[\\w]+"`
	Status        string `required:"true" enum:"Active,Inactive,Expired"`
}

// UpdateSigningCertificateOutput is the (empty) output of UpdateSigningCertificate.
type UpdateSigningCertificateOutput struct{}

// UpdateSigningCertificate activates or deactivates a signing certificate.
func (s *Service) UpdateSigningCertificate(ctx context.Context, c *authz.Caller, in *UpdateSigningCertificateInput) (*UpdateSigningCertificateOutput, error) {
	return done[UpdateSigningCertificateOutput](s.setCredentialStatus(ctx, c, "iam:UpdateSigningCertificate", in.UserName, store.CredentialSigningCert, in.CertificateID, in.Status))
}

// DeleteSigningCertificateInput is the input of DeleteSigningCertificate.
type DeleteSigningCertificateInput struct {
	UserName      string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	CertificateID string `query:"CertificateId" required:"true" min:"24" max:"128" pattern:"[\\w]+"`
}

// DeleteSigningCertificateOutput is the (empty) output of DeleteSigningCertificate.
type DeleteSigningCertificateOutput struct{}

// DeleteSigningCertificate deletes a signing certificate.
func (s *Service) DeleteSigningCertificate(ctx context.Context, c *authz.Caller, in *DeleteSigningCertificateInput) (*DeleteSigningCertificateOutput, error) {
	return done[DeleteSigningCertificateOutput](s.deleteCredential(ctx, c, "iam:DeleteSigningCertificate", in.UserName, store.CredentialSigningCert, in.CertificateID))
}
