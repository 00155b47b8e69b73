package server

// Attack review of 4d9a3be (a key's record written in the last hour of a
// UTC day keeps the sealed secret). Each test passes on correct code and
// fails if its attack works.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/internal/store"
)

// daClock is a settable clock for a server.
type daClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *daClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *daClock) Set(t time.Time)     { c.mu.Lock(); c.now = t; c.mu.Unlock() }
func (c *daClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// daServer is a server on a fake clock starting at start, whose feed is
// not tailed during the test (only its own writes apply, at once), logging
// at debug level into log when given.
func daServer(t testing.TB, start time.Time, log io.Writer) (*Server, *daClock) {
	t.Helper()
	if log == nil {
		log = io.Discard
	}
	clock := &daClock{now: start}
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.MasterKey = bytes.Repeat([]byte{7}, 32)
	cfg.RefreshInterval = time.Hour
	cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey = benchAccount, benchRootKey, benchRootSec
	s, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug})), Stderr: log, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clock
}

// daServe sends a request of service (sts or iam) signed with id and
// secret at signed (the server's clock may differ: skew) and returns 200
// when it authenticated (an AccessDenied counts), else the status.
func daServe(t testing.TB, s *Server, service, id, secret string, signed time.Time) int {
	t.Helper()
	form := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	if service == "iam" {
		form = url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}}
	}
	body := []byte(form.Encode())
	req := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	if err := sigv4.Sign(req, body, id, secret, "", "us-east-1", service, signed); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code == 403 && strings.Contains(rec.Body.String(), "<Code>AccessDenied</Code>") {
		return 200
	}
	return rec.Code
}

// daRecord is the key's record in the second tier, decoded (ok false when
// there is none).
func daRecord(t testing.TB, s *Server, id string) (record, bool) {
	t.Helper()
	rec, ok := s.keys.cache.TierRecord([]byte(id))
	if !ok {
		return record{}, false
	}
	r, ok := decodeRecord(rec)
	if !ok {
		t.Fatalf("record of %s does not decode", id)
	}
	return r, true
}

// dropFirstTier drops every key's entry from the first tier (not the
// records), as an eviction would: the next request decodes the record.
func dropFirstTier(s *Server) {
	s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true })
}

var (
	daLastHour = time.Date(2026, 12, 7, 23, 30, 0, 0, time.UTC)
	daNextDay  = time.Date(2026, 12, 8, 0, 0, 5, 0, time.UTC)
)

// TestAttackDayAheadInvalidations: a key whose record keeps its secret
// (written in the last hour) and that is then deleted, deactivated, or
// deleted with its user, through the API (the feed), leaves no record, and
// neither the rest of the day nor the next day does it authenticate, from
// the first tier or from the second.
func TestAttackDayAheadInvalidations(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		do   func(s *Server, user, id string) error
	}{
		{"delete", func(s *Server, user, id string) error {
			_, err := s.iam.DeleteAccessKey(ctx, testRoot, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyID: id})
			return err
		}},
		{"deactivate", func(s *Server, user, id string) error {
			_, err := s.iam.UpdateAccessKey(ctx, testRoot, &iam.UpdateAccessKeyInput{UserName: user, AccessKeyID: id, Status: "Inactive"})
			return err
		}},
		{"delete-user", func(s *Server, user, id string) error {
			if _, err := s.iam.DeleteAccessKey(ctx, testRoot, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyID: id}); err != nil {
				return err
			}
			_, err := s.iam.DeleteUser(ctx, testRoot, &iam.DeleteUserInput{UserName: user})
			return err
		}},
		{"delete-behind-entry", func(s *Server, user, id string) error {
			// The first tier drops the entry first: what is left is
			// the record alone, with the secret.
			dropFirstTier(s)
			_, err := s.iam.DeleteAccessKey(ctx, testRoot, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyID: id})
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, clock := daServer(t, daLastHour, nil)
			id, secret := newUserKey(t, s, "da-"+c.name)
			for _, svc := range []string{"sts", "iam"} {
				if code := daServe(t, s, svc, id, secret, clock.Now()); code != 200 {
					t.Fatalf("%s: %d", svc, code)
				}
			}
			if r, ok := daRecord(t, s, id); !ok || len(r.sealed) == 0 {
				t.Fatalf("setup: no record with the secret (%v)", ok)
			}
			if err := c.do(s, "da-"+c.name, id); err != nil {
				t.Fatal(err)
			}
			if where := s.keys.cache.Where([]byte(id)); where != "none" {
				t.Errorf("after %s the key is still in %s", c.name, where)
			}
			for _, at := range []time.Time{daLastHour.Add(10 * time.Minute), daNextDay, daNextDay.Add(time.Minute)} {
				clock.Set(at)
				for _, svc := range []string{"sts", "iam"} {
					if code := daServe(t, s, svc, id, secret, at); code == 200 {
						t.Errorf("after %s, a request at %s (%s) authenticated", c.name, at.Format(time.DateTime), svc)
					}
				}
				dropFirstTier(s)
			}
			if r, ok := daRecord(t, s, id); ok {
				t.Errorf("after %s a record came back (secret %v, active %v)", c.name, len(r.sealed) > 0, r.row.active)
			}
		})
	}
}

