package iam

import (
	"context"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// Login profiles (console passwords), ChangePassword and the account
// password policy. Passwords are hashed (passwords.go) before they reach
// the store; every Password member is sensitive, so the audit trail records
// that it was given, never its value.

// LoginProfile is the IAM LoginProfile shape.
type LoginProfile struct {
	UserName              string    `xml:"UserName"`
	CreateDate            time.Time `xml:"CreateDate"`
	PasswordResetRequired bool      `xml:"PasswordResetRequired"`
}

func loginProfileOut(p store.LoginProfile) LoginProfile {
	return LoginProfile{UserName: p.UserName, CreateDate: p.CreatedAt.UTC(), PasswordResetRequired: p.PasswordResetRequired}
}

func noSuchLoginProfile(user string) error {
	return apierr.New(apierr.NoSuchEntity, "Login Profile for User %s cannot be found.", user)
}

// loginUser resolves an optional UserName (omitted: the calling user) and
// authorizes action on the user.
func (s *Service) loginUser(ctx context.Context, c *authz.Caller, action, name string) (entity, error) {
	if name == "" {
		self, isRoot, err := self(c)
		if err != nil {
			return entity{}, err
		}
		if isRoot {
			return entity{}, apierr.New(apierr.ValidationError, "Must specify userName when calling with non-User credentials")
		}
		name = self
	}
	return s.authEntity(ctx, c, store.KindUser, action, name)
}

// CreateLoginProfileInput is the input of CreateLoginProfile.
type CreateLoginProfileInput struct {
	UserName              string `min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	Password              string `min:"1" max:"128" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+" sensitive:"true"`
	PasswordResetRequired bool
}

// CreateLoginProfileOutput is the output of CreateLoginProfile.
type CreateLoginProfileOutput struct {
	LoginProfile LoginProfile `xml:"LoginProfile"`
}

// CreateLoginProfile gives a user a console password that meets the
// account's password policy.
func (s *Service) CreateLoginProfile(ctx context.Context, c *authz.Caller, in *CreateLoginProfileInput) (*CreateLoginProfileOutput, error) {
	e, err := s.loginUser(ctx, c, "iam:CreateLoginProfile", in.UserName)
	if err != nil {
		return nil, err
	}
	if in.Password == "" {
		return nil, apierr.Validation("Value null at 'password' failed to satisfy constraint: Member must not be null")
	}
	if _, err := s.store.GetLoginProfile(ctx, c.Account, e.name); err == nil {
		return nil, apierr.New(apierr.EntityAlreadyExists, "Login Profile for user %s already exists.", e.name)
	} else if !isNotFound(err) {
		return nil, internal(err, "load login profile of "+e.name)
	}
	hash, _, err := s.newPasswordHash(ctx, c.Account, in.Password, nil)
	if err != nil {
		return nil, err
	}
	now := s.time()
	p := store.LoginProfile{Account: c.Account, UserName: e.name, PasswordHash: hash, PasswordResetRequired: in.PasswordResetRequired,
		CreatedAt: now, PasswordChangedAt: now}
	if err := s.store.CreateLoginProfile(ctx, p); err != nil {
		switch {
		case isExists(err):
			return nil, apierr.New(apierr.EntityAlreadyExists, "Login Profile for user %s already exists.", e.name)
		case isNotFound(err):
			return nil, noSuchEntity(store.KindUser, in.UserName)
		}
		return nil, internal(err, "create login profile of "+e.name)
	}
	return &CreateLoginProfileOutput{LoginProfile: loginProfileOut(p)}, nil
}

// GetLoginProfileInput is the input of GetLoginProfile.
type GetLoginProfileInput struct {
	UserName string `min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// GetLoginProfileOutput is the output of GetLoginProfile.
type GetLoginProfileOutput struct {
	LoginProfile LoginProfile `xml:"LoginProfile"`
}

// GetLoginProfile tells whether a user has a password: its creation date
// and whether it must be reset, never the password or its hash.
func (s *Service) GetLoginProfile(ctx context.Context, c *authz.Caller, in *GetLoginProfileInput) (*GetLoginProfileOutput, error) {
	e, err := s.loginUser(ctx, c, "iam:GetLoginProfile", in.UserName)
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetLoginProfile(ctx, c.Account, e.name)
	if isNotFound(err) {
		return nil, noSuchLoginProfile(e.name)
	}
	if err != nil {
		return nil, internal(err, "load login profile of "+e.name)
	}
	return &GetLoginProfileOutput{LoginProfile: loginProfileOut(p)}, nil
}

// UpdateLoginProfileInput is the input of UpdateLoginProfile.
type UpdateLoginProfileInput struct {
	UserName              string  `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
	Password              *string `min:"1" max:"128" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+" sensitive:"true"`
	PasswordResetRequired *bool
}

// UpdateLoginProfileOutput is the (empty) output of UpdateLoginProfile.
type UpdateLoginProfileOutput struct{}

// UpdateLoginProfile sets a user's password (an administrator's reset)
// and/or whether it must be changed at next sign-in.
func (s *Service) UpdateLoginProfile(ctx context.Context, c *authz.Caller, in *UpdateLoginProfileInput) (*UpdateLoginProfileOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindUser, "iam:UpdateLoginProfile", in.UserName)
	if err != nil {
		return nil, err
	}
	p, err := s.store.GetLoginProfile(ctx, c.Account, e.name)
	if isNotFound(err) {
		return nil, noSuchLoginProfile(e.name)
	}
	if err != nil {
		return nil, internal(err, "load login profile of "+e.name)
	}
	if in.Password != nil {
		if err := s.setPassword(ctx, &p, *in.Password); err != nil {
			return nil, err
		}
	}
	if in.PasswordResetRequired != nil {
		p.PasswordResetRequired = *in.PasswordResetRequired
	}
	if err := s.store.UpdateLoginProfile(ctx, p); err != nil {
		if isNotFound(err) {
			return nil, noSuchLoginProfile(e.name)
		}
		return nil, internal(err, "update login profile of "+e.name)
	}
	return &UpdateLoginProfileOutput{}, nil
}

