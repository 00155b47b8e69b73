package mfa

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/sharedtest"
)

// rfcSeed is the RFC 6238 / RFC 4226 SHA-1 secret "12345678901234567890".
const rfcSeed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"

func TestRFC6238Vectors(t *testing.T) {
	var suite struct {
		Cases []struct {
			ID           string `json:"id"`
			UnixTime     int64  `json:"unix_time"`
			Step         int64  `json:"step_seconds"`
			Counter      int64  `json:"counter_T"`
			Algorithm    string `json:"algorithm"`
			SecretBase32 string `json:"secret_base32"`
			Digits       int    `json:"digits"`
			TOTP         string `json:"totp"`
			TOTP6        string `json:"totp_6_digits_derived"`
		} `json:"cases"`
	}
	readJSON(t, filepath.Join(sharedtest.Dir(t, "otp-rfc6238-rfc4226"), "totp_rfc6238_appendix_b.json"), &suite)
	n := 0
	for _, c := range suite.Cases {
		if c.Algorithm != "HMAC-SHA1" {
			continue // virtual MFA devices are SHA-1 only
		}
		n++
		t.Run(c.ID, func(t *testing.T) {
			now := time.Unix(c.UnixTime, 0)
			if c.Step != Period || Step(now) != c.Counter {
				t.Fatalf("Step(%d) = %d, want %d (step %d)", c.UnixTime, Step(now), c.Counter, c.Step)
			}
			got, err := Code(c.SecretBase32, c.Counter)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.TOTP6 || !strings.HasSuffix(c.TOTP, got) {
				t.Fatalf("Code = %s, want %s (8 digits %s)", got, c.TOTP6, c.TOTP)
			}
			counter, ok, err := Validate(c.SecretBase32, c.TOTP6, now, 0)
			if err != nil || !ok || counter != c.Counter {
				t.Fatalf("Validate = %d, %v, %v; want %d, true", counter, ok, err, c.Counter)
			}
		})
	}
	if n < 4 {
		t.Fatalf("only %d SHA-1 vectors", n)
	}
}

