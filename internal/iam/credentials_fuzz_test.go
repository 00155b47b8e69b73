package iam

import (
	"errors"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
)

// FuzzParseSSHPublicKey: any input is a key or an API error (never a
// panic, never another error), and a key read back from its OpenSSH form
// is the same key.
func FuzzParseSSHPublicKey(f *testing.F) {
	for _, s := range []string{
		"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILULTqvmbvw2+TO01lHJFm1DhuUssCxHTw8/1f0W3HdD test",
		"ssh-rsa AAAA", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "", "\x00",
		"-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		key, err := parseSSHPublicKey(body)
		if err != nil {
			var ae *apierr.Error
			if !errors.As(err, &ae) {
				t.Fatalf("not an API error: %v", err)
			}
			return
		}
		again, err := parseSSHPublicKey(sshAuthorizedForm(key))
		if err != nil || sshAuthorizedForm(again) != sshAuthorizedForm(key) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzParseCertificates: certificates and private keys in any form are
// parsed or refused with an API error.
func FuzzParseCertificates(f *testing.F) {
	for _, s := range []string{"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "", "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var ae *apierr.Error
		if _, err := parseCertificate(body, "certificate", time.Unix(1e9, 0), apierr.InvalidCertificate); err != nil && !errors.As(err, &ae) {
			t.Fatalf("certificate: not an API error: %v", err)
		}
		if _, err := parsePrivateKey(body); err != nil && !errors.As(err, &ae) {
			t.Fatalf("private key: not an API error: %v", err)
		}
	})
}
