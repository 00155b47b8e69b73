package iam_test

import (
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
)

func TestAccountAliases(t *testing.T) {
	e := newEnv(t)
	for _, bad := range []string{"UPPER", "a--b", "-ab", "ab-", "a_b"} {
		_, err := e.svc.CreateAccountAlias(e.ctx, e.rootA, &iam.CreateAccountAliasInput{AccountAlias: bad})
		wantErr(t, err, apierr.ValidationError)
	}
	list := must[*iam.ListAccountAliasesOutput](t)(e.svc.ListAccountAliases(e.ctx, e.rootA, &iam.ListAccountAliasesInput{}))
	if list.AccountAliases == nil || len(list.AccountAliases) != 0 {
		t.Fatalf("aliases of a new account: %#v", list.AccountAliases)
	}
	must[*iam.CreateAccountAliasOutput](t)(e.svc.CreateAccountAlias(e.ctx, e.rootA, &iam.CreateAccountAliasInput{AccountAlias: "my-org-prod"}))
	_, err := e.svc.CreateAccountAlias(e.ctx, e.rootB, &iam.CreateAccountAliasInput{AccountAlias: "my-org-prod"})
	wantErr(t, err, apierr.EntityAlreadyExists)
	list = must[*iam.ListAccountAliasesOutput](t)(e.svc.ListAccountAliases(e.ctx, e.rootA, &iam.ListAccountAliasesInput{}))
	if len(list.AccountAliases) != 1 || list.AccountAliases[0] != "my-org-prod" {
		t.Fatalf("aliases %v", list.AccountAliases)
	}
	bob := e.user("bob", "/")
	_, err = e.svc.ListAccountAliases(e.ctx, bob, &iam.ListAccountAliasesInput{})
	wantErr(t, err, apierr.AccessDenied)
	_, err = e.svc.DeleteAccountAlias(e.ctx, e.rootA, &iam.DeleteAccountAliasInput{AccountAlias: "other"})
	wantErr(t, err, apierr.NoSuchEntity)
	must[*iam.DeleteAccountAliasOutput](t)(e.svc.DeleteAccountAlias(e.ctx, e.rootA, &iam.DeleteAccountAliasInput{AccountAlias: "my-org-prod"}))
}

func TestGetAccountSummary(t *testing.T) {
	e := newEnv(t)
	summary := func(t *testing.T) map[string]int32 {
		t.Helper()
		out := must[*iam.GetAccountSummaryOutput](t)(e.svc.GetAccountSummary(e.ctx, e.rootA, &iam.GetAccountSummaryInput{}))
		m := map[string]int32{}
		for _, en := range out.SummaryMap {
			m[en.Key] = en.Value
		}
		return m
	}
	before := summary(t)
	e.user("u1", "/")
	e.user("u2", "/")
	e.createGroup("g")
	e.createRole("r")
	e.createPolicy("p", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	must[*iam.CreateInstanceProfileOutput](t)(e.svc.CreateInstanceProfile(e.ctx, e.rootA, &iam.CreateInstanceProfileInput{InstanceProfileName: "ip"}))
	must[*iam.CreateVirtualMFADeviceOutput](t)(e.svc.CreateVirtualMFADevice(e.ctx, e.rootA, &iam.CreateVirtualMFADeviceInput{VirtualMFADeviceName: "d"}))
	after := summary(t)
	for key, delta := range map[string]int32{"Users": 2, "Groups": 1, "Roles": 1, "Policies": 1, "PolicyVersionsInUse": 1, "InstanceProfiles": 1, "MFADevices": 1, "MFADevicesInUse": 0} {
		if after[key]-before[key] != delta {
			t.Errorf("%s: %d -> %d, want +%d", key, before[key], after[key], delta)
		}
	}
	if after["UsersQuota"] != 5000 || after["AccessKeysPerUserQuota"] != 2 || len(after) != 33 {
		t.Errorf("summary %v", after)
	}
	bob := e.user("bob", "/")
	_, err := e.svc.GetAccountSummary(e.ctx, bob, &iam.GetAccountSummaryInput{})
	wantErr(t, err, apierr.AccessDenied)
	// Account B's counts are its own.
	outB := must[*iam.GetAccountSummaryOutput](t)(e.svc.GetAccountSummary(e.ctx, e.rootB, &iam.GetAccountSummaryInput{}))
	for _, en := range outB.SummaryMap {
		if en.Key == "Users" && en.Value != 0 {
			t.Errorf("account B users = %d", en.Value)
		}
	}
}

func TestMFADeviceTags(t *testing.T) {
	e := newEnv(t)
	dev := must[*iam.CreateVirtualMFADeviceOutput](t)(e.svc.CreateVirtualMFADevice(e.ctx, e.rootA, &iam.CreateVirtualMFADeviceInput{
		VirtualMFADeviceName: "phone", Tags: []iam.Tag{{Key: "owner", Value: "alice"}}}))
	serial := dev.VirtualMFADevice.SerialNumber
	must[*iam.TagMFADeviceOutput](t)(e.svc.TagMFADevice(e.ctx, e.rootA, &iam.TagMFADeviceInput{SerialNumber: serial, Tags: []iam.Tag{{Key: "OWNER", Value: "bob"}, {Key: "kind", Value: "totp"}}}))
	must[*iam.UntagMFADeviceOutput](t)(e.svc.UntagMFADevice(e.ctx, e.rootA, &iam.UntagMFADeviceInput{SerialNumber: serial, TagKeys: []string{"kind"}}))
	tags := must[*iam.ListMFADeviceTagsOutput](t)(e.svc.ListMFADeviceTags(e.ctx, e.rootA, &iam.ListMFADeviceTagsInput{SerialNumber: serial}))
	if len(tags.Tags) != 1 || tags.Tags[0] != (iam.Tag{Key: "OWNER", Value: "bob"}) {
		t.Fatalf("tags %+v", tags.Tags)
	}
	// The device's seed survives tagging: it still verifies nothing else changed.
	d, err := e.store.GetMFADevice(e.ctx, serial)
	if err != nil || len(d.Seed) == 0 {
		t.Fatalf("device after tagging: %v %d", err, len(d.Seed))
	}
	_, err = e.svc.ListMFADeviceTags(e.ctx, e.rootA, &iam.ListMFADeviceTagsInput{SerialNumber: "arn:aws:iam::" + acctA + ":mfa/none"})
	wantErr(t, err, apierr.NoSuchEntity)
	_, err = e.svc.ListMFADeviceTags(e.ctx, e.rootB, &iam.ListMFADeviceTagsInput{SerialNumber: serial})
	wantErr(t, err, apierr.NoSuchEntity) // another account's device
	bob := e.user("bob", "/")
	_, err = e.svc.TagMFADevice(e.ctx, bob, &iam.TagMFADeviceInput{SerialNumber: serial, Tags: []iam.Tag{{Key: "x", Value: "y"}}})
	wantErr(t, err, apierr.AccessDenied)
	_, err = e.svc.TagMFADevice(e.ctx, e.rootA, &iam.TagMFADeviceInput{SerialNumber: serial, Tags: []iam.Tag{{Key: "aws:x", Value: "y"}}})
	wantErr(t, err, apierr.InvalidInput)
}
