package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
)

func testAccessKeys(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAALICE", "Alice")))
	k1 := store.AccessKey{ID: "AKIAONE", Account: acct1, UserName: "Alice", UserID: "AIDAALICE", Secret: []byte("sealed-1"), Status: "Active", CreatedAt: t0}
	k2 := store.AccessKey{ID: "AKIATWO", Account: acct1, UserName: "Alice", UserID: "AIDAALICE", Secret: []byte("sealed-2"), Status: "Inactive", CreatedAt: at(time.Second)}
	root := store.AccessKey{ID: "AKIAROOT", Account: acct1, UserID: acct1, Secret: []byte("sealed-root"), Status: "Active", CreatedAt: t0}
	ok(t, s.CreateAccessKey(ctx, k2))
	ok(t, s.CreateAccessKey(ctx, k1))
	ok(t, s.CreateAccessKey(ctx, root))
	isErr(t, s.CreateAccessKey(ctx, k1), store.ErrAlreadyExists, "duplicate key id")
	isErr(t, s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIANOUSER", Account: acct1, UserName: "nobody", Status: "Active"}), store.ErrNotFound, "key of missing user")

	// A user's key names the user as stored, whatever the spelling used.
	ok(t, s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIATHREE", Account: acct1, UserName: "ALICE", UserID: "AIDAALICE", Status: "Active", CreatedAt: at(2 * time.Second)}))
	got, err := s.GetAccessKey(ctx, "AKIATHREE")
	ok(t, err)
	same(t, "user name", "Alice", got.UserName)
	ok(t, s.DeleteAccessKey(ctx, "AKIATHREE"))

	for _, want := range []store.AccessKey{k1, k2, root} {
		got, err := s.GetAccessKey(ctx, want.ID)
		ok(t, err)
		same(t, "key "+want.ID, want, got)
	}
	_, err = s.GetAccessKey(ctx, "AKIANONE")
	isErr(t, err, store.ErrNotFound, "get missing key")

	ks, err := s.ListAccessKeys(ctx, acct1, "alice")
	ok(t, err)
	same(t, "user keys", []store.AccessKey{k1, k2}, ks)
	ks, err = s.ListAccessKeys(ctx, acct1, "")
	ok(t, err)
	same(t, "root keys", []store.AccessKey{root}, ks)
	ks, err = s.ListAccessKeys(ctx, acct2, "")
	ok(t, err)
	same(t, "root keys of another account", 0, len(ks))
	_, err = s.ListAccessKeys(ctx, acct1, "nobody")
	isErr(t, err, store.ErrNotFound, "keys of missing user")

	// Update writes the status (and a re-sealed secret).
	k2.Status = "Active"
	k2.Secret = []byte("resealed-2")
	ok(t, s.UpdateAccessKey(ctx, k2))
	got, err = s.GetAccessKey(ctx, k2.ID)
	ok(t, err)
	same(t, "updated key", k2, got)
	isErr(t, s.UpdateAccessKey(ctx, store.AccessKey{ID: "AKIANONE", Status: "Active"}), store.ErrNotFound, "update missing key")

	ok(t, s.DeleteAccessKey(ctx, k1.ID))
	_, err = s.GetAccessKey(ctx, k1.ID)
	isErr(t, err, store.ErrNotFound, "get deleted key")
	isErr(t, s.DeleteAccessKey(ctx, k1.ID), store.ErrNotFound, "delete missing key")
}

// testTouchAccessKey: backends may coalesce TouchAccessKey writes, but a
// later GetAccessKey on the same store sees the use. An older use never
// replaces a newer one; touching an unknown key is not an error (the use of
// a key deleted concurrently is dropped). Touches do not change the generation.
func testTouchAccessKey(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAALICE", "alice")))
	k := store.AccessKey{ID: "AKIAONE", Account: acct1, UserName: "alice", UserID: "AIDAALICE", Secret: []byte("s"), Status: "Active", CreatedAt: t0}
	ok(t, s.CreateAccessKey(ctx, k))
	g := gen(t, s)

	ok(t, s.TouchAccessKey(ctx, k.ID, at(time.Minute), "sts", "us-east-1"))
	got, err := s.GetAccessKey(ctx, k.ID)
	ok(t, err)
	k.LastUsedAt, k.LastUsedService, k.LastUsedRegion = at(time.Minute), "sts", "us-east-1"
	same(t, "touched key", k, got)

	ok(t, s.TouchAccessKey(ctx, k.ID, at(3*time.Minute), "iam", "eu-west-1"))
	ok(t, s.TouchAccessKey(ctx, k.ID, at(2*time.Minute), "s3", "us-west-2")) // older: ignored
	got, err = s.GetAccessKey(ctx, k.ID)
	ok(t, err)
	k.LastUsedAt, k.LastUsedService, k.LastUsedRegion = at(3*time.Minute), "iam", "eu-west-1"
	same(t, "latest use", k, got)
	ks, err := s.ListAccessKeys(ctx, acct1, "alice")
	ok(t, err)
	same(t, "listed key", []store.AccessKey{k}, ks)

	// A use in the same service and region may be left out within
	// store.UseWindow of the one recorded, never past it.
	ok(t, s.TouchAccessKey(ctx, k.ID, at(3*time.Minute+store.UseWindow/2), "iam", "eu-west-1"))
	got, err = s.GetAccessKey(ctx, k.ID)
	ok(t, err)
	if got.LastUsedAt.Before(at(3*time.Minute)) || got.LastUsedAt.After(at(3*time.Minute+store.UseWindow/2)) {
		t.Fatalf("use within the window: last used %v", got.LastUsedAt)
	}
	past := at(3*time.Minute + store.UseWindow + time.Second)
	ok(t, s.TouchAccessKey(ctx, k.ID, past, "iam", "eu-west-1"))
	got, err = s.GetAccessKey(ctx, k.ID)
	ok(t, err)
	if !got.LastUsedAt.Equal(past) {
		t.Fatalf("use past the window: last used %v, want %v", got.LastUsedAt, past)
	}

	ok(t, s.TouchAccessKey(ctx, "AKIAUNKNOWN", at(time.Minute), "sts", "us-east-1"))
	if g2 := gen(t, s); g2 != g {
		t.Fatalf("generation %d -> %d on TouchAccessKey", g, g2)
	}
}

func testMFADevices(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateUser(ctx, user(acct1, "AIDAALICE", "Alice")))
	d := mfa(acct1, "Phone")
	ok(t, s.CreateMFADevice(ctx, d))
	dup := mfa(acct1, "phone")
	isErr(t, s.CreateMFADevice(ctx, dup), store.ErrAlreadyExists, "device name differing in case")
	other := mfa(acct1, "Other")
	other.SerialNumber = d.SerialNumber
	isErr(t, s.CreateMFADevice(ctx, other), store.ErrAlreadyExists, "duplicate serial")
	nouser := mfa(acct1, "x")
	nouser.UserName = "nobody"
	isErr(t, s.CreateMFADevice(ctx, nouser), store.ErrNotFound, "device of missing user")
	ok(t, s.CreateMFADevice(ctx, mfa(acct2, "phone")))
	// The same name under another path is another device (its serial
	// number differs), as in AWS.
	pathed := mfa(acct1, "Phone")
	pathed.Path, pathed.SerialNumber = "/team/", "arn:aws:iam::"+acct1+":mfa/team/Phone"
	ok(t, s.CreateMFADevice(ctx, pathed))
	isErr(t, s.CreateMFADevice(ctx, pathed), store.ErrAlreadyExists, "the same name under the same path")
	ok(t, s.DeleteMFADevice(ctx, pathed.SerialNumber))

	got, err := s.GetMFADevice(ctx, "arn:aws:iam::"+acct1+":mfa/PHONE")
	ok(t, err)
	same(t, "device", d, got)
	_, err = s.GetMFADevice(ctx, "arn:aws:iam::"+acct1+":mfa/none")
	isErr(t, err, store.ErrNotFound, "missing device")

	// Enabling assigns the device to a user.
	d.UserName = "alice"
	d.EnabledAt = at(time.Minute)
	d.LastCounter = 100
	ok(t, s.UpdateMFADevice(ctx, d))
	got, err = s.GetMFADevice(ctx, d.SerialNumber)
	ok(t, err)
	d.UserName = "Alice"
	same(t, "enabled device", d, got)
	bad := d
	bad.UserName = "nobody"
	isErr(t, s.UpdateMFADevice(ctx, bad), store.ErrNotFound, "assign to missing user")
	isErr(t, s.UpdateMFADevice(ctx, mfa(acct1, "none")), store.ErrNotFound, "update missing device")

	// Deactivating keeps the counter: LastCounter never goes back.
	d.UserName, d.EnabledAt, d.LastCounter = "", time.Time{}, 0
	ok(t, s.UpdateMFADevice(ctx, d))
	got, err = s.GetMFADevice(ctx, d.SerialNumber)
	ok(t, err)
	d.LastCounter = 100
	same(t, "deactivated device", d, got)

	a := mfa(acct1, "a-key")
	ok(t, s.CreateMFADevice(ctx, a))
	ds, err := s.ListMFADevices(ctx, acct1, store.MFAAny, store.ListOptions{})
	ok(t, err)
	same(t, "devices", []store.MFADevice{a, d}, ds)

	ok(t, s.DeleteMFADevice(ctx, d.SerialNumber))
	_, err = s.GetMFADevice(ctx, d.SerialNumber)
	isErr(t, err, store.ErrNotFound, "deleted device")
	isErr(t, s.DeleteMFADevice(ctx, d.SerialNumber), store.ErrNotFound, "delete missing device")
}

func testAdvanceMFACounter(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	d := mfa(acct1, "phone")
	d.LastCounter = 10
	ok(t, s.CreateMFADevice(ctx, d))
	g := gen(t, s)

	isErr(t, s.AdvanceMFACounter(ctx, d.SerialNumber, 10), store.ErrConflict, "counter equal to stored")
	isErr(t, s.AdvanceMFACounter(ctx, d.SerialNumber, 9), store.ErrConflict, "counter below stored")
	ok(t, s.AdvanceMFACounter(ctx, d.SerialNumber, 11))
	isErr(t, s.AdvanceMFACounter(ctx, d.SerialNumber, 11), store.ErrConflict, "replay")
	ok(t, s.AdvanceMFACounter(ctx, d.SerialNumber, 15))
	isErr(t, s.AdvanceMFACounter(ctx, d.SerialNumber, 12), store.ErrConflict, "older code after a newer one")
	isErr(t, s.AdvanceMFACounter(ctx, "arn:aws:iam::"+acct1+":mfa/none", 1), store.ErrNotFound, "missing device")
	got, err := s.GetMFADevice(ctx, d.SerialNumber)
	ok(t, err)
	same(t, "counter", int64(15), got.LastCounter)

	// An update carrying a stale counter does not re-open used codes.
	got.LastCounter = 3
	ok(t, s.UpdateMFADevice(ctx, got))
	isErr(t, s.AdvanceMFACounter(ctx, d.SerialNumber, 15), store.ErrConflict, "replay after stale update")

	if g2 := gen(t, s); g2 != g+3 { // the two advances and UpdateMFADevice; replays do not count
		t.Fatalf("generation %d -> %d, want %d", g, g2, g+3)
	}
}

// testAdvanceMFACounterRace: of 20 concurrent uses of one code exactly one wins.
func testAdvanceMFACounterRace(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	d := mfa(acct1, "phone")
	ok(t, s.CreateMFADevice(ctx, d))
	for round := int64(1); round <= 3; round++ {
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = s.AdvanceMFACounter(ctx, d.SerialNumber, round*1000)
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d winners, want exactly 1", round, wins)
		}
	}
}

