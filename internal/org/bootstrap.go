package org

import (
	"context"
	"fmt"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Bootstrap tells the service its management account, at every start after
// the account exists. A deployment starts standalone, as an AWS account
// does: the organization exists only once CreateOrganization made it (or an
// earlier version made it at first start, which it keeps). When it exists,
// Bootstrap finishes what an interrupted creation left undone.
func (s *Service) Bootstrap(ctx context.Context, managementAccount string) error {
	if _, err := s.store.GetAccount(ctx, managementAccount); err != nil {
		return fmt.Errorf("bootstrap organization: management account %s: %w", managementAccount, err)
	}
	s.mu.Lock()
	s.mgmt = managementAccount
	s.mu.Unlock()
	o, err := s.load(ctx)
	if e, ok := apierr.As(err); ok && e.Code == apierr.OrganizationsNotInUseException {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bootstrap organization: %w", err)
	}
	return s.complete(ctx, o)
}

// create makes the organization: its root, its feature set, the AWS managed
// FullAWSAccess SCP and (with all features) that policy's attachment to the
// root and to every account, as AWS does; the organization id is written
// last, so a creation that failed halfway is retried whole. It returns false
// when another creation won.
func (s *Service) create(ctx context.Context, featureSet string) (bool, error) {
	suffix, err := s.randomString(lowerDigits, 4)
	if err != nil {
		return false, err
	}
	root, err := s.store.PutSettingIfAbsent(ctx, authz.OrgRootSetting, "r-"+suffix)
	if err != nil {
		return false, fmt.Errorf("create organization root: %w", err)
	}
	if err := s.store.PutSetting(ctx, featureSetSetting, featureSet); err != nil {
		return false, fmt.Errorf("create organization: %w", err)
	}
	s.mu.RLock()
	o := org{root: root, mgmt: s.mgmt, featureSet: featureSet}
	s.mu.RUnlock()
	if err := s.complete(ctx, o); err != nil {
		return false, err
	}
	if suffix, err = s.randomString(lowerDigits, 10); err != nil {
		return false, err
	}
	id, err := s.store.PutSettingIfAbsent(ctx, OrgIDSetting, "o-"+suffix)
	if err != nil {
		return false, fmt.Errorf("create organization id: %w", err)
	}
	return id == "o-"+suffix, nil
}

// complete makes sure FullAWSAccess and RCPFullAWSAccess exist and once and with all features,
// is attached to the root and to the accounts that exist then; without all
// features, that no policy type is taken as enabled.
func (s *Service) complete(ctx context.Context, o org) error {
	full := store.OrgPolicy{ID: FullAWSAccessID, Name: fullAWSAccessName, Description: fullAWSAccessDesc, Type: scpType,
		Content: fullAWSAccessContent, AWSManaged: true}
	if err := s.store.CreateOrgPolicy(ctx, full); err != nil && !isExists(err) {
		return fmt.Errorf("bootstrap %s: %w", fullAWSAccessName, err)
	}
	rcpFull := store.OrgPolicy{ID: RCPFullAWSAccessID, Name: rcpFullAWSAccessName, Description: rcpFullAWSAccessDesc, Type: rcpType,
		Content: rcpFullAWSAccessContent, AWSManaged: true}
	if err := s.store.CreateOrgPolicy(ctx, rcpFull); err != nil && !isExists(err) {
		return fmt.Errorf("bootstrap %s: %w", rcpFullAWSAccessName, err)
	}
	if o.featureSet != featureAll {
		// No policy type is enabled: without the setting the policy engine
		// would take SCPs as enabled, with no FullAWSAccess on the root, and
		// deny every member account's principals everything (organizations
		// made before this was written get it at the next start).
		if _, err := s.store.PutSettingIfAbsent(ctx, authz.OrgPolicyTypesSetting, ""); err != nil {
			return fmt.Errorf("bootstrap organization: %w", err)
		}
		return nil
	}
	if _, err := s.store.GetSetting(ctx, fullAccessAttachedSetting); err == nil {
		return nil
	} else if !isNotFound(err) {
		return fmt.Errorf("bootstrap organization: %w", err)
	}
	accounts, err := s.store.ListAccounts(ctx, store.ListOptions{})
	if err != nil {
		return fmt.Errorf("bootstrap organization: %w", err)
	}
	targets := []string{o.root}
	for _, a := range accounts {
		if !a.Standalone {
			targets = append(targets, a.ID)
		}
	}
	for _, t := range targets {
		err := s.store.AttachOrgPolicy(ctx, store.OrgAttachment{PolicyID: FullAWSAccessID, TargetID: t})
		if err != nil && !isExists(err) {
			return fmt.Errorf("bootstrap organization: %w", err)
		}
	}
	if err := s.store.PutSetting(ctx, fullAccessAttachedSetting, "true"); err != nil {
		return fmt.Errorf("bootstrap organization: %w", err)
	}
	return nil
}