// setPassword replaces p's password with password, checked against the
// account's policy and reuse prevention.
func (s *Service) setPassword(ctx context.Context, p *store.LoginProfile, password string) error {
	previous := append([]string{p.PasswordHash}, p.PreviousHashes...)
	hash, keep, err := s.newPasswordHash(ctx, p.Account, password, previous)
	if err != nil {
		return err
	}
	p.PasswordHash, p.PreviousHashes, p.PasswordChangedAt = hash, keep, s.time()
	return nil
}

// DeleteLoginProfileInput is the input of DeleteLoginProfile.
type DeleteLoginProfileInput struct {
	UserName string `min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// DeleteLoginProfileOutput is the (empty) output of DeleteLoginProfile.
type DeleteLoginProfileOutput struct{}

// DeleteLoginProfile removes a user's password.
func (s *Service) DeleteLoginProfile(ctx context.Context, c *authz.Caller, in *DeleteLoginProfileInput) (*DeleteLoginProfileOutput, error) {
	e, err := s.loginUser(ctx, c, "iam:DeleteLoginProfile", in.UserName)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteLoginProfile(ctx, c.Account, e.name); err != nil {
		if isNotFound(err) {
			return nil, noSuchLoginProfile(e.name)
		}
		return nil, internal(err, "delete login profile of "+e.name)
	}
	return &DeleteLoginProfileOutput{}, nil
}

// ChangePasswordInput is the input of ChangePassword.
type ChangePasswordInput struct {
	OldPassword string `required:"true" min:"1" max:"128" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+" sensitive:"true"`
	NewPassword string `required:"true" min:"1" max:"128" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+" sensitive:"true"`
}

// ChangePasswordOutput is the (empty) output of ChangePassword.
type ChangePasswordOutput struct{}

