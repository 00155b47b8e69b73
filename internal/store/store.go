// Package store defines the records OpenSTS persists and the small interfaces its
// backends implement. Backends return only the sentinel errors declared here
// (wrapped with %w is fine); callers test them with errors.Is.
//
// It imports nothing from the project: services depend on it, never the reverse.
// Secrets arrive here already sealed (see internal/seal); a backend never sees
// a plaintext secret and never needs the master key.
//
// Names that AWS treats case-insensitively (user, group, role, policy names,
// MFA device names) are unique case-insensitively within an account; lookups by
// name are case-insensitive and the stored spelling is returned.
package store

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Sentinel errors. Backends translate driver errors into these.
var (
	ErrNotFound      = errors.New("store: not found")
	ErrAlreadyExists = errors.New("store: already exists")
	ErrConflict      = errors.New("store: conflict")

	// ErrChangesPruned is returned by Changes when the feed can no longer
	// tell everything that changed after the position asked for: changes
	// after it were pruned (or predate the feed: a database upgraded from
	// the generation counter starts its feed at the old generation), or the
	// position is beyond the newest change (the database was restored from
	// an older backup; detected only until new writes catch up). The caller
	// must reload everything it caches and tail again from LastChange, read
	// before the reload.
	ErrChangesPruned = errors.New("store: changes pruned")
)

// IsNotFound reports whether err is (or wraps) ErrNotFound.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// IsExists reports whether err is (or wraps) ErrAlreadyExists.
func IsExists(err error) bool { return errors.Is(err, ErrAlreadyExists) }

// IsConflict reports whether err is (or wraps) ErrConflict.
func IsConflict(err error) bool { return errors.Is(err, ErrConflict) }

// Tag is an IAM or session tag.
type Tag struct {
	Key   string
	Value string
}

// PrincipalKind names the IAM entity that owns inline policies and attachments.
type PrincipalKind string

const (
	KindUser  PrincipalKind = "user"
	KindGroup PrincipalKind = "group"
	KindRole  PrincipalKind = "role"
)

// Account is an AWS-style 12-digit account.
type Account struct {
	ID        string // 12 digits
	Name      string
	Email     string
	CreatedAt time.Time
	// Management is true for the deployment's management account (the one
	// created on first start). SCPs never apply to it.
	Management bool
	// Standalone is true for an account that is not a member of the
	// organization: it left or was removed (OrgMembership). Accounts are
	// members from creation.
	Standalone bool
	// JoinedMethod is how the account joined the organization: "" (it was
	// created in it) or "INVITED" (it accepted a handshake).
	JoinedMethod string
	// JoinedAt is when it last joined; zero: CreatedAt.
	JoinedAt time.Time
	// ClosedAt is when CloseAccount closed it; zero while it is open.
	ClosedAt time.Time
}

// User is an IAM user.
type User struct {
	Account             string
	ID                  string // AIDA...
	Name                string
	Path                string // "/" or "/a/b/"
	CreatedAt           time.Time
	PermissionsBoundary string // policy ARN, empty if none
	Tags                []Tag
}

// Group is an IAM group.
type Group struct {
	Account   string
	ID        string // AGPA...
	Name      string
	Path      string
	CreatedAt time.Time
}

// AccessKey is a long-term access key. UserName is empty for the account root.
type AccessKey struct {
	ID        string // AKIA...
	Account   string
	UserName  string
	UserID    string // AIDA... of the user, or the account id for root keys
	Secret    []byte // sealed secret access key
	Status    string // Active | Inactive
	CreatedAt time.Time

	LastUsedAt      time.Time // zero if never used
	LastUsedService string
	LastUsedRegion  string
}

// Role is an IAM role.
type Role struct {
	Account             string
	ID                  string // AROA...
	Name                string
	Path                string
	TrustPolicy         string // JSON, as supplied (decoded)
	Description         string
	MaxSessionDuration  int // seconds, 3600..43200
	PermissionsBoundary string
	CreatedAt           time.Time
	Tags                []Tag
	LastUsedAt          time.Time
	LastUsedRegion      string
}

// InlinePolicy is a policy embedded in a user, group or role.
type InlinePolicy struct {
	Account  string
	Kind     PrincipalKind
	Owner    string // user, group or role name
	Name     string
	Document string
}

// ManagedPolicy is a customer managed policy, or an AWS managed one when
// Account is "aws".
type ManagedPolicy struct {
	Account          string // 12 digits, or "aws"
	ID               string // ANPA...
	Name             string
	Path             string
	ARN              string
	Description      string
	DefaultVersionID string // "v1"...
	CreatedAt        time.Time
	UpdatedAt        time.Time
	Tags             []Tag
}

