package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/cache"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/internal/store"
)

// attackServe signs a request of service (sts or iam) with id and secret
// and returns 200 when it authenticated (an AccessDenied counts: the
// user may not list users), else the status.
func attackServe(t testing.TB, s *Server, service, id, secret string) int {
	form := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	if service == "iam" {
		form = url.Values{"Action": {"ListUsers"}, "Version": {"2010-05-08"}}
	}
	req, _ := signedRequest(t, service, id, secret, form)
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if rec.Code == 403 && strings.Contains(rec.Body.String(), "<Code>AccessDenied</Code>") {
		return 200
	}
	return rec.Code
}

// untilStopped runs body(w, i) in workers goroutines, w the worker and i
// its round, round after round until the function it returns is called,
// which returns once every worker has.
func untilStopped(workers int, body func(w, i int)) (stop func()) {
	var wg sync.WaitGroup
	done := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				body(w, i)
			}
		})
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// TestAttackDeactivateRace: requests of alternating scopes (each one
// derives and writes back a signing key) and evictions of the first tier
// (each following request decodes the second tier's record) run while
// the key is deactivated: no request begun after UpdateAccessKey returned
// authenticates, and the record left behind is not an active one.
func TestAttackDeactivateRace(t *testing.T) {
	for round := range 5 {
		s := newTestServer(t, io.Discard)
		id, secret := newUserKey(t, s, "racer")
		var deactivated atomic.Bool
		var bad, served, ok200 atomic.Int64
		stop := untilStopped(3, func(w, i int) {
			svc := "sts"
			if (i+w)%2 == 1 {
				svc = "iam"
			}
			after := deactivated.Load()
			code := attackServe(t, s, svc, id, secret)
			served.Add(1)
			if code == 200 {
				ok200.Add(1)
			}
			if code == 200 && after {
				bad.Add(1)
			}
			if i%3 == 0 {
				s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true })
			}
		})
		time.Sleep(time.Duration(20+round*15) * time.Millisecond)
		if _, err := s.iam.UpdateAccessKey(context.Background(), testRoot, &iam.UpdateAccessKeyInput{UserName: "racer", AccessKeyID: id, Status: "Inactive"}); err != nil {
			t.Fatal(err)
		}
		deactivated.Store(true)
		time.Sleep(30 * time.Millisecond)
		stop()
		t.Logf("round %d: %d requests, %d authenticated", round, served.Load(), ok200.Load())
		if n := bad.Load(); n > 0 {
			t.Errorf("round %d: %d requests begun after the deactivation authenticated", round, n)
		}
		if rec, ok := s.keys.cache.TierRecord([]byte(id)); ok {
			if r, ok := decodeRecord(rec); ok && r.row.active {
				t.Errorf("round %d: the second tier holds an active record after the deactivation (scope %q)", round, r.scope)
			}
		}
		s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true })
		for _, svc := range []string{"sts", "iam"} {
			if code := attackServe(t, s, svc, id, secret); code == 200 {
				t.Errorf("round %d: the deactivated key authenticates for %s", round, svc)
			}
		}
	}
}

// TestAttackNoWrongWriteBack: a request with a bad signature, or signed
// with another user's secret under the victim's key id, makes the victim's
// entry hold nothing and its record stay unchanged.
func TestAttackNoWrongWriteBack(t *testing.T) {
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	id, secret := newUserKey(t, s, "victim")
	_, other := newUserKey(t, s, "mallory")
	if code := attackServe(t, s, "sts", id, secret); code != 200 {
		t.Fatal(code)
	}
	before, _ := s.keys.cache.TierRecord([]byte(id))
	for _, forged := range []string{other, wrongSecret(secret), ""} {
		if code := attackServe(t, s, "iam", id, forged); code == 200 {
			t.Fatalf("forged secret %q authenticated", forged)
		}
	}
	after, _ := s.keys.cache.TierRecord([]byte(id))
	if !bytes.Equal(before, after) {
		t.Error("a refused request changed the record")
	}
	e, _ := s.keys.get(ctx, id, time.Now())
	date := time.Now().UTC().Format("20060102")
	if _, ok := e.SigningKey(date, "us-east-1", "iam"); ok {
		t.Error("a refused request's scope is held")
	}
}

