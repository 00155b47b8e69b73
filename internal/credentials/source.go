// Package credentials delivers role credentials from OpenSTS to workloads
// the way AWS delivers them on ECS and EC2, so that unmodified SDKs and the
// AWS CLI pick them up with no code change: the container credentials
// provider protocol (AWS_CONTAINER_CREDENTIALS_FULL_URI), the instance
// metadata service's IMDSv2 paths, and the credential_process JSON.
//
// A Source holds one role's current credentials. It assumes the role with
// whatever identity the caller gives it (cmd/opensts uses the standard AWS
// credential chain, so a web identity token file works and no secret needs
// to be on the machine) and refreshes them well before they expire; the
// servers only read what it holds.
package credentials

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// AssumeFunc obtains a new set of role credentials.
type AssumeFunc func(ctx context.Context) (aws.Credentials, error)

// Config configures a Source.
type Config struct {
	// RoleARN is the role the credentials are for (reported by the
	// container and IMDS protocols).
	RoleARN string
	// Assume obtains new credentials.
	Assume AssumeFunc
	// Margin is how long before expiry the credentials are replaced
	// (0: a quarter of their lifetime, at least 5 minutes when the lifetime
	// allows).
	Margin time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives refresh failures (default slog.Default()).
	Log *slog.Logger
}

// Source holds one role's current credentials and refreshes them.
type Source struct {
	cfg Config

	mu      sync.Mutex
	cur     aws.Credentials
	updated time.Time
	have    bool
	err     error
}

// ErrNoCredentials is returned by Get before any credentials were obtained
// and after the last ones expired.
var ErrNoCredentials = errors.New("credentials: none available")

// NewSource returns a Source; call Refresh (or Run) to fill it.
func NewSource(cfg Config) *Source {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Source{cfg: cfg}
}

// RoleName is the last path element of the role's ARN, as IMDS names it.
func (s *Source) RoleName() string {
	arn := s.cfg.RoleARN
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}

// Get returns the current credentials and when they were obtained. It
// never returns expired credentials.
func (s *Source) Get() (aws.Credentials, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.have || (s.cur.CanExpire && !s.cfg.Now().Before(s.cur.Expires)) {
		if s.err != nil {
			return aws.Credentials{}, time.Time{}, s.err
		}
		return aws.Credentials{}, time.Time{}, ErrNoCredentials
	}
	return s.cur, s.updated, nil
}

// Refresh obtains new credentials now.
func (s *Source) Refresh(ctx context.Context) error {
	c, err := s.cfg.Assume(ctx)
	if err == nil && c.AccessKeyID == "" {
		err = errors.New("credentials: the role's credentials are empty")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.err = err
		return err
	}
	s.cur, s.updated, s.have, s.err = c, s.cfg.Now(), true, nil
	return nil
}

// due is when the current credentials should be replaced.
func (s *Source) due() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Now()
	if !s.have || !s.cur.CanExpire {
		if s.have {
			return now.Add(time.Hour)
		}
		return now
	}
	margin := s.cfg.Margin
	if margin <= 0 {
		life := s.cur.Expires.Sub(s.updated)
		margin = max(life/4, min(5*time.Minute, life/2))
	}
	return s.cur.Expires.Add(-margin)
}

// Run refreshes the credentials before they expire until ctx ends. A
// failed refresh is retried with backoff (1 s doubling to 1 minute) while
// the current credentials stay in use.
func (s *Source) Run(ctx context.Context) {
	backoff := time.Second
	refreshed := false
	for {
		wait := s.due().Sub(s.cfg.Now())
		if refreshed && wait < time.Second {
			// Credentials that live shorter than the margin: at most one
			// refresh a second.
			wait = time.Second
		}
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		if err := s.Refresh(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.cfg.Log.Warn("credentials: refresh failed; retrying", "role", s.cfg.RoleARN, "in", backoff.String(), "error", err)
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			backoff = min(2*backoff, time.Minute)
			refreshed = false
			continue
		}
		backoff, refreshed = time.Second, true
	}
}
