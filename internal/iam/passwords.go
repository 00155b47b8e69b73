package iam

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/store"
)

// Console passwords are stored as argon2id hashes (RFC 9106) in the PHC
// string format, "$argon2id$v=19$m=KiB,t=passes,p=lanes$salt$hash", so the
// parameters can be raised later without breaking stored hashes. They are
// never sealed reversibly, logged or returned.
//
// Parameters follow OWASP's argon2id recommendation (19 MiB, 2 passes, 1
// lane). At most passwordHashers hashes run at once, so a burst of
// password requests costs at most passwordHashers × 19 MiB of memory
// instead of growing with the number of requests.
const (
	argonMemory     = 19 * 1024 // KiB
	argonTime       = 2
	argonThreads    = 1
	argonKeyLen     = 32
	argonSaltLen    = 16
	passwordHashers = 2

	// Bounds on the parameters of a stored hash that is verified: a hash
	// written by this code or a stronger one, never an unbounded cost.
	maxArgonMemory = 256 * 1024
	maxArgonTime   = 16
)

// hashPassword returns the encoded argon2id hash of password with a fresh
// random salt.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := io.ReadFull(s.rand, salt); err != nil {
		return "", apierr.Internal(fmt.Errorf("password salt: %w", err))
	}
	release, err := s.acquireHasher(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// checkPassword reports whether password matches the encoded hash, in
// constant time over the derived keys. A hash that does not parse, or whose
// parameters exceed the bounds, matches nothing (fail closed).
func (s *Service) checkPassword(ctx context.Context, encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false, nil
	}
	var m, t uint32
	var p uint8
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || n != 3 ||
		m < 8 || m > maxArgonMemory || t < 1 || t > maxArgonTime || p < 1 || p > 4 {
		return false, nil
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) < 16 || len(want) > 64 {
		return false, nil
	}
	release, err := s.acquireHasher(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// acquireHasher waits for one of the passwordHashers slots, or for ctx.
func (s *Service) acquireHasher(ctx context.Context) (func(), error) {
	select {
	case s.hashers <- struct{}{}:
		return func() { <-s.hashers }, nil
	case <-ctx.Done():
		return nil, apierr.Internal(fmt.Errorf("wait to hash a password: %w", ctx.Err()))
	}
}

// defaultPasswordPolicy is what AWS applies to an account without a
// password policy: at least 8 characters, of at least three of the four
// kinds (upper case, lower case, digits, symbols).
var defaultPasswordPolicy = store.PasswordPolicy{MinimumPasswordLength: 8}

// passwordSymbols are the symbols a policy's RequireSymbols counts.
const passwordSymbols = "!@#$%^&*()_+-=[]{}|'"

// passwordPolicy returns the account's policy and whether it has one.
func (s *Service) passwordPolicy(ctx context.Context, account string) (store.PasswordPolicy, bool, error) {
	p, err := s.store.GetPasswordPolicy(ctx, account)
	if isNotFound(err) {
		return defaultPasswordPolicy, false, nil
	}
	if err != nil {
		return store.PasswordPolicy{}, false, internal(err, "load password policy")
	}
	return p, true, nil
}

// checkPasswordPolicy returns PasswordPolicyViolation, naming every rule
// password breaks, or nil. custom is false for the default policy.
func checkPasswordPolicy(p store.PasswordPolicy, custom bool, password string) error {
	var upper, lower, digit, symbol bool
	for _, r := range password {
		switch {
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= '0' && r <= '9':
			digit = true
		case strings.ContainsRune(passwordSymbols, r):
			symbol = true
		}
	}
	var broken []string
	if len(password) < p.MinimumPasswordLength {
		broken = append(broken, fmt.Sprintf("Password should have at least %d characters", p.MinimumPasswordLength))
	}
	if !custom {
		kinds := 0
		for _, ok := range []bool{upper, lower, digit, symbol} {
			if ok {
				kinds++
			}
		}
		if kinds < 3 {
			broken = append(broken, "Password should have at least three of: uppercase letters, lowercase letters, numbers, symbols")
		}
	}
	if p.RequireUppercaseCharacters && !upper {
		broken = append(broken, "Password should have at least one uppercase letter")
	}
	if p.RequireLowercaseCharacters && !lower {
		broken = append(broken, "Password should have at least one lowercase letter")
	}
	if p.RequireNumbers && !digit {
		broken = append(broken, "Password should have at least one number")
	}
	if p.RequireSymbols && !symbol {
		broken = append(broken, "Password should have at least one symbol")
	}
	if len(broken) > 0 {
		return apierr.New(apierr.PasswordPolicyViolation, "Password does not conform to the account password policy: %s", strings.Join(broken, "; "))
	}
	return nil
}

// newPasswordHash checks password against the account's policy, and its
// reuse prevention against the user's earlier hashes (previous, newest
// first, with the current one at the front), and returns its hash and the
// history to keep.
func (s *Service) newPasswordHash(ctx context.Context, account, password string, previous []string) (string, []string, error) {
	p, custom, err := s.passwordPolicy(ctx, account)
	if err != nil {
		return "", nil, err
	}
	if err := checkPasswordPolicy(p, custom, password); err != nil {
		return "", nil, err
	}
	keep := min(p.PasswordReusePrevention, len(previous))
	for _, h := range previous[:keep] {
		same, err := s.checkPassword(ctx, h, password)
		if err != nil {
			return "", nil, err
		}
		if same {
			return "", nil, apierr.New(apierr.PasswordPolicyViolation,
				"Password does not conform to the account password policy: Password should not be one of your %d previous passwords", p.PasswordReusePrevention)
		}
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return "", nil, err
	}
	return hash, previous[:keep], nil
}
