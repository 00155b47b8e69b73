package org

import (
	"context"
	"regexp"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Delegated administrators and trusted access: the management account
// registers member accounts as administrators for a service and gives
// services access to the organization. OpenSTS keeps and lists them; it
// serves no other AWS service, so nothing else reads them. Any service
// principal of the model's shape is accepted.

var servicePrincipalPattern = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)

func checkServicePrincipal(sp string) error {
	if !servicePrincipalPattern.MatchString(sp) {
		return invalidInput("You specified an invalid value for servicePrincipal.")
	}
	return nil
}

// DelegatedAdministrator is a delegated administrator on the wire.
type DelegatedAdministrator struct {
	Account
	DelegationEnabledDate *Timestamp `json:"DelegationEnabledDate,omitempty"`
}

// DelegatedService is a service an account administers.
type DelegatedService struct {
	ServicePrincipal      string     `json:"ServicePrincipal"`
	DelegationEnabledDate *Timestamp `json:"DelegationEnabledDate,omitempty"`
}

// EnabledServicePrincipal is a service with trusted access.
type EnabledServicePrincipal struct {
	ServicePrincipal string     `json:"ServicePrincipal"`
	DateEnabled      *Timestamp `json:"DateEnabled,omitempty"`
}

func errNotRegistered() *apierr.Error {
	return apierr.New(apierr.AccountNotRegisteredException, "The provided account is not a registered delegated administrator for your organization.")
}

// RegisterDelegatedAdministratorInput is the RegisterDelegatedAdministrator
// request.
type RegisterDelegatedAdministratorInput struct {
	AccountID        string `json:"AccountId" max:"12" pattern:"^\\d{12}$"`
	ServicePrincipal string `json:"ServicePrincipal" min:"1" max:"128" pattern:"[\\w+=,.@-]*"`
}

// RegisterDelegatedAdministrator registers a member account (not the
// management account, not a closed one) as administrator for a service.
// The organization needs all features.
func (s *Service) RegisterDelegatedAdministrator(ctx context.Context, c *authz.Caller, in *RegisterDelegatedAdministratorInput) (*Empty, error) {
	if !accountIDPattern.MatchString(in.AccountID) {
		return nil, invalidInput("You specified an invalid value for accountId.")
	}
	if err := checkServicePrincipal(in.ServicePrincipal); err != nil {
		return nil, err
	}
	o, err := s.authorize(ctx, c, "RegisterDelegatedAdministrator", accountResource(in.AccountID))
	if err != nil {
		return nil, err
	}
	if o.featureSet != featureAll {
		return nil, constraint("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE", "You can't register a delegated administrator in an organization without all features.")
	}
	if in.AccountID == o.mgmt {
		return nil, constraint("CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR", "You can't register the management account of your organization as a delegated administrator.")
	}
	a, err := s.getMember(ctx, in.AccountID)
	if err != nil {
		return nil, err
	}
	if !a.ClosedAt.IsZero() {
		return nil, constraint("CANNOT_REGISTER_SUSPENDED_ACCOUNT_AS_DELEGATED_ADMINISTRATOR", "You can't register a suspended account as a delegated administrator.")
	}
	err = s.store.RegisterOrgDelegatedAdmin(ctx, store.OrgDelegatedAdmin{Account: in.AccountID, ServicePrincipal: in.ServicePrincipal, DelegatedAt: s.time()})
	switch {
	case isExists(err):
		return nil, apierr.New(apierr.AccountAlreadyRegisteredException, "The provided account is already a delegated administrator for your organization.")
	case isNotFound(err):
		return nil, errAccountNotFound()
	case err != nil:
		return nil, internal(err, "register delegated administrator")
	}
	return &Empty{}, nil
}

// DeregisterDelegatedAdministratorInput is the
// DeregisterDelegatedAdministrator request.
type DeregisterDelegatedAdministratorInput struct {
	AccountID        string `json:"AccountId" max:"12" pattern:"^\\d{12}$"`
	ServicePrincipal string `json:"ServicePrincipal" min:"1" max:"128" pattern:"[\\w+=,.@-]*"`
}

