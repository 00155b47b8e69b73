package iam

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Server certificates: a TLS certificate, its chain and private key, for
// load balancers and CloudFront in AWS. OpenSTS parses and validates them
// (the key must match the certificate) and keeps them, the private key
// sealed (aad: the certificate id). The key is never returned, logged or
// audited: PrivateKey is sensitive.

const maxServerCertificates = 20 // ServerCertificatesPerAccount

// ServerCertificateMetadata is the ServerCertificateMetadata shape.
type ServerCertificateMetadata struct {
	Path                  string    `xml:"Path"`
	ServerCertificateName string    `xml:"ServerCertificateName"`
	ServerCertificateID   string    `xml:"ServerCertificateId"`
	ARN                   string    `xml:"Arn"`
	UploadDate            time.Time `xml:"UploadDate"`
	Expiration            time.Time `xml:"Expiration"`
}

// ServerCertificate is the ServerCertificate shape (no private key).
type ServerCertificate struct {
	ServerCertificateMetadata ServerCertificateMetadata `xml:"ServerCertificateMetadata"`
	CertificateBody           string                    `xml:"CertificateBody"`
	CertificateChain          string                    `xml:"CertificateChain,omitempty"`
	Tags                      []Tag                     `xml:"Tags>member"`
}

func serverCertificateMetadata(c store.ServerCertificate) ServerCertificateMetadata {
	return ServerCertificateMetadata{Path: c.Path, ServerCertificateName: c.Name, ServerCertificateID: c.ID, ARN: arn.ServerCertificate(c.Account, c.Path, c.Name),
		UploadDate: c.UploadedAt.UTC(), Expiration: c.Expiration.UTC()}
}

func noSuchServerCertificate(name string) error {
	return apierr.New(apierr.NoSuchEntity, "The Server Certificate with name %s cannot be found.", name)
}

// authServerCertificate loads a certificate of the caller's account and
// authorizes action on its ARN (with its tags as aws:ResourceTag keys);
// authorization comes first, as for users and roles.
func (s *Service) authServerCertificate(ctx context.Context, c *authz.Caller, action, name string, keys ...authz.Key) (store.ServerCertificate, error) {
	cert, err := s.store.GetServerCertificate(ctx, c.Account, name)
	found := err == nil
	if err != nil && !isNotFound(err) {
		return store.ServerCertificate{}, internal(err, "load server certificate "+name)
	}
	resource := arn.ServerCertificate(c.Account, "/", name)
	if found {
		resource = arn.ServerCertificate(c.Account, cert.Path, cert.Name)
		keys = append(keys, resourceTagKeys(cert.Tags)...)
	}
	if err := s.checkAs(ctx, c, action, resource, "server-certificate "+name, keys...); err != nil {
		return store.ServerCertificate{}, err
	}
	if !found {
		return store.ServerCertificate{}, noSuchServerCertificate(name)
	}
	return cert, nil
}

// parsePrivateKey reads a PEM private key (PKCS#1, SEC 1 or PKCS#8).
func parsePrivateKey(body string) (crypto.Signer, error) {
	malformed := apierr.New(apierr.MalformedCertificate, "Unable to parse the private key. Please check that it is a PEM-encoded, unencrypted RSA or EC private key.")
	block, rest := pem.Decode([]byte(strings.TrimSpace(body)))
	if block == nil || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, malformed
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, malformed
	}
	if err != nil {
		return nil, malformed
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		if k.N.BitLen() < 1024 {
			return nil, apierr.New(apierr.MalformedCertificate, "The private key is too short: an RSA key must have at least 1024 bits.")
		}
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	}
	return nil, malformed
}

