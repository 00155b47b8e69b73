package org

import (
	"context"
	"fmt"

	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// Bootstrap makes the organization exist, idempotently: its id, its root id,
// the AWS managed FullAWSAccess SCP, and (once) that policy's attachment to
// the root and to every account, as AWS does when an organization is
// created. Call it at every start, after the management account exists.
func (s *Service) Bootstrap(ctx context.Context, managementAccount string) error {
	if _, err := s.store.GetAccount(ctx, managementAccount); err != nil {
		return fmt.Errorf("bootstrap organization: management account %s: %w", managementAccount, err)
	}
	s.mu.Lock()
	s.mgmt = managementAccount
	s.mu.Unlock()

	suffix, err := s.randomString(lowerDigits, 10)
	if err != nil {
		return err
	}
	if _, err := s.store.PutSettingIfAbsent(ctx, OrgIDSetting, "o-"+suffix); err != nil {
		return fmt.Errorf("bootstrap organization id: %w", err)
	}
	if suffix, err = s.randomString(lowerDigits, 4); err != nil {
		return err
	}
	root, err := s.store.PutSettingIfAbsent(ctx, authz.OrgRootSetting, "r-"+suffix)
	if err != nil {
		return fmt.Errorf("bootstrap organization root: %w", err)
	}
	full := store.OrgPolicy{ID: FullAWSAccessID, Name: fullAWSAccessName, Description: fullAWSAccessDesc, Type: scpType,
		Content: fullAWSAccessContent, AWSManaged: true}
	if err := s.store.CreateOrgPolicy(ctx, full); err != nil && !isExists(err) {
		return fmt.Errorf("bootstrap %s: %w", fullAWSAccessName, err)
	}

	if _, err := s.store.GetSetting(ctx, fullAccessAttachedSetting); err == nil {
		return nil
	} else if !isNotFound(err) {
		return fmt.Errorf("bootstrap organization: %w", err)
	}
	accounts, err := s.store.ListAccounts(ctx, store.ListOptions{}) // once, on first start
	if err != nil {
		return fmt.Errorf("bootstrap organization: %w", err)
	}
	targets := []string{root}
	for _, a := range accounts {
		targets = append(targets, a.ID)
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