// DeregisterDelegatedAdministrator removes a registration.
func (s *Service) DeregisterDelegatedAdministrator(ctx context.Context, c *authz.Caller, in *DeregisterDelegatedAdministratorInput) (*Empty, error) {
	if !accountIDPattern.MatchString(in.AccountID) {
		return nil, invalidInput("You specified an invalid value for accountId.")
	}
	if err := checkServicePrincipal(in.ServicePrincipal); err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, c, "DeregisterDelegatedAdministrator", accountResource(in.AccountID)); err != nil {
		return nil, err
	}
	if _, err := s.getMember(ctx, in.AccountID); err != nil {
		return nil, err
	}
	switch err := s.store.DeregisterOrgDelegatedAdmin(ctx, in.AccountID, in.ServicePrincipal); {
	case isNotFound(err):
		return nil, errNotRegistered()
	case err != nil:
		return nil, internal(err, "deregister delegated administrator")
	}
	return &Empty{}, nil
}

// ListDelegatedAdministratorsInput is the ListDelegatedAdministrators request.
type ListDelegatedAdministratorsInput struct {
	ServicePrincipal string `json:"ServicePrincipal" min:"1" max:"128" pattern:"[\\w+=,.@-]*"`
	NextToken        string `json:"NextToken" max:"100000"`
	MaxResults       *int32 `json:"MaxResults" min:"1" max:"20"`
}

// ListDelegatedAdministratorsOutput is the ListDelegatedAdministrators result.
type ListDelegatedAdministratorsOutput struct {
	DelegatedAdministrators []DelegatedAdministrator `json:"DelegatedAdministrators"`
	NextToken               string                   `json:"NextToken,omitempty"`
}