// TestAttackDayAheadTTLBound: the TTL stays a second line behind the
// feed. A record written in the last hour keeps the secret; the key is
// deleted from the store behind the feed's back; once the record is past
// its TTL, the next day's request reads the store (and is refused), the
// secret in the record notwithstanding, whether or not a request used the
// record in between.
func TestAttackDayAheadTTLBound(t *testing.T) {
	for _, between := range []bool{false, true} {
		s, clock := daServer(t, time.Date(2026, 12, 7, 23, 59, 0, 0, time.UTC), nil)
		id, secret := newUserKey(t, s, "ttl")
		if code := daServe(t, s, "sts", id, secret, clock.Now()); code != 200 {
			t.Fatal(code)
		}
		if r, ok := daRecord(t, s, id); !ok || len(r.sealed) == 0 {
			t.Fatalf("setup: no record with the secret (%v)", ok)
		}
		s.store.SetChangeHook(nil) // the feed does not see the delete
		if err := s.store.DeleteAccessKey(context.Background(), id); err != nil {
			t.Fatal(err)
		}
		dropFirstTier(s)
		if between {
			clock.Set(daNextDay)
			code := daServe(t, s, "sts", id, secret, daNextDay)
			t.Logf("within the TTL, from the record: %d (by design 200: the feed was bypassed)", code)
		}
		// The record's row expires at most keyTTL after 23:59.
		at := time.Date(2026, 12, 7, 23, 59, 0, 0, time.UTC).Add(keyTTL + time.Minute)
		clock.Set(at)
		for _, svc := range []string{"sts", "iam"} {
			if code := daServe(t, s, svc, id, secret, at); code == 200 {
				t.Errorf("between=%v: a key deleted from the store authenticated past its TTL (%s, %s)", between, at.Format(time.DateTime), svc)
			}
		}
	}
}