func testSigningKeys(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ks, err := s.ListSigningKeys(ctx)
	ok(t, err)
	same(t, "no keys", 0, len(ks))
	k2 := store.SigningKey{ID: "k2", Algorithm: "Ed25519", Public: bytes.Repeat([]byte{0xfe}, 32), Private: []byte{0, 1, 2, 0xff},
		CreatedAt: at(time.Hour), SignUntil: at(25 * time.Hour), VerifyUntil: at(37 * time.Hour)}
	k1 := store.SigningKey{ID: "k1", Algorithm: "Ed25519", Public: []byte{1, 2, 3}, Private: []byte{4, 5, 6}, CreatedAt: t0, SignUntil: at(24 * time.Hour), VerifyUntil: at(36 * time.Hour)}
	g := gen(t, s)
	ok(t, s.PutSigningKey(ctx, k2))
	ok(t, s.PutSigningKey(ctx, k1))
	if g2 := gen(t, s); g2 <= g {
		t.Fatalf("generation %d -> %d on PutSigningKey", g, g2)
	}
	ks, err = s.ListSigningKeys(ctx)
	ok(t, err)
	same(t, "keys, oldest first", []store.SigningKey{k1, k2}, ks)

	// Put replaces: emergency revoke.
	k1.Revoked = true
	k1.VerifyUntil = at(time.Minute)
	ok(t, s.PutSigningKey(ctx, k1))
	ks, err = s.ListSigningKeys(ctx)
	ok(t, err)
	same(t, "revoked key", []store.SigningKey{k1, k2}, ks)

	ok(t, s.DeleteSigningKey(ctx, k2.ID))
	ks, err = s.ListSigningKeys(ctx)
	ok(t, err)
	same(t, "after delete", []store.SigningKey{k1}, ks)
	isErr(t, s.DeleteSigningKey(ctx, k2.ID), store.ErrNotFound, "delete missing key")
}