// ListDelegatedAdministrators lists the accounts registered for any service
// (or for ServicePrincipal), by id; DelegationEnabledDate is the account's
// first registration among those listed.
func (s *Service) ListDelegatedAdministrators(ctx context.Context, c *authz.Caller, in *ListDelegatedAdministratorsInput) (*ListDelegatedAdministratorsOutput, error) {
	if in.ServicePrincipal != "" {
		if err := checkServicePrincipal(in.ServicePrincipal); err != nil {
			return nil, err
		}
	}
	o, err := s.authorize(ctx, c, "ListDelegatedAdministrators")
	if err != nil {
		return nil, err
	}
	das, err := s.store.ListOrgDelegatedAdmins(ctx)
	if err != nil {
		return nil, internal(err, "list delegated administrators")
	}
	first := map[string]time.Time{}
	var ids []string
	for _, d := range das {
		if in.ServicePrincipal != "" && d.ServicePrincipal != in.ServicePrincipal {
			continue
		}
		t, seen := first[d.Account]
		if !seen {
			ids = append(ids, d.Account)
		}
		if !seen || d.DelegatedAt.Before(t) {
			first[d.Account] = d.DelegatedAt
		}
	}
	pg, next, err := page(ids, func(id string) string { return id }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ListDelegatedAdministratorsOutput{DelegatedAdministrators: make([]DelegatedAdministrator, 0, len(pg)), NextToken: next}
	for _, id := range pg {
		a, err := s.store.GetAccount(ctx, id)
		if err != nil {
			return nil, internal(err, "get account "+id)
		}
		ao := o.account(a, s.time())
		ao.Paths = nil
		out.DelegatedAdministrators = append(out.DelegatedAdministrators, DelegatedAdministrator{Account: ao, DelegationEnabledDate: ts(first[id])})
	}
	return out, nil
}

// ListDelegatedServicesForAccountInput is the ListDelegatedServicesForAccount
// request.
type ListDelegatedServicesForAccountInput struct {
	AccountID  string `json:"AccountId" max:"12" pattern:"^\\d{12}$"`
	NextToken  string `json:"NextToken" max:"100000"`
	MaxResults *int32 `json:"MaxResults" min:"1" max:"20"`
}

// ListDelegatedServicesForAccountOutput is the
// ListDelegatedServicesForAccount result.
type ListDelegatedServicesForAccountOutput struct {
	DelegatedServices []DelegatedService `json:"DelegatedServices"`
	NextToken         string             `json:"NextToken,omitempty"`
}

// ListDelegatedServicesForAccount lists the services an account
// administers, by service principal: AccountNotRegisteredException if none.
func (s *Service) ListDelegatedServicesForAccount(ctx context.Context, c *authz.Caller, in *ListDelegatedServicesForAccountInput) (*ListDelegatedServicesForAccountOutput, error) {
	if !accountIDPattern.MatchString(in.AccountID) {
		return nil, invalidInput("You specified an invalid value for accountId.")
	}
	if _, err := s.authorize(ctx, c, "ListDelegatedServicesForAccount", accountResource(in.AccountID)); err != nil {
		return nil, err
	}
	if _, err := s.getMember(ctx, in.AccountID); err != nil {
		return nil, err
	}
	das, err := s.store.ListOrgDelegatedAdmins(ctx)
	if err != nil {
		return nil, internal(err, "list delegated administrators")
	}
	var mine []store.OrgDelegatedAdmin
	for _, d := range das {
		if d.Account == in.AccountID {
			mine = append(mine, d)
		}
	}
	if len(mine) == 0 {
		return nil, errNotRegistered()
	}
	pg, next, err := page(mine, func(d store.OrgDelegatedAdmin) string { return d.ServicePrincipal }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ListDelegatedServicesForAccountOutput{DelegatedServices: make([]DelegatedService, 0, len(pg)), NextToken: next}
	for _, d := range pg {
		out.DelegatedServices = append(out.DelegatedServices, DelegatedService{ServicePrincipal: d.ServicePrincipal, DelegationEnabledDate: ts(d.DelegatedAt)})
	}
	return out, nil
}

// ServiceAccessInput is the EnableAWSServiceAccess and
// DisableAWSServiceAccess request.
type ServiceAccessInput struct {
	ServicePrincipal string `json:"ServicePrincipal" min:"1" max:"128" pattern:"[\\w+=,.@-]*"`
}

// EnableAWSServiceAccess gives a service trusted access to the
// organization (all features needed). Enabling it again changes nothing.
func (s *Service) EnableAWSServiceAccess(ctx context.Context, c *authz.Caller, in *ServiceAccessInput) (*Empty, error) {
	if err := checkServicePrincipal(in.ServicePrincipal); err != nil {
		return nil, err
	}
	o, err := s.authorize(ctx, c, "EnableAWSServiceAccess")
	if err != nil {
		return nil, err
	}
	if o.featureSet != featureAll {
		return nil, constraint("ORGANIZATION_NOT_IN_ALL_FEATURES_MODE", "You can't enable trusted access in an organization without all features.")
	}
	if err := s.store.EnableOrgServiceAccess(ctx, store.OrgServiceAccess{ServicePrincipal: in.ServicePrincipal, EnabledAt: s.time()}); err != nil {
		return nil, internal(err, "enable service access")
	}
	return &Empty{}, nil
}

// DisableAWSServiceAccess removes a service's trusted access (none: no
// error).
func (s *Service) DisableAWSServiceAccess(ctx context.Context, c *authz.Caller, in *ServiceAccessInput) (*Empty, error) {
	if err := checkServicePrincipal(in.ServicePrincipal); err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, c, "DisableAWSServiceAccess"); err != nil {
		return nil, err
	}
	if err := s.store.DisableOrgServiceAccess(ctx, in.ServicePrincipal); err != nil {
		return nil, internal(err, "disable service access")
	}
	return &Empty{}, nil
}

// ListAWSServiceAccessForOrganizationInput is the
// ListAWSServiceAccessForOrganization request.
type ListAWSServiceAccessForOrganizationInput struct {
	NextToken  string `json:"NextToken" max:"100000"`
	MaxResults *int32 `json:"MaxResults" min:"1" max:"20"`
}

// ListAWSServiceAccessForOrganizationOutput is the
// ListAWSServiceAccessForOrganization result.
type ListAWSServiceAccessForOrganizationOutput struct {
	EnabledServicePrincipals []EnabledServicePrincipal `json:"EnabledServicePrincipals"`
	NextToken                string                    `json:"NextToken,omitempty"`
}

// ListAWSServiceAccessForOrganization lists the services with trusted
// access, by service principal.
func (s *Service) ListAWSServiceAccessForOrganization(ctx context.Context, c *authz.Caller, in *ListAWSServiceAccessForOrganizationInput) (*ListAWSServiceAccessForOrganizationOutput, error) {
	if _, err := s.authorize(ctx, c, "ListAWSServiceAccessForOrganization"); err != nil {
		return nil, err
	}
	as, err := s.store.ListOrgServiceAccess(ctx)
	if err != nil {
		return nil, internal(err, "list service access")
	}
	pg, next, err := page(as, func(a store.OrgServiceAccess) string { return a.ServicePrincipal }, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := &ListAWSServiceAccessForOrganizationOutput{EnabledServicePrincipals: make([]EnabledServicePrincipal, 0, len(pg)), NextToken: next}
	for _, a := range pg {
		out.EnabledServicePrincipals = append(out.EnabledServicePrincipals, EnabledServicePrincipal{ServicePrincipal: a.ServicePrincipal, DateEnabled: ts(a.EnabledAt)})
	}
	return out, nil
}
