package oidc

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Algorithms are the signature algorithms accepted. "none" and the HMAC
// algorithms never are: a token is verified only with a provider's public
// key.
var Algorithms = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
	jose.EdDSA,
}

// Token is a parsed, not yet verified, token.
type Token struct {
	jws    *jose.JSONWebSignature // nil for a token from the verified cache
	raw    string
	claims map[string]any // the payload, decoded once (Parse)
	// sum is the SHA-256 of raw when hashed (Verifier.Parse); cached is
	// the token's entry in the verified cache, when it was found there.
	sum    [32]byte
	hashed bool
	cached *verifiedToken
	// Issuer is the unverified iss claim: use it only to find the
	// provider whose keys then verify the token.
	Issuer string
	// KeyID and Algorithm are from the protected header.
	KeyID     string
	Algorithm string
}

// Parse parses a compact JWS and reads the (unverified) issuer.
func Parse(raw string) (*Token, error) {
	t, err := ParseJWS(raw)
	if err != nil {
		return nil, err
	}
	claims, err := decodeClaims(t.jws.UnsafePayloadWithoutVerification())
	if err != nil {
		return nil, err
	}
	t.claims = claims
	s, ok := claims["iss"].(string)
	if !ok || s == "" {
		return nil, invalid("The web identity token has no issuer (iss)")
	}
	t.Issuer = s
	return t, nil
}

// ParseJWS parses a compact JWS signed with one of Algorithms, whatever
// its payload.
func ParseJWS(raw string) (*Token, error) {
	if len(raw) > MaxTokenSize {
		return nil, invalid("The web identity token is too large")
	}
	jws, err := jose.ParseSignedCompact(raw, Algorithms)
	if err != nil {
		return nil, &Error{Kind: Invalid, Message: "The web identity token is not a valid JWT signed with an accepted algorithm", Cause: err}
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("The web identity token must carry exactly one signature")
	}
	h := jws.Signatures[0].Protected
	return &Token{jws: jws, raw: raw, KeyID: h.KeyID, Algorithm: h.Algorithm}, nil
}

// Claims are the verified claims of a token.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string // the token's aud
	AZP      string
	// ClientID is the audience that matched the provider's client id list:
	// azp when it is set and listed, else the first listed aud.
	ClientID  string
	Expiry    time.Time
	IssuedAt  time.Time // zero when absent
	NotBefore time.Time // zero when absent
	AMR       []string
	// Tags and TransitiveTagKeys come from the https://aws.amazon.com/tags
	// claim, SourceIdentity from https://aws.amazon.com/source_identity.
	Tags              []Tag
	TransitiveTagKeys []string
	SourceIdentity    string
	// Strings holds every top-level claim with a string, number, boolean
	// or string-array value, as condition-key values.
	Strings map[string][]string
}

// Tag is a session tag from the token.
type Tag struct{ Key, Value string }

const (
	tagsClaim           = "https://aws.amazon.com/tags"
	sourceIdentityClaim = "https://aws.amazon.com/source_identity"
)

// decodeClaims decodes a payload as a JSON object, numbers kept exact.
func decodeClaims(payload []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || raw == nil || dec.More() {
		return nil, invalid("The web identity token's payload is not a JSON object")
	}
	return raw, nil
}

