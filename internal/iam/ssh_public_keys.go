package iam

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// SSH public keys (AWS CodeCommit's): ssh-rsa of at least 2048 bits or
// ssh-ed25519, uploaded in OpenSSH or PEM (PKIX) encoding, kept in OpenSSH
// form and identified by their MD5 fingerprint.

// minSSHRSABits and maxSSHRSABits bound an RSA key's modulus; the maximum
// is OpenSSH's (and golang.org/x/crypto/ssh's): a larger key read from PEM
// would be stored in an OpenSSH form no SSH implementation reads back.
const (
	minSSHRSABits = 2048
	maxSSHRSABits = 16384
)

// SSHPublicKey is the SSHPublicKey shape.
type SSHPublicKey struct {
	UserName         string    `xml:"UserName"`
	SSHPublicKeyID   string    `xml:"SSHPublicKeyId"`
	Fingerprint      string    `xml:"Fingerprint"`
	SSHPublicKeyBody string    `xml:"SSHPublicKeyBody"`
	Status           string    `xml:"Status"`
	UploadDate       time.Time `xml:"UploadDate"`
}

// SSHPublicKeyMetadata is the SSHPublicKeyMetadata shape.
type SSHPublicKeyMetadata struct {
	UserName       string    `xml:"UserName"`
	SSHPublicKeyID string    `xml:"SSHPublicKeyId"`
	Status         string    `xml:"Status"`
	UploadDate     time.Time `xml:"UploadDate"`
}

// parseSSHPublicKey reads an OpenSSH ("ssh-rsa AAAA... comment") or PEM
// (PKIX "PUBLIC KEY", PKCS#1 "RSA PUBLIC KEY") public key.
func parseSSHPublicKey(body string) (ssh.PublicKey, error) {
	body = strings.TrimSpace(body)
	var key ssh.PublicKey
	if strings.HasPrefix(body, "-----BEGIN ") {
		block, rest := pem.Decode([]byte(body))
		if block == nil || len(strings.TrimSpace(string(rest))) > 0 {
			return nil, apierr.New(apierr.UnrecognizedPublicKeyEncoding, "Unrecognized public key encoding.")
		}
		var pub any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			pub, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
		default:
			return nil, apierr.New(apierr.UnrecognizedPublicKeyEncoding, "Unrecognized public key encoding.")
		}
		if err != nil {
			return nil, apierr.New(apierr.InvalidPublicKey, "The public key is not valid.")
		}
		if key, err = ssh.NewPublicKey(pub); err != nil {
			return nil, apierr.New(apierr.InvalidPublicKey, "The public key is not valid: unsupported key type.")
		}
	} else {
		k, _, _, rest, err := ssh.ParseAuthorizedKey([]byte(body))
		if err != nil {
			if fields := strings.Fields(body); len(fields) < 2 || !strings.HasPrefix(fields[0], "ssh-") && !strings.HasPrefix(fields[0], "ecdsa-") {
				return nil, apierr.New(apierr.UnrecognizedPublicKeyEncoding, "Unrecognized public key encoding.")
			}
			return nil, apierr.New(apierr.InvalidPublicKey, "The public key is not valid.")
		}
		if len(strings.TrimSpace(string(rest))) > 0 {
			return nil, apierr.New(apierr.InvalidPublicKey, "The public key is not valid: more than one key given.")
		}
		key = k
	}
	switch key.Type() {
	case ssh.KeyAlgoRSA:
		ck, ok := key.(ssh.CryptoPublicKey)
		if !ok {
			return nil, apierr.New(apierr.InvalidPublicKey, "The public key is not valid.")
		}
		if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); !ok || rk.N.BitLen() < minSSHRSABits || rk.N.BitLen() > maxSSHRSABits {
			return nil, apierr.New(apierr.InvalidPublicKey, "The public key is not valid: an RSA key must have %d to %d bits.", minSSHRSABits, maxSSHRSABits)
		}
	case ssh.KeyAlgoED25519:
	default:
		return nil, apierr.New(apierr.InvalidPublicKey, "The public key is not valid: key type %s is not supported (ssh-rsa, ssh-ed25519).", key.Type())
	}
	// What is stored is the OpenSSH form: it must read back (a key that
	// the PEM parsers took and the SSH one does not is refused here, not
	// found unreadable when it is used).
	if _, _, _, _, err := ssh.ParseAuthorizedKey(ssh.MarshalAuthorizedKey(key)); err != nil {
		return nil, apierr.New(apierr.InvalidPublicKey, "The public key is not valid.")
	}
	return key, nil
}

