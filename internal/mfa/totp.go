// Package mfa implements virtual MFA devices: RFC 6238 TOTP codes (HMAC-SHA1,
// 6 digits, 30-second steps, the defaults every authenticator app uses),
// seeds and their otpauth:// QR codes, and the Checker that STS uses to verify
// a code for a caller, with replay protection and throttling.
//
// It imports only the store interfaces, seal and github.com/pquerna/otp; it
// returns sentinel errors and leaves the API outcome to its callers.
package mfa

import (
	"bytes"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"image/png"
	"io"
	"net/url"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters (RFC 6238 defaults).
const (
	Digits = 6
	Period = 30 // seconds per time step
	// SeedSize is the seed length in bytes; its base32 form is 64
	// characters, the length of AWS's Base32StringSeed.
	SeedSize = 40
)

var opts = totp.ValidateOpts{Period: Period, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Step returns the RFC 6238 time step (counter) of t: floor(unix seconds / 30).
func Step(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return (u - Period + 1) / Period
	}
	return u / Period
}

// Code returns the 6-digit code of seed (base32, padding optional) for time
// step counter.
func Code(seed string, counter int64) (string, error) {
	c, err := totp.GenerateCodeCustom(seed, time.Unix(counter*Period, 0), opts)
	if err != nil {
		return "", fmt.Errorf("totp code: %w", err)
	}
	return c, nil
}

// equal compares two codes in constant time.
func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// Validate reports whether code is the code of seed for the step of now
// shifted by drift steps, or for one step either side, and returns the
// matched step (in the device's counter space, i.e. including drift) so the
// caller can refuse replays. All three candidates are always computed and
// compared in constant time; if more than one matches, the latest wins.
func Validate(seed, code string, now time.Time, drift int64) (counter int64, ok bool, err error) {
	base := Step(now) + drift
	match := 0
	for k := int64(-1); k <= 1; k++ {
		want, err := Code(seed, base+k)
		if err != nil {
			return 0, false, err
		}
		eq := subtle.ConstantTimeCompare([]byte(want), []byte(code))
		counter ^= (counter ^ (base + k)) & -int64(eq) // counter = base+k when eq == 1
		match |= eq
	}
	return counter, match == 1, nil
}

// ValidatePair looks for two consecutive codes, code1 at step k-1 and code2
// at step k, with k within window steps of the step of now shifted by drift
// (window 1 for enabling a device whose clock is right, about 10 for
// resynchronizing one whose clock drifted). It returns k, the step of the
// second code; the caller records it so neither code can be replayed.
func ValidatePair(seed, code1, code2 string, now time.Time, drift, window int64) (counter int64, ok bool, err error) {
	base := Step(now) + drift
	found := false
	for k := base - window; k <= base+window; k++ {
		c1, err := Code(seed, k-1)
		if err != nil {
			return 0, false, err
		}
		c2, err := Code(seed, k)
		if err != nil {
			return 0, false, err
		}
		if equal(c1, code1) && equal(c2, code2) {
			counter, found = k, true // keep the latest
		}
	}
	return counter, found, nil
}

// NewSeed returns a new random seed in base32 without padding (64 characters).
func NewSeed(r io.Reader) (string, error) {
	b := make([]byte, SeedSize)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("new mfa seed: %w", err)
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b), nil
}

// KeyURI returns the otpauth://totp/ URI of a seed that authenticator apps
// read from a QR code: the label is issuer:account, and the parameters name
// the algorithm, digits and period explicitly.
func KeyURI(issuer, account, seed string) string {
	v := url.Values{}
	v.Set("secret", seed)
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	v.Set("period", "30")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	return u.String()
}

// QRCodePNG renders the KeyURI of a seed as a PNG image.
func QRCodePNG(issuer, account, seed string) ([]byte, error) {
	key, err := otp.NewKeyFromURL(KeyURI(issuer, account, seed))
	if err != nil {
		return nil, fmt.Errorf("mfa qr code: %w", err)
	}
	img, err := key.Image(256, 256)
	if err != nil {
		return nil, fmt.Errorf("mfa qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("mfa qr code: %w", err)
	}
	return buf.Bytes(), nil
}