func TestRFC4226Vectors(t *testing.T) {
	var suite struct {
		Cases []struct {
			ID           string `json:"id"`
			Counter      int64  `json:"counter"`
			SecretBase32 string `json:"secret_base32"`
			HOTP         string `json:"hotp"`
		} `json:"cases"`
	}
	readJSON(t, filepath.Join(sharedtest.Dir(t, "otp-rfc6238-rfc4226"), "hotp_rfc4226_appendix_d.json"), &suite)
	if len(suite.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range suite.Cases {
		// A TOTP code is the HOTP code of the time step.
		if got, err := Code(c.SecretBase32, c.Counter); err != nil || got != c.HOTP {
			t.Errorf("%s: Code = %q, %v; want %s", c.ID, got, err, c.HOTP)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestOathtool compares codes with oathtool(1), an independent
// implementation. A missing oathtool fails the test: install the Debian
// package oathtool.
func TestOathtool(t *testing.T) {
	bin, err := exec.LookPath("oathtool")
	if err != nil {
		t.Fatalf("oathtool not found (apt-get install oathtool): %v", err)
	}
	seeds := []string{rfcSeed, "JBSWY3DPEHPK3PXP", "ZR7JHXQ4N6KQ2VWSAOYPLX3BBJ7KJQ6ZL2CI3N4EXSHUE4RNDJMGYTAMG63WQVB6"}
	times := []string{"1970-01-01 00:00:59", "2005-03-18 01:58:29", "2009-02-13 23:31:30", "2026-01-02 03:04:05", "2033-05-18 03:33:20", "2099-12-31 23:59:59"}
	for _, seed := range seeds {
		for _, ts := range times {
			now, err := time.Parse(time.DateTime, ts)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(bin, "--totp", "-b", "--now", ts+" UTC", seed).Output()
			if err != nil {
				t.Fatalf("oathtool %s %s: %v", ts, seed, err)
			}
			want := strings.TrimSpace(string(out))
			got, err := Code(seed, Step(now))
			if err != nil || got != want {
				t.Errorf("seed %.8s... at %s: Code = %q, %v; oathtool %q", seed, ts, got, err, want)
			}
			if counter, ok, _ := Validate(seed, want, now, 0); !ok || counter != Step(now) {
				t.Errorf("seed %.8s... at %s: Validate(oathtool code) = %d, %v", seed, ts, counter, ok)
			}
		}
	}
}

func TestValidateWindow(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	base := Step(now)
	for _, tc := range []struct {
		name  string
		drift int64
		at    int64 // step of the code, relative to base
		ok    bool
	}{
		{"two steps early", 0, -2, false},
		{"one step early", 0, -1, true},
		{"now", 0, 0, true},
		{"one step late", 0, 1, true},
		{"two steps late", 0, 2, false},
		{"drift +5 now", 5, 5, true},
		{"drift +5 edge", 5, 6, true},
		{"drift +5 outside", 5, 7, false},
		{"drift +5 without drift", 5, 0, false},
		{"drift -3 edge", -3, -4, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, err := Code(rfcSeed, base+tc.at)
			if err != nil {
				t.Fatal(err)
			}
			counter, ok, err := Validate(rfcSeed, code, now, tc.drift)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && counter != base+tc.at {
				t.Fatalf("counter = %d, want %d", counter, base+tc.at)
			}
		})
	}
	// Step boundaries: the last second of a step and the first of the next.
	edge := time.Unix(base*Period+Period-1, 0)
	if Step(edge) != base || Step(edge.Add(time.Second)) != base+1 {
		t.Fatal("step boundary")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok, _ := Validate(rfcSeed, bad, now, 0); ok {
			t.Errorf("Validate(%q) = ok", bad)
		}
	}
}

func TestValidatePair(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	base := Step(now)
	code := func(k int64) string {
		c, err := Code(rfcSeed, base+k)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name           string
		c1, c2         string
		window         int64
		wantOK         bool
		wantRelCounter int64
	}{
		{"consecutive now", code(-1), code(0), 1, true, 0},
		{"consecutive ahead", code(0), code(1), 1, true, 1},
		{"swapped", code(0), code(-1), 1, false, 0},
		{"not consecutive", code(-2), code(0), 1, false, 0},
		{"same code twice", code(0), code(0), 1, false, 0},
		{"drifted 8 steps, narrow", code(7), code(8), 1, false, 0},
		{"drifted 8 steps, resync window", code(7), code(8), 10, true, 8},
		{"drifted 11 steps", code(10), code(11), 10, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			counter, ok, err := ValidatePair(rfcSeed, tc.c1, tc.c2, now, 0, tc.window)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantOK || (ok && counter != base+tc.wantRelCounter) {
				t.Fatalf("= %d, %v; want %d, %v", counter-base, ok, tc.wantRelCounter, tc.wantOK)
			}
		})
	}
}

func TestNewSeedAndQRCode(t *testing.T) {
	seed, err := NewSeed(strings.NewReader(strings.Repeat("k", SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	if len(seed) != 64 || strings.Trim(seed, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
		t.Fatalf("seed %q", seed)
	}
	if _, err := NewSeed(strings.NewReader("short")); err == nil {
		t.Fatal("short randomness accepted")
	}
	uri := KeyURI("OpenSTS", "dev@123456789012", seed)
	if !strings.HasPrefix(uri, "otpauth://totp/OpenSTS:dev@123456789012?") || !strings.Contains(uri, "secret="+seed) {
		t.Fatal(uri)
	}
	png, err := QRCodePNG("OpenSTS", "dev@123456789012", seed)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(png), "\x89PNG\r\n\x1a\n") {
		t.Fatal("not a PNG")
	}
}