// PolicyVersion is one version of a managed policy.
type PolicyVersion struct {
	PolicyARN string
	VersionID string // v1, v2, ...
	Document  string
	CreatedAt time.Time
}

// Attachment attaches a managed policy to a user, group or role.
type Attachment struct {
	Account   string
	Kind      PrincipalKind
	Owner     string
	PolicyARN string
}

// MFADevice is a virtual MFA device. UserName is empty until enabled.
type MFADevice struct {
	Account      string
	SerialNumber string // arn:aws:iam::ACCOUNT:mfa/PATH/NAME
	Name         string
	Path         string
	Seed         []byte // sealed base32 seed
	UserName     string
	EnabledAt    time.Time
	CreatedAt    time.Time
	Tags         []Tag
	// LastCounter is the highest TOTP time step accepted for this device;
	// a code at or below it is a replay.
	LastCounter int64
}

// SigningKey is one key of the session token keyring.
type SigningKey struct {
	ID        string
	Algorithm string // e.g. "Ed25519"
	Public    []byte
	Private   []byte // sealed
	CreatedAt time.Time
	// SignUntil is when the key stops signing new tokens.
	SignUntil time.Time
	// VerifyUntil is when the key stops verifying (after its last token expired).
	VerifyUntil time.Time
	Revoked     bool
}

// OrgPolicy is an Organizations policy (service control policy).
type OrgPolicy struct {
	ID          string // p-xxxxxxxx
	Name        string
	Description string
	Type        string // SERVICE_CONTROL_POLICY
	Content     string
	AWSManaged  bool
}

// OrgAttachment attaches an Organizations policy to a target (account id, root or OU id).
type OrgAttachment struct {
	PolicyID string
	TargetID string
}

// ListOptions selects a page of a list call that takes them. Such lists are
// sorted by their key, the name lower-cased (NameKey): names AWS treats
// case-insensitively are unique that way within an account, so the key
// orders a list completely. A page is served by an index: it costs the rows
// it returns and a seek, not the size of the list; with a PathPrefix it
// costs at most the rows under the prefix.
type ListOptions struct {
	// PathPrefix keeps the entries whose path starts with it, byte for byte
	// (paths are case-sensitive, as in AWS); "" or "/" keeps all.
	PathPrefix string
	// After, if not empty, starts the list after the entry whose key is
	// After (or where it would be): a position that survives inserts and
	// deletes elsewhere in the list. IncludeAfter starts it at that entry
	// instead.
	After        string
	IncludeAfter bool
	// Limit, if positive, returns at most Limit entries. A caller that asks
	// for one more than a page knows whether the list goes on.
	Limit int
}

// NameKey is the list key of a name AWS treats case-insensitively. IAM names
// are ASCII, for which every backend folds case the same way.
func NameKey(name string) string { return strings.ToLower(name) }

// Accounts stores accounts.
type Accounts interface {
	CreateAccount(ctx context.Context, a Account) error
	GetAccount(ctx context.Context, id string) (Account, error)
	// ListAccounts lists accounts by id in byte order, a page at a time:
	// opt.After is an account id (opt.PathPrefix is ignored); Limit 0 lists
	// them all.
	ListAccounts(ctx context.Context, opt ListOptions) ([]Account, error)
	// GetAccountByEmail returns an account whose e-mail address is email,
	// compared case-insensitively; ErrNotFound if there is none.
	GetAccountByEmail(ctx context.Context, email string) (Account, error)
	// SetAccountEmail sets an account's e-mail address: ErrNotFound if there
	// is no such account. It records ChangeAccount.
	SetAccountEmail(ctx context.Context, id, email string) error
}

// Users stores IAM users.
type Users interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, account, name string) (User, error)
	// GetUserByID looks a user up by its unique id (AIDA...), in any
	// account; ids are unique across accounts and compare exactly. Sessions,
	// keys and stored trust policies name users this way, so that a renamed
	// user keeps them and a deleted-and-recreated one does not inherit them.
	GetUserByID(ctx context.Context, id string) (User, error)
	// UpdateUser replaces the user with the same Account and ID (renames allowed).
	UpdateUser(ctx context.Context, u User) error
	DeleteUser(ctx context.Context, account, name string) error
	ListUsers(ctx context.Context, account string, opt ListOptions) ([]User, error)
}

