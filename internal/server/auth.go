package server

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/internal/store"
)

var (
	errInvalidToken = apierr.New(apierr.InvalidClientTokenID, "The security token included in the request is invalid.")
	errExpiredToken = apierr.New(apierr.ExpiredToken, "The security token included in the request is expired")
)

// keyCache holds long-term access keys with their opened secrets and the
// caller they authenticate, so that a request costs no store read. Entries
// are stamped with the authorizer's generation: any IAM write (a key
// deactivated, a user renamed) drops them, and a short TTL bounds staleness
// of writes made through other nodes.
type keyCache struct {
	iam   *iam.Service
	users store.Users
	authz *authz.Authorizer
	ttl   time.Duration

	mu      sync.RWMutex
	entries map[string]*keyEntry // entries are immutable once stored
}

type keyEntry struct {
	gen     int64
	expires time.Time
	key     store.AccessKey
	secret  []byte
	caller  authz.Caller
}

func newKeyCache(svc *iam.Service, users store.Users, a *authz.Authorizer) *keyCache {
	return &keyCache{iam: svc, users: users, authz: a, ttl: 5 * time.Second, entries: map[string]*keyEntry{}}
}

// get returns the key, its secret and the caller template; store.ErrNotFound
// for unknown ids.
func (kc *keyCache) get(ctx context.Context, id string, now time.Time) (*keyEntry, error) {
	gen := kc.authz.Generation()
	kc.mu.RLock()
	e, ok := kc.entries[id]
	kc.mu.RUnlock()
	if ok && e.gen == gen && now.Before(e.expires) {
		return e, nil
	}
	k, secret, err := kc.iam.LookupAccessKey(ctx, id)
	if err != nil {
		return nil, err
	}
	e = &keyEntry{gen: gen, expires: now.Add(kc.ttl), key: k, secret: secret}
	c := &e.caller
	c.Account, c.AccessKeyID = k.Account, k.ID
	if k.UserName == "" {
		c.Type, c.ARN, c.UserID = policy.Root, authz.RootARN(k.Account), k.Account
	} else {
		u, err := kc.users.GetUserByID(ctx, k.UserID)
		if err != nil {
			return nil, err
		}
		c.Type, c.ARN, c.UserID, c.UserName = policy.User, authz.UserARN(u.Account, u.Path, u.Name), u.ID, u.Name
	}
	kc.mu.Lock()
	if len(kc.entries) > 100000 {
		clear(kc.entries)
	}
	kc.entries[id] = e
	kc.mu.Unlock()
	return e, nil
}

// globalRegion is the region AWS's global endpoints (iam.amazonaws.com,
// organizations, sts.amazonaws.com) are signed for.
const globalRegion = "us-east-1"

// requestRegion checks the credential scope's region and returns the region
// the request is made in: aws:RequestedRegion, and the access key's
// last-used region.
//
// The endpoint serves its configured region (--region) and, as AWS's global
// endpoints do, us-east-1: SDKs and the CLI pointed at a custom endpoint
// sign with the client's region, which is the server's region or the
// us-east-1 of global services. Any other region is refused with AWS's
// answer. An STS request is made in the region it is signed for (the
// regional endpoint or the global one, as in AWS); IAM and Organizations
// are global services, whose requests are made in us-east-1 whichever of
// the two regions signed them.
func (s *Server) requestRegion(sr *sigv4.Request) (string, error) {
	if sr.Region != s.cfg.Region && sr.Region != globalRegion {
		region := sr.Region
		if len(region) > 64 {
			region = region[:64] + "..."
		}
		// AWS's text, trailing space included.
		return "", apierr.New(apierr.SignatureDoesNotMatch, "Credential should be scoped to a valid region, not '%s'. ", region)
	}
	if sr.Service == "sts" {
		return sr.Region, nil
	}
	return globalRegion, nil
}

// authenticate verifies the request's signature and returns its caller.
// A credential scope for a region the endpoint does not serve gets
// SignatureDoesNotMatch before anything else is looked at (requestRegion).
// Unknown keys, bad tokens and tokens that do not belong to the key all get
// InvalidClientTokenId, as AWS answers; only expiry is told apart.
// now is the request's time (the server clock, read once per request).
func (s *Server) authenticate(ctx context.Context, r *http.Request, sr *sigv4.Request, now time.Time) (*authz.Caller, error) {
	region, err := s.requestRegion(sr)
	if err != nil {
		return nil, err
	}
	c := &authz.Caller{}
	var secret []byte
	temporary := strings.HasPrefix(sr.AccessKeyID, "ASIA")
	switch {
	case temporary || sr.SecurityToken != "":
		if !temporary || sr.SecurityToken == "" {
			return nil, errInvalidToken
		}
		sess, sec, err := s.sessions.Verify(sr.AccessKeyID, sr.SecurityToken)
		switch {
		case errors.Is(err, session.ErrExpired):
			return nil, errExpiredToken
		case err != nil:
			return nil, errInvalidToken
		}
		secret = sec
		fillSessionCaller(c, sess)
	default:
		e, err := s.keys.get(ctx, sr.AccessKeyID, now)
		if errors.Is(err, store.ErrNotFound) {
			return nil, errInvalidToken
		}
		if err != nil {
			return nil, apierr.Internal(err)
		}
		if e.key.Status != "Active" {
			return nil, errInvalidToken
		}
		*c = e.caller
		secret = e.secret
	}
	if err := s.sigv4.Verify(sr, secret); err != nil {
		return nil, err
	}
	if !temporary {
		// Last-used tracking; the store coalesces these writes.
		_ = s.store.TouchAccessKey(ctx, sr.AccessKeyID, now, sr.Service, region)
	}
	c.Region = region
	c.Now = now
	c.UserAgent = r.UserAgent()
	c.SecureTransport = r.TLS != nil
	if host, ok := remoteHost(r.RemoteAddr); ok {
		c.SourceIP = host
	}
	return c, nil
}

// remoteHost is net.SplitHostPort's host, with a fast path for the common
// "ipv4:port" form (one colon, no brackets).
func remoteHost(addr string) (string, bool) {
	if i := strings.IndexByte(addr, ':'); i >= 0 && strings.IndexByte(addr[i+1:], ':') < 0 && !strings.ContainsAny(addr, "[]") {
		return addr[:i], true
	}
	host, _, err := net.SplitHostPort(addr)
	return host, err == nil
}

func fillSessionCaller(c *authz.Caller, s *session.Session) {
	c.Account, c.AccessKeyID, c.Session = s.Account, s.AccessKeyID, s
	c.ARN, c.UserID = s.ARN, s.PrincipalID
	switch s.Type {
	case session.AssumedRole, session.WebIdentity, session.SAML:
		c.Type = policy.AssumedRole
	case session.FederatedUser:
		c.Type, c.UserName = policy.FederatedUser, s.UserName
	case session.SessionToken:
		if s.UserName == "" {
			c.Type = policy.Root
		} else {
			c.Type, c.UserName = policy.User, s.UserName
		}
	}
}
