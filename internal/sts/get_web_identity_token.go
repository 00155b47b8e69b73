package sts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// TokenIssuer signs the JWTs GetWebIdentityToken returns (issuer.Issuer).
type TokenIssuer interface {
	URL() string
	SignPayload(ctx context.Context, alg string, payload []byte) (string, error)
}

// GetWebIdentityTokenInput is the GetWebIdentityToken request.
type GetWebIdentityTokenInput struct {
	Audience         []string `required:"true" min:"1" max:"10" memberMin:"1" memberMax:"1000"`
	DurationSeconds  *int32   `min:"60" max:"3600"`
	SigningAlgorithm string   `required:"true" min:"5" max:"5"`
	Tags             []Tag    `max:"50"`
}

// GetWebIdentityTokenOutput is the GetWebIdentityToken result.
type GetWebIdentityTokenOutput struct {
	WebIdentityToken string    `xml:"WebIdentityToken" sensitive:"true"`
	Expiration       time.Time `xml:"Expiration"`
}

const (
	webIdentityTokenDefaultSeconds = 300
	// maxWebIdentityPayload bounds the JSON claims of a token, in bytes:
	// request tags beyond it give JWTPayloadSizeExceededException.
	maxWebIdentityPayload = 8192
	// maxWebIdentityToken bounds the whole token: what
	// AssumeRoleWithWebIdentity takes (WebIdentityToken's 20,000).
	maxWebIdentityToken = 20000
	// claimsNamespace is where AWS nests its own claims.
	claimsNamespace = "https://sts.amazonaws.com/"
)

// GetWebIdentityToken returns a JWT, signed by OpenSTS's issuer keys, that
// names the caller: iss the issuer URL, sub the caller's principal ARN (the
// role's for a role session), aud the requested audiences, exp at most an
// hour ahead and never past the calling session's expiry; AWS's claims
// (account, region, principal and request tags) under
// "https://sts.amazonaws.com/". The caller needs sts:GetWebIdentityToken,
// with sts:IdentityTokenAudience, sts:DurationSeconds and
// sts:SigningAlgorithm as condition keys.
func (s *Service) GetWebIdentityToken(ctx context.Context, c *authz.Caller, in *GetWebIdentityTokenInput) (*GetWebIdentityTokenOutput, error) {
	if in.SigningAlgorithm != "RS256" && in.SigningAlgorithm != "ES384" {
		return nil, apierr.Validation("Value '" + in.SigningAlgorithm + "' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RS256, ES384]")
	}
	duration := int32(webIdentityTokenDefaultSeconds)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	requestTags := map[string]string{}
	for _, t := range in.Tags {
		k := strings.ToLower(t.Key)
		if strings.HasPrefix(k, "aws:") {
			return nil, apierr.New(apierr.InvalidParameterValue, "Tag keys cannot start with 'aws:'")
		}
		for seen := range requestTags {
			if strings.EqualFold(seen, t.Key) {
				return nil, apierr.New(apierr.InvalidParameterValue, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
		}
		requestTags[t.Key] = t.Value
	}
	keys := append([]authz.Key{
		{Name: "sts:IdentityTokenAudience", Values: in.Audience},
		{Name: "sts:DurationSeconds", Values: []string{strconv.Itoa(int(duration))}},
		{Name: "sts:SigningAlgorithm", Values: []string{in.SigningAlgorithm}},
	}, authz.RequestTagKeys(in.Tags)...)
	if err := s.authz.Check(ctx, c, "sts:GetWebIdentityToken", "*", keys...); err != nil {
		return nil, err
	}
	if s.issuer == nil {
		return nil, apierr.New(apierr.OutboundWebIdentityFederationDisabledException,
			"Outbound web identity federation is disabled: the server has no --web-identity-issuer")
	}
	now := s.time()
	exp := now.Add(secondsDuration(duration))
	if c.Session != nil && exp.After(c.Session.Expires) {
		return nil, apierr.New(apierr.SessionDurationEscalationException,
			"The requested token duration would extend the session beyond its original expiration time.")
	}
	var jti [16]byte
	s.randMu.Lock()
	_, err := io.ReadFull(s.rand, jti[:])
	s.randMu.Unlock()
	if err != nil {
		return nil, internal(err, "get web identity token: jti")
	}
	aws := map[string]any{"aws_account": c.Account, "source_region": s.region}
	if c.UserID != "" {
		aws["principal_id"] = c.UserID
	}
	if c.Session != nil && len(c.Session.Tags) > 0 {
		tags := make(map[string]string, len(c.Session.Tags))
		for _, t := range c.Session.Tags {
			tags[t.Key] = t.Value
		}
		aws["principal_tags"] = tags
	}
	if len(requestTags) > 0 {
		aws["request_tags"] = requestTags
	}
	var aud any = in.Audience
	if len(in.Audience) == 1 {
		aud = in.Audience[0]
	}
	chain, err := s.sealChain(c, now)
	if err != nil {
		return nil, err
	}
	claims := map[string]any{
		"iss":           s.issuer.URL(),
		"sub":           c.PrincipalARN(),
		"aud":           aud,
		"iat":           now.Unix(),
		"nbf":           now.Unix(),
		"exp":           exp.Unix(),
		"jti":           hex.EncodeToString(jti[:]),
		claimsNamespace: aws,
	}
	var payload []byte
	payload, err = json.Marshal(claims)
	if err != nil {
		return nil, internal(err, "get web identity token: claims")
	}
	if len(payload) > maxWebIdentityPayload {
		return nil, apierr.New(apierr.JWTPayloadSizeExceededException,
			"The requested token payload size exceeds the maximum allowed size of %d bytes: reduce the request tags", maxWebIdentityPayload)
	}
	if chain != "" {
		// After the bound, which is the caller's (its tags): the chain a
		// session allowed to chain carries is no reason to refuse it.
		claims[chainClaim] = chain
		if payload, err = json.Marshal(claims); err != nil {
			return nil, internal(err, "get web identity token: claims")
		}
	}
	tok, err := s.issuer.SignPayload(ctx, in.SigningAlgorithm, payload)
	if err != nil {
		return nil, internal(err, "get web identity token: sign")
	}
	if len(tok) > maxWebIdentityToken {
		// Never a token AssumeRoleWithWebIdentity (here or at AWS) would
		// refuse: a long role chain with tags near their bound.
		return nil, apierr.New(apierr.JWTPayloadSizeExceededException,
			"The token would be %d characters, over the %d AssumeRoleWithWebIdentity takes: reduce the request tags, or request it from a shorter role chain", len(tok), maxWebIdentityToken)
	}
	return &GetWebIdentityTokenOutput{WebIdentityToken: tok, Expiration: exp}, nil
}

// defaultRand is the Service's randomness when Config.Rand is nil.
var defaultRand io.Reader = rand.Reader