// Groups stores IAM groups and membership.
type Groups interface {
	CreateGroup(ctx context.Context, g Group) error
	GetGroup(ctx context.Context, account, name string) (Group, error)
	UpdateGroup(ctx context.Context, g Group) error
	DeleteGroup(ctx context.Context, account, name string) error
	ListGroups(ctx context.Context, account string, opt ListOptions) ([]Group, error)
	// AddUserToGroup is idempotent.
	AddUserToGroup(ctx context.Context, account, group, user string) error
	RemoveUserFromGroup(ctx context.Context, account, group, user string) error
	ListGroupsForUser(ctx context.Context, account, user string) ([]Group, error)
	// ListGroupMembers lists a group's members by name key, a page at a
	// time (opt.PathPrefix is ignored); a page costs its rows and a seek in
	// the group's members, not the group's size.
	ListGroupMembers(ctx context.Context, account, group string, opt ListOptions) ([]User, error)
}

// AccessKeys stores long-term access keys.
type AccessKeys interface {
	CreateAccessKey(ctx context.Context, k AccessKey) error
	// GetAccessKey looks a key up by id in any account.
	GetAccessKey(ctx context.Context, id string) (AccessKey, error)
	UpdateAccessKey(ctx context.Context, k AccessKey) error
	DeleteAccessKey(ctx context.Context, id string) error
	// ListAccessKeys lists the keys of a user; user "" lists the root keys.
	ListAccessKeys(ctx context.Context, account, user string) ([]AccessKey, error)
	// TouchAccessKey records last use; backends may coalesce writes, and may
	// leave out a use within UseWindow of the last one they recorded for
	// the same key, service and region.
	TouchAccessKey(ctx context.Context, id string, at time.Time, service, region string) error
}

// Roles stores IAM roles.
type Roles interface {
	CreateRole(ctx context.Context, r Role) error
	GetRole(ctx context.Context, account, name string) (Role, error)
	// GetRoleByID looks a role up by its unique id (AROA...), in any account.
	GetRoleByID(ctx context.Context, id string) (Role, error)
	UpdateRole(ctx context.Context, r Role) error
	DeleteRole(ctx context.Context, account, name string) error
	ListRoles(ctx context.Context, account string, opt ListOptions) ([]Role, error)
	// TouchRole records that role id was used (assumed) at in region, for
	// RoleLastUsed; backends coalesce the writes as for TouchAccessKey (and
	// as there, may leave out a use within UseWindow of the last recorded in
	// the same region).
	TouchRole(ctx context.Context, id string, at time.Time, region string) error
}

// UseWindow is how far behind a key's or role's stored last use may be: a
// backend need not write a use within UseWindow of the last one it wrote
// for the same key or role, service and region. AWS itself reports last use
// hours late; without the window, a deployment whose 100,000 principals
// each call every few seconds wrote 100,000 rows every few seconds.
const UseWindow = 5 * time.Minute

// PopulationEvery is how often what is sized by Store.Population (the
// tables that remember the uses of a UseWindow) is sized again.
const PopulationEvery = time.Minute

// Policies stores inline policies, managed policies, versions and attachments.
type Policies interface {
	// PutInlinePolicy creates or replaces.
	PutInlinePolicy(ctx context.Context, p InlinePolicy) error
	GetInlinePolicy(ctx context.Context, account string, kind PrincipalKind, owner, name string) (InlinePolicy, error)
	DeleteInlinePolicy(ctx context.Context, account string, kind PrincipalKind, owner, name string) error
	ListInlinePolicies(ctx context.Context, account string, kind PrincipalKind, owner string) ([]InlinePolicy, error)

	// CreateManagedPolicy stores the policy and its first version (v1, default) atomically.
	CreateManagedPolicy(ctx context.Context, p ManagedPolicy, v PolicyVersion) error
	GetManagedPolicy(ctx context.Context, arn string) (ManagedPolicy, error)
	UpdateManagedPolicy(ctx context.Context, p ManagedPolicy) error
	// DeleteManagedPolicy deletes the policy and all its versions; ErrConflict if attached.
	DeleteManagedPolicy(ctx context.Context, arn string) error
	// ListManagedPolicies lists an account's policies; account "aws" lists AWS managed ones.
	ListManagedPolicies(ctx context.Context, account string, opt ListOptions) ([]ManagedPolicy, error)

	CreatePolicyVersion(ctx context.Context, v PolicyVersion) error
	GetPolicyVersion(ctx context.Context, policyARN, versionID string) (PolicyVersion, error)
	ListPolicyVersions(ctx context.Context, policyARN string) ([]PolicyVersion, error)
	DeletePolicyVersion(ctx context.Context, policyARN, versionID string) error

	// AttachPolicy is idempotent.
	AttachPolicy(ctx context.Context, a Attachment) error
	DetachPolicy(ctx context.Context, a Attachment) error
	ListAttachments(ctx context.Context, account string, kind PrincipalKind, owner string) ([]Attachment, error)
	// PolicyUsage counts the uses of the managed policy arn in account: its
	// attachments to the account's users, groups and roles, and the users
	// and roles that have it as permissions boundary (ARNs compared
	// case-insensitively). It costs the policy's attachments and index
	// lookups, not the size of the account. A policy that does not exist
	// has no uses.
	PolicyUsage(ctx context.Context, account, arn string) (attachments, boundaries int, err error)
	// ListPolicyAttachments lists every attachment of one managed policy, across accounts.
	ListPolicyAttachments(ctx context.Context, policyARN string) ([]Attachment, error)
	// ListPolicyEntities lists the entities of kind in account that use the
	// managed policy arn as use says (attached, as permissions boundary, or
	// either: each entity once), by name key, a page at a time as opt says.
	// Groups have no boundary. A page costs its rows and index seeks, not the
	// number of entities that use the policy; a path prefix filters the
	// entities in name order, so a page under a rare prefix costs up to the
	// policy's entities of that kind. A policy that does not exist has none.
	ListPolicyEntities(ctx context.Context, account, arn string, kind PrincipalKind, use PolicyUse, opt ListOptions) ([]PolicyEntity, error)
}