// ChangePassword changes the calling IAM user's own password. It needs
// iam:ChangePassword on the user, unless the account's password policy
// lets every user change their own (an explicit deny still refuses it); the
// old password must match (a wrong
// one is AccessDenied, and costs the caller a full hash). Changing clears
// PasswordResetRequired.
func (s *Service) ChangePassword(ctx context.Context, c *authz.Caller, in *ChangePasswordInput) (*ChangePasswordOutput, error) {
	if c.Type != policy.User || c.UserName == "" {
		return nil, apierr.New(apierr.InvalidUserType, "Only IAM users can change their own password.")
	}
	pp, _, err := s.passwordPolicy(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	u, err := s.store.GetUser(ctx, c.Account, c.UserName)
	if isNotFound(err) {
		return nil, noSuchEntity(store.KindUser, c.UserName)
	}
	if err != nil {
		return nil, internal(err, "load user "+c.UserName)
	}
	// The policy's AllowUsersToChangePassword grants the permission the
	// way an identity policy would: an explicit deny still wins.
	r := &authz.Request{Action: "iam:ChangePassword", Resource: userARN(c.Account, u.Path, u.Name), Keys: resourceTagKeys(u.Tags)}
	d, err := s.authz.Decide(ctx, c, r)
	if err != nil {
		return nil, internal(err, "authorize iam:ChangePassword")
	}
	if d.Effect == policy.ExplicitDeny || d.Effect != policy.Allow && !pp.AllowUsersToChangePassword {
		return nil, s.authz.Deny(c, r, d)
	}
	p, err := s.store.GetLoginProfile(ctx, c.Account, u.Name)
	if isNotFound(err) {
		return nil, noSuchLoginProfile(u.Name)
	}
	if err != nil {
		return nil, internal(err, "load login profile of "+u.Name)
	}
	match, err := s.checkPassword(ctx, p.PasswordHash, in.OldPassword)
	if err != nil {
		return nil, err
	}
	if !match {
		return nil, apierr.New(apierr.AccessDenied, "The old password is incorrect.")
	}
	if err := s.setPassword(ctx, &p, in.NewPassword); err != nil {
		return nil, err
	}
	p.PasswordResetRequired = false
	if err := s.store.UpdateLoginProfile(ctx, p); err != nil {
		return nil, internal(err, "change password of "+u.Name)
	}
	return &ChangePasswordOutput{}, nil
}

// PasswordPolicy is the IAM PasswordPolicy shape.
type PasswordPolicy struct {
	MinimumPasswordLength      int32  `xml:"MinimumPasswordLength"`
	RequireSymbols             bool   `xml:"RequireSymbols"`
	RequireNumbers             bool   `xml:"RequireNumbers"`
	RequireUppercaseCharacters bool   `xml:"RequireUppercaseCharacters"`
	RequireLowercaseCharacters bool   `xml:"RequireLowercaseCharacters"`
	AllowUsersToChangePassword bool   `xml:"AllowUsersToChangePassword"`
	ExpirePasswords            bool   `xml:"ExpirePasswords"`
	MaxPasswordAge             *int32 `xml:"MaxPasswordAge,omitempty"`
	PasswordReusePrevention    *int32 `xml:"PasswordReusePrevention,omitempty"`
	HardExpiry                 *bool  `xml:"HardExpiry,omitempty"`
}

// GetAccountPasswordPolicyInput is the (empty) input of GetAccountPasswordPolicy.
type GetAccountPasswordPolicyInput struct{}

// GetAccountPasswordPolicyOutput is the output of GetAccountPasswordPolicy.
type GetAccountPasswordPolicyOutput struct {
	PasswordPolicy PasswordPolicy `xml:"PasswordPolicy"`
}

// GetAccountPasswordPolicy returns the account's password policy;
// NoSuchEntity if it has none.
func (s *Service) GetAccountPasswordPolicy(ctx context.Context, c *authz.Caller, _ *GetAccountPasswordPolicyInput) (*GetAccountPasswordPolicyOutput, error) {
	if err := s.check(ctx, c, "iam:GetAccountPasswordPolicy", "*"); err != nil {
		return nil, err
	}
	p, custom, err := s.passwordPolicy(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	if !custom {
		return nil, apierr.New(apierr.NoSuchEntity, "The Password Policy with domain name %s cannot be found.", c.Account)
	}
	out := PasswordPolicy{MinimumPasswordLength: int32(p.MinimumPasswordLength), RequireSymbols: p.RequireSymbols, RequireNumbers: p.RequireNumbers,
		RequireUppercaseCharacters: p.RequireUppercaseCharacters, RequireLowercaseCharacters: p.RequireLowercaseCharacters,
		AllowUsersToChangePassword: p.AllowUsersToChangePassword, ExpirePasswords: p.MaxPasswordAge > 0, HardExpiry: &p.HardExpiry}
	if p.MaxPasswordAge > 0 {
		v := int32(p.MaxPasswordAge)
		out.MaxPasswordAge = &v
	}
	if p.PasswordReusePrevention > 0 {
		v := int32(p.PasswordReusePrevention)
		out.PasswordReusePrevention = &v
	}
	return &GetAccountPasswordPolicyOutput{PasswordPolicy: out}, nil
}

// UpdateAccountPasswordPolicyInput is the input of UpdateAccountPasswordPolicy.
type UpdateAccountPasswordPolicyInput struct {
	MinimumPasswordLength      *int32 `min:"6" max:"128"`
	RequireSymbols             bool
	RequireNumbers             bool
	RequireUppercaseCharacters bool
	RequireLowercaseCharacters bool
	AllowUsersToChangePassword bool
	MaxPasswordAge             *int32 `min:"1" max:"1095"`
	PasswordReusePrevention    *int32 `min:"1" max:"24"`
	HardExpiry                 *bool
}

// UpdateAccountPasswordPolicyOutput is the (empty) output of UpdateAccountPasswordPolicy.
type UpdateAccountPasswordPolicyOutput struct{}

// UpdateAccountPasswordPolicy replaces the account's password policy
// whole: an omitted member takes its default (length 6, nothing required,
// no expiry, no reuse prevention), as in AWS. Existing passwords are not
// checked again; the policy applies when a password is next set.
func (s *Service) UpdateAccountPasswordPolicy(ctx context.Context, c *authz.Caller, in *UpdateAccountPasswordPolicyInput) (*UpdateAccountPasswordPolicyOutput, error) {
	if err := s.check(ctx, c, "iam:UpdateAccountPasswordPolicy", "*"); err != nil {
		return nil, err
	}
	p := store.PasswordPolicy{MinimumPasswordLength: 6, RequireSymbols: in.RequireSymbols, RequireNumbers: in.RequireNumbers,
		RequireUppercaseCharacters: in.RequireUppercaseCharacters, RequireLowercaseCharacters: in.RequireLowercaseCharacters,
		AllowUsersToChangePassword: in.AllowUsersToChangePassword}
	if in.MinimumPasswordLength != nil {
		p.MinimumPasswordLength = int(*in.MinimumPasswordLength)
	}
	if in.MaxPasswordAge != nil {
		p.MaxPasswordAge = int(*in.MaxPasswordAge)
	}
	if in.PasswordReusePrevention != nil {
		p.PasswordReusePrevention = int(*in.PasswordReusePrevention)
	}
	if in.HardExpiry != nil {
		p.HardExpiry = *in.HardExpiry
	}
	if err := s.store.PutPasswordPolicy(ctx, c.Account, p); err != nil {
		return nil, internal(err, "update password policy")
	}
	return &UpdateAccountPasswordPolicyOutput{}, nil
}

// DeleteAccountPasswordPolicyInput is the (empty) input of DeleteAccountPasswordPolicy.
type DeleteAccountPasswordPolicyInput struct{}

// DeleteAccountPasswordPolicyOutput is the (empty) output of DeleteAccountPasswordPolicy.
type DeleteAccountPasswordPolicyOutput struct{}

// DeleteAccountPasswordPolicy removes the account's password policy (the
// default applies again); NoSuchEntity if it has none.
func (s *Service) DeleteAccountPasswordPolicy(ctx context.Context, c *authz.Caller, _ *DeleteAccountPasswordPolicyInput) (*DeleteAccountPasswordPolicyOutput, error) {
	if err := s.check(ctx, c, "iam:DeleteAccountPasswordPolicy", "*"); err != nil {
		return nil, err
	}
	if err := s.store.DeletePasswordPolicy(ctx, c.Account); err != nil {
		if isNotFound(err) {
			return nil, apierr.New(apierr.NoSuchEntity, "The account policy with name PasswordPolicy cannot be found.")
		}
		return nil, internal(err, "delete password policy")
	}
	return &DeleteAccountPasswordPolicyOutput{}, nil
}
