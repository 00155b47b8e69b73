package iam

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"slices"
	"strconv"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// The credential report: one CSV line per user (the root user first) with
// the state of its password, MFA, access keys and signing certificates, in
// AWS's columns. GenerateCredentialReport builds it when asked (unless the
// account has one younger than reportMaxAge) and stores it;
// GetCredentialReport returns the stored one until it is reportMaxAge old.

const reportMaxAge = 4 * time.Hour

// credentialReportColumns are AWS's columns, in AWS's order.
var credentialReportColumns = []string{
	"user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed", "password_next_rotation", "mfa_active",
	"access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
	"access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date", "access_key_2_last_used_region", "access_key_2_last_used_service",
	"cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
}

// reportTime formats a time as the report does; the zero time is N/A.
func reportTime(t time.Time) string {
	if t.IsZero() {
		return "N/A"
	}
	return t.UTC().Format("2006-01-02T15:04:05+00:00")
}

func orNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

// GenerateCredentialReportInput is the (empty) input of GenerateCredentialReport.
type GenerateCredentialReportInput struct{}

// GenerateCredentialReportOutput is the output of GenerateCredentialReport.
type GenerateCredentialReportOutput struct {
	State       string `xml:"State"`
	Description string `xml:"Description,omitempty"`
}

// GenerateCredentialReport builds the account's report: STARTED when it
// built a new one, COMPLETE when a recent one exists already.
func (s *Service) GenerateCredentialReport(ctx context.Context, c *authz.Caller, _ *GenerateCredentialReportInput) (*GenerateCredentialReportOutput, error) {
	if err := s.check(ctx, c, "iam:GenerateCredentialReport", "*"); err != nil {
		return nil, err
	}
	r, err := s.store.GetCredentialReport(ctx, c.Account)
	switch {
	case err == nil && s.now().Sub(r.GeneratedAt) < reportMaxAge:
		return &GenerateCredentialReportOutput{State: "COMPLETE"}, nil
	case err != nil && !isNotFound(err):
		return nil, internal(err, "load credential report")
	}
	content, err := s.credentialReport(ctx, c.Account)
	if err != nil {
		return nil, err
	}
	if err := s.store.PutCredentialReport(ctx, store.CredentialReport{Account: c.Account, GeneratedAt: s.time(), Content: content}); err != nil {
		return nil, internal(err, "store credential report")
	}
	return &GenerateCredentialReportOutput{State: "STARTED", Description: "No report exists. Starting a new report generation task"}, nil
}

// GetCredentialReportInput is the (empty) input of GetCredentialReport.
type GetCredentialReportInput struct{}

// GetCredentialReportOutput is the output of GetCredentialReport; Content
// is the base64 of the CSV (a blob).
type GetCredentialReportOutput struct {
	Content       string    `xml:"Content" sensitive:"true"` // not in the audit trail: a whole report per event
	ReportFormat  string    `xml:"ReportFormat"`
	GeneratedTime time.Time `xml:"GeneratedTime"`
}

// GetCredentialReport returns the account's report.
func (s *Service) GetCredentialReport(ctx context.Context, c *authz.Caller, _ *GetCredentialReportInput) (*GetCredentialReportOutput, error) {
	if err := s.check(ctx, c, "iam:GetCredentialReport", "*"); err != nil {
		return nil, err
	}
	r, err := s.store.GetCredentialReport(ctx, c.Account)
	if isNotFound(err) {
		return nil, apierr.New(apierr.ReportNotPresent, "Credential report not present. Use GenerateCredentialReport to generate a report.")
	}
	if err != nil {
		return nil, internal(err, "load credential report")
	}
	if s.now().Sub(r.GeneratedAt) >= reportMaxAge {
		return nil, apierr.New(apierr.ReportExpired, "Credential report is expired. Use GenerateCredentialReport to generate a new report.")
	}
	return &GetCredentialReportOutput{Content: base64.StdEncoding.EncodeToString(r.Content), ReportFormat: "text/csv", GeneratedTime: r.GeneratedAt.UTC()}, nil
}