// PolicyUse is how an entity uses a managed policy: a set of flags.
type PolicyUse int

const (
	// UseAttached is a policy attached to the entity (a permissions policy).
	UseAttached PolicyUse = 1 << iota
	// UseBoundary is a policy that is the entity's permissions boundary
	// (ARNs compared case-insensitively).
	UseBoundary
)

// PolicyEntity is a user, group or role that uses a managed policy.
type PolicyEntity struct {
	Kind PrincipalKind
	ID   string
	Name string
	Path string
}

// MFADevices stores virtual MFA devices.
type MFADevices interface {
	CreateMFADevice(ctx context.Context, d MFADevice) error
	GetMFADevice(ctx context.Context, serial string) (MFADevice, error)
	UpdateMFADevice(ctx context.Context, d MFADevice) error
	DeleteMFADevice(ctx context.Context, serial string) error
	// ListMFADevices lists an account's devices that assignment selects, by
	// the serial number's list key (store.NameKey), a page at a time: After
	// is a serial number (opt.PathPrefix is ignored).
	ListMFADevices(ctx context.Context, account string, assignment MFAAssignment, opt ListOptions) ([]MFADevice, error)
	// ListUserMFADevices lists the devices enabled for a user of account,
	// or for the account's root user if user is "", by serial number's list
	// key; a user has at most a few. A user that does not exist has none.
	ListUserMFADevices(ctx context.Context, account, user string) ([]MFADevice, error)
	// AdvanceMFACounter sets LastCounter to counter only if counter is greater
	// than the stored value, atomically; it returns ErrConflict otherwise
	// (the code was already used).
	AdvanceMFACounter(ctx context.Context, serial string, counter int64) error
	// ResyncMFADevice stores a resync of the device was (as read): its
	// sealed seed, which holds the drift, becomes seed and LastCounter
	// counter, and nothing else of it is written. It is conditional, in
	// one statement: the device must still be the one read (the same
	// sealed seed, so neither re-created nor resynced since), enabled for
	// the same user at the same time (not deactivated since), and counter
	// above its LastCounter (the codes unused). ErrNotFound if there is no
	// device serial; ErrConflict if it changed since it was read.
	ResyncMFADevice(ctx context.Context, was MFADevice, seed []byte, counter int64) error
}

// MFAAssignment selects MFA devices by whether they are enabled for a user.
type MFAAssignment int

const (
	MFAAny        MFAAssignment = iota // every device
	MFAAssigned                        // enabled for a user or the root user
	MFAUnassigned                      // not enabled
)

// SigningKeys stores the session token keyring.
type SigningKeys interface {
	PutSigningKey(ctx context.Context, k SigningKey) error // create or replace
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
}

// SigningKeyDeleter deletes keyring keys. It is not part of SigningKeys,
// which the session package also implements in memory; every Store has it.
type SigningKeyDeleter interface {
	// DeleteSigningKey deletes the key with id; ErrNotFound if there is none.
	DeleteSigningKey(ctx context.Context, id string) error
}

// IssuerKeys stores the keys that sign the web identity tokens OpenSTS
// issues (GetWebIdentityToken), apart from the session token keyring:
// their public halves are published, their algorithms are RS256 and
// ES384, and no session token is ever signed with one. The records have
// the SigningKey shape (Private sealed).
type IssuerKeys interface {
	PutIssuerKey(ctx context.Context, k SigningKey) error // create or replace
	// ListIssuerKeys returns every key, oldest first.
	ListIssuerKeys(ctx context.Context) ([]SigningKey, error)
	// DeleteIssuerKey deletes the key with id; ErrNotFound if there is none.
	DeleteIssuerKey(ctx context.Context, id string) error
}

