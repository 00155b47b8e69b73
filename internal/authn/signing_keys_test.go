package authn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/sigv4"
)

// heldKeys is a KeySource's SigningKeys that counts what it is asked.
type heldKeys struct {
	secret          []byte
	held            *[sha256.Size]byte
	scope           [3]string
	opened, derived int
}

func (h *heldKeys) SigningKey(date, region, service string) (*[sha256.Size]byte, bool) {
	if h.held != nil && h.scope == [3]string{date, region, service} {
		return h.held, true
	}
	return nil, false
}

func (h *heldKeys) Secret(context.Context) ([]byte, error) {
	h.opened++
	if h.secret == nil {
		return nil, errors.New("sealed secret does not open")
	}
	return bytes.Clone(h.secret), nil
}

func (h *heldKeys) Derived(date, region, service string, key *[sha256.Size]byte) {
	h.derived++
	k := *key
	h.held, h.scope = &k, [3]string{date, region, service}
}

// TestVerifyWithHeldSigningKeys: a key whose source holds its scope's
// signing key is checked with it and its secret is not opened; a bad
// signature fails with it and is not retried with the secret; a key of
// another scope is derived from the secret and handed to the source only
// once a request verified with it; a source without a secret fails closed.
func TestVerifyWithHeldSigningKeys(t *testing.T) {
	const id, secret = "AKIAHELDKEYS00000001", "heldKeysSecretAccessKey0000000000000000"
	now := time.Now().UTC()
	h := &heldKeys{secret: []byte(secret)}
	a := New(Config{SigV4: sigv4.NewVerifier(nil), Region: "us-east-1",
		Keys: KeySourceFunc(func(context.Context, string, time.Time) (*Key, error) {
			return &Key{Active: true, Signing: h, Caller: authz.Caller{AccessKeyID: id}}, nil
		})})
	try := func(service string, badSig bool) error {
		t.Helper()
		body := []byte("Action=GetCallerIdentity&Version=2011-06-15")
		r := httptest.NewRequest("POST", "http://sts.test/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := sigv4.Sign(r, body, id, secret, "", "us-east-1", service, now); err != nil {
			t.Fatal(err)
		}
		if badSig {
			auth := r.Header.Get("Authorization")
			r.Header.Set("Authorization", auth[:len(auth)-4]+"0000")
		}
		sr, err := a.cfg.SigV4.ParseAt(r, body, now)
		if err != nil {
			t.Fatal(err)
		}
		_, err = a.Authenticate(context.Background(), r, sr, now)
		return err
	}
	mismatch := func(err error) bool { e, ok := apierr.As(err); return ok && e.Code == apierr.SignatureDoesNotMatch }

	if err := try("sts", true); !mismatch(err) || h.derived != 0 {
		t.Fatalf("bad signature, nothing held: %v, derived %d", err, h.derived)
	}
	if err := try("sts", false); err != nil || h.derived != 1 || h.opened != 2 {
		t.Fatalf("first request: %v, derived %d, opened %d", err, h.derived, h.opened)
	}
	if *h.held != sigv4.SigningKey([]byte(secret), now.Format("20060102"), "us-east-1", "sts") {
		t.Fatal("the source was handed another key")
	}
	if err := try("sts", false); err != nil || h.opened != 2 || h.derived != 1 {
		t.Fatalf("with the held key: %v, opened %d, derived %d", err, h.opened, h.derived)
	}
	if err := try("sts", true); !mismatch(err) || h.opened != 2 {
		t.Fatalf("bad signature with the held key: %v, opened %d", err, h.opened)
	}
	if err := try("iam", false); err != nil || h.opened != 3 || h.derived != 2 || h.scope[2] != "iam" {
		t.Fatalf("another scope: %v, opened %d, derived %d", err, h.opened, h.derived)
	}
	h.held, h.secret = nil, nil
	if err := try("sts", false); err == nil || mismatch(err) || h.derived != 2 {
		t.Fatalf("a secret that does not open: %v", err)
	}
	empty := New(Config{SigV4: sigv4.NewVerifier(nil), Region: "us-east-1",
		Keys: KeySourceFunc(func(context.Context, string, time.Time) (*Key, error) {
			return &Key{Active: true, Caller: authz.Caller{AccessKeyID: id}}, nil
		})})
	a = empty
	if err := try("sts", false); err == nil {
		t.Fatal("a key without a secret authenticated")
	}
}