// TestAttackRecordTamper: records whose scope or sealed key are another
// key's, garbage, or a sealed secret are not used to verify; the key
// still works (from the secret) and nothing panics.
func TestAttackRecordTamper(t *testing.T) {
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	a, aSecret := newUserKey(t, s, "alice")
	b, bSecret := newUserKey(t, s, "bob")
	ahead := dayAhead(time.Now())
	for _, k := range [][2]string{{a, aSecret}, {b, bSecret}} {
		if code := attackServe(t, s, "sts", k[0], k[1]); code != 200 {
			t.Fatal(code)
		}
	}
	ahead = ahead || dayAhead(time.Now())
	date := time.Now().UTC().Format("20060102")
	scope := date + "/us-east-1/sts"
	recOf := func(id string) record {
		rec, ok := s.keys.cache.TierRecord([]byte(id))
		if !ok {
			t.Fatal("no record")
		}
		r, ok := decodeRecord(rec)
		if !ok {
			t.Fatal("record does not decode")
		}
		return r
	}
	ra := recOf(a)
	// A record holds no secret (the signing key does without it), but in
	// the day's last hour (dayAhead, which the requests may have fallen
	// in: this test ran on the real clock, and failed in that hour): the
	// sealed secrets are the store's.
	sealedOf := func(id string) []byte {
		k, err := s.store.GetAccessKey(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return k.Secret
	}
	if len(ra.sealed) != 0 && !ahead {
		t.Fatal("the record holds the sealed secret outside the day's last hour")
	}
	rb := recOf(b)
	sealedSecretA, sealedSecretB := sealedOf(a), sealedOf(b)
	cases := map[string]struct {
		sealed            []byte
		scope             string
		sealedKey         []byte
		mustHold, mustDec bool
	}{
		"bob's sealed key in alice's record":    {sealedSecretA, scope, bytes.Clone(rb.sealedKey), false, true},
		"alice's sealed secret as her key":      {sealedSecretA, scope, sealedSecretA, false, true},
		"garbage scope":                         {sealedSecretA, "\xff\x00garbage/\xfe/", bytes.Repeat([]byte{1}, 61), false, true},
		"another scope's label on her key":      {sealedSecretA, date + "/us-east-1/iam", bytes.Clone(ra.sealedKey), false, true},
		"long scope":                            {sealedSecretA, date + "/" + strings.Repeat("r", 4000) + "/sts", bytes.Clone(ra.sealedKey), false, true},
		"her sealed key as the secret":          {bytes.Clone(ra.sealedKey), scope, bytes.Clone(ra.sealedKey), true, true},
		"bob's sealed secret in alice's record": {sealedSecretB, "", nil, false, false},
		"neither secret nor key":                {nil, "", nil, false, false},
		"her key of a day long past, no secret": {nil, "20200101/us-east-1/sts", bytes.Clone(ra.sealedKey), false, false},
	}
	for name, c := range cases {
		row := ra.row
		gen := s.keys.cache.Gen()
		if !s.keys.cache.ReplaceTiered([]byte(a), gen, row.encode(c.sealed, c.scope, c.sealedKey)) {
			t.Fatalf("%s: not replaced", name)
		}
		s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true }) // read it from the tier
		e, ok := s.keys.decode(ctx, mustRecord(t, s, a), time.Now(), s.keys.cache.Gen())
		if ok != c.mustDec {
			t.Errorf("%s: decoded %v", name, ok)
		}
		if ok {
			_, held := e.SigningKey(date, "us-east-1", "sts")
			_, heldIAM := e.SigningKey(date, "us-east-1", "iam")
			if held != c.mustHold || heldIAM {
				t.Errorf("%s: holds sts %v iam %v", name, held, heldIAM)
			}
		}
		if code := attackServe(t, s, "sts", a, aSecret); code != 200 {
			t.Errorf("%s: alice's request: %d", name, code)
		}
		if code := attackServe(t, s, "sts", a, bSecret); code == 200 {
			t.Errorf("%s: bob's secret authenticates as alice", name)
		}
		// Restore a good record for the next case.
		s.keys.cache.Delete(a)
		if code := attackServe(t, s, "sts", a, aSecret); code != 200 {
			t.Fatal(code)
		}
		ra = recOf(a)
	}
}

func mustRecord(t *testing.T, s *Server, id string) []byte {
	rec, ok := s.keys.cache.TierRecord([]byte(id))
	if !ok {
		t.Fatal("no record")
	}
	return rec
}