// Org stores Organizations policies and their attachments.
type Org interface {
	CreateOrgPolicy(ctx context.Context, p OrgPolicy) error
	GetOrgPolicy(ctx context.Context, id string) (OrgPolicy, error)
	UpdateOrgPolicy(ctx context.Context, p OrgPolicy) error
	DeleteOrgPolicy(ctx context.Context, id string) error
	// ListOrgPolicies lists the policies of type typ by name, case-
	// insensitively and then byte for byte (names are unique exactly), a
	// page at a time: After is a policy name (opt.PathPrefix is ignored).
	ListOrgPolicies(ctx context.Context, typ string, opt ListOptions) ([]OrgPolicy, error)
	// ListOrgPoliciesForTarget lists the policies attached to the target,
	// in ListOrgPolicies' order; a target has at most a few.
	ListOrgPoliciesForTarget(ctx context.Context, target string) ([]OrgPolicy, error)
	// ListOrgTargets lists the ids of the targets the policy is attached
	// to, in byte order, a page at a time: After is a target id
	// (opt.PathPrefix is ignored).
	ListOrgTargets(ctx context.Context, policyID string, opt ListOptions) ([]string, error)
	AttachOrgPolicy(ctx context.Context, a OrgAttachment) error
	DetachOrgPolicy(ctx context.Context, a OrgAttachment) error
	// ListOrgAttachments lists every attachment in the organization.
	ListOrgAttachments(ctx context.Context) ([]OrgAttachment, error)
}

// OrgUnit is an Organizations organizational unit.
type OrgUnit struct {
	ID        string // ou-xxxx-xxxxxxxx
	Name      string
	ParentID  string // the parent OU's id; "" for the root
	CreatedAt time.Time
}

// OrgTag is a tag on an Organizations resource (account, OU, root, policy).
type OrgTag struct {
	Key, Value string
}

// OrgUnits stores the Organizations hierarchy below the root: OUs, the OU
// each account sits in (none: the root), and tags on Organizations
// resources. Every write records ChangeOrg (Key: the OU or account id, or
// the tagged resource's id), since it may change the SCPs that apply.
type OrgUnits interface {
	// CreateOrgUnit stores u. ErrAlreadyExists if the id is taken or the
	// parent has a child OU with u's name (exactly); ErrConflict if the
	// parent OU does not exist.
	CreateOrgUnit(ctx context.Context, u OrgUnit) error
	GetOrgUnit(ctx context.Context, id string) (OrgUnit, error)
	// RenameOrgUnit renames an OU: ErrNotFound, or ErrAlreadyExists if a
	// sibling has the name.
	RenameOrgUnit(ctx context.Context, id, name string) error
	// DeleteOrgUnit deletes an OU, its attachments and its tags:
	// ErrNotFound, or ErrConflict while it has child OUs or accounts.
	DeleteOrgUnit(ctx context.Context, id string) error
	// ListOrgUnits lists the child OUs of parent ("" for the root) by id.
	ListOrgUnits(ctx context.Context, parent string) ([]OrgUnit, error)
	// OrgAccountParent returns the OU an account sits in ("" for the root);
	// ErrNotFound if there is no such account or it is standalone.
	OrgAccountParent(ctx context.Context, account string) (string, error)
	// ListOrgAccountsInUnit lists the ids of the member accounts in parent
	// ("" for the root), in byte order; standalone accounts are in none.
	ListOrgAccountsInUnit(ctx context.Context, parent string) ([]string, error)
	// MoveOrgAccount moves an account from the OU from to the OU to ("" for
	// the root) atomically: ErrNotFound if the account is not in from,
	// ErrConflict if to does not exist.
	MoveOrgAccount(ctx context.Context, account, from, to string) error
	// ListOrgTags lists a resource's tags by key. DeleteOrgPolicy and
	// DeleteOrgUnit delete the deleted resource's tags.
	ListOrgTags(ctx context.Context, resource string) ([]OrgTag, error)
	// TagOrgResource adds or replaces tags; it fails with ErrConflict,
	// writing nothing, if the resource would have more than max tags.
	TagOrgResource(ctx context.Context, resource string, tags []OrgTag, max int) error
	// UntagOrgResource removes the tags with the keys (absent ones are
	// ignored).
	UntagOrgResource(ctx context.Context, resource string, keys []string) error
}

