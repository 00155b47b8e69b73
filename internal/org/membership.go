package org

import (
	"context"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Membership: accounts close, leave or are removed, and the organization is
// deleted once it has no members but the management account. An account
// that left stays an account of the deployment (standalone): its principals
// keep working, no SCP applies to it, and an invitation can bring it back.

// closingPeriod is how long a closed account reports PENDING_CLOSURE before
// it reports SUSPENDED (AWS: minutes to hours). Its principals are denied
// everything from the moment CloseAccount returns.
const closingPeriod = time.Minute

// closeWindow and the quota bound how many accounts close: 10% of the
// members (at least 10, at most 1000) in a rolling 30 days, as AWS does.
const closeWindow = 30 * 24 * time.Hour

// accountStatus is an account's Status and State as AWS reports them.
func accountStatus(a store.Account, now time.Time) (status, state string) {
	switch {
	case a.ClosedAt.IsZero():
		return "ACTIVE", "ACTIVE"
	case now.Before(a.ClosedAt.Add(closingPeriod)):
		return "PENDING_CLOSURE", "PENDING_CLOSURE"
	default:
		return "SUSPENDED", "CLOSED"
	}
}

// getMember loads a member account of the organization by a validated id:
// AccountNotFoundException if there is none or it is standalone.
func (s *Service) getMember(ctx context.Context, id string) (store.Account, error) {
	a, err := s.store.GetAccount(ctx, id)
	if isNotFound(err) || err == nil && a.Standalone {
		return store.Account{}, errAccountNotFound()
	}
	if err != nil {
		return store.Account{}, internal(err, "get account "+id)
	}
	return a, nil
}

// members lists the accounts of the organization, management account
// included, by id.
func (s *Service) members(ctx context.Context) ([]store.Account, error) {
	var out []store.Account
	for after := ""; ; {
		as, err := s.store.ListAccounts(ctx, store.ListOptions{After: after, Limit: 1000})
		if err != nil {
			return nil, internal(err, "list accounts")
		}
		for _, a := range as {
			if !a.Standalone {
				out = append(out, a)
			}
		}
		if len(as) < 1000 {
			return out, nil
		}
		after = as[len(as)-1].ID
	}
}

// self admits a principal of any account of the deployment for the actions
// a member account calls about itself (LeaveOrganization, the handshake
// actions): it loads the caller's account (AccessDeniedException for an
// account the deployment does not have), authorizes "organizations:"+action
// on "*" with the caller's own policies, then loads the organization (org{}
// with AWSOrganizationsNotInUseException when there is none).
func (s *Service) self(ctx context.Context, c *authz.Caller, action string) (store.Account, org, error) {
	a, mgmt, err := s.callerAccount(ctx, c)
	if err != nil {
		return store.Account{}, org{}, err
	}
	if err := s.check(ctx, c, org{mgmt: mgmt}, action); err != nil {
		return store.Account{}, org{}, err
	}
	o, err := s.load(ctx)
	return a, o, err
}

// selfOn is self for an action on a resource of the organization, with
// keys in the request's context (DescribeEffectivePolicy: the target
// account's ARN and organizations:PolicyType), where self decides on "*"
// without keys: a caller denied a policy type or an account was answered
// (an attack review read a tag policy it was denied), and one allowed only
// those was refused. The resource is "*" while there is no organization.
func (s *Service) selfOn(ctx context.Context, c *authz.Caller, action string, keys []authz.Key, resource func(store.Account, org) string) (store.Account, org, error) {
	a, mgmt, err := s.callerAccount(ctx, c)
	if err != nil {
		return store.Account{}, org{}, err
	}
	// Loaded before the decision, which needs its id for the resource;
	// its error (none in use, say) is told only to a caller allowed.
	o, loadErr := s.load(ctx)
	res := "*"
	if loadErr == nil {
		res = resource(a, o)
	}
	if err := s.checkKeys(ctx, c, org{mgmt: mgmt}, action, keys, func(org) string { return res }); err != nil {
		return store.Account{}, org{}, err
	}
	return a, o, loadErr
}

// callerAccount loads the caller's account and returns it with the
// management account's id: AccessDeniedException for a caller of no
// account the deployment has.
func (s *Service) callerAccount(ctx context.Context, c *authz.Caller) (store.Account, string, error) {
	s.mu.RLock()
	mgmt := s.mgmt
	s.mu.RUnlock()
	if c == nil || mgmt == "" || c.Account == "" {
		return store.Account{}, "", errDenied()
	}
	a, err := s.store.GetAccount(ctx, c.Account)
	if isNotFound(err) {
		return store.Account{}, "", errDenied()
	}
	if err != nil {
		return store.Account{}, "", internal(err, "get account "+c.Account)
	}
	return a, mgmt, nil
}

func errMasterCannotLeave() *apierr.Error {
	return apierr.New(apierr.MasterCannotLeaveOrganizationException,
		"You can't remove a management account from an organization. If you want the management account to become a member account in another organization, you must first delete the current organization of the management account.")
}

// Empty is the request or result of the actions that take or return nothing.
type Empty struct{}

// CloseAccountInput is the CloseAccount request.
type CloseAccountInput struct {
	AccountID string `json:"AccountId" max:"12" pattern:"^\\d{12}$"`
}

// CloseAccount closes a member account: it reports PENDING_CLOSURE, then
// SUSPENDED (State CLOSED), and stays in the organization, as in AWS. Its
// principals, root included, are denied every request from then on.
func (s *Service) CloseAccount(ctx context.Context, c *authz.Caller, in *CloseAccountInput) (*Empty, error) {
	if !accountIDPattern.MatchString(in.AccountID) {
		return nil, invalidInput("You specified an invalid value for accountId.")
	}
	o, err := s.authorize(ctx, c, "CloseAccount", accountResource(in.AccountID))
	if err != nil {
		return nil, err
	}
	if in.AccountID == o.mgmt {
		return nil, constraint("CANNOT_CLOSE_MANAGEMENT_ACCOUNT", "You can't close the management account with this operation.")
	}
	a, err := s.getMember(ctx, in.AccountID)
	if err != nil {
		return nil, err
	}
	if !a.ClosedAt.IsZero() {
		return nil, apierr.New(apierr.AccountAlreadyClosedException, "You attempted to close an account that is already closed.")
	}
	now := s.time()
	ms, err := s.members(ctx)
	if err != nil {
		return nil, err
	}
	recent := 0
	for _, m := range ms {
		if !m.ClosedAt.IsZero() && now.Sub(m.ClosedAt) < closeWindow {
			recent++
		}
	}
	if recent >= min(max(len(ms)/10, 10), 1000) {
		return nil, constraint("CLOSE_ACCOUNT_QUOTA_EXCEEDED", "You have exceeded the number of accounts you can close in a rolling 30 day period.")
	}
	switch err := s.store.CloseOrgAccount(ctx, in.AccountID, now); {
	case isNotFound(err):
		return nil, errAccountNotFound()
	case isConflict(err):
		return nil, apierr.New(apierr.AccountAlreadyClosedException, "You attempted to close an account that is already closed.")
	case err != nil:
		return nil, internal(err, "close account "+in.AccountID)
	}
	return &Empty{}, nil
}

// RemoveAccountFromOrganizationInput is the RemoveAccountFromOrganization
// request.
type RemoveAccountFromOrganizationInput struct {
	AccountID string `json:"AccountId" max:"12" pattern:"^\\d{12}$"`
}

// RemoveAccountFromOrganization makes a member account standalone: it
// leaves its OU and loses its policy attachments and tags. The management
// account cannot be removed, nor a delegated administrator.
func (s *Service) RemoveAccountFromOrganization(ctx context.Context, c *authz.Caller, in *RemoveAccountFromOrganizationInput) (*Empty, error) {
	if !accountIDPattern.MatchString(in.AccountID) {
		return nil, invalidInput("You specified an invalid value for accountId.")
	}
	o, err := s.authorize(ctx, c, "RemoveAccountFromOrganization", accountResource(in.AccountID))
	if err != nil {
		return nil, err
	}
	if in.AccountID == o.mgmt {
		return nil, errMasterCannotLeave()
	}
	if _, err := s.getMember(ctx, in.AccountID); err != nil {
		return nil, err
	}
	return &Empty{}, s.remove(ctx, in.AccountID)
}

// remove takes a member out of the organization, unless it is a delegated
// administrator.
func (s *Service) remove(ctx context.Context, id string) error {
	das, err := s.store.ListOrgDelegatedAdmins(ctx)
	if err != nil {
		return internal(err, "list delegated administrators")
	}
	for _, d := range das {
		if d.Account == id {
			return constraint("CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG",
				"You can't remove an account that is a delegated administrator: deregister it first.")
		}
	}
	switch err := s.store.RemoveOrgAccount(ctx, id); {
	case isNotFound(err):
		return errAccountNotFound()
	case err != nil:
		return internal(err, "remove account "+id)
	}
	return nil
}

// LeaveOrganization takes the caller's account out of its organization.
// The management account cannot leave; SCPs can deny the action, as for any
// other.
func (s *Service) LeaveOrganization(ctx context.Context, c *authz.Caller, _ *Empty) (*Empty, error) {
	a, o, err := s.self(ctx, c, "LeaveOrganization")
	if err != nil {
		return nil, err
	}
	if a.Standalone {
		return nil, errNotInUse()
	}
	if a.ID == o.mgmt || a.Management {
		return nil, errMasterCannotLeave()
	}
	return &Empty{}, s.remove(ctx, a.ID)
}

// DeleteOrganization deletes the organization once it has no member
// accounts but the management account (closed ones count until they are
// removed): its root, OUs, customer policies, handshakes, delegated
// administrators and trusted services go with it. The deployment is
// standalone again, and CreateOrganization can make a new one.
func (s *Service) DeleteOrganization(ctx context.Context, c *authz.Caller, _ *Empty) (*Empty, error) {
	o, err := s.authorize(ctx, c, "DeleteOrganization")
	if err != nil {
		return nil, err
	}
	ms, err := s.members(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.ID != o.mgmt {
			return nil, apierr.New(apierr.OrganizationNotEmptyException,
				"To delete an organization you must first remove all member accounts (except the management account).")
		}
	}
	s.create1.Lock() // not while CreateOrganization runs on this node
	defer s.create1.Unlock()
	if err := s.store.DeleteOrg(ctx); err != nil {
		return nil, internal(err, "delete organization")
	}
	return &Empty{}, nil
}