func testIssuerKeys(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ks, err := s.ListIssuerKeys(ctx)
	ok(t, err)
	same(t, "no keys", 0, len(ks))
	k2 := store.SigningKey{ID: "i2", Algorithm: "ES384", Public: bytes.Repeat([]byte{0xfe}, 120), Private: []byte{0, 1, 2, 0xff},
		CreatedAt: at(time.Hour), SignUntil: at(25 * time.Hour), VerifyUntil: at(27 * time.Hour)}
	k1 := store.SigningKey{ID: "i1", Algorithm: "RS256", Public: []byte{1, 2, 3}, Private: []byte{4, 5, 6}, CreatedAt: t0, SignUntil: at(24 * time.Hour), VerifyUntil: at(26 * time.Hour)}
	g := gen(t, s)
	ok(t, s.PutIssuerKey(ctx, k2))
	ok(t, s.PutIssuerKey(ctx, k1))
	if g2 := gen(t, s); g2 <= g {
		t.Fatalf("generation %d -> %d on PutIssuerKey", g, g2)
	}
	ks, err = s.ListIssuerKeys(ctx)
	ok(t, err)
	same(t, "keys, oldest first", []store.SigningKey{k1, k2}, ks)
	// The session keyring is another table.
	sk, err := s.ListSigningKeys(ctx)
	ok(t, err)
	for _, k := range sk {
		if k.ID == k1.ID || k.ID == k2.ID {
			t.Fatalf("issuer key %s listed as a session signing key", k.ID)
		}
	}

	k1.Revoked = true
	ok(t, s.PutIssuerKey(ctx, k1))
	ks, err = s.ListIssuerKeys(ctx)
	ok(t, err)
	same(t, "revoked key", []store.SigningKey{k1, k2}, ks)

	ok(t, s.DeleteIssuerKey(ctx, k2.ID))
	ks, err = s.ListIssuerKeys(ctx)
	ok(t, err)
	same(t, "after delete", []store.SigningKey{k1}, ks)
	isErr(t, s.DeleteIssuerKey(ctx, k2.ID), store.ErrNotFound, "delete missing key")
}