// OrgHandshake is an Organizations handshake: an invitation from the
// organization's management account to an account of the deployment.
type OrgHandshake struct {
	ID          string // h-xxxxxxxx
	OrgID       string // the inviting organization
	Action      string // INVITE
	State       string // OPEN, ACCEPTED, DECLINED, CANCELED, EXPIRED as stored
	Master      string // the management account that sent it
	TargetType  string // ACCOUNT or EMAIL, as the invitation named it
	Target      string // the account id or e-mail address as given
	TargetAcct  string // the invited account's id
	Notes       string
	Tags        []OrgTag // put on the account when it joins
	RequestedAt time.Time
	ExpiresAt   time.Time
}

// OrgDelegatedAdmin registers an account as delegated administrator for a
// service.
type OrgDelegatedAdmin struct {
	Account          string
	ServicePrincipal string
	DelegatedAt      time.Time
}

// OrgServiceAccess is a service given trusted access to the organization.
type OrgServiceAccess struct {
	ServicePrincipal string
	EnabledAt        time.Time
}

// OrgAccountFailure is a CreateAccount request that failed.
type OrgAccountFailure struct {
	ID          string // car-...
	AccountName string
	Reason      string // e.g. EMAIL_ALREADY_EXISTS
	RequestedAt time.Time
}

// OrgMembership stores what Organizations keeps about membership besides
// the hierarchy: accounts leaving, joining and closing, handshakes,
// delegated administrators, trusted services and failed CreateAccount
// requests. Writes that change an account's membership record
// ChangeAccount (Key and Account: the account id) and ChangeOrg (Key: the
// account id), since they change the SCPs that apply.
type OrgMembership interface {
	// RemoveOrgAccount makes a member account standalone, in one write: it
	// leaves its OU, loses its policy attachments, tags and delegated
	// administrator registrations. ErrNotFound if there is no such member.
	RemoveOrgAccount(ctx context.Context, id string) error
	// JoinOrgAccount makes a standalone account a member in the root,
	// joined by method at at: ErrNotFound if there is no such account,
	// ErrConflict if it is a member.
	JoinOrgAccount(ctx context.Context, id, method string, at time.Time) error
	// CloseOrgAccount records that a member account was closed at at:
	// ErrNotFound if there is no such member, ErrConflict if it is closed.
	CloseOrgAccount(ctx context.Context, id string, at time.Time) error
	// DeleteOrg deletes the organization: every setting whose key starts
	// with "org.", every OU, account placement, policy attachment, tag,
	// customer policy (AWS managed ones stay), handshake, delegated
	// administrator, trusted service and failed request. Accounts stay.
	DeleteOrg(ctx context.Context) error

	// CreateOrgHandshake stores h: ErrAlreadyExists if its id is taken or
	// its target account has another OPEN handshake.
	CreateOrgHandshake(ctx context.Context, h OrgHandshake) error
	GetOrgHandshake(ctx context.Context, id string) (OrgHandshake, error)
	// SetOrgHandshakeState moves a handshake from the state from to the
	// state to: ErrNotFound if there is none, ErrConflict if it is not in
	// from.
	SetOrgHandshakeState(ctx context.Context, id, from, to string) error
	// ListOrgHandshakes lists the handshakes of the organization org (if
	// not "") sent to the account target (if not ""), by id.
	ListOrgHandshakes(ctx context.Context, org, target string) ([]OrgHandshake, error)

	// RegisterOrgDelegatedAdmin stores d: ErrAlreadyExists if the account is
	// registered for the service, ErrNotFound if there is no such account.
	RegisterOrgDelegatedAdmin(ctx context.Context, d OrgDelegatedAdmin) error
	// DeregisterOrgDelegatedAdmin removes a registration: ErrNotFound if
	// there is none.
	DeregisterOrgDelegatedAdmin(ctx context.Context, account, servicePrincipal string) error
	// ListOrgDelegatedAdmins lists the registrations by account id, then
	// service principal.
	ListOrgDelegatedAdmins(ctx context.Context) ([]OrgDelegatedAdmin, error)

	// EnableOrgServiceAccess stores a; enabling an enabled service keeps
	// its first time and is not an error.
	EnableOrgServiceAccess(ctx context.Context, a OrgServiceAccess) error
	// DisableOrgServiceAccess removes a service's access (none: no error).
	DisableOrgServiceAccess(ctx context.Context, servicePrincipal string) error
	// ListOrgServiceAccess lists the enabled services by principal.
	ListOrgServiceAccess(ctx context.Context) ([]OrgServiceAccess, error)

	// CreateOrgAccountFailure stores a failed request: ErrAlreadyExists if
	// its id is taken.
	CreateOrgAccountFailure(ctx context.Context, f OrgAccountFailure) error
	GetOrgAccountFailure(ctx context.Context, id string) (OrgAccountFailure, error)
	// ListOrgAccountFailures lists failed requests by id, a page at a time:
	// After is a request id (opt.PathPrefix is ignored).
	ListOrgAccountFailures(ctx context.Context, opt ListOptions) ([]OrgAccountFailure, error)
}