// TestAttackDayAheadConfusedDeputy: the sealed secret in a key's record
// is bound to its key id (the AES-GCM additional data): a record of key A
// carrying B's sealed secret, with or without a signing key of A's, never
// lets B's secret authenticate as A, the next day or the same.
func TestAttackDayAheadConfusedDeputy(t *testing.T) {
	s, clock := daServer(t, daLastHour, nil)
	s.keys.ttl = 3 * time.Hour // the records last past midnight
	a, aSecret := newUserKey(t, s, "alice")
	b, bSecret := newUserKey(t, s, "bob")
	for _, k := range [][2]string{{a, aSecret}, {b, bSecret}} {
		if code := daServe(t, s, "sts", k[0], k[1], clock.Now()); code != 200 {
			t.Fatal(code)
		}
	}
	ra, ok1 := daRecord(t, s, a)
	rb, ok2 := daRecord(t, s, b)
	if !ok1 || !ok2 || len(ra.sealed) == 0 || len(rb.sealed) == 0 {
		t.Fatal("setup: records without secrets")
	}
	if _, err := s.iam.OpenSecret(a, rb.sealed); err == nil {
		t.Error("B's sealed secret opens as A's")
	}
	if got, err := s.iam.OpenSecret(b, rb.sealed); err != nil || string(got) != bSecret {
		t.Fatalf("B's sealed secret does not open as B's: %v", err)
	}
	// Also: a sealed signing key does not open as a secret, nor the
	// other way around.
	if _, err := s.iam.OpenSecret(a, ra.sealedKey); err == nil {
		t.Error("a sealed signing key opens as a secret")
	}
	if _, err := s.iam.OpenSigningKey(a, ra.scope, ra.sealed); err == nil {
		t.Error("a sealed secret opens as a signing key")
	}
	for _, withKey := range []bool{false, true} {
		dropFirstTier(s)
		clock.Set(daLastHour)
		var scope string
		var sealedKey []byte
		if withKey {
			scope, sealedKey = string(ra.scope), ra.sealedKey
		}
		row := ra.row
		if !s.keys.cache.ReplaceTiered([]byte(a), s.keys.cache.Gen(), row.encode(rb.sealed, scope, sealedKey)) {
			t.Fatal("setup: record not replaced")
		}
		for _, at := range []time.Time{daLastHour.Add(time.Minute), daNextDay} {
			clock.Set(at)
			for _, svc := range []string{"sts", "iam"} {
				if code := daServe(t, s, svc, a, bSecret, at); code == 200 {
					t.Errorf("withKey=%v: B's secret authenticated as A at %s (%s)", withKey, at.Format(time.DateTime), svc)
				}
			}
		}
		// Whatever A's record holds now, it holds no secret but A's.
		if r, ok := daRecord(t, s, a); ok && len(r.sealed) > 0 && !bytes.Equal(r.sealed, rb.sealed) {
			if got, err := s.iam.OpenSecret(a, r.sealed); err != nil || string(got) != aSecret {
				t.Errorf("withKey=%v: A's record holds a secret that is not A's", withKey)
			}
		}
	}
}

// TestAttackDayAheadCarryForwardOwnID: Derived's fallback to the record's
// sealed secret (an entry read from the second tier) carries only its own
// key's: with every key's entry read from records, the records rewritten
// in the last hour each hold the secret of their own id.
func TestAttackDayAheadCarryForwardOwnID(t *testing.T) {
	s, clock := daServer(t, time.Date(2026, 12, 7, 23, 10, 0, 0, time.UTC), nil)
	s.keys.ttl = 3 * time.Hour // the records last the hour
	type key struct{ id, secret string }
	var keys []key
	for _, n := range []string{"k1", "k2", "k3", "k4"} {
		id, secret := newUserKey(t, s, n)
		keys = append(keys, key{id, secret})
	}
	// Records of the 7th with the secret, from the store's entries; then,
	// from entries read from those records (no secret of their own), keys
	// of the 8th (signed ahead within the skew): Derived falls back to the
	// record's secret.
	for _, step := range []struct{ server, signed time.Time }{
		{time.Date(2026, 12, 7, 23, 10, 0, 0, time.UTC), time.Date(2026, 12, 7, 23, 10, 0, 0, time.UTC)},
		{time.Date(2026, 12, 7, 23, 50, 0, 0, time.UTC), time.Date(2026, 12, 8, 0, 4, 0, 0, time.UTC)},
	} {
		clock.Set(step.server)
		dropFirstTier(s)
		for _, k := range keys {
			for _, svc := range []string{"sts", "iam"} {
				if code := daServe(t, s, svc, k.id, k.secret, step.signed); code != 200 {
					t.Fatalf("%s: %d", svc, code)
				}
			}
		}
	}
	for _, k := range keys {
		r, ok := daRecord(t, s, k.id)
		if !ok {
			t.Fatalf("%s: no record", k.id)
		}
		if len(r.sealed) == 0 || !strings.HasPrefix(string(r.scope), "20261208/") {
			t.Errorf("setup: record of %s: secret %v, scope %q (the fallback did not run)", k.id, len(r.sealed) > 0, r.scope)
		}
		if r.row.id != k.id {
			t.Errorf("record of %s is of %s", k.id, r.row.id)
		}
		if len(r.sealed) > 0 {
			if got, err := s.iam.OpenSecret(k.id, r.sealed); err != nil || string(got) != k.secret {
				t.Errorf("record of %s holds another secret (%v)", k.id, err)
			}
		}
		if bytes.Contains(mustRecord(t, s, k.id), []byte(k.secret)) {
			t.Errorf("record of %s holds its secret in plaintext", k.id)
		}
	}
}

