package authn

import (
	"context"
	"crypto/sha256"
	"net/http"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/sigv4"
)

// AuthenticateStreaming is AuthenticateIn for the seed request of a
// chunk-signed upload (sr.StreamingPayload): once the seed signature
// verified, it also returns the signing key of the request's credential
// scope (one day, one region, one service), which checks the chunk
// signatures that follow. The secret access key itself never leaves.
func (a *Authenticator) AuthenticateStreaming(ctx context.Context, r *http.Request, sr *sigv4.Request, now time.Time, region string) (*authz.Caller, [sha256.Size]byte, error) {
	var key [sha256.Size]byte
	if !sr.StreamingPayload {
		return nil, key, apierr.New(apierr.IncompleteSignature, "The request is not signed for a streaming payload.")
	}
	if sr.Region != region {
		scope := sr.Region
		if len(scope) > 64 {
			scope = scope[:64] + "..."
		}
		return nil, key, apierr.New(apierr.SignatureDoesNotMatch, "Credential should be scoped to a valid region, not '%s'. ", scope)
	}
	return a.authenticate(ctx, r, sr, now, region)
}
