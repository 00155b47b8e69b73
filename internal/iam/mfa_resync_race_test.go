package iam_test

import (
	"encoding/base64"
	"fmt"
	"sync"
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/mfa"
)

// TestResyncRacesDeactivate: a ResyncMFADevice and a DeactivateMFADevice
// of one device run at once, many times. Whatever their order, the device
// ends deactivated: the resync wrote the whole device as it had read it,
// so a deactivation that landed between its read and its write was undone
// (the device enabled again for its user, and usable for sign-in).
func TestResyncRacesDeactivate(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "")
	ctx := e.ctx
	step := mfa.Step(epoch)
	const rounds = 150
	resynced := 0
	for i := range rounds {
		out := must[*iam.CreateVirtualMFADeviceOutput](t)(e.svc.CreateVirtualMFADevice(ctx, e.rootA, &iam.CreateVirtualMFADeviceInput{
			VirtualMFADeviceName: fmt.Sprintf("phone-%d", i)}))
		raw, err := base64.StdEncoding.DecodeString(out.VirtualMFADevice.Base32StringSeed)
		if err != nil {
			t.Fatal(err)
		}
		seed, serial := string(raw), out.VirtualMFADevice.SerialNumber
		must[*iam.EnableMFADeviceOutput](t)(e.svc.EnableMFADevice(ctx, e.rootA, &iam.EnableMFADeviceInput{UserName: "alice", SerialNumber: serial,
			AuthenticationCode1: totpAt(t, seed, step-1), AuthenticationCode2: totpAt(t, seed, step)}))
		var wg sync.WaitGroup
		var resyncErr, deactivateErr error
		wg.Go(func() {
			_, resyncErr = e.svc.ResyncMFADevice(ctx, e.rootA, &iam.ResyncMFADeviceInput{UserName: "alice", SerialNumber: serial,
				AuthenticationCode1: totpAt(t, seed, step+1), AuthenticationCode2: totpAt(t, seed, step+2)})
		})
		wg.Go(func() {
			_, deactivateErr = e.svc.DeactivateMFADevice(ctx, e.rootA, &iam.DeactivateMFADeviceInput{UserName: "alice", SerialNumber: serial})
		})
		wg.Wait()
		if deactivateErr != nil {
			t.Fatalf("round %d: deactivate: %v", i, deactivateErr)
		}
		if resyncErr == nil {
			resynced++
		} else if ae, ok := apierr.As(resyncErr); !ok || (ae.Code != apierr.NoSuchEntity && ae.Code != apierr.ConcurrentModification) {
			t.Fatalf("round %d: resync: %v", i, resyncErr)
		}
		d, err := e.store.GetMFADevice(ctx, serial)
		if err != nil {
			t.Fatal(err)
		}
		if d.UserName != "" || !d.EnabledAt.IsZero() {
			t.Fatalf("round %d: the deactivated device is enabled for %q again after a resync ran at the same time (resync error %v)", i, d.UserName, resyncErr)
		}
	}
	t.Logf("%d rounds: %d resyncs succeeded (before the deactivation)", rounds, resynced)
}
