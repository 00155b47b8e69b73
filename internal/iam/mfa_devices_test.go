package iam_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/mfa"
)

func totpAt(t *testing.T, seed string, step int64) string {
	t.Helper()
	c, err := mfa.Code(seed, step)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVirtualMFADeviceLifecycle(t *testing.T) {
	e := newEnv(t)
	alice := e.user("alice", "")
	bob := e.user("bob", "")
	ctx := e.ctx

	out := must[*iam.CreateVirtualMFADeviceOutput](t)(e.svc.CreateVirtualMFADevice(ctx, e.rootA, &iam.CreateVirtualMFADeviceInput{
		VirtualMFADeviceName: "alice-phone", Path: "/team/", Tags: []iam.Tag{{Key: "k", Value: "v"}}}))
	d := out.VirtualMFADevice
	if d.SerialNumber != "arn:aws:iam::111122223333:mfa/team/alice-phone" {
		t.Fatal(d.SerialNumber)
	}
	rawSeed, err := base64.StdEncoding.DecodeString(d.Base32StringSeed)
	if err != nil || len(rawSeed) != 64 {
		t.Fatalf("Base32StringSeed %q: %v", d.Base32StringSeed, err)
	}
	seed := string(rawSeed)
	pngBytes, err := base64.StdEncoding.DecodeString(d.QRCodePNG)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(pngBytes)); err != nil {
		t.Fatalf("QRCodePNG: %v", err)
	}
	_, err = e.svc.CreateVirtualMFADevice(ctx, e.rootA, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: "ALICE-PHONE", Path: "/team/"})
	wantErr(t, err, apierr.EntityAlreadyExists)
	// The stored seed is sealed.
	stored, err := e.store.GetMFADevice(ctx, d.SerialNumber)
	if err != nil || bytes.Contains(stored.Seed, rawSeed) {
		t.Fatalf("stored seed not sealed (%v)", err)
	}

	step := mfa.Step(epoch)
	// Wrong, non-consecutive and swapped codes.
	for _, codes := range [][2]string{
		{"000000", "000000"},
		{totpAt(t, seed, step-2), totpAt(t, seed, step)},
		{totpAt(t, seed, step), totpAt(t, seed, step-1)},
	} {
		_, err = e.svc.EnableMFADevice(ctx, e.rootA, &iam.EnableMFADeviceInput{UserName: "alice", SerialNumber: d.SerialNumber,
			AuthenticationCode1: codes[0], AuthenticationCode2: codes[1]})
		wantErr(t, err, apierr.InvalidAuthenticationCode)
	}
	enable := &iam.EnableMFADeviceInput{UserName: "alice", SerialNumber: d.SerialNumber,
		AuthenticationCode1: totpAt(t, seed, step-1), AuthenticationCode2: totpAt(t, seed, step)}
	_, err = e.svc.EnableMFADevice(ctx, e.rootA, &iam.EnableMFADeviceInput{UserName: "nobody", SerialNumber: d.SerialNumber,
		AuthenticationCode1: enable.AuthenticationCode1, AuthenticationCode2: enable.AuthenticationCode2})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.EnableMFADevice(ctx, bob, enable)
	wantErr(t, err, apierr.AccessDenied)
	must[*iam.EnableMFADeviceOutput](t)(e.svc.EnableMFADevice(ctx, e.rootA, enable))
	_, err = e.svc.EnableMFADevice(ctx, e.rootA, &iam.EnableMFADeviceInput{UserName: "bob", SerialNumber: d.SerialNumber,
		AuthenticationCode1: totpAt(t, seed, step), AuthenticationCode2: totpAt(t, seed, step+1)})
	wantErr(t, err, apierr.EntityAlreadyExists)
	if got, _ := e.store.GetMFADevice(ctx, d.SerialNumber); got.LastCounter != step {
		t.Fatalf("LastCounter = %d, want %d (enable codes consumed)", got.LastCounter, step)
	}

	// Cross-account: invisible.
	_, err = e.svc.DeleteVirtualMFADevice(ctx, e.rootB, &iam.DeleteVirtualMFADeviceInput{SerialNumber: d.SerialNumber})
	wantErr(t, err, apierr.NoSuchEntity)

	// List and get.
	list := must[*iam.ListMFADevicesOutput](t)(e.svc.ListMFADevices(ctx, e.rootA, &iam.ListMFADevicesInput{UserName: "alice"}))
	if len(list.MFADevices) != 1 || list.MFADevices[0].UserName != "alice" || list.MFADevices[0].SerialNumber != d.SerialNumber || !list.MFADevices[0].EnableDate.Equal(epoch.Truncate(time.Second)) {
		t.Fatalf("ListMFADevices = %+v", list.MFADevices)
	}
	if l := must[*iam.ListMFADevicesOutput](t)(e.svc.ListMFADevices(ctx, e.rootA, &iam.ListMFADevicesInput{UserName: "bob"})); len(l.MFADevices) != 0 {
		t.Fatal("bob has no device")
	}
	get := must[*iam.GetMFADeviceOutput](t)(e.svc.GetMFADevice(ctx, e.rootA, &iam.GetMFADeviceInput{UserName: "alice", SerialNumber: d.SerialNumber}))
	if get.UserName != "alice" || get.SerialNumber != d.SerialNumber {
		t.Fatalf("GetMFADevice = %+v", get)
	}
	_, err = e.svc.GetMFADevice(ctx, e.rootA, &iam.GetMFADeviceInput{UserName: "bob", SerialNumber: d.SerialNumber})
	wantErr(t, err, apierr.NoSuchEntity)
	must[*iam.CreateVirtualMFADeviceOutput](t)(e.svc.CreateVirtualMFADevice(ctx, e.rootA, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: "spare"}))
	for status, want := range map[string]int{"": 2, "Any": 2, "Assigned": 1, "Unassigned": 1} {
		v := must[*iam.ListVirtualMFADevicesOutput](t)(e.svc.ListVirtualMFADevices(ctx, e.rootA, &iam.ListVirtualMFADevicesInput{AssignmentStatus: status}))
		if len(v.VirtualMFADevices) != want {
			t.Fatalf("%q: %d devices, want %d", status, len(v.VirtualMFADevices), want)
		}
		for _, x := range v.VirtualMFADevices {
			if x.Base32StringSeed != "" || x.QRCodePNG != "" {
				t.Fatal("list returns the seed")
			}
			if (x.User != nil) != (x.SerialNumber == d.SerialNumber) || (x.User != nil && x.User.UserName != "alice") {
				t.Fatalf("device %+v", x)
			}
		}
	}
	_, err = e.svc.ListVirtualMFADevices(ctx, e.rootA, &iam.ListVirtualMFADevicesInput{AssignmentStatus: "Some"})
	wantErr(t, err, apierr.ValidationError)
	page := must[*iam.ListVirtualMFADevicesOutput](t)(e.svc.ListVirtualMFADevices(ctx, e.rootA, &iam.ListVirtualMFADevicesInput{MaxItems: ptr[int32](1)}))
	if !page.IsTruncated || len(page.VirtualMFADevices) != 1 {
		t.Fatal("pagination")
	}
	page2 := must[*iam.ListVirtualMFADevicesOutput](t)(e.svc.ListVirtualMFADevices(ctx, e.rootA, &iam.ListVirtualMFADevicesInput{Marker: page.Marker}))
	if page2.IsTruncated || len(page2.VirtualMFADevices) != 1 || page2.VirtualMFADevices[0].SerialNumber == page.VirtualMFADevices[0].SerialNumber {
		t.Fatal("second page")
	}
	// A marker the server did not write is refused, even one that decodes:
	// made up, changed in one character, cut short, or another page's key
	// without its check.
	raw, _ := base64.RawURLEncoding.DecodeString(page.Marker)
	flipped := []byte(page.Marker)
	flipped[0] ^= 1
	for _, m := range []string{"Zm9v", base64.RawURLEncoding.EncodeToString([]byte("arn:aws:iam::111111111111:mfa/zzz")), string(flipped),
		page.Marker[:len(page.Marker)-2], base64.RawURLEncoding.EncodeToString(raw[:len(raw)-6])} {
		_, err = e.svc.ListVirtualMFADevices(ctx, e.rootA, &iam.ListVirtualMFADevicesInput{Marker: m})
		if code(err) != "InvalidInput" || !strings.Contains(err.Error(), "Invalid Marker.") {
			t.Errorf("marker %q: %v", m, err)
		}
	}

	// DeleteUser and DeleteVirtualMFADevice refuse while enabled.
	_, err = e.svc.DeleteUser(ctx, e.rootA, &iam.DeleteUserInput{UserName: "alice"})
	wantErr(t, err, apierr.DeleteConflict)
	_, err = e.svc.DeleteVirtualMFADevice(ctx, e.rootA, &iam.DeleteVirtualMFADeviceInput{SerialNumber: d.SerialNumber})
	wantErr(t, err, apierr.DeleteConflict)

	// Resync finds a drifted clock (8 steps ahead) and records the drift.
	_, err = e.svc.ResyncMFADevice(ctx, e.rootA, &iam.ResyncMFADeviceInput{UserName: "alice", SerialNumber: d.SerialNumber,
		AuthenticationCode1: totpAt(t, seed, step+11), AuthenticationCode2: totpAt(t, seed, step+12)})
	wantErr(t, err, apierr.InvalidAuthenticationCode)
	must[*iam.ResyncMFADeviceOutput](t)(e.svc.ResyncMFADevice(ctx, e.rootA, &iam.ResyncMFADeviceInput{UserName: "alice", SerialNumber: d.SerialNumber,
		AuthenticationCode1: totpAt(t, seed, step+7), AuthenticationCode2: totpAt(t, seed, step+8)}))
	stored, _ = e.store.GetMFADevice(ctx, d.SerialNumber)
	sec, err := mfa.OpenSecret(e.sealer, d.SerialNumber, stored.Seed)
	if err != nil || sec.Drift != 8 || sec.Seed != seed || stored.LastCounter != step+8 {
		t.Fatalf("after resync: drift %d, last %d, %v", sec.Drift, stored.LastCounter-step, err)
	}
	// The same pair again is a replay.
	_, err = e.svc.ResyncMFADevice(ctx, e.rootA, &iam.ResyncMFADeviceInput{UserName: "alice", SerialNumber: d.SerialNumber,
		AuthenticationCode1: totpAt(t, seed, step+7), AuthenticationCode2: totpAt(t, seed, step+8)})
	wantErr(t, err, apierr.InvalidAuthenticationCode)

	// Deactivate (as alice herself, with permission), then delete.
	e.putUserPolicy("alice", "mfa", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*MFADevice*","Resource":"*"}]}`)
	_, err = e.svc.DeactivateMFADevice(ctx, bob, &iam.DeactivateMFADeviceInput{UserName: "alice", SerialNumber: d.SerialNumber})
	wantErr(t, err, apierr.AccessDenied)
	must[*iam.DeactivateMFADeviceOutput](t)(e.svc.DeactivateMFADevice(ctx, alice, &iam.DeactivateMFADeviceInput{SerialNumber: d.SerialNumber}))
	_, err = e.svc.DeactivateMFADevice(ctx, alice, &iam.DeactivateMFADeviceInput{SerialNumber: d.SerialNumber})
	wantErr(t, err, apierr.NoSuchEntity)
	must[*iam.DeleteVirtualMFADeviceOutput](t)(e.svc.DeleteVirtualMFADevice(ctx, e.rootA, &iam.DeleteVirtualMFADeviceInput{SerialNumber: d.SerialNumber}))
	_, err = e.svc.DeleteVirtualMFADevice(ctx, e.rootA, &iam.DeleteVirtualMFADeviceInput{SerialNumber: d.SerialNumber})
	wantErr(t, err, apierr.NoSuchEntity)
	if _, err := e.svc.DeleteUserPolicy(ctx, e.rootA, &iam.DeleteUserPolicyInput{UserName: "alice", PolicyName: "mfa"}); err != nil {
		t.Fatal(err)
	}
	must[*iam.DeleteUserOutput](t)(e.svc.DeleteUser(ctx, e.rootA, &iam.DeleteUserInput{UserName: "alice"}))
}

func TestCreateVirtualMFADeviceValidation(t *testing.T) {
	e := newEnv(t)
	_, err := e.svc.CreateVirtualMFADevice(e.ctx, e.rootA, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: "bad name"})
	wantErr(t, err, apierr.ValidationError)
	_, err = e.svc.CreateVirtualMFADevice(e.ctx, e.rootA, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: strings.Repeat("a", 227)})
	wantErr(t, err, apierr.ValidationError)
	_, err = e.svc.CreateVirtualMFADevice(e.ctx, e.rootA, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: "d", Path: "nopath"})
	wantErr(t, err, apierr.ValidationError)
	bob := e.user("bob", "")
	_, err = e.svc.CreateVirtualMFADevice(e.ctx, bob, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: "d"})
	wantErr(t, err, apierr.AccessDenied)
}
