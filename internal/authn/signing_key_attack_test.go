package authn

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/sigv4"
)

// TestAttackStreamingKeyOnFailedSeed: an outsider who knows only a key id
// sends a chunk-signed upload's seed request signed with a made-up secret
// for a scope of its choosing. AuthenticateStreaming refuses it, but the
// key it returns beside the error is the victim's real signing key of
// that scope (before d31cbe3 it was the zero key): any caller that uses
// or logs it on error hands out a key that signs the victim's requests.
func TestAttackStreamingKeyOnFailedSeed(t *testing.T) {
	const id, secret = "AKIAVICTIM0000000001", "victimSecretAccessKey00000000000000000000"
	now := time.Now().UTC()
	h := &heldKeys{secret: []byte(secret)}
	a := New(Config{SigV4: sigv4.NewVerifier(nil), Region: "us-east-1",
		Keys: KeySourceFunc(func(context.Context, string, time.Time) (*Key, error) {
			return &Key{Active: true, Signing: h, Caller: authz.Caller{AccessKeyID: id}}, nil
		})})
	date := now.Format("20060102")
	// seed builds the seed request, its signature made with key.
	seed := func(key [sha256.Size]byte) (*sigv4.Request, error) {
		build := func(sig string) *sigv4.Request {
			r := httptest.NewRequest("PUT", "http://bucket.s3.test/obj", nil)
			r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
			r.Header.Set("X-Amz-Decoded-Content-Length", "5")
			r.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+id+"/"+date+"/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length, Signature="+sig)
			sr, err := a.cfg.SigV4.ParseHashAt(r, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", now)
			if err != nil {
				t.Fatal(err)
			}
			return sr
		}
		sr := build(strings.Repeat("0", 64))
		m := hmac.New(sha256.New, key[:])
		m.Write([]byte(sr.StringToSign()))
		return build(hex.EncodeToString(m.Sum(nil))), nil
	}
	sr, err := seed(sigv4.SigningKey([]byte("attackerGuess"), date, "us-east-1", "s3"))
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := a.AuthenticateStreaming(context.Background(), httptest.NewRequest("PUT", "http://bucket.s3.test/obj", nil), sr, now, "us-east-1")
	if err == nil {
		t.Fatal("a forged seed authenticated")
	}
	real := sigv4.SigningKey([]byte(secret), now.Format("20060102"), "us-east-1", "s3")
	if key == real {
		// Prove the returned key is a working credential: sign the
		// attacker's request with it and authenticate that.
		sr2, _ := seed(key)
		c, _, err := a.AuthenticateStreaming(context.Background(), httptest.NewRequest("PUT", "http://bucket.s3.test/obj", nil), sr2, now, "us-east-1")
		t.Errorf("FINDING: a refused seed returned the victim's signing key %x (err %v); re-signed with it: caller %v, err %v",
			key[:4], err, c != nil, err)
	} else if key != ([sha256.Size]byte{}) {
		t.Errorf("a refused seed returned a non-zero key")
	}
}

// TestAttackSecretErrorMapping: authn.Secret (GetVerificationData's path)
// maps neither a key deleted since its entry was read (ErrUnknownKey from
// SigningKeys.Secret) nor an empty secret the way verifyKey does.
func TestAttackSecretErrorMapping(t *testing.T) {
	const id = "AKIAGONE000000000001"
	gone := &gonekeys{err: fmt.Errorf("access key %s: %w", id, ErrUnknownKey)}
	a := New(Config{SigV4: sigv4.NewVerifier(nil), Region: "us-east-1",
		Keys: KeySourceFunc(func(context.Context, string, time.Time) (*Key, error) {
			return &Key{Active: true, Signing: gone, Caller: authz.Caller{AccessKeyID: id}}, nil
		})})
	_, _, err := a.Secret(context.Background(), id, "", time.Now())
	if e, ok := apierr.As(err); ok && e.Code == apierr.InternalFailure {
		t.Logf("FINDING(low): Secret of a key deleted since it was read: %v (500), verifyKey answers InvalidClientTokenId", e.Code)
	}
	empty := &gonekeys{secret: []byte{}}
	a.cfg.Keys = KeySourceFunc(func(context.Context, string, time.Time) (*Key, error) {
		return &Key{Active: true, Signing: empty, Caller: authz.Caller{AccessKeyID: id}}, nil
	})
	if _, s, err := a.Secret(context.Background(), id, "", time.Now()); err == nil {
		t.Logf("FINDING(low): Secret returns an empty secret (%d bytes) without error; verifyKey fails closed on it", len(s))
	}
}

type gonekeys struct {
	err    error
	secret []byte
}

func (g *gonekeys) SigningKey(string, string, string) (*[sha256.Size]byte, bool) { return nil, false }
func (g *gonekeys) Secret(context.Context) ([]byte, error)                       { return bytes.Clone(g.secret), g.err }
func (g *gonekeys) Derived(string, string, string, *[sha256.Size]byte)           {}

var _ = errors.Is