// Settings stores small named values (e.g. the organization id).
type Settings interface {
	GetSetting(ctx context.Context, key string) (string, error)
	// PutSettingIfAbsent stores the value unless the key exists; it returns the stored value.
	PutSettingIfAbsent(ctx context.Context, key, value string) (string, error)
	PutSetting(ctx context.Context, key, value string) error
}

// Store is everything a backend provides.
type Store interface {
	Accounts
	Users
	Groups
	AccessKeys
	Roles
	Policies
	MFADevices
	SigningKeys
	Org
	OrgUnits
	OrgMembership
	Settings
	SigningKeyDeleter
	IssuerKeys
	Changes
	SAMLProviders
	SAMLAssertions
	OIDCProviders
	LDAPProviders
	DetectState
	Revocations
	LastAccessed
	Throttles
	InstanceProfiles
	LoginProfiles
	AccountAliases
	UserCredentials
	ServerCertificates
	IAMTasks
	// Generation is LastChange, kept for the caches that compare one number
	// until they tail the feed: it increases on every write that records a
	// change (see ChangeKind), and only then. On a multi-node backend it
	// reflects other nodes' writes.
	Generation(ctx context.Context) (int64, error)
	// Population estimates the users and roles the store holds, every
	// account's, at the cost of an index lookup (it may count deleted ones):
	// what the tables that remember recent uses are sized by.
	Population(ctx context.Context) (int64, error)
	Close() error
}

// ChangeKind names what a Change is about. Its doc says which writes record
// it and what Key and Name carry; Account is the record's account unless it
// says otherwise.
//
// A change names each record whose stored state a write changed, including
// rows that a delete removes with their owner (memberships, keys,
// attachments). It does not fan out to records that only read the changed
// one: a group's policy change is not a change of its members, a managed
// policy's new default version is not a change of the principals it is
// attached to, a user's rename is not a change of its keys. A cache of such
// derived data tracks what it read (a user's groups, a principal's attached
// policies, a key's UserID). A write that changes nothing (an idempotent
// attach, a setting set to its value) records nothing; a failed write
// records nothing.
type ChangeKind string

const (
	// ChangeAccount: CreateAccount, and the OrgMembership writes that change
	// an account's membership or closure. Key and Account are the account id.
	ChangeAccount ChangeKind = "account"

	// ChangeUser: CreateUser, UpdateUser, DeleteUser, and writes of the
	// user's inline policies (Put/DeleteInlinePolicy), attachments
	// (Attach/DetachPolicy) and group memberships (AddUserToGroup,
	// RemoveUserFromGroup, and DeleteGroup for its members). Key is the user
	// id (AIDA...), Name the user name as stored. A rename records two
	// changes: one with the new name, then one with the old, for caches keyed
	// by name.
	ChangeUser ChangeKind = "user"

	// ChangeGroup: CreateGroup, UpdateGroup, DeleteGroup, membership changes
	// (AddUserToGroup, RemoveUserFromGroup, and DeleteUser for the user's
	// groups), and writes of the group's inline policies and attachments.
	// Key is the group id (AGPA...), Name the group name; renames as for
	// ChangeUser.
	ChangeGroup ChangeKind = "group"

	// ChangeRole: CreateRole, UpdateRole (unless it changed only LastUsedAt
	// and LastUsedRegion), DeleteRole, and writes of the role's inline
	// policies and attachments. Key is the role id (AROA...), Name the role
	// name; renames as for ChangeUser.
	ChangeRole ChangeKind = "role"

	// ChangePolicy: Create/Update/DeleteManagedPolicy, Create/
	// DeletePolicyVersion, Attach/DetachPolicy, and deletes of a user, group
	// or role that remove its attachments. Key is the policy ARN as stored,
	// Name the policy name, Account the policy's account ("aws" for AWS
	// managed policies).
	ChangePolicy ChangeKind = "policy"

	// ChangeAccessKey: Create/Update/DeleteAccessKey, and DeleteUser for
	// each key it deletes (not TouchAccessKey). Key is the access key id,
	// Name the owner's user name ("" for a root key).
	ChangeAccessKey ChangeKind = "access-key"

	// ChangeMFADevice: Create/Update/DeleteMFADevice, AdvanceMFACounter when
	// it advances, and DeleteUser for each device it unassigns. Key is the
	// serial number as stored; Name is empty.
	ChangeMFADevice ChangeKind = "mfa-device"

	// ChangeSigningKey: PutSigningKey, DeleteSigningKey. Key is the key id;
	// Account and Name are empty.
	ChangeSigningKey ChangeKind = "signing-key"

	// ChangeIssuerKey: PutIssuerKey, DeleteIssuerKey. Key is the key id;
	// Account and Name are empty.
	ChangeIssuerKey ChangeKind = "issuer-key"

	// ChangeOrg: Create/Update/DeleteOrgPolicy (Key is the policy id) and
	// Attach/DetachOrgPolicy (two changes: Key the policy id, then Key the
	// target id: an account id, a root or an OU id). Account and Name are
	// empty.
	ChangeOrg ChangeKind = "org"

	// ChangeSetting: PutSetting when the value changes, PutSettingIfAbsent
	// when it stores. Key is the setting name; Account and Name are empty.
	ChangeSetting ChangeKind = "setting"

	// ChangeSAMLProvider: Create/Update/DeleteSAMLProvider. Key is the
	// provider's ARN as stored, Name its name. (Replay records of
	// SAMLAssertions record nothing: they are read from the store.)
	ChangeSAMLProvider ChangeKind = "saml-provider"

	// ChangeLDAPProvider: Create/Update/DeleteLDAPProvider. Key is the
	// provider's ARN as stored, Name its name.
	ChangeLDAPProvider ChangeKind = "ldap-provider"
)

