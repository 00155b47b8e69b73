package store

import (
	"context"
	"time"
)

// InstanceProfile is an IAM instance profile: a container for at most one
// role, which a workload receives credentials of.
type InstanceProfile struct {
	Account   string
	ID        string // AIPA...
	Name      string
	Path      string
	CreatedAt time.Time
	Tags      []Tag
	// RoleID is the unique id (AROA...) of the profile's role, "" if it has
	// none. Deleting the role empties it.
	RoleID string
}

// InstanceProfiles stores instance profiles. Names are unique
// case-insensitively within an account. Every write records
// ChangeInstanceProfile.
type InstanceProfiles interface {
	// CreateInstanceProfile stores p (its RoleID is ignored: a new profile
	// has no role); ErrAlreadyExists if the account has a profile with its
	// name.
	CreateInstanceProfile(ctx context.Context, p InstanceProfile) error
	GetInstanceProfile(ctx context.Context, account, name string) (InstanceProfile, error)
	// DeleteInstanceProfile: ErrNotFound, or ErrConflict while it has a role.
	DeleteInstanceProfile(ctx context.Context, account, name string) error
	// ListInstanceProfiles lists an account's profiles as ListRoles lists
	// roles (name key order, path prefix, keyset pages).
	ListInstanceProfiles(ctx context.Context, account string, opt ListOptions) ([]InstanceProfile, error)
	// ListInstanceProfilesForRole lists the profiles of account that hold
	// the role with unique id roleID, in name key order, a page at a time
	// (opt.PathPrefix is ignored).
	ListInstanceProfilesForRole(ctx context.Context, account, roleID string, opt ListOptions) ([]InstanceProfile, error)
	// SetInstanceProfileRole puts the role with unique id roleID (of the
	// same account) in the profile, which must have none: ErrNotFound if the
	// profile or the role does not exist, ErrConflict if the profile has a
	// role already.
	SetInstanceProfileRole(ctx context.Context, account, name, roleID string) error
	// ClearInstanceProfileRole removes the role with unique id roleID from
	// the profile: ErrNotFound if the profile does not exist or does not
	// hold that role.
	ClearInstanceProfileRole(ctx context.Context, account, name, roleID string) error
	// SetInstanceProfileTags replaces the profile's tags.
	SetInstanceProfileTags(ctx context.Context, account, name string, tags []Tag) error
}

// ChangeInstanceProfile is recorded by every write of InstanceProfiles and
// by DeleteRole for each profile it removes the role from. Key is the
// profile id (AIPA...), Name its name.
const ChangeInstanceProfile ChangeKind = "instance-profile"

// LoginProfile is an IAM user's console password. The store keeps only a
// one-way hash; it never sees the password.
type LoginProfile struct {
	Account  string
	UserName string // the user's name as stored (on reads)
	// PasswordHash is the password's memory-hard hash, in the encoded form
	// the IAM service writes (it carries its own parameters and salt).
	PasswordHash          string
	PasswordResetRequired bool
	CreatedAt             time.Time
	// PasswordChangedAt is when the password was last set.
	PasswordChangedAt time.Time
	// PreviousHashes are the hashes of the user's earlier passwords, newest
	// first, as many as the account's reuse prevention keeps (at most 24).
	PreviousHashes []string
}

// PasswordPolicy is an account's password policy. Zero MaxPasswordAge and
// PasswordReusePrevention mean none.
type PasswordPolicy struct {
	MinimumPasswordLength      int
	RequireSymbols             bool
	RequireNumbers             bool
	RequireUppercaseCharacters bool
	RequireLowercaseCharacters bool
	AllowUsersToChangePassword bool
	MaxPasswordAge             int // days
	PasswordReusePrevention    int // previous passwords refused
	HardExpiry                 bool
}

// LoginProfiles stores users' login profiles and accounts' password
// policies. A login profile belongs to its user (by the user's internal
// key): it follows renames and goes with the user. These writes change no
// authorization decision and record no change.
type LoginProfiles interface {
	// CreateLoginProfile: ErrNotFound if the user does not exist,
	// ErrAlreadyExists if it has a login profile.
	CreateLoginProfile(ctx context.Context, p LoginProfile) error
	GetLoginProfile(ctx context.Context, account, user string) (LoginProfile, error)
	// UpdateLoginProfile replaces the hash, reset flag, change time and
	// previous hashes of the user's profile; ErrNotFound if it has none.
	UpdateLoginProfile(ctx context.Context, p LoginProfile) error
	DeleteLoginProfile(ctx context.Context, account, user string) error
	// GetPasswordPolicy: ErrNotFound if the account has none.
	GetPasswordPolicy(ctx context.Context, account string) (PasswordPolicy, error)
	// PutPasswordPolicy creates or replaces the account's policy.
	PutPasswordPolicy(ctx context.Context, account string, p PasswordPolicy) error
	// DeletePasswordPolicy: ErrNotFound if the account has none.
	DeletePasswordPolicy(ctx context.Context, account string) error
}

// AccountSummary counts an account's IAM entities for GetAccountSummary.
type AccountSummary struct {
	Users, Groups, Roles int
	Policies             int // customer managed policies
	PolicyVersionsInUse  int // versions of the customer managed policies
	InstanceProfiles     int
	MFADevices           int // virtual MFA devices
	MFADevicesInUse      int // enabled for a user or the root user
	RootMFADevices       int // enabled for the root user
	RootAccessKeys       int
	Providers            int // SAML and OIDC identity providers
	ServerCertificates   int
}

// AccountAliases stores account aliases (one per account, unique across
// the deployment) and counts an account's entities. Aliases change no
// authorization decision and record no change.
type AccountAliases interface {
	// PutAccountAlias sets the account's alias, replacing the one it has;
	// ErrAlreadyExists if another account has alias.
	PutAccountAlias(ctx context.Context, account, alias string) error
	// DeleteAccountAlias: ErrNotFound unless the account's alias is alias.
	DeleteAccountAlias(ctx context.Context, account, alias string) error
	// ListAccountAliases returns the account's alias, or none.
	ListAccountAliases(ctx context.Context, account string) ([]string, error)
	// AccountSummary counts the account's entities, each with one indexed
	// count query.
	AccountSummary(ctx context.Context, account string) (AccountSummary, error)
}