// checkClaims verifies the claims of a verified payload (decoded) for
// provider p at now.
func checkClaims(raw map[string]any, p Provider, now time.Time) (*Claims, error) {
	c := &Claims{Strings: map[string][]string{}}
	var ok bool
	if c.Issuer, ok = raw["iss"].(string); !ok || c.Issuer != p.URL {
		return nil, invalid("The issuer of the web identity token does not match the provider")
	}

	var err error
	if c.Expiry, ok, err = numericDate(raw, "exp"); err != nil {
		return nil, err
	} else if !ok {
		return nil, invalid("The web identity token has no expiration (exp)")
	}
	if c.NotBefore, _, err = numericDate(raw, "nbf"); err != nil {
		return nil, err
	}
	if c.IssuedAt, _, err = numericDate(raw, "iat"); err != nil {
		return nil, err
	}

	// Audience before time: a token for another audience is not ours to
	// call expired.
	switch v := raw["aud"].(type) {
	case string:
		c.Audience = []string{v}
	case []any:
		for _, a := range v {
			s, ok := a.(string)
			if !ok {
				return nil, invalid("Incorrect token audience")
			}
			c.Audience = append(c.Audience, s)
		}
	}
	if v, present := raw["azp"]; present {
		if c.AZP, ok = v.(string); !ok {
			return nil, invalid("Incorrect token audience")
		}
	}
	c.ClientID = matchAudience(c.AZP, c.Audience, p.ClientIDs)
	if c.ClientID == "" {
		return nil, invalid("Incorrect token audience")
	}

	if !now.Before(c.Expiry.Add(Skew)) {
		return nil, &Error{Kind: Expired, Message: "Token expired: current date/time " + itoa(now.Unix()) + " must be before the expiration date/time" + itoa(c.Expiry.Unix())}
	}
	if !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(Skew)) {
		return nil, invalid("The web identity token is not valid yet (nbf is in the future)")
	}
	if !c.IssuedAt.IsZero() && c.IssuedAt.After(now.Add(Skew)) {
		return nil, invalid("The web identity token was issued in the future (iat)")
	}

	if c.Subject, ok = raw["sub"].(string); !ok || c.Subject == "" || len(c.Subject) > 255 {
		return nil, &Error{Kind: Rejected, Message: "The web identity token has no usable subject (sub)"}
	}
	switch v := raw["amr"].(type) {
	case string:
		c.AMR = []string{v}
	case []any:
		for _, a := range v {
			if s, ok := a.(string); ok {
				c.AMR = append(c.AMR, s)
			}
		}
	}
	if err := c.awsClaims(raw); err != nil {
		return nil, err
	}
	for k, v := range raw {
		if vals, ok := claimStrings(v); ok {
			c.Strings[k] = vals
		}
	}
	return c, nil
}

// matchAudience returns the client id the token is for, or "".
func matchAudience(azp string, aud, clientIDs []string) string {
	listed := func(s string) bool {
		for _, id := range clientIDs {
			if id == s {
				return true
			}
		}
		return false
	}
	if azp != "" && listed(azp) {
		return azp
	}
	for _, a := range aud {
		if listed(a) {
			return a
		}
	}
	return ""
}

// numericDate reads a NumericDate claim; a present claim that is not a
// number is an error, as in AWS.
func numericDate(raw map[string]any, name string) (time.Time, bool, error) {
	v, present := raw[name]
	if !present {
		return time.Time{}, false, nil
	}
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, false, invalid("Timestamps in the token must be formatted as either an integer or a long integer")
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, false, invalid("Timestamps in the token must be formatted as either an integer or a long integer")
	}
	return time.Unix(int64(f), 0).UTC(), true, nil
}

// awsClaims reads the session tag and source identity claims.
func (c *Claims) awsClaims(raw map[string]any) error {
	rejected := func(msg string) error { return &Error{Kind: Rejected, Message: msg} }
	if v, present := raw[sourceIdentityClaim]; present {
		s, ok := v.(string)
		if !ok {
			return rejected("The source identity claim must be a string")
		}
		c.SourceIdentity = s
	}
	v, present := raw[tagsClaim]
	if !present {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return rejected("The session tags claim must be an object")
	}
	if pt, present := obj["principal_tags"]; present {
		tags, ok := pt.(map[string]any)
		if !ok {
			return rejected("principal_tags must be an object")
		}
		for k, tv := range tags {
			var val string
			switch x := tv.(type) {
			case string:
				val = x
			case []any:
				if len(x) != 1 {
					return rejected("Each principal tag must have exactly one value")
				}
				if val, ok = x[0].(string); !ok {
					return rejected("Principal tag values must be strings")
				}
			default:
				return rejected("Principal tag values must be strings")
			}
			c.Tags = append(c.Tags, Tag{Key: k, Value: val})
		}
		sortTags(c.Tags)
	}
	if tk, present := obj["transitive_tag_keys"]; present {
		keys, ok := tk.([]any)
		if !ok {
			return rejected("transitive_tag_keys must be an array")
		}
		for _, k := range keys {
			s, ok := k.(string)
			if !ok {
				return rejected("transitive_tag_keys must be strings")
			}
			c.TransitiveTagKeys = append(c.TransitiveTagKeys, s)
		}
	}
	return nil
}

func sortTags(t []Tag) {
	for i := 1; i < len(t); i++ {
		for j := i; j > 0 && t[j].Key < t[j-1].Key; j-- {
			t[j], t[j-1] = t[j-1], t[j]
		}
	}
}

// claimStrings renders a claim value as condition-key values.
func claimStrings(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case json.Number:
		return []string{x.String()}, true
	case bool:
		if x {
			return []string{"true"}, true
		}
		return []string{"false"}, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