// TestAttackOddScope: a request of the authorize API's kind (any region
// of up to 64 bytes, non-UTF-8 and NUL included) verifies, is held and
// written back, is read back from the tier and still verifies; a request
// of a scope that differs in one byte of the region is not checked with
// the held key.
func TestAttackOddScope(t *testing.T) {
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	var id, secret string
	now := time.Now().UTC()
	date := now.Format("20060102")
	try := func(region, service string, key [sha256.Size]byte) error {
		build := func(sig string) *sigv4.Request {
			r := httptest.NewRequest("GET", "http://res.test/x", nil)
			r.Header.Set("X-Amz-Date", now.Format("20060102T150405Z"))
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+id+"/"+date+"/"+region+"/"+service+"/aws4_request, SignedHeaders=host;x-amz-date, Signature="+sig)
			sr, err := s.sigv4.ParseHashAt(r, "", now)
			if err != nil {
				t.Fatalf("parse %q: %v", region, err)
			}
			return sr
		}
		sr := build(strings.Repeat("0", 64))
		m := hmac.New(sha256.New, key[:])
		m.Write([]byte(sr.StringToSign()))
		sr = build(hex.EncodeToString(m.Sum(nil)))
		_, err := s.authn.AuthenticateIn(ctx, httptest.NewRequest("GET", "http://res.test/x", nil), sr, now, region)
		return err
	}
	for i, region := range []string{"\xff\x00\x01é", strings.Repeat("z", 64), "us-east-1 ", "US-EAST-1"} {
		// A key of its own: a record holds its key's first scope of a day.
		id, secret = newUserKey(t, s, fmt.Sprint("odd", i))
		k := sigv4.SigningKey([]byte(secret), date, region, "s3")
		if err := try(region, "s3", k); err != nil {
			t.Fatalf("%q: %v", region, err)
		}
		e, _ := s.keys.get(ctx, id, now)
		if h, ok := e.SigningKey(date, region, "s3"); !ok || *h != k {
			t.Fatalf("%q: not held", region)
		}
		s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true })
		e, _ = s.keys.get(ctx, id, now)
		if _, ok := e.SigningKey(date, region, "s3"); !ok {
			t.Errorf("%q: not read back from the tier", region)
		}
		if err := try(region, "s3", k); err != nil {
			t.Errorf("%q with the held key: %v", region, err)
		}
		// One byte off: the held key of region must not check it.
		other := region[:len(region)-1] + "!"
		if err := try(other, "s3", k); err == nil {
			t.Errorf("a key held for %q verified a request of %q", region, other)
		}
	}
}

// TestAttackWriteBackKeepsExpiry: a write-back does not lengthen the
// record's TTL, and past it the key is read from the store again.
func TestAttackWriteBackKeepsExpiry(t *testing.T) {
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	id, secret := newUserKey(t, s, "ttl")
	if _, err := s.keys.get(ctx, id, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.keys.cache.TierRecord([]byte(id)); ok {
		t.Fatal("a record before any request derived a signing key")
	}
	if code := attackServe(t, s, "sts", id, secret); code != 200 {
		t.Fatal(code)
	}
	r0, _ := decodeRecord(mustRecord(t, s, id))
	time.Sleep(20 * time.Millisecond)
	for _, svc := range []string{"sts", "iam", "sts"} {
		if code := attackServe(t, s, svc, id, secret); code != 200 {
			t.Fatal(code)
		}
	}
	r1, _ := decodeRecord(mustRecord(t, s, id))
	if r1.row.expires != r0.row.expires || len(r1.scope) == 0 {
		t.Errorf("expiry %d -> %d, scope %q", r0.row.expires, r1.row.expires, r1.scope)
	}
	// Behind the feed's back the key goes inactive: past the TTL it is
	// read again, whatever the held key.
	s.store.SetChangeHook(nil)
	k, _ := s.store.GetAccessKey(ctx, id)
	k.Status = "Inactive"
	if err := s.store.UpdateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	e, err := s.keys.Key(ctx, id, time.Now().Add(s.keys.ttl+time.Second))
	if err != nil || e.Active {
		t.Errorf("past the TTL: active %v, %v", e != nil && e.Active, err)
	}
}

// TestKeyRecordRenewedPastTTL: a key read again past its TTL (from the
// first tier's entry past it, or with none) has its record in the second
// tier written again, with the new expiry: the record past its TTL, which
// holds the day's signing key, did not stop the write-back, and every use
// of a key read from the second tier went to the store from then on.
func TestKeyRecordRenewedPastTTL(t *testing.T) {
	for _, dropFirst := range []bool{false, true} {
		s := newTestServer(t, io.Discard)
		s.keys.ttl = 150 * time.Millisecond
		id, secret := newUserKey(t, s, "renew")
		if code := attackServe(t, s, "sts", id, secret); code != 200 {
			t.Fatal(code)
		}
		r0, _ := decodeRecord(mustRecord(t, s, id))
		for round := range 2 {
			time.Sleep(200 * time.Millisecond)
			if dropFirst {
				s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true })
			}
			if code := attackServe(t, s, "sts", id, secret); code != 200 {
				t.Fatal(code)
			}
			r1, _ := decodeRecord(mustRecord(t, s, id))
			if r1.row.expires <= r0.row.expires || len(r1.scope) == 0 {
				t.Fatalf("first tier dropped %v, round %d: record's expiry %d -> %d (not renewed), scope %q", dropFirst, round, r0.row.expires, r1.row.expires, r1.scope)
			}
			if e, _ := s.keys.get(context.Background(), id, time.Now()); e == nil || e.expires != r1.row.expires {
				t.Fatalf("first tier dropped %v: the entry in use is not the renewed one", dropFirst)
			}
			r0 = r1
		}
	}
}

