package sts

import (
	"context"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// DecodeAuthorizationMessageInput is the DecodeAuthorizationMessage request.
type DecodeAuthorizationMessageInput struct {
	EncodedMessage string `required:"true" min:"1" max:"10240"`
}

// DecodeAuthorizationMessageOutput is the DecodeAuthorizationMessage result.
type DecodeAuthorizationMessageOutput struct {
	DecodedMessage string `xml:"DecodedMessage"`
}

// DecodeAuthorizationMessage decodes the message that comes with an
// AccessDenied from OpenSTS: the decision and its explanation, as JSON.
func (s *Service) DecodeAuthorizationMessage(ctx context.Context, c *authz.Caller, in *DecodeAuthorizationMessageInput) (*DecodeAuthorizationMessageOutput, error) {
	if err := s.authz.Check(ctx, c, "sts:DecodeAuthorizationMessage", "*"); err != nil {
		return nil, err
	}
	// Only a principal of the account whose principal was given the
	// message decodes it (authz.DecodeMessage).
	msg, err := s.authz.DecodeMessage(c.Account, in.EncodedMessage)
	if err != nil {
		return nil, apierr.New(apierr.InvalidAuthorizationMessageException, "The encoded authorization message is invalid or has expired.")
	}
	return &DecodeAuthorizationMessageOutput{DecodedMessage: msg}, nil
}