// TestAttackDayAheadSkew: requests signed up to the skew ahead (the next
// day's scope, in the last hour) or behind (the day before's, just after
// midnight) authenticate as they should, and the records they leave do
// not outlive an invalidation; a record whose secret a request of the
// next day's scope kept past midnight drops it once the key is read
// again from the store.
func TestAttackDayAheadSkew(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 23, 50, 0, 0, time.UTC)
	s, clock := daServer(t, at, nil)
	id, secret := newUserKey(t, s, "skewed")
	ahead := at.Add(14 * time.Minute) // 00:04 of the 8th
	if code := daServe(t, s, "sts", id, secret, ahead); code != 200 {
		t.Fatal(code)
	}
	r, ok := daRecord(t, s, id)
	if !ok || !strings.HasPrefix(string(r.scope), "20261208/") {
		t.Fatalf("record %v, scope %q", ok, r.scope)
	}
	// Just after midnight, a request of the day before (signed 23:55),
	// from the record.
	dropFirstTier(s)
	clock.Set(time.Date(2026, 12, 8, 0, 5, 0, 0, time.UTC))
	if code := daServe(t, s, "sts", id, secret, time.Date(2026, 12, 7, 23, 55, 0, 0, time.UTC)); code != 200 {
		t.Fatalf("a request signed before midnight: %d", code)
	}
	if code := daServe(t, s, "sts", id, secret, clock.Now()); code != 200 {
		t.Fatalf("a request of the day: %d", code)
	}
	// Past the TTL the key is read again from the store, and the record
	// then written leaves the secret out.
	clock.Set(at.Add(keyTTL + 5*time.Minute))
	if code := daServe(t, s, "sts", id, secret, clock.Now()); code != 200 {
		t.Fatal(code)
	}
	if r, ok := daRecord(t, s, id); !ok || len(r.sealed) > 0 {
		t.Errorf("past the TTL, the record (%v) keeps the secret", ok)
	}
	// Back in the last hour of the 8th, a request of the 9th; then the
	// key is deactivated: no record, and no request authenticates.
	clock.Set(time.Date(2026, 12, 8, 23, 50, 0, 0, time.UTC))
	if code := daServe(t, s, "iam", id, secret, time.Date(2026, 12, 9, 0, 4, 0, 0, time.UTC)); code != 200 {
		t.Fatal(code)
	}
	if _, err := s.iam.UpdateAccessKey(ctx, testRoot, &iam.UpdateAccessKeyInput{UserName: "skewed", AccessKeyID: id, Status: "Inactive"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := daRecord(t, s, id); ok {
		t.Error("a record survives the deactivation")
	}
	for _, c := range []struct{ server, signed time.Time }{
		{time.Date(2026, 12, 8, 23, 55, 0, 0, time.UTC), time.Date(2026, 12, 9, 0, 5, 0, 0, time.UTC)},
		{time.Date(2026, 12, 9, 0, 1, 0, 0, time.UTC), time.Date(2026, 12, 9, 0, 1, 0, 0, time.UTC)},
		{time.Date(2026, 12, 9, 0, 1, 0, 0, time.UTC), time.Date(2026, 12, 8, 23, 50, 0, 0, time.UTC)},
	} {
		clock.Set(c.server)
		for _, svc := range []string{"sts", "iam"} {
			if code := daServe(t, s, svc, id, secret, c.signed); code == 200 {
				t.Errorf("deactivated key authenticated at %s signed %s (%s)", c.server.Format(time.TimeOnly), c.signed.Format(time.DateTime), svc)
			}
		}
	}
}

// TestAttackDayAheadOutsideLastHour: a caller with a valid key cannot make
// the server write a record with the secret outside the last hour of the
// (server's) UTC day, whatever its requests' times within the skew
// (including ones in the next day's or the last hour's), scopes, and
// however its entries are dropped and read again.
func TestAttackDayAheadOutsideLastHour(t *testing.T) {
	start := time.Date(2026, 12, 8, 0, 30, 0, 0, time.UTC)
	s, clock := daServer(t, start, nil)
	id, secret := newUserKey(t, s, "outside")
	for _, server := range []time.Time{
		start,
		time.Date(2026, 12, 8, 6, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 8, 22, 43, 0, 0, time.UTC), // a request signed 22:58; read again at 22:59
		time.Date(2026, 12, 8, 22, 59, 59, 0, time.UTC),
		time.Date(2026, 12, 9, 0, 0, 0, 0, time.UTC),
	} {
		clock.Set(server)
		for _, skew := range []time.Duration{0, 15 * time.Minute, -15 * time.Minute, 14*time.Minute + 59*time.Second} {
			for _, svc := range []string{"sts", "iam"} {
				code := daServe(t, s, svc, id, secret, server.Add(skew))
				if code != 200 {
					t.Fatalf("%s signed %s (%s): %d", server.Format(time.DateTime), server.Add(skew).Format(time.DateTime), svc, code)
				}
				if r, ok := daRecord(t, s, id); ok && len(r.sealed) > 0 {
					t.Fatalf("at %s a request signed %s (%s) left a record with the secret", server.Format(time.DateTime), server.Add(skew).Format(time.DateTime), svc)
				}
				dropFirstTier(s)
			}
		}
		// Past the TTL: read again from the store (the clock only goes
		// forward: a record written in the last hour keeps the secret
		// into the next day by design, until the key's next request).
		clock.Set(server.Add(keyTTL + time.Minute))
		if code := daServe(t, s, "sts", id, secret, clock.Now()); code != 200 {
			t.Fatal(code)
		}
		if r, ok := daRecord(t, s, id); ok && len(r.sealed) > 0 && !dayAhead(clock.Now()) {
			t.Fatalf("at %s a record with the secret", clock.Now().Format(time.DateTime))
		}
	}
}

// TestAttackDayAheadNoPlaintext: in the last hour, neither the record nor
// the log holds the secret in plaintext (nor base64/hex of it is beside
// the point: the record holds it only sealed, which opens only as its
// key's).
func TestAttackDayAheadNoPlaintext(t *testing.T) {
	var log lockedBuffer
	s, clock := daServer(t, daLastHour, &log)
	id, secret := newUserKey(t, s, "plain")
	for i, svc := range []string{"sts", "iam", "sts"} {
		if i == 2 {
			dropFirstTier(s)
			clock.Set(daNextDay)
		}
		if code := daServe(t, s, svc, id, secret, clock.Now()); code != 200 {
			t.Fatal(code)
		}
		if i == 0 {
			rec := mustRecord(t, s, id)
			r, _ := decodeRecord(rec)
			if len(r.sealed) == 0 {
				t.Fatal("setup: no secret in the record")
			}
			if bytes.Contains(rec, []byte(secret)) {
				t.Error("the record holds the secret in plaintext")
			}
			if got, err := s.iam.OpenSecret(id, r.sealed); err != nil || string(got) != secret {
				t.Errorf("the record's sealed secret does not open as the key's: %v", err)
			}
		}
	}
	if strings.Contains(log.String(), secret) {
		t.Error("the log holds the secret")
	}
}

// TestAttackDayAheadRecreatedID: a key id deleted (through the feed) and
// created again with another secret does not authenticate with the old
// secret, from a record the old one left in the last hour, the next day
// or the same; the new secret works.
func TestAttackDayAheadRecreatedID(t *testing.T) {
	ctx := context.Background()
	s, clock := daServer(t, daLastHour, nil)
	const id = "AKIADAYAHEADREUSE01"
	const old, fresh = "oldsecretoldsecretoldsecretoldsecret0001", "newsecretnewsecretnewsecretnewsecret0002"
	if err := s.iam.CreateRootAccessKey(ctx, benchAccount, id, old); err != nil {
		t.Fatal(err)
	}
	if code := daServe(t, s, "sts", id, old, clock.Now()); code != 200 {
		t.Fatal(code)
	}
	if r, ok := daRecord(t, s, id); !ok || len(r.sealed) == 0 {
		t.Fatal("setup: no record with the secret")
	}
	dropFirstTier(s) // the record alone holds the old secret
	if err := s.store.DeleteAccessKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := s.iam.CreateRootAccessKey(ctx, benchAccount, id, fresh); err != nil {
		t.Fatal(err)
	}
	for _, at := range []time.Time{daLastHour.Add(time.Minute), daNextDay} {
		clock.Set(at)
		for _, svc := range []string{"sts", "iam"} {
			if code := daServe(t, s, svc, id, old, at); code == 200 {
				t.Errorf("the old secret of a recreated key id authenticated at %s (%s)", at.Format(time.DateTime), svc)
			}
			if code := daServe(t, s, svc, id, fresh, at); code != 200 {
				t.Errorf("the new secret at %s (%s): %d", at.Format(time.DateTime), svc, code)
			}
		}
		dropFirstTier(s)
	}
	if r, ok := daRecord(t, s, id); ok && len(r.sealed) > 0 {
		if got, _ := s.iam.OpenSecret(id, r.sealed); string(got) != fresh {
			t.Error("the record holds the old secret")
		}
	}
}

// TestAttackDayAheadDeleteRace (run with -race): requests (each dropping
// the first tier now and then, so that entries are read from records and
// the fallback to the record's secret runs) race the key's deletion in
// the last hour: no request begun after DeleteAccessKey returned
// authenticates, no record survives, and the next day the key is refused.
func TestAttackDayAheadDeleteRace(t *testing.T) {
	for round := range 3 {
		s, clock := daServer(t, daLastHour, nil)
		user := "dar"
		id, secret := newUserKey(t, s, user)
		var deleted atomic.Bool
		var bad, ok200 atomic.Int64
		stop := untilStopped(2, func(w, i int) {
			svc := "sts"
			if (w+i)%2 == 1 {
				svc = "iam"
			}
			after := deleted.Load()
			code := daServe(t, s, svc, id, secret, clock.Now())
			if code == 200 {
				ok200.Add(1)
				if after {
					bad.Add(1)
				}
			}
			if i%2 == 0 {
				dropFirstTier(s)
			}
		})
		time.Sleep(time.Duration(10+10*round) * time.Millisecond)
		if _, err := s.iam.DeleteAccessKey(context.Background(), testRoot, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyID: id}); err != nil {
			t.Fatal(err)
		}
		deleted.Store(true)
		time.Sleep(20 * time.Millisecond)
		stop()
		t.Logf("round %d: %d authenticated", round, ok200.Load())
		if n := bad.Load(); n > 0 {
			t.Errorf("round %d: %d requests begun after the deletion authenticated", round, n)
		}
		if where := s.keys.cache.Where([]byte(id)); where != "none" {
			t.Errorf("round %d: the deleted key is in %s", round, where)
		}
		clock.Set(daNextDay)
		if code := daServe(t, s, "sts", id, secret, daNextDay); code == 200 {
			t.Errorf("round %d: the deleted key authenticated the next day", round)
		}
	}
}