// UploadServerCertificateInput is the input of UploadServerCertificate.
type UploadServerCertificateInput struct {
	Path                  string `min:"1" max:"512" pattern:"(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"`
	ServerCertificateName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	CertificateBody       string `required:"true" min:"1" max:"16384" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	PrivateKey            string `required:"true" min:"1" max:"16384" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+" sensitive:"true"`
	CertificateChain      string `min:"1" max:"2097152" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	Tags                  []Tag  `max:"50"`
}

// UploadServerCertificateOutput is the output of UploadServerCertificate.
type UploadServerCertificateOutput struct {
	ServerCertificateMetadata ServerCertificateMetadata `xml:"ServerCertificateMetadata"`
	Tags                      []Tag                     `xml:"Tags>member,omitempty"`
}

// UploadServerCertificate stores a certificate with its chain and private
// key, which must match the certificate's public key. Uploading it with
// tags also needs iam:TagServerCertificate.
func (s *Service) UploadServerCertificate(ctx context.Context, c *authz.Caller, in *UploadServerCertificateInput) (*UploadServerCertificateOutput, error) {
	path, err := checkPath(in.Path, "path")
	if err != nil {
		return nil, err
	}
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	resource := arn.ServerCertificate(c.Account, path, in.ServerCertificateName)
	keys := requestTagKeys(in.Tags)
	if err := s.check(ctx, c, "iam:UploadServerCertificate", resource, keys...); err != nil {
		return nil, err
	}
	if len(in.Tags) > 0 {
		if err := s.check(ctx, c, "iam:TagServerCertificate", resource, keys...); err != nil {
			return nil, err
		}
	}
	cert, err := parseCertificate(in.CertificateBody, "certificate body", s.now(), apierr.MalformedCertificate)
	if err != nil {
		return nil, err
	}
	if in.CertificateChain != "" {
		if _, err := parseCertificates(in.CertificateChain, "certificate chain"); err != nil {
			return nil, err
		}
	}
	key, err := parsePrivateKey(in.PrivateKey)
	if err != nil {
		return nil, err
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.PublicKey) {
		return nil, apierr.New(apierr.KeyPairMismatch, "The private key does not match the public key in the certificate.")
	}
	existing, err := s.store.ListServerCertificates(ctx, c.Account, store.ListOptions{Limit: maxServerCertificates})
	if err != nil {
		return nil, internal(err, "count server certificates")
	}
	if len(existing) >= maxServerCertificates {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for ServerCertificatesPerAccount: %d", maxServerCertificates)
	}
	id, err := s.newID("ASCA")
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal([]byte(in.PrivateKey), []byte(id))
	if err != nil {
		return nil, apierr.Internal(err)
	}
	sc := store.ServerCertificate{Account: c.Account, ID: id, Name: in.ServerCertificateName, Path: path, Body: strings.TrimSpace(in.CertificateBody) + "\n",
		PrivateKey: sealed, UploadedAt: s.time(), Expiration: cert.NotAfter.UTC(), Tags: storeTags(in.Tags)}
	if in.CertificateChain != "" {
		sc.Chain = strings.TrimSpace(in.CertificateChain) + "\n"
	}
	if err := s.store.CreateServerCertificate(ctx, sc); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.EntityAlreadyExists, "The Server Certificate with name %s already exists.", in.ServerCertificateName)
		}
		return nil, internal(err, "create server certificate "+in.ServerCertificateName)
	}
	return &UploadServerCertificateOutput{ServerCertificateMetadata: serverCertificateMetadata(sc), Tags: tagsOut(sc.Tags)}, nil
}

// GetServerCertificateInput is the input of GetServerCertificate.
type GetServerCertificateInput struct {
	ServerCertificateName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// GetServerCertificateOutput is the output of GetServerCertificate.
type GetServerCertificateOutput struct {
	ServerCertificate ServerCertificate `xml:"ServerCertificate"`
}

// GetServerCertificate returns a certificate, its chain and tags, never
// its private key.
func (s *Service) GetServerCertificate(ctx context.Context, c *authz.Caller, in *GetServerCertificateInput) (*GetServerCertificateOutput, error) {
	sc, err := s.authServerCertificate(ctx, c, "iam:GetServerCertificate", in.ServerCertificateName)
	if err != nil {
		return nil, err
	}
	return &GetServerCertificateOutput{ServerCertificate: ServerCertificate{ServerCertificateMetadata: serverCertificateMetadata(sc),
		CertificateBody: sc.Body, CertificateChain: sc.Chain, Tags: tagsOut(sc.Tags)}}, nil
}

// ListServerCertificatesInput is the input of ListServerCertificates.
type ListServerCertificatesInput struct {
	PathPrefix string `min:"1" max:"512" pattern:"\\u002F[\\u0021-\\u007F]*"`
	Marker     string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems   *int32 `min:"1" max:"1000"`
}

// ListServerCertificatesOutput is the output of ListServerCertificates.
type ListServerCertificatesOutput struct {
	ServerCertificateMetadataList []ServerCertificateMetadata `xml:"ServerCertificateMetadataList>member"`
	Page
}

// ListServerCertificates lists the account's certificates under a path, by
// name.
func (s *Service) ListServerCertificates(ctx context.Context, c *authz.Caller, in *ListServerCertificatesInput) (*ListServerCertificatesOutput, error) {
	prefix, err := checkPathPrefix(in.PathPrefix)
	if err != nil {
		return nil, err
	}
	if err := s.check(ctx, c, "iam:ListServerCertificates", arn.ServerCertificate(c.Account, prefix, "")); err != nil {
		return nil, err
	}
	p, err := pageRequest(in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	certs, err := s.store.ListServerCertificates(ctx, c.Account, p.options(prefix))
	if err != nil {
		return nil, internal(err, "list server certificates")
	}
	page, pg := cut(p, certs, func(c store.ServerCertificate) string { return nameKey(c.Name) })
	out := &ListServerCertificatesOutput{ServerCertificateMetadataList: make([]ServerCertificateMetadata, 0, len(page)), Page: pg}
	for _, sc := range page {
		out.ServerCertificateMetadataList = append(out.ServerCertificateMetadataList, serverCertificateMetadata(sc))
	}
	return out, nil
}

// UpdateServerCertificateInput is the input of UpdateServerCertificate.
type UpdateServerCertificateInput struct {
	ServerCertificateName    string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	NewPath                  string `min:"1" max:"512" pattern:"(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)"`
	NewServerCertificateName string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// UpdateServerCertificateOutput is the (empty) output of UpdateServerCertificate.
type UpdateServerCertificateOutput struct{}

// UpdateServerCertificate renames a certificate and/or moves it to another
// path; the caller needs the action on both the old and the new ARN.
func (s *Service) UpdateServerCertificate(ctx context.Context, c *authz.Caller, in *UpdateServerCertificateInput) (*UpdateServerCertificateOutput, error) {
	newPath := in.NewPath
	if newPath != "" {
		var err error
		if newPath, err = checkPath(newPath, "newPath"); err != nil {
			return nil, err
		}
	}
	sc, err := s.authServerCertificate(ctx, c, "iam:UpdateServerCertificate", in.ServerCertificateName)
	if err != nil {
		return nil, err
	}
	name, path := sc.Name, sc.Path
	if in.NewServerCertificateName != "" {
		name = in.NewServerCertificateName
	}
	if newPath != "" {
		path = newPath
	}
	if err := s.check(ctx, c, "iam:UpdateServerCertificate", arn.ServerCertificate(c.Account, path, name)); err != nil {
		return nil, err
	}
	if err := s.store.RenameServerCertificate(ctx, c.Account, sc.Name, name, path); err != nil {
		switch {
		case isExists(err):
			return nil, apierr.New(apierr.EntityAlreadyExists, "The Server Certificate with name %s already exists.", name)
		case isNotFound(err):
			return nil, noSuchServerCertificate(in.ServerCertificateName)
		}
		return nil, internal(err, "update server certificate "+sc.Name)
	}
	return &UpdateServerCertificateOutput{}, nil
}

// DeleteServerCertificateInput is the input of DeleteServerCertificate.
type DeleteServerCertificateInput struct {
	ServerCertificateName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// DeleteServerCertificateOutput is the (empty) output of DeleteServerCertificate.
type DeleteServerCertificateOutput struct{}

// DeleteServerCertificate deletes a certificate and its sealed key.
func (s *Service) DeleteServerCertificate(ctx context.Context, c *authz.Caller, in *DeleteServerCertificateInput) (*DeleteServerCertificateOutput, error) {
	sc, err := s.authServerCertificate(ctx, c, "iam:DeleteServerCertificate", in.ServerCertificateName)
	if err != nil {
		return nil, err
	}
	return done[DeleteServerCertificateOutput](s.mapServerCertificateErr(s.store.DeleteServerCertificate(ctx, c.Account, sc.Name), sc.Name, "delete"))
}

func (s *Service) mapServerCertificateErr(err error, name, what string) error {
	if err == nil {
		return nil
	}
	if isNotFound(err) {
		return noSuchServerCertificate(name)
	}
	return internal(err, what+" server certificate "+name)
}

// TagServerCertificateInput is the input of TagServerCertificate.
type TagServerCertificateInput struct {
	ServerCertificateName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Tags                  []Tag  `required:"true" max:"50"`
}

// TagServerCertificateOutput is the (empty) output of TagServerCertificate.
type TagServerCertificateOutput struct{}

// TagServerCertificate adds or replaces tags on a certificate.
func (s *Service) TagServerCertificate(ctx context.Context, c *authz.Caller, in *TagServerCertificateInput) (*TagServerCertificateOutput, error) {
	if err := checkTags(in.Tags); err != nil {
		return nil, err
	}
	sc, err := s.authServerCertificate(ctx, c, "iam:TagServerCertificate", in.ServerCertificateName, requestTagKeys(in.Tags)...)
	if err != nil {
		return nil, err
	}
	merged, err := mergeTags(sc.Tags, in.Tags, "TagsPerServerCertificate")
	if err != nil {
		return nil, err
	}
	return done[TagServerCertificateOutput](s.mapServerCertificateErr(s.store.SetServerCertificateTags(ctx, c.Account, sc.Name, merged), sc.Name, "tag"))
}

// UntagServerCertificateInput is the input of UntagServerCertificate.
type UntagServerCertificateInput struct {
	ServerCertificateName string   `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	TagKeys               []string `required:"true" max:"50" memberMin:"1" memberMax:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
}

// UntagServerCertificateOutput is the (empty) output of UntagServerCertificate.
type UntagServerCertificateOutput struct{}

// UntagServerCertificate removes tags from a certificate; unknown keys are
// ignored.
func (s *Service) UntagServerCertificate(ctx context.Context, c *authz.Caller, in *UntagServerCertificateInput) (*UntagServerCertificateOutput, error) {
	sc, err := s.authServerCertificate(ctx, c, "iam:UntagServerCertificate", in.ServerCertificateName, authz.Key{Name: "aws:TagKeys", Values: in.TagKeys})
	if err != nil {
		return nil, err
	}
	return done[UntagServerCertificateOutput](s.mapServerCertificateErr(s.store.SetServerCertificateTags(ctx, c.Account, sc.Name, removeTags(sc.Tags, in.TagKeys)), sc.Name, "untag"))
}

// ListServerCertificateTagsInput is the input of ListServerCertificateTags.
type ListServerCertificateTagsInput struct {
	ServerCertificateName string `required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Marker                string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems              *int32 `min:"1" max:"1000"`
}

// ListServerCertificateTagsOutput is the output of ListServerCertificateTags.
type ListServerCertificateTagsOutput struct {
	Tags []Tag `xml:"Tags>member"`
	Page
}

// ListServerCertificateTags lists a certificate's tags.
func (s *Service) ListServerCertificateTags(ctx context.Context, c *authz.Caller, in *ListServerCertificateTagsInput) (*ListServerCertificateTagsOutput, error) {
	sc, err := s.authServerCertificate(ctx, c, "iam:ListServerCertificateTags", in.ServerCertificateName)
	if err != nil {
		return nil, err
	}
	tags, pg, err := listTags(sc.Tags, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &ListServerCertificateTagsOutput{Tags: tags, Page: pg}, nil
}