// FuzzKeyRecordDecode: no record, however odd, panics decode or
// openScoped, and none of another key id comes with a signing key.
func FuzzKeyRecordDecode(f *testing.F) {
	s := newTestServer(f, io.Discard)
	id, secret := newUserKey(f, s, "fuzz")
	req, _ := signedRequest(f, "sts", id, secret, url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	good, _ := s.keys.cache.TierRecord([]byte(id))
	f.Add(good)
	r, _ := decodeRecord(good)
	f.Add(r.row.encode(r.sealed, string(r.scope)+"x", r.sealedKey))
	f.Add(r.row.encode(r.sealed, "20260101/\xff/\x00", nil))
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		e, ok := s.keys.decode(ctx, b, time.Now(), s.keys.cache.Gen())
		if ok && e.auth.Caller.AccessKeyID != id {
			if sk := e.scoped.Load(); sk != nil {
				t.Fatalf("a record of %q holds a signing key", e.auth.Caller.AccessKeyID)
			}
		}
	})
}

// TestAttackTierChurn: one authenticated user, alternating two services
// whose scopes differ in length (sts and organizations: no permission
// needed, authentication comes first), appends a new second-tier record
// at each request, which pushes every other key's record out of the tier
// (FIFO eviction); alternating sts and iam (same length) rewrites in place
// and evicts nothing. The tier here is small (16 segments of 8 KiB) so the
// test is quick; the server's is 256 MiB, which the same loop fills at
// some 300 bytes a request.
func TestAttackTierChurn(t *testing.T) {
	for _, other := range []string{"iam", "organizations"} {
		s := newTestServer(t, io.Discard)
		s.keys.cache = cache.New(cache.Config[*keyEntry]{MaxBytes: keyCacheBytes, CompactBytes: 16 * 8192,
			Cost: func(e *keyEntry) (int, []cache.Shared) { return e.size(), nil }})
		var victims []string
		for i := range 20 {
			id, secret := newUserKey(t, s, "victim"+strconv.Itoa(i))
			// Its first request writes its record (with the signing key).
			if code := attackServe(t, s, "sts", id, secret); code != 200 {
				t.Fatal(code)
			}
			if _, ok := s.keys.cache.TierRecord([]byte(id)); !ok {
				t.Fatal("no record after a request")
			}
			victims = append(victims, id)
		}
		id, secret := newUserKey(t, s, "churner")
		for i := range 1200 {
			svc := "sts"
			if i%2 == 1 {
				svc = other
			}
			var code int
			if svc == "organizations" {
				body := []byte("{}")
				r := httptest.NewRequest("POST", "http://opensts.test/", bytes.NewReader(body))
				r.Header.Set("Content-Type", "application/x-amz-json-1.1")
				r.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128.DescribeOrganization")
				if err := sigv4.Sign(r, body, id, secret, "", "us-east-1", "organizations", time.Now().UTC()); err != nil {
					t.Fatal(err)
				}
				rec := httptest.NewRecorder()
				s.Handler().ServeHTTP(rec, r)
				code = rec.Code
				if code != 200 && !strings.Contains(rec.Body.String(), "AccessDenied") {
					t.Fatalf("organizations: %d %s", code, rec.Body)
				}
			} else if code = attackServe(t, s, svc, id, secret); code != 200 {
				t.Fatalf("%s: %d", svc, code)
			}
		}
		gone := 0
		for _, v := range victims {
			if _, ok := s.keys.cache.TierRecord([]byte(v)); !ok {
				gone++
			}
		}
		t.Logf("alternating sts and %s: %d of %d other keys' second-tier records evicted", other, gone, len(victims))
		if gone != 0 {
			t.Errorf("one key alternating sts and %s evicted %d of %d other keys' records from the second tier", other, gone, len(victims))
		}
	}
}

