package org

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// CreateAccountInput is the CreateAccount request. IamUserAccessToBilling
// is accepted and ignored.
type CreateAccountInput struct {
	AccountName            string `json:"AccountName" min:"1" max:"50" pattern:"[\\u0020-\\u007E]+"`
	Email                  string `json:"Email" min:"6" max:"64" pattern:"[^\\s@]+@[^\\s@]+\\.[^\\s@]+"`
	RoleName               string `json:"RoleName" max:"64" pattern:"[\\w+=,.@-]{1,64}"`
	IamUserAccessToBilling string `json:"IamUserAccessToBilling" enum:"ALLOW,DENY"`
	Tags                   []Tag  `json:"Tags"`
}

// CreateAccountOutput is the CreateAccount result.
type CreateAccountOutput struct {
	CreateAccountStatus CreateAccountStatus `json:"CreateAccountStatus"`
}

// CreateAccount creates a member account and completes at once: the status
// it returns is SUCCEEDED (or FAILED with EMAIL_ALREADY_EXISTS). As AWS does,
// the new account gets the role RoleName (default
// OrganizationAccountAccessRole) with AdministratorAccess, trusted by the
// management account, and FullAWSAccess attached as its SCP.
func (s *Service) CreateAccount(ctx context.Context, c *authz.Caller, in *CreateAccountInput) (*CreateAccountOutput, error) {
	if err := checkCreateAccount(in); err != nil {
		return nil, err
	}
	tags, err := checkTags(in.Tags)
	if err != nil {
		return nil, err
	}
	o, err := s.member(ctx, c, "CreateAccount")
	if err == nil {
		// With the tags it is created with in the context, as CreatePolicy.
		err = s.checkKeys(ctx, c, o, "CreateAccount", authz.RequestTagKeys(in.Tags))
	}
	if err != nil {
		return nil, err
	}
	now := s.time()
	switch _, err := s.store.GetAccountByEmail(ctx, in.Email); {
	case err == nil:
		return s.failCreateAccount(ctx, in.AccountName, "EMAIL_ALREADY_EXISTS")
	case !isNotFound(err):
		return nil, internal(err, "create account")
	}

	acct := store.Account{Name: in.AccountName, Email: in.Email, CreatedAt: now}
	for range 5 {
		if acct.ID, err = s.newAccountID(); err != nil {
			return nil, err
		}
		if err = s.store.CreateAccount(ctx, acct); !isExists(err) {
			break
		}
	}
	if err != nil {
		return nil, internal(err, "create account")
	}
	if err := s.createAccessRole(ctx, o, acct.ID, in.RoleName, now); err != nil {
		return nil, err
	}
	err = s.store.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: FullAWSAccessID, TargetID: acct.ID})
	if err != nil && !isExists(err) {
		return nil, internal(err, "create account: attach "+fullAWSAccessName)
	}
	if err := s.attachDefaults(ctx, o, acct.ID, true); err != nil {
		return nil, err
	}
	if len(tags) > 0 {
		if err := s.store.TagOrgResource(ctx, acct.ID, tags, maxTags); err != nil {
			return nil, internal(err, "create account: tag")
		}
	}
	return &CreateAccountOutput{CreateAccountStatus: succeeded(acct)}, nil
}

func checkCreateAccount(in *CreateAccountInput) error {
	if n := utf8.RuneCountInString(in.AccountName); n < 1 || n > 50 || !printablePattern.MatchString(in.AccountName) {
		return invalidInput("You specified an invalid value for accountName.")
	}
	if n := len(in.Email); n < 6 || n > 64 || !emailPattern.MatchString(in.Email) {
		return invalidInput("You specified an invalid value for email.")
	}
	if in.RoleName != "" && !roleNamePattern.MatchString(in.RoleName) {
		return invalidInput("You specified an invalid value for roleName.")
	}
	switch in.IamUserAccessToBilling {
	case "", "ALLOW", "DENY":
	default:
		return invalidInput("You specified an invalid value for iamUserAccessToBilling.")
	}
	return nil
}

// createAccessRole creates the role the management account assumes to
// administer a new account.
func (s *Service) createAccessRole(ctx context.Context, o org, account, name string, now time.Time) error {
	if name == "" {
		name = AccessRoleName
	}
	suffix, err := s.randomString(iamIDChars, 17)
	if err != nil {
		return err
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + authz.RootARN(o.mgmt) + `"},"Action":"sts:AssumeRole"}]}`
	r := store.Role{Account: account, ID: "AROA" + suffix, Name: name, Path: "/", TrustPolicy: trust,
		MaxSessionDuration: 3600, CreatedAt: now}
	if err := s.store.CreateRole(ctx, r); err != nil {
		return internal(err, fmt.Sprintf("create account %s: create role %s", account, name))
	}
	a := store.Attachment{Account: account, Kind: store.KindRole, Owner: name, PolicyARN: administratorARN}
	if err := s.store.AttachPolicy(ctx, a); err != nil {
		return internal(err, fmt.Sprintf("create account %s: attach %s", account, administratorARN))
	}
	return nil
}

// failCreateAccount records and returns a failed request.
func (s *Service) failCreateAccount(ctx context.Context, name, reason string) (*CreateAccountOutput, error) {
	suffix, err := s.randomString(lowerDigits, 16)
	if err != nil {
		return nil, err
	}
	f := store.OrgAccountFailure{ID: carPrefix + suffix, AccountName: name, Reason: reason, RequestedAt: s.time()}
	if err := s.store.CreateOrgAccountFailure(ctx, f); err != nil {
		return nil, internal(err, "create account")
	}
	return &CreateAccountOutput{CreateAccountStatus: failed(f)}, nil
}