// credentialReport builds the CSV of account.
func (s *Service) credentialReport(ctx context.Context, account string) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(credentialReportColumns); err != nil {
		return nil, apierr.Internal(err)
	}
	acct, err := s.store.GetAccount(ctx, account)
	if err != nil {
		return nil, internal(err, "load account")
	}
	policy, err := s.store.GetPasswordPolicy(ctx, account)
	hasPolicy := err == nil
	if err != nil && !isNotFound(err) {
		return nil, internal(err, "load password policy")
	}
	root, err := s.reportLine(ctx, account, "")
	if err != nil {
		return nil, err
	}
	line := append([]string{"<root_account>", rootARN(account), reportTime(acct.CreatedAt), "not_supported", "no_information", "not_supported", "not_supported"}, root...)
	if err := w.Write(line); err != nil {
		return nil, apierr.Internal(err)
	}
	opt := store.ListOptions{Limit: 1000}
	for {
		users, err := s.store.ListUsers(ctx, account, opt)
		if err != nil {
			return nil, internal(err, "list users")
		}
		for _, u := range users {
			creds, err := s.reportLine(ctx, account, u.Name)
			if err != nil {
				return nil, err
			}
			enabled, changed, next := "false", "N/A", "N/A"
			p, err := s.store.GetLoginProfile(ctx, account, u.Name)
			switch {
			case err == nil:
				enabled, changed = "true", reportTime(p.PasswordChangedAt)
				if hasPolicy && policy.MaxPasswordAge > 0 {
					next = reportTime(p.PasswordChangedAt.AddDate(0, 0, policy.MaxPasswordAge))
				}
			case !isNotFound(err):
				return nil, internal(err, "load login profile of "+u.Name)
			}
			lastUsed := "N/A"
			if enabled == "true" {
				lastUsed = "no_information"
			}
			line := append([]string{u.Name, userARN(account, u.Path, u.Name), reportTime(u.CreatedAt), enabled, lastUsed, changed, next}, creds...)
			if err := w.Write(line); err != nil {
				return nil, apierr.Internal(err)
			}
		}
		if len(users) < opt.Limit {
			break
		}
		opt.After = users[len(users)-1].Name
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, apierr.Internal(err)
	}
	return buf.Bytes(), nil
}

// reportLine is the mfa_active, access key and certificate columns of a
// user ("" for the root user).
func (s *Service) reportLine(ctx context.Context, account, user string) ([]string, error) {
	devices, err := s.store.ListUserMFADevices(ctx, account, user)
	if err != nil {
		return nil, internal(err, "list MFA devices")
	}
	out := []string{strconv.FormatBool(len(devices) > 0)}
	keys, err := s.store.ListAccessKeys(ctx, account, user)
	if err != nil {
		return nil, internal(err, "list access keys")
	}
	slices.SortFunc(keys, func(a, b store.AccessKey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for i := range maxAccessKeysPerUser {
		if i >= len(keys) {
			out = append(out, "false", "N/A", "N/A", "N/A", "N/A")
			continue
		}
		k := keys[i]
		out = append(out, strconv.FormatBool(k.Status == statusActive), reportTime(k.CreatedAt), reportTime(k.LastUsedAt), orNA(k.LastUsedRegion), orNA(k.LastUsedService))
	}
	var certs []store.UserCredential
	if user != "" {
		if certs, err = s.listCredentials(ctx, account, user, store.CredentialSigningCert); err != nil {
			return nil, err
		}
	}
	for i := range credentialKinds[store.CredentialSigningCert].max {
		if i >= len(certs) {
			out = append(out, "false", "N/A")
			continue
		}
		out = append(out, strconv.FormatBool(certs[i].Status == statusActive), reportTime(certs[i].CreatedAt))
	}
	return out, nil
}