// TestAttackDirectStress: Derived, Secret, decode, forget and DeleteFunc
// on one key from several goroutines (run with -race); once the key is
// made inactive behind the feed and forgotten, no entry read afterwards
// is active, and the record, if any, is not active.
func TestAttackDirectStress(t *testing.T) {
	s := newTestServer(t, io.Discard)
	ctx := context.Background()
	id, secret := newUserKey(t, s, "stress")
	date := time.Now().UTC().Format("20060102")
	var wg sync.WaitGroup
	stop := make(chan struct{})
	services := []string{"sts", "iam", "organizations", "s3"}
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				e, err := s.keys.get(ctx, id, time.Now())
				if err != nil {
					continue
				}
				svc := services[(i+w)%len(services)]
				if _, ok := e.SigningKey(date, "us-east-1", svc); !ok {
					sec, err := e.Secret(context.Background())
					if err == nil {
						k := sigv4.SigningKey(sec, date, "us-east-1", svc)
						e.Derived(date, "us-east-1", svc, &k)
					}
				}
				switch i % 7 {
				case 0:
					s.keys.forget(store.Change{Kind: store.ChangeAccessKey, Key: id})
				case 3:
					s.keys.cache.DeleteFunc(func(string, *keyEntry) bool { return true })
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	s.store.SetChangeHook(nil)
	k, _ := s.store.GetAccessKey(ctx, id)
	k.Status = "Inactive"
	if err := s.store.UpdateAccessKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	s.keys.forget(store.Change{Kind: store.ChangeAccessKey, Key: id})
	deadline := time.Now().Add(200 * time.Millisecond)
	for time.Now().Before(deadline) {
		if e, err := s.keys.get(ctx, id, time.Now()); err == nil && e.auth.Active {
			t.Error("an entry read after the deactivation and its change is active")
			break
		}
	}
	close(stop)
	wg.Wait()
	if rec, ok := s.keys.cache.TierRecord([]byte(id)); ok {
		if r, ok := decodeRecord(rec); ok && r.row.active {
			t.Error("an active record survived")
		}
	}
	_ = secret
}

// TestAttackDayWindow: a sealed key of a day far from now is not opened;
// a key of yesterday or tomorrow is, and matches only its own date.
func TestAttackDayWindow(t *testing.T) {
	s := newTestServer(t, io.Discard)
	id, secret := newUserKey(t, s, "days")
	now := time.Now().UTC()
	for _, c := range []struct {
		days int
		open bool
	}{{-6, false}, {-3, false}, {-1, true}, {0, true}, {1, true}, {2, false}} {
		date := now.AddDate(0, 0, c.days).Format("20060102")
		scope := []byte(date + "/us-east-1/sts")
		k := sigv4.SigningKey([]byte(secret), date, "us-east-1", "sts")
		sealed, _ := s.iam.SealSigningKey(id, scope, k[:])
		sk := s.keys.openScoped(id, scope, sealed, now)
		if (sk != nil) != c.open {
			t.Errorf("day %+d: opened %v", c.days, sk != nil)
		}
		if sk != nil && (sk.key != k || sk.scope.date != date) {
			t.Errorf("day %+d: wrong key or date", c.days)
		}
	}
	// A presigned GetCallerIdentity of 6 days ago is refused by the
	// verifier before any key is looked at (X-Amz-Expires is at most 7
	// days, but STS refuses an expired one): nothing to hold.
}

// wrongSecret is secret with its last character changed: always another
// secret ("x" in its place was the same one when the secret ended in x, one
// secret in 40 or so, and the tests that used it then failed at random).
func wrongSecret(secret string) string {
	last := "x"
	if strings.HasSuffix(secret, "x") {
		last = "y"
	}
	return secret[:len(secret)-1] + last
}
