package iam

import (
	"context"
	"fmt"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// Access key statuses.
const (
	statusActive   = "Active"
	statusInactive = "Inactive"
)

// AccessKey is the AccessKey shape: the only place a secret access key is
// ever returned (CreateAccessKey).
type AccessKey struct {
	UserName        string    `xml:"UserName,omitempty"`
	AccessKeyID     string    `xml:"AccessKeyId"`
	Status          string    `xml:"Status"`
	SecretAccessKey string    `xml:"SecretAccessKey" sensitive:"true"`
	CreateDate      time.Time `xml:"CreateDate"`
}

// AccessKeyMetadata is an access key without its secret.
type AccessKeyMetadata struct {
	UserName    string    `xml:"UserName,omitempty"`
	AccessKeyID string    `xml:"AccessKeyId"`
	Status      string    `xml:"Status"`
	CreateDate  time.Time `xml:"CreateDate"`
}

// keyOwner is the user (or root) whose access keys an action manages.
type keyOwner struct {
	root   bool
	user   store.User
	arn    string
	name   string // "" for root
	userID string
}

// authKeyOwner resolves the UserName of an access key action (empty: the
// caller itself) and authorizes action on it.
func (s *Service) authKeyOwner(ctx context.Context, c *authz.Caller, action, userName string) (keyOwner, error) {
	if userName == "" {
		name, root, err := self(c)
		if err != nil {
			return keyOwner{}, err
		}
		if root {
			arn := rootARN(c.Account)
			if err := s.check(ctx, c, action, arn); err != nil {
				return keyOwner{}, err
			}
			return keyOwner{root: true, arn: arn, userID: c.Account}, nil
		}
		userName = name
	}
	e, err := s.authEntity(ctx, c, store.KindUser, action, userName)
	if err != nil {
		return keyOwner{}, err
	}
	return keyOwner{user: e.user, arn: e.arn, name: e.name, userID: e.user.ID}, nil
}

func (o keyOwner) owns(k store.AccessKey, account string) bool {
	if k.Account != account {
		return false
	}
	if o.root {
		return k.UserName == "" && k.UserID == account
	}
	return k.UserID == o.userID
}

// authOwnedKey authorizes action on the owner of the keys (UserName, or the
// caller when it is empty; see authKeyOwner) and loads access key id, which
// must belong to that owner.
func (s *Service) authOwnedKey(ctx context.Context, c *authz.Caller, action, userName, id string) (store.AccessKey, error) {
	o, err := s.authKeyOwner(ctx, c, action, userName)
	if err != nil {
		return store.AccessKey{}, err
	}
	k, err := s.store.GetAccessKey(ctx, id)
	if isNotFound(err) || (err == nil && !o.owns(k, c.Account)) {
		return store.AccessKey{}, noSuchAccessKey(id)
	}
	if err != nil {
		return store.AccessKey{}, internal(err, "load access key")
	}
	return k, nil
}

func noSuchAccessKey(id string) error {
	return apierr.New(apierr.NoSuchEntity, "The Access Key with id %s cannot be found.", id)
}

// CreateAccessKeyInput is the input of CreateAccessKey.
type CreateAccessKeyInput struct {
	UserName string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
}

// CreateAccessKeyOutput is the output of CreateAccessKey.
type CreateAccessKeyOutput struct {
	AccessKey AccessKey `xml:"AccessKey"`
}

// CreateAccessKey creates a long-term access key for a user (or, without
// UserName, for the calling user or root), at most two per user. The secret
// is returned here once and stored sealed.
func (s *Service) CreateAccessKey(ctx context.Context, c *authz.Caller, in *CreateAccessKeyInput) (*CreateAccessKeyOutput, error) {
	o, err := s.authKeyOwner(ctx, c, "iam:CreateAccessKey", in.UserName)
	if err != nil {
		return nil, err
	}
	existing, err := s.store.ListAccessKeys(ctx, c.Account, o.name)
	if err != nil {
		return nil, internal(err, "list access keys")
	}
	if len(existing) >= maxAccessKeysPerUser {
		return nil, apierr.New(apierr.LimitExceeded, "Cannot exceed quota for AccessKeysPerUser: %d", maxAccessKeysPerUser)
	}
	secret, err := session.NewSecretAccessKey(s.rand)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	k := store.AccessKey{Account: c.Account, UserName: o.name, UserID: o.userID, Status: statusActive, CreatedAt: s.time()}
	// Ids carry 39 random bits: retry the rare collision.
	for attempt := 0; ; attempt++ {
		if k.ID, err = session.NewAccessKeyID("AKIA", c.Account, s.rand); err != nil {
			return nil, apierr.Internal(err)
		}
		if k.Secret, err = s.sealer.Seal([]byte(secret), []byte(k.ID)); err != nil {
			return nil, apierr.Internal(err)
		}
		err = s.store.CreateAccessKey(ctx, k)
		if err == nil {
			break
		}
		if !isExists(err) || attempt == 4 {
			return nil, internal(err, "create access key")
		}
	}
	return &CreateAccessKeyOutput{AccessKey: AccessKey{UserName: o.name, AccessKeyID: k.ID, Status: k.Status, SecretAccessKey: secret, CreateDate: k.CreatedAt}}, nil
}

// ListAccessKeysInput is the input of ListAccessKeys.
type ListAccessKeysInput struct {
	UserName string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// ListAccessKeysOutput is the output of ListAccessKeys.
type ListAccessKeysOutput struct {
	AccessKeyMetadata []AccessKeyMetadata `xml:"AccessKeyMetadata>member"`
	Page
}

// ListAccessKeys lists a user's access keys (without UserName: the caller's).
func (s *Service) ListAccessKeys(ctx context.Context, c *authz.Caller, in *ListAccessKeysInput) (*ListAccessKeysOutput, error) {
	o, err := s.authKeyOwner(ctx, c, "iam:ListAccessKeys", in.UserName)
	if err != nil {
		return nil, err
	}
	keys, err := s.store.ListAccessKeys(ctx, c.Account, o.name)
	if err != nil {
		return nil, internal(err, "list access keys")
	}
	oldestFirst := func(k store.AccessKey) string { return k.CreatedAt.UTC().Format("20060102150405.000000000") + k.ID }
	page, p, err := paginate(keys, oldestFirst, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &ListAccessKeysOutput{AccessKeyMetadata: make([]AccessKeyMetadata, 0, len(page)), Page: p}
	for _, k := range page {
		out.AccessKeyMetadata = append(out.AccessKeyMetadata, AccessKeyMetadata{UserName: o.name, AccessKeyID: k.ID, Status: k.Status, CreateDate: k.CreatedAt.UTC()})
	}
	return out, nil
}

// UpdateAccessKeyInput is the input of UpdateAccessKey.
type UpdateAccessKeyInput struct {
	UserName    string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	AccessKeyID string `query:"AccessKeyId" required:"true" min:"16" max:"128" pattern:"[\\w]+"`
	Status      string `required:"true" enum:"Active,Inactive,Expired"`
}

// UpdateAccessKeyOutput is the (empty) output of UpdateAccessKey.
type UpdateAccessKeyOutput struct{}

// UpdateAccessKey activates or deactivates an access key.
func (s *Service) UpdateAccessKey(ctx context.Context, c *authz.Caller, in *UpdateAccessKeyInput) (*UpdateAccessKeyOutput, error) {
	if in.Status != statusActive && in.Status != statusInactive {
		return nil, apierr.Validation(fmt.Sprintf("Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]", in.Status))
	}
	k, err := s.authOwnedKey(ctx, c, "iam:UpdateAccessKey", in.UserName, in.AccessKeyID)
	if err != nil {
		return nil, err
	}
	k.Status = in.Status
	if err := s.store.UpdateAccessKey(ctx, k); err != nil {
		return nil, internal(err, "update access key")
	}
	return &UpdateAccessKeyOutput{}, nil
}

// DeleteAccessKeyInput is the input of DeleteAccessKey.
type DeleteAccessKeyInput struct {
	UserName    string `min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	AccessKeyID string `query:"AccessKeyId" required:"true" min:"16" max:"128" pattern:"[\\w]+"`
}

// DeleteAccessKeyOutput is the (empty) output of DeleteAccessKey.
type DeleteAccessKeyOutput struct{}

// DeleteAccessKey deletes an access key.
func (s *Service) DeleteAccessKey(ctx context.Context, c *authz.Caller, in *DeleteAccessKeyInput) (*DeleteAccessKeyOutput, error) {
	k, err := s.authOwnedKey(ctx, c, "iam:DeleteAccessKey", in.UserName, in.AccessKeyID)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteAccessKey(ctx, k.ID); err != nil {
		if isNotFound(err) {
			return nil, noSuchAccessKey(in.AccessKeyID)
		}
		return nil, internal(err, "delete access key")
	}
	return &DeleteAccessKeyOutput{}, nil
}

// GetAccessKeyLastUsedInput is the input of GetAccessKeyLastUsed.
type GetAccessKeyLastUsedInput struct {
	AccessKeyID string `query:"AccessKeyId" required:"true" min:"16" max:"128" pattern:"[\\w]+"`
}

// AccessKeyLastUsed says when and where an access key was last used;
// ServiceName and Region are "N/A" for a key never used.
type AccessKeyLastUsed struct {
	LastUsedDate *time.Time `xml:"LastUsedDate,omitempty"`
	ServiceName  string     `xml:"ServiceName"`
	Region       string     `xml:"Region"`
}

// GetAccessKeyLastUsedOutput is the output of GetAccessKeyLastUsed.
type GetAccessKeyLastUsedOutput struct {
	UserName          string            `xml:"UserName"`
	AccessKeyLastUsed AccessKeyLastUsed `xml:"AccessKeyLastUsed"`
}

// GetAccessKeyLastUsed reports when an access key of the caller's account was
// last used. The caller needs iam:GetAccessKeyLastUsed on the key's user.
func (s *Service) GetAccessKeyLastUsed(ctx context.Context, c *authz.Caller, in *GetAccessKeyLastUsedInput) (*GetAccessKeyLastUsedOutput, error) {
	k, err := s.store.GetAccessKey(ctx, in.AccessKeyID)
	if isNotFound(err) || (err == nil && k.Account != c.Account) {
		// Unknown here: no owner to authorize against. Ids are random, so
		// this reveals nothing a caller could not guess.
		return nil, noSuchAccessKey(in.AccessKeyID)
	}
	if err != nil {
		return nil, internal(err, "load access key")
	}
	name, arn := "root", rootARN(c.Account)
	if k.UserName != "" {
		e, err := s.authEntity(ctx, c, store.KindUser, "iam:GetAccessKeyLastUsed", k.UserName)
		if err != nil {
			return nil, err
		}
		name = e.name
	} else if err := s.check(ctx, c, "iam:GetAccessKeyLastUsed", arn); err != nil {
		return nil, err
	}
	out := &GetAccessKeyLastUsedOutput{UserName: name, AccessKeyLastUsed: AccessKeyLastUsed{ServiceName: "N/A", Region: "N/A"}}
	if !k.LastUsedAt.IsZero() {
		t := k.LastUsedAt.UTC().Truncate(time.Second)
		out.AccessKeyLastUsed.LastUsedDate = &t
		if k.LastUsedService != "" {
			out.AccessKeyLastUsed.ServiceName = k.LastUsedService
		}
		if k.LastUsedRegion != "" {
			out.AccessKeyLastUsed.Region = k.LastUsedRegion
		}
	}
	return out, nil
}

// CreateRootAccessKey stores a long-term access key for an account's root
// (bootstrap). The secret is sealed with the access key id as aad; nothing is
// returned. It fails with an error wrapping store.ErrAlreadyExists when the
// id is taken.
func (s *Service) CreateRootAccessKey(ctx context.Context, account, accessKeyID, secret string) error {
	sealed, err := s.sealer.Seal([]byte(secret), []byte(accessKeyID))
	if err != nil {
		return fmt.Errorf("create root access key: %w", err)
	}
	k := store.AccessKey{ID: accessKeyID, Account: account, UserID: account, Secret: sealed, Status: statusActive, CreatedAt: s.time()}
	if err := s.store.CreateAccessKey(ctx, k); err != nil {
		return fmt.Errorf("create root access key: %w", err)
	}
	return nil
}

// LookupAccessKey returns a long-term access key and its opened secret, for
// SigV4 verification. It does not check the status: callers must reject
// keys that are not Active. Errors wrap store.ErrNotFound for an unknown
// id; any other error (including a secret that does not open) is internal.
// Safe for concurrent use; callers may cache the result but must drop it
// when keys change.
func (s *Service) LookupAccessKey(ctx context.Context, id string) (store.AccessKey, []byte, error) {
	k, err := s.store.GetAccessKey(ctx, id)
	if err != nil {
		return store.AccessKey{}, nil, fmt.Errorf("lookup access key %s: %w", id, err)
	}
	secret, err := s.OpenSecret(k.ID, k.Secret)
	if err != nil {
		return store.AccessKey{}, nil, fmt.Errorf("lookup access key %s: %w", id, err)
	}
	return k, secret, nil
}

// SealSigningKey seals a SigV4 signing key of access key id for scope (its
// "date/region/service"), bound to both, as a secret is sealed to its key
// id: the key cache keeps signing keys it derived so, beside the sealed
// secret.
func (s *Service) SealSigningKey(id string, scope, key []byte) ([]byte, error) {
	sealed, err := s.sealer.Seal(key, signingKeyAAD(id, scope))
	if err != nil {
		return nil, fmt.Errorf("seal signing key: %w", err)
	}
	return sealed, nil
}

// OpenSigningKey opens what SealSigningKey sealed for id and scope.
func (s *Service) OpenSigningKey(id string, scope, sealed []byte) ([]byte, error) {
	key, err := s.sealer.Open(sealed, signingKeyAAD(id, scope))
	if err != nil {
		return nil, fmt.Errorf("open signing key: %w", err)
	}
	return key, nil
}

// signingKeyAAD binds a sealed signing key to its key id and scope, apart
// from the secrets (whose additional data is the key id alone, which has
// no NUL): neither opens as the other.
func signingKeyAAD(id string, scope []byte) []byte {
	const prefix = "opensts/sigv4-signing-key\x00"
	b := make([]byte, 0, len(prefix)+len(id)+1+len(scope))
	return append(append(append(append(b, prefix...), id...), 0), scope...)
}

// OpenSecret opens the sealed secret of access key id (store.AccessKey.Secret).
func (s *Service) OpenSecret(id string, sealed []byte) ([]byte, error) {
	secret, err := s.sealer.Open(sealed, []byte(id))
	if err != nil {
		return nil, fmt.Errorf("open secret: %w", err)
	}
	return secret, nil
}