// TestAttackDayAheadDerivedForgetRace (run with -race): an entry read from
// a record that keeps the secret derives (the fallback to the record's
// secret) while its key is forgotten: forget before Derived refuses the
// write (gen), after it drops the record; either way no record remains.
func TestAttackDayAheadDerivedForgetRace(t *testing.T) {
	s, clock := daServer(t, daLastHour, nil)
	ctx := context.Background()
	for i := range 60 {
		clock.Set(daLastHour)
		id, secret := newUserKey(t, s, "dfr"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		if code := daServe(t, s, "sts", id, secret, daLastHour); code != 200 {
			t.Fatal(code)
		}
		dropFirstTier(s)
		e, err := s.keys.get(ctx, id, daLastHour.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if e.sealed != nil {
			t.Fatal("setup: the entry is not the record's")
		}
		var wg sync.WaitGroup
		wg.Go(func() { s.keys.forget(store.Change{Kind: store.ChangeAccessKey, Key: id}) })
		wg.Go(func() {
			var k [sha256.Size]byte
			e.Derived("20261208", "us-east-1", "sts", &k) // a day ahead: the record is rewritten
		})
		wg.Wait()
		if _, ok := s.keys.cache.TierRecord([]byte(id)); ok {
			t.Fatalf("key %d: a record survives its invalidation", i)
		}
	}
}

// TestAttackDayAheadZones: the last hour is UTC's whatever the clock's
// zone (half-hour, quarter-hour and far zones, a DST zone), and the ends
// of months and years.
func TestAttackDayAheadZones(t *testing.T) {
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 12, 8, 5, 0, 0, 0, time.FixedZone("IST", 5*3600+1800)), true},        // 23:30 UTC
		{time.Date(2026, 12, 8, 4, 29, 59, 0, time.FixedZone("IST", 5*3600+1800)), false},     // 22:59:59 UTC
		{time.Date(2026, 12, 8, 5, 45, 0, 0, time.FixedZone("NPT", 5*3600+2700)), false},      // 00:00 UTC of the 8th
		{time.Date(2026, 12, 8, 5, 44, 59, 0, time.FixedZone("NPT", 5*3600+2700)), true},      // 23:59:59 UTC of the 7th
		{time.Date(2026, 12, 7, 13, 30, 0, 0, time.FixedZone("HST-ish", -9*3600-1800)), true}, // 23:00 UTC
		{time.Date(2026, 12, 8, 13, 0, 0, 0, time.FixedZone("LINT", 14*3600)), true},          // 23:00 UTC of the 7th
		{time.Date(2026, 12, 7, 11, 59, 0, 0, time.FixedZone("AoE", -12*3600)), true},         // 23:59 UTC
		{time.Date(2026, 12, 7, 12, 0, 0, 0, time.FixedZone("AoE", -12*3600)), false},         // 00:00 UTC of the 8th
		{time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC), true},
		{time.Date(2027, 1, 1, 0, 0, 0, 1, time.UTC), false},
		{time.Date(2028, 2, 28, 23, 30, 0, 0, time.UTC), true},
		{time.Date(2028, 2, 29, 22, 59, 59, 999999999, time.UTC), false},
		{time.Date(2028, 2, 29, 23, 0, 0, 0, time.UTC), true},
	} {
		if got := dayAhead(c.at); got != c.want {
			t.Errorf("dayAhead(%s = %s UTC) = %v, want %v", c.at, c.at.UTC().Format(time.DateTime), got, c.want)
		}
	}
	// A DST zone on its change days.
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		for _, c := range []struct {
			at   time.Time
			want bool
		}{
			{time.Date(2026, 3, 8, 19, 30, 0, 0, ny), true},   // EDT: 23:30 UTC
			{time.Date(2026, 3, 8, 18, 30, 0, 0, ny), false},  // 22:30 UTC
			{time.Date(2026, 11, 1, 18, 30, 0, 0, ny), true},  // EST: 23:30 UTC
			{time.Date(2026, 11, 1, 19, 30, 0, 0, ny), false}, // 00:30 UTC
		} {
			if got := dayAhead(c.at); got != c.want {
				t.Errorf("dayAhead(%s = %s UTC) = %v, want %v", c.at, c.at.UTC().Format(time.DateTime), got, c.want)
			}
		}
	}
	// A time with a monotonic reading, as time.Now gives.
	now := time.Now()
	if got, want := dayAhead(now), dayAhead(now.Round(0).UTC()); got != want {
		t.Errorf("dayAhead of a monotonic time %v, of its wall time %v", got, want)
	}
}