func testBytes(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	cases := map[string][]byte{
		"all byte values": all,
		"zeros":           make([]byte, 64),
		"invalid utf8":    {0xc3, 0x28, 0xff, 0xfe, 0x00},
		"trailing zero":   []byte("secret\x00"),
		"large":           bytes.Repeat([]byte{0xa5, 0x00, 0x5a}, 1<<14),
	}
	i := 0
	for name, b := range cases {
		i++
		id := fmt.Sprintf("AKIA%04d", i)
		ok(t, s.CreateAccessKey(ctx, store.AccessKey{ID: id, Account: acct1, UserID: acct1, Secret: b, Status: "Active", CreatedAt: t0}))
		k, err := s.GetAccessKey(ctx, id)
		ok(t, err)
		if !bytes.Equal(k.Secret, b) {
			t.Fatalf("%s: access key secret round trip: got %x", name, k.Secret)
		}
		d := mfa(acct1, fmt.Sprintf("d%d", i))
		d.Seed = b
		ok(t, s.CreateMFADevice(ctx, d))
		gd, err := s.GetMFADevice(ctx, d.SerialNumber)
		ok(t, err)
		if !bytes.Equal(gd.Seed, b) {
			t.Fatalf("%s: mfa seed round trip: got %x", name, gd.Seed)
		}
		ok(t, s.PutSigningKey(ctx, store.SigningKey{ID: id, Algorithm: "Ed25519", Public: b, Private: b, CreatedAt: at(time.Duration(i))}))
	}
	ks, err := s.ListSigningKeys(ctx)
	ok(t, err)
	for _, k := range ks {
		found := false
		for _, b := range cases {
			found = found || (bytes.Equal(k.Public, b) && bytes.Equal(k.Private, b))
		}
		if !found {
			t.Fatalf("signing key %s: bytes changed", k.ID)
		}
	}
	// Empty secrets read back empty.
	ok(t, s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIAEMPTY", Account: acct1, UserID: acct1, Status: "Active"}))
	k, err := s.GetAccessKey(ctx, "AKIAEMPTY")
	ok(t, err)
	same(t, "empty secret", 0, len(k.Secret))
}
