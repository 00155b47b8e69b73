package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// testMFAResync: ResyncMFADevice writes only the seed and the counter, and
// only to the device as it was read; run at the same time as a
// deactivation, a delete or a re-creation of the device, many times, it
// never brings back what those removed.
func testMFAResync(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	ok(t, s.CreateUser(ctx, user(acct1, "AIDARESYNC1", "u1")))
	enabled := func(name string) store.MFADevice {
		t.Helper()
		d := mfa(acct1, name)
		d.UserName, d.EnabledAt, d.Seed, d.LastCounter = "u1", t0, []byte("sealed-"+name), 100
		ok(t, s.CreateMFADevice(ctx, d))
		got, err := s.GetMFADevice(ctx, d.SerialNumber)
		ok(t, err)
		return got
	}
	get := func(serial string) store.MFADevice {
		t.Helper()
		d, err := s.GetMFADevice(ctx, serial)
		ok(t, err)
		return d
	}

	d := enabled("plain")
	ok(t, s.ResyncMFADevice(ctx, d, []byte("resynced"), 105))
	if got := get(d.SerialNumber); string(got.Seed) != "resynced" || got.LastCounter != 105 || got.UserName != "u1" || !got.EnabledAt.Equal(d.EnabledAt) {
		t.Fatalf("after a resync: %+v", got)
	}
	// Read before the first resync: the seed changed since, a conflict.
	isErr(t, s.ResyncMFADevice(ctx, d, []byte("again"), 110), store.ErrConflict, "a resync of a device resynced since")
	// Codes at or below the counter are used.
	isErr(t, s.ResyncMFADevice(ctx, get(d.SerialNumber), []byte("again"), 105), store.ErrConflict, "a resync with used codes")
	// Deactivated since it was read.
	d = enabled("deactivated")
	off := d
	off.UserName, off.EnabledAt = "", time.Time{}
	ok(t, s.UpdateMFADevice(ctx, off))
	isErr(t, s.ResyncMFADevice(ctx, d, []byte("resynced"), 105), store.ErrConflict, "a resync of a device deactivated since")
	if got := get(d.SerialNumber); got.UserName != "" || !got.EnabledAt.IsZero() || string(got.Seed) != "sealed-deactivated" {
		t.Fatalf("a deactivated device after a refused resync: %+v", got)
	}
	// Deleted.
	ok(t, s.DeleteMFADevice(ctx, d.SerialNumber))
	isErr(t, s.ResyncMFADevice(ctx, d, []byte("resynced"), 105), store.ErrNotFound, "a resync of a deleted device")

	// At the same time as a deactivation, or a delete and a re-creation
	// under the same serial: never enabled again, never the old seed.
	for i := range 30 {
		d := enabled(fmt.Sprintf("race-%d", i))
		var wg sync.WaitGroup
		var rerr, oerr error
		wg.Go(func() { rerr = s.ResyncMFADevice(ctx, d, []byte("resynced"), 105) })
		wg.Go(func() {
			if i%2 == 0 {
				off := d
				off.UserName, off.EnabledAt = "", time.Time{}
				oerr = s.UpdateMFADevice(ctx, off)
				return
			}
			if oerr = s.DeleteMFADevice(ctx, d.SerialNumber); oerr == nil {
				fresh := mfa(acct1, d.Name)
				fresh.Seed = []byte("new-device")
				oerr = s.CreateMFADevice(ctx, fresh)
			}
		})
		wg.Wait()
		ok(t, oerr)
		if rerr != nil && !errors.Is(rerr, store.ErrConflict) && !errors.Is(rerr, store.ErrNotFound) {
			t.Fatalf("round %d: resync: %v", i, rerr)
		}
		got := get(d.SerialNumber)
		if got.UserName != "" || !got.EnabledAt.IsZero() {
			t.Fatalf("round %d: the device is enabled again after a resync at the same time: %+v", i, got)
		}
		if i%2 == 1 && string(got.Seed) != "new-device" {
			t.Fatalf("round %d: the re-created device has the seed %q", i, got.Seed)
		}
	}
}
