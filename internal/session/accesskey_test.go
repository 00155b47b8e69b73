package session

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestAccessKeyIDAccountRoundTrip(t *testing.T) {
	t.Parallel()
	r := detRand(3)
	for _, prefix := range []string{"AKIA", "ASIA"} {
		for _, acct := range []string{"000000000000", "000000000001", "123456789012", "609629065308", "999999999999"} {
			for range 50 {
				id, err := NewAccessKeyID(prefix, acct, r)
				if err != nil {
					t.Fatal(err)
				}
				if len(id) != 20 || !strings.HasPrefix(id, prefix) || strings.Trim(id[4:], "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
					t.Fatalf("malformed id %q", id)
				}
				if got, ok := AccountForAccessKeyID(id); !ok || got != acct {
					t.Fatalf("AccountForAccessKeyID(%q) = %q, %v; want %q", id, got, ok, acct)
				}
			}
		}
	}
}

func TestAccessKeyIDKnownAnswer(t *testing.T) {
	t.Parallel()
	// Fixed randomness: 0x00..0x04 for the 39 random bits.
	id, err := NewAccessKeyID("ASIA", "123456789012", bytes.NewReader([]byte{0, 1, 2, 3, 4}))
	if err != nil {
		t.Fatal(err)
	}
	if want := "ASIARZPUZDIKAAAQEAYE"; id != want {
		t.Errorf("NewAccessKeyID = %q, want %q", id, want)
	}
}

func TestAccountForAccessKeyID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		id   string
		want string
		ok   bool
	}{
		// The decoding published for AWS ids (T. Be'ery / A. Steele research).
		{"ASIAY34FZKBOKMUTVV7A", "609629065308", true},
		{"AKIAIOSFODNN7EXAMPLE", "", false}, // pre-2019 layout: no account
		{"AIDAY34FZKBOKMUTVV7A", "", false}, // not an access key
		{"ASIAY34FZKBOKMUTVV7", "", false},
		{"ASIAY34FZKBOKMUTVV7AA", "", false},
		{"ASIAY34FZKBOKMUTVV71", "", false}, // '1' is not base32
		{"ASIA7777777777777777", "", false}, // 40 bits above 999999999999
		{"", "", false},
	} {
		got, ok := AccountForAccessKeyID(tc.id)
		if got != tc.want || ok != tc.ok {
			t.Errorf("AccountForAccessKeyID(%q) = %q, %v; want %q, %v", tc.id, got, ok, tc.want, tc.ok)
		}
	}
}

func TestNewAccessKeyIDRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ prefix, acct string }{
		{"ASI", "123456789012"}, {"asia", "123456789012"}, {"ASIA", "12345678901"},
		{"ASIA", "1234567890123"}, {"ASIA", "12345678901a"}, {"ASIA", ""},
	} {
		if _, err := NewAccessKeyID(tc.prefix, tc.acct, detRand(1)); err == nil {
			t.Errorf("NewAccessKeyID(%q, %q) succeeded", tc.prefix, tc.acct)
		}
	}
	if _, err := NewAccessKeyID("ASIA", "123456789012", bytes.NewReader(nil)); err == nil {
		t.Error("short randomness accepted")
	}
}

func TestNewSecretAccessKey(t *testing.T) {
	t.Parallel()
	s, err := NewSecretAccessKey(bytes.NewReader(bytes.Repeat([]byte{0xfb, 0xff}, 15)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "+//7//v/+//7//v/+//7//v/+//7//v/+//7//v/"; s != want {
		t.Errorf("NewSecretAccessKey = %q, want %q", s, want)
	}
	s, err = NewSecretAccessKey(nil)
	if err != nil || len(s) != 40 {
		t.Fatalf("NewSecretAccessKey(nil) = %q, %v", s, err)
	}
	if _, err := base64.StdEncoding.DecodeString(s); err != nil {
		t.Errorf("not base64: %v", err)
	}
}