// sshAuthorizedForm is key in OpenSSH form without a comment.
func sshAuthorizedForm(key ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key)))
}

func sshKeyOut(cr store.UserCredential, body string) SSHPublicKey {
	return SSHPublicKey{UserName: cr.UserName, SSHPublicKeyID: cr.ID, Fingerprint: cr.Fingerprint, SSHPublicKeyBody: body, Status: cr.Status, UploadDate: cr.CreatedAt.UTC()}
}

// UploadSSHPublicKeyInput is the input of UploadSSHPublicKey.
type UploadSSHPublicKeyInput struct {
	UserName         string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	SSHPublicKeyBody string `required:"true" min:"1" max:"16384" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
}

// UploadSSHPublicKeyOutput is the output of UploadSSHPublicKey.
type UploadSSHPublicKeyOutput struct {
	SSHPublicKey SSHPublicKey `xml:"SSHPublicKey"`
}

// UploadSSHPublicKey adds an SSH public key to a user, at most five.
func (s *Service) UploadSSHPublicKey(ctx context.Context, c *authz.Caller, in *UploadSSHPublicKeyInput) (*UploadSSHPublicKeyOutput, error) {
	e, err := s.credentialOwner(ctx, c, "iam:UploadSSHPublicKey", in.UserName)
	if err != nil {
		return nil, err
	}
	key, err := parseSSHPublicKey(in.SSHPublicKeyBody)
	if err != nil {
		return nil, err
	}
	existing, err := s.listCredentials(ctx, c.Account, e.name, store.CredentialSSHKey)
	if err != nil {
		return nil, err
	}
	id, err := s.newID("APKA")
	if err != nil {
		return nil, err
	}
	cr := store.UserCredential{Account: c.Account, UserName: e.name, Kind: store.CredentialSSHKey, ID: id, Status: statusActive, CreatedAt: s.time(),
		Body: sshAuthorizedForm(key), Fingerprint: ssh.FingerprintLegacyMD5(key)}
	for _, o := range existing {
		if o.Fingerprint == cr.Fingerprint {
			return nil, duplicateSSHKey()
		}
	}
	if err := s.createCredential(ctx, cr, len(existing), duplicateSSHKey()); err != nil {
		return nil, err
	}
	return &UploadSSHPublicKeyOutput{SSHPublicKey: sshKeyOut(cr, cr.Body)}, nil
}

func duplicateSSHKey() error {
	return apierr.New(apierr.DuplicateSSHPublicKey, "The SSH public key specified is already uploaded for this user.")
}

// GetSSHPublicKeyInput is the input of GetSSHPublicKey.
type GetSSHPublicKeyInput struct {
	UserName       string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	SSHPublicKeyID string `query:"SSHPublicKeyId" required:"true" min:"20" max:"128" pattern:"[\\w]+"`
	Encoding       string `required:"true" enum:"SSH,PEM"`
}

// GetSSHPublicKeyOutput is the output of GetSSHPublicKey.
type GetSSHPublicKeyOutput struct {
	SSHPublicKey SSHPublicKey `xml:"SSHPublicKey"`
}

// GetSSHPublicKey returns a user's SSH public key in OpenSSH (SSH) or PEM
// encoding.
func (s *Service) GetSSHPublicKey(ctx context.Context, c *authz.Caller, in *GetSSHPublicKeyInput) (*GetSSHPublicKeyOutput, error) {
	if in.Encoding != "SSH" && in.Encoding != "PEM" {
		return nil, apierr.Validation("Value '" + in.Encoding + "' at 'encoding' failed to satisfy constraint: Member must satisfy enum value set: [SSH, PEM]")
	}
	cr, err := s.authCredential(ctx, c, "iam:GetSSHPublicKey", in.UserName, store.CredentialSSHKey, in.SSHPublicKeyID)
	if err != nil {
		return nil, err
	}
	body := cr.Body
	if in.Encoding == "PEM" {
		if body, err = sshKeyPEM(cr.Body); err != nil {
			return nil, err
		}
	}
	return &GetSSHPublicKeyOutput{SSHPublicKey: sshKeyOut(cr, body)}, nil
}

// sshKeyPEM re-encodes a stored OpenSSH key as a PEM PKIX public key.
func sshKeyPEM(authorized string) (string, error) {
	key, _, _, _, err := ssh.ParseAuthorizedKey([]byte(authorized))
	if err != nil {
		return "", apierr.Internal(err)
	}
	ck, ok := key.(ssh.CryptoPublicKey)
	if !ok {
		return "", apierr.New(apierr.UnrecognizedPublicKeyEncoding, "The key cannot be encoded as PEM.")
	}
	der, err := x509.MarshalPKIXPublicKey(ck.CryptoPublicKey())
	if err != nil {
		return "", apierr.New(apierr.UnrecognizedPublicKeyEncoding, "The key cannot be encoded as PEM.")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ListSSHPublicKeysInput is the input of ListSSHPublicKeys.
type ListSSHPublicKeysInput struct {
	UserName string `min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// ListSSHPublicKeysOutput is the output of ListSSHPublicKeys.
type ListSSHPublicKeysOutput struct {
	SSHPublicKeys []SSHPublicKeyMetadata `xml:"SSHPublicKeys>member"`
	Page
}

// ListSSHPublicKeys lists a user's SSH public keys (without UserName: the
// caller's), oldest first.
func (s *Service) ListSSHPublicKeys(ctx context.Context, c *authz.Caller, in *ListSSHPublicKeysInput) (*ListSSHPublicKeysOutput, error) {
	e, err := s.credentialOwner(ctx, c, "iam:ListSSHPublicKeys", in.UserName)
	if err != nil {
		return nil, err
	}
	cs, err := s.listCredentials(ctx, c.Account, e.name, store.CredentialSSHKey)
	if err != nil {
		return nil, err
	}
	page, p, err := paginate(cs, credentialOrder, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListSSHPublicKeysOutput{SSHPublicKeys: make([]SSHPublicKeyMetadata, 0, len(page)), Page: p}
	for _, cr := range page {
		out.SSHPublicKeys = append(out.SSHPublicKeys, SSHPublicKeyMetadata{UserName: cr.UserName, SSHPublicKeyID: cr.ID, Status: cr.Status, UploadDate: cr.CreatedAt.UTC()})
	}
	return out, nil
}

// credentialOrder lists credentials oldest first.
func credentialOrder(cr store.UserCredential) string {
	return cr.CreatedAt.UTC().Format("20060102150405.000000000") + cr.ID
}

// UpdateSSHPublicKeyInput is the input of UpdateSSHPublicKey.
type UpdateSSHPublicKeyInput struct {
	UserName       string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	SSHPublicKeyID string `query:"SSHPublicKeyId" required:"true" min:"20" max:"128" pattern:"[\\w]+"`
	Status         string `required:"true" enum:"Active,Inactive,Expired"`
}

// UpdateSSHPublicKeyOutput is the (empty) output of UpdateSSHPublicKey.
type UpdateSSHPublicKeyOutput struct{}

// UpdateSSHPublicKey activates or deactivates a user's SSH public key.
func (s *Service) UpdateSSHPublicKey(ctx context.Context, c *authz.Caller, in *UpdateSSHPublicKeyInput) (*UpdateSSHPublicKeyOutput, error) {
	return done[UpdateSSHPublicKeyOutput](s.setCredentialStatus(ctx, c, "iam:UpdateSSHPublicKey", in.UserName, store.CredentialSSHKey, in.SSHPublicKeyID, in.Status))
}

// DeleteSSHPublicKeyInput is the input of DeleteSSHPublicKey.
type DeleteSSHPublicKeyInput struct {
	UserName       string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	SSHPublicKeyID string `query:"SSHPublicKeyId" required:"true" min:"20" max:"128" pattern:"[\\w]+"`
}

// DeleteSSHPublicKeyOutput is the (empty) output of DeleteSSHPublicKey.
type DeleteSSHPublicKeyOutput struct{}

// DeleteSSHPublicKey deletes a user's SSH public key.
func (s *Service) DeleteSSHPublicKey(ctx context.Context, c *authz.Caller, in *DeleteSSHPublicKeyInput) (*DeleteSSHPublicKeyOutput, error) {
	return done[DeleteSSHPublicKeyOutput](s.deleteCredential(ctx, c, "iam:DeleteSSHPublicKey", in.UserName, store.CredentialSSHKey, in.SSHPublicKeyID))
}
