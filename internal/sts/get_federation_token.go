package sts

import (
	"context"

	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/session"
)

// GetFederationTokenInput is the GetFederationToken request.
type GetFederationTokenInput struct {
	Name            string             `required:"true" min:"2" max:"32" pattern:"[\\w+=,.@-]*"`
	Policy          string             `min:"1" max:"2048" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"`
	PolicyArns      []PolicyDescriptor `max:"10"`
	DurationSeconds *int32             `min:"900" max:"129600"`
	Tags            []Tag              `max:"50"`
}

// FederatedUser identifies a federated user session.
type FederatedUser struct {
	FederatedUserID string `xml:"FederatedUserId"`
	ARN             string `xml:"Arn"`
}

// GetFederationTokenOutput is the GetFederationToken result.
type GetFederationTokenOutput struct {
	Credentials      *Credentials   `xml:"Credentials"`
	FederatedUser    *FederatedUser `xml:"FederatedUser"`
	PackedPolicySize *int           `xml:"PackedPolicySize,omitempty"`
}

// GetFederationToken returns credentials for a federated user whose
// permissions are the calling user's policies intersected with the policies
// passed here; with none passed, the session can do nothing (reference §3.9).
func (s *Service) GetFederationToken(ctx context.Context, c *authz.Caller, in *GetFederationTokenInput) (*GetFederationTokenOutput, error) {
	duration := int32(43200)
	if in.DurationSeconds != nil {
		duration = *in.DurationSeconds
	}
	if c.IsRoot() && duration > 3600 {
		duration = 3600
	}
	tags, _, err := sessionTags(nil, in.Tags, nil)
	if err != nil {
		return nil, err
	}
	sessionPolicy, err := s.sessionPolicy(in.Policy)
	if err != nil {
		return nil, err
	}
	fedARN := arn.FederatedUser(c.Account, in.Name)
	keys := authz.RequestTagKeys(in.Tags)
	actions := []string{"sts:GetFederationToken"}
	if len(in.Tags) > 0 {
		actions = append(actions, "sts:TagSession")
	}
	for _, a := range actions {
		if err := s.authz.Check(ctx, c, a, fedARN, keys...); err != nil {
			return nil, err
		}
	}
	// Managed session policies are looked up only once the caller is known
	// to be allowed, so that nobody learns which policy ARNs exist.
	arns, err := s.sessionPolicyARNs(ctx, c.Account, in.PolicyArns)
	if err != nil {
		return nil, err
	}
	packed, err := packedSize(sessionPolicy, arns, tags)
	if err != nil {
		return nil, err
	}
	now := s.time()
	sess := session.Session{
		Type:              session.FederatedUser,
		Account:           c.Account,
		ARN:               fedARN,
		PrincipalID:       c.Account + ":" + in.Name,
		UserName:          c.UserName,
		UserID:            c.UserID,
		SessionName:       in.Name,
		IssuedAt:          now,
		Expires:           now.Add(secondsDuration(duration)),
		Tags:              tags,
		Policy:            sessionPolicy,
		PolicyARNs:        arns,
		SourceAccessKeyID: c.AccessKeyID,
	}
	if c.Session == nil && c.AccessKeyID != "" {
		// The federating user starts the chain: revoking it reaches this
		// session even once its key is deleted.
		sess.ChainKeys, sess.ChainARNs = []string{c.AccessKeyID}, []string{c.ARN}
	}
	creds, err := s.sessions.Mint(sess)
	if err != nil {
		return nil, internal(err, "get federation token: mint")
	}
	out := &GetFederationTokenOutput{
		Credentials:   credentials(creds),
		FederatedUser: &FederatedUser{FederatedUserID: sess.PrincipalID, ARN: fedARN},
	}
	if in.Policy != "" || len(arns) > 0 || len(tags) > 0 {
		out.PackedPolicySize = &packed
	}
	return out, nil
}
