package sts

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/session"
)

// A token GetWebIdentityToken mints carries, sealed (only this deployment
// reads it), the chain a session minted from it in this deployment joins:
// the caller's ancestors and the caller. AssumeRoleWithWebIdentity of a
// token of its own issuer puts that chain in the session it mints and
// refuses the token when the revocation set refuses the chain, so that
// revoking the session that minted the token, its principal, its role or
// its account reaches the token too. Before, a session revoked after it
// minted a token traded the token for a fresh session nothing tied to it
// (found by a review as an attacker). A relying party elsewhere sees an
// opaque string: the chain's access key ids and ARNs are not its business.

// ChainSealer seals and opens the chain claim (seal.Sealer).
type ChainSealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// RevocationCheck reports whether the revocation set refuses s at now
// (session.Revocations.Revoked).
type RevocationCheck func(s *session.Session, now time.Time) bool

const (
	// chainClaim holds the sealed chain.
	chainClaim = "https://opensts.dev/chain"
	chainAAD   = "opensts-web-identity-chain-v2"
)

// deflaters are the chain's compressors: one is some 800 KiB, too much to
// allocate a token.
var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestCompression) // the level is valid
	return w
}}

// webIdentityChain is what chainClaim seals.
type webIdentityChain struct {
	Keys   []string `json:"k"`
	ARNs   []string `json:"a"`
	Issued []int64  `json:"i"` // Unix seconds; 0: not known
	Origin string   `json:"o,omitempty"`
}

// sealChain returns the chain claim of a token c mints at now, "" when
// there is no sealer (or no caller to chain from).
func (s *Service) sealChain(c *authz.Caller, now time.Time) (string, error) {
	if s.chains == nil || c == nil || c.AccessKeyID == "" {
		return "", nil
	}
	var ch webIdentityChain
	if p := c.Session; p != nil {
		ch.Keys = append(slices.Clone(p.ChainKeys), c.AccessKeyID)
		ch.ARNs = append(slices.Clone(p.ChainARNs), c.ARN)
		for _, t := range session.ChainIssuedAfter(p) {
			ch.Issued = append(ch.Issued, unixOrZero(t))
		}
		ch.Origin = p.SourceAccessKeyID
	} else {
		// A long-term key starts the chain; the token's minting time
		// stands for the first session's, by which a revocation of what
		// the key started before some time judges it.
		ch.Keys, ch.ARNs, ch.Issued, ch.Origin = []string{c.AccessKeyID}, []string{c.ARN}, []int64{now.Unix()}, c.AccessKeyID
	}
	if len(ch.Keys) > chainLimit(ch.Keys) {
		return "", apierr.New(apierr.ValidationError, "The role chain is too long")
	}
	b, err := json.Marshal(ch)
	if err != nil {
		return "", internal(err, "get web identity token: chain")
	}
	// Deflated: the ARNs of a chain repeat its account and roles, and a
	// token must stay within what AssumeRoleWithWebIdentity takes.
	var z bytes.Buffer
	w := deflaters.Get().(*flate.Writer)
	w.Reset(&z)
	_, _ = w.Write(b)
	err = w.Close()
	deflaters.Put(w)
	if err != nil {
		return "", internal(err, "get web identity token: chain")
	}
	sealed, err := s.chains.Seal(z.Bytes(), []byte(chainAAD))
	if err != nil {
		return "", internal(err, "get web identity token: seal the chain")
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// openChain puts the chain a token of this deployment carries into sess,
// and refuses the token when the revocation set refuses that chain. Only
// the master key opens the claim: one that opens is this deployment's,
// whatever issuer URL this node has (a node without --web-identity-issuer,
// or with another, still enforces it); one that does not is another
// deployment's, refused only under this node's own issuer. A token without
// one (minted before tokens carried it) chains from nothing.
func (s *Service) openChain(claims map[string][]string, ours bool, sess *session.Session, now time.Time) error {
	v := claims[chainClaim]
	if len(v) == 0 || s.chains == nil {
		return nil
	}
	bad := apierr.New(apierr.InvalidIdentityToken, "The web identity token's chain claim is not valid")
	if len(v) != 1 {
		if ours {
			return bad
		}
		return nil
	}
	sealed, err := base64.RawURLEncoding.DecodeString(v[0])
	var b []byte
	if err == nil {
		b, err = s.chains.Open(sealed, []byte(chainAAD))
	}
	if err != nil {
		if ours {
			return bad
		}
		return nil
	}
	b, err = io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), 1<<20))
	if err != nil {
		return bad
	}
	var ch webIdentityChain
	if err := json.Unmarshal(b, &ch); err != nil || len(ch.Keys) != len(ch.ARNs) || len(ch.Issued) != len(ch.Keys) || len(ch.Keys) > chainLimit(ch.Keys) {
		return bad
	}
	sess.ChainKeys, sess.ChainARNs, sess.SourceAccessKeyID = ch.Keys, ch.ARNs, ch.Origin
	sess.ChainIssued = make([]time.Time, len(ch.Issued))
	for i, t := range ch.Issued {
		if t > 0 {
			sess.ChainIssued[i] = time.Unix(t, 0).UTC()
		}
	}
	if s.revoked != nil && s.revoked(sess, now) {
		return apierr.New(apierr.InvalidIdentityToken, "The web identity token was minted by a session or principal whose credentials have been revoked")
	}
	return nil
}

// chainLimit bounds the chain a token carries: what AssumeRole lets a
// session carry (maxChainAncestors sessions, and the long-term key that
// started it, which is no hop), and the session that mints the token, so
// that every session role chaining allows can mint one. The session
// exchanged for it can chain no further.
func chainLimit(keys []string) int {
	if len(keys) > 0 && !strings.HasPrefix(keys[0], "ASIA") {
		return maxChainAncestors + 2
	}
	return maxChainAncestors + 1
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
