package store

import (
	"context"
	"time"
)

// CredentialKind is the kind of a UserCredential.
type CredentialKind string

// The kinds of UserCredential.
const (
	CredentialSSHKey      CredentialKind = "ssh-key"          // an SSH public key (CodeCommit)
	CredentialSigningCert CredentialKind = "signing-cert"     // an X.509 signing certificate
	CredentialService     CredentialKind = "service-specific" // a service-specific user name and password
)

// UserCredential is one of a user's credentials other than access keys and
// its console password: an SSH public key, a signing certificate or a
// service-specific credential. It belongs to its user (by the user's
// internal key): it follows renames and goes with the user.
type UserCredential struct {
	Account  string
	UserName string // the user's name as stored (on reads)
	Kind     CredentialKind
	ID       string // APKA... (SSH key), a certificate id, ACCA... (service)
	Status   string // Active, Inactive (service credentials: also Expired)
	// CreatedAt is when it was uploaded or created.
	CreatedAt time.Time
	// ExpiresAt is when a service-specific credential expires; zero: never.
	ExpiresAt time.Time
	// Body is the SSH public key or the PEM certificate, as uploaded.
	Body string
	// Fingerprint identifies the content: no two credentials of one user and
	// kind share it (the SSH key's MD5 fingerprint, the certificate's
	// SHA-256; a service credential's id).
	Fingerprint string
	// ServiceName and ServiceUserName: service-specific credentials only.
	ServiceName     string
	ServiceUserName string
	// Secret is the sealed password of a service-specific credential (aad:
	// its id); nil for the other kinds.
	Secret []byte
}

// UserCredentials stores users' SSH public keys, signing certificates and
// service-specific credentials. These writes change no authorization
// decision and record no change.
type UserCredentials interface {
	// CreateUserCredential: ErrNotFound if the user does not exist,
	// ErrAlreadyExists if the id is taken or the user has a credential of
	// the kind with the same Fingerprint, ErrConflict if the user already
	// holds max credentials of the kind (of c.ServiceName, for
	// service-specific ones; max <= 0: no limit). The count and the insert
	// are one atomic step: concurrent creations never exceed max.
	CreateUserCredential(ctx context.Context, c UserCredential, max int) error
	// GetUserCredential: ErrNotFound unless the user has a credential of
	// kind with id.
	GetUserCredential(ctx context.Context, account, user string, kind CredentialKind, id string) (UserCredential, error)
	// ListUserCredentials lists the user's credentials of kind, oldest first.
	ListUserCredentials(ctx context.Context, account, user string, kind CredentialKind) ([]UserCredential, error)
	// UpdateUserCredential replaces the status and secret of a credential
	// of the user; ErrNotFound if it has none with that kind and id.
	UpdateUserCredential(ctx context.Context, c UserCredential) error
	DeleteUserCredential(ctx context.Context, account, user string, kind CredentialKind, id string) error
}

// ServerCertificate is an IAM server certificate: a certificate, its chain
// and its private key, which the store keeps sealed.
type ServerCertificate struct {
	Account    string
	ID         string // ASCA...
	Name       string
	Path       string
	Body       string // PEM
	Chain      string // PEM, may be empty
	PrivateKey []byte // sealed (aad: the certificate id)
	UploadedAt time.Time
	Expiration time.Time // the certificate's NotAfter
	Tags       []Tag
}

// ServerCertificates stores server certificates. Names are unique
// case-insensitively within an account. These writes change no
// authorization decision and record no change.
type ServerCertificates interface {
	// CreateServerCertificate: ErrAlreadyExists if the account has one with
	// the name, or the id is taken.
	CreateServerCertificate(ctx context.Context, c ServerCertificate) error
	GetServerCertificate(ctx context.Context, account, name string) (ServerCertificate, error)
	// ListServerCertificates lists an account's certificates as ListRoles
	// lists roles (name key order, path prefix, keyset pages).
	ListServerCertificates(ctx context.Context, account string, opt ListOptions) ([]ServerCertificate, error)
	// RenameServerCertificate gives the certificate a new name and path:
	// ErrNotFound, or ErrAlreadyExists if the new name is taken.
	RenameServerCertificate(ctx context.Context, account, name, newName, newPath string) error
	// SetServerCertificateTags replaces the certificate's tags.
	SetServerCertificateTags(ctx context.Context, account, name string, tags []Tag) error
	DeleteServerCertificate(ctx context.Context, account, name string) error
}

// CredentialReport is an account's latest credential report: the CSV as
// generated.
type CredentialReport struct {
	Account     string
	GeneratedAt time.Time
	Content     []byte
}

// RoleDeletionTask is the outcome of deleting a service-linked role.
type RoleDeletionTask struct {
	Account  string
	ID       string // task/aws-service-role/SERVICE/ROLE/UUID
	RoleName string
	Status   string // SUCCEEDED, FAILED
	// Reason says why it failed (RoleUsageList: the instance profiles that
	// hold the role), empty otherwise.
	Reason    string
	CreatedAt time.Time
}

// IAMTasks stores the results of IAM's long-running operations: credential
// reports (one per account, replaced by each generation) and service-linked
// role deletion tasks. These writes record no change.
type IAMTasks interface {
	PutCredentialReport(ctx context.Context, r CredentialReport) error
	// GetCredentialReport: ErrNotFound if the account has none.
	GetCredentialReport(ctx context.Context, account string) (CredentialReport, error)
	// PutRoleDeletionTask: ErrAlreadyExists if the id is taken.
	PutRoleDeletionTask(ctx context.Context, t RoleDeletionTask) error
	// GetRoleDeletionTask: ErrNotFound unless the account has task id.
	GetRoleDeletionTask(ctx context.Context, account, id string) (RoleDeletionTask, error)
}