// Change is one entry of the change feed. All changes of one write share its
// Seq; different writes have different Seqs, in commit order.
type Change struct {
	// Seq numbers the write that recorded the change, from 1 without gaps: a
	// reader that sees a Seq has seen (or can read) every smaller one.
	Seq     int64
	Kind    ChangeKind
	Account string
	Key     string
	Name    string
	// At is when the write took its Seq, by the database's clock (in UTC,
	// microseconds on PostgreSQL, milliseconds on SQLite). It does not
	// decrease with Seq unless that clock steps back.
	At time.Time
}

// Changes is the change feed: every write that can change an authorization
// decision or a cached value records what it changed, in the same
// transaction (see ChangeKind). Nodes tail it to invalidate their caches.
type Changes interface {
	// Changes returns the changes with Seq > after, in Seq order and, within
	// a Seq, in the order the write recorded them. It returns whole writes
	// only: at most limit changes, except that when the first write alone
	// has more it is returned whole, so a caller that passes the last Seq it
	// got always makes progress. No changes (nil) means nothing newer yet.
	// It returns ErrChangesPruned when it cannot return everything after
	// after (see there); limit must be positive.
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)
	// LastChange returns the Seq of the newest change; 0 before the first.
	LastChange(ctx context.Context) (int64, error)
	// PruneChanges deletes the changes older than before, oldest first,
	// stopping at the first change at or after before (so the feed keeps a
	// contiguous tail), and returns how many it deleted. A tailer behind
	// the pruned part gets ErrChangesPruned.
	PruneChanges(ctx context.Context, before time.Time) (int64, error)
	// SetChangeHook registers f (nil removes it), called after every write
	// of this Store that committed changes, on the writing goroutine, before
	// the write returns: a node applies its own writes at once (read your
	// writes) and learns of other nodes' by tailing the feed.
	SetChangeHook(f func())
}

// OIDCProvider is an IAM OpenID Connect identity provider of an account.
type OIDCProvider struct {
	Account string
	// Name is the provider URL without "https://" (host, lowercase, and
	// path): the ARN's resource suffix; unique per account.
	Name        string
	ClientIDs   []string
	Thumbprints []string // 40 lowercase hex digits each
	CreatedAt   time.Time
	Tags        []Tag
}

// OIDCProviders stores OIDC identity providers. Names compare exactly.
type OIDCProviders interface {
	// CreateOIDCProvider: ErrAlreadyExists when the account has one with Name.
	CreateOIDCProvider(ctx context.Context, p OIDCProvider) error
	GetOIDCProvider(ctx context.Context, account, name string) (OIDCProvider, error)
	// UpdateOIDCProvider writes ClientIDs, Thumbprints and Tags.
	UpdateOIDCProvider(ctx context.Context, p OIDCProvider) error
	DeleteOIDCProvider(ctx context.Context, account, name string) error
	// ListOIDCProviders lists an account's providers sorted by name.
	ListOIDCProviders(ctx context.Context, account string) ([]OIDCProvider, error)
}

// ChangeOIDCProvider is recorded by Create/Update/DeleteOIDCProvider. Key
// is the provider's Name; Name is empty.
const ChangeOIDCProvider ChangeKind = "oidc-provider"
