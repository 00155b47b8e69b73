package sts

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/mfa"
	"github.com/opensts/opensts/internal/policy"
)

func TestCheckMFA(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	type call struct{ account, user, serial, code string }
	var got []call
	result := error(nil)
	s := New(Config{Now: func() time.Time { return now }, MFA: MFACheckerFunc(func(_ context.Context, account, user, serial, code string, at time.Time) error {
		if !at.Equal(now) {
			t.Errorf("checked at %v", at)
		}
		got = append(got, call{account, user, serial, code})
		return result
	})})
	user := &authz.Caller{Account: "123456789012", Type: policy.User, UserName: "alice"}
	root := &authz.Caller{Account: "123456789012", Type: policy.Root}
	role := &authz.Caller{Account: "123456789012", Type: policy.AssumedRole}
	const serial = "arn:aws:iam::123456789012:mfa/alice"

	for _, tc := range []struct {
		name    string
		c       *authz.Caller
		serial  string
		code    string
		result  error
		want    string // message, "" for success
		checked bool
	}{
		{"user ok", user, serial, "123456", nil, "", true},
		{"root ok", root, serial, "123456", nil, "", true},
		{"role session has no device", role, serial, "123456", nil, msgMFAUnknown, false},
		{"serial without code", user, serial, "", nil, msgMFAUnknown, false},
		{"code without serial", user, "", "123456", nil, msgMFAUnknown, false},
		{"unknown device", user, serial, "123456", mfa.ErrUnknownDevice, msgMFAUnknown, true},
		{"wrong code", user, serial, "123456", mfa.ErrInvalidCode, msgMFAInvalid, true},
		{"throttled", user, serial, "123456", mfa.ErrThrottled, msgMFAThrottled, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, result = nil, tc.result
			err := s.checkMFA(context.Background(), tc.c, tc.serial, tc.code)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				e, ok := apierr.As(err)
				if !ok || e.Code != apierr.AccessDenied || e.Message != tc.want {
					t.Fatalf("err = %v, want AccessDenied %q", err, tc.want)
				}
			}
			if (len(got) == 1) != tc.checked {
				t.Fatalf("checker calls = %v", got)
			}
			if tc.checked && got[0].user != tc.c.UserName {
				t.Fatalf("checked user %q", got[0].user)
			}
		})
	}

	// Store failures are internal, never an MFA verdict.
	result = errors.New("database is down")
	e, ok := apierr.As(s.checkMFA(context.Background(), user, serial, "123456"))
	if !ok || e.Code == apierr.AccessDenied {
		t.Fatalf("internal error became %v", e)
	}
	// Without a checker every code fails closed.
	closed := New(Config{})
	if e, ok := apierr.As(closed.checkMFA(context.Background(), user, serial, "123456")); !ok || e.Code != apierr.AccessDenied {
		t.Fatal("no checker must deny")
	}
}
