package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/store"
)

func samlProvider(account, name string) store.SAMLProvider {
	return store.SAMLProvider{Account: account, Name: name, ARN: "arn:aws:iam::" + account + ":saml-provider/" + name,
		MetadataDocument: "<md/>", CreatedAt: t0, ValidUntil: at(24 * time.Hour)}
}

func testSAMLProviders(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	p := samlProvider(acct1, "Okta")
	p.Tags = []store.Tag{{Key: "team", Value: "id"}}
	ok(t, s.CreateSAMLProvider(ctx, p))
	isErr(t, s.CreateSAMLProvider(ctx, samlProvider(acct1, "okta")), store.ErrAlreadyExists, "create a second provider differing in case")
	ok(t, s.CreateSAMLProvider(ctx, samlProvider(acct2, "Okta"))) // another account
	ok(t, s.CreateSAMLProvider(ctx, samlProvider(acct1, "adfs")))

	got, err := s.GetSAMLProvider(ctx, acct1, "OKTA")
	ok(t, err)
	if diff := cmp.Diff(p, got, cmpOpts...); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}
	_, err = s.GetSAMLProvider(ctx, acct1, "nope")
	isErr(t, err, store.ErrNotFound, "get a missing provider")

	before, err := s.LastChange(ctx)
	ok(t, err)
	p.MetadataDocument, p.Tags, p.ValidUntil = "<md2/>", nil, at(48*time.Hour)
	ok(t, s.UpdateSAMLProvider(ctx, p))
	changes, err := s.Changes(ctx, before, 10)
	ok(t, err)
	if len(changes) != 1 || changes[0].Kind != store.ChangeSAMLProvider || changes[0].Key != p.ARN || changes[0].Name != "Okta" || changes[0].Account != acct1 {
		t.Errorf("update recorded %+v", changes)
	}
	got, err = s.GetSAMLProvider(ctx, acct1, "Okta")
	ok(t, err)
	if diff := cmp.Diff(p, got, cmpOpts...); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	isErr(t, s.UpdateSAMLProvider(ctx, samlProvider(acct1, "nope")), store.ErrNotFound, "update a missing provider")

	list, err := s.ListSAMLProviders(ctx, acct1)
	ok(t, err)
	if len(list) != 2 || list[0].Name != "adfs" || list[1].Name != "Okta" {
		t.Errorf("list %+v", list)
	}
	ok(t, s.DeleteSAMLProvider(ctx, acct1, "okta"))
	isErr(t, s.DeleteSAMLProvider(ctx, acct1, "okta"), store.ErrNotFound, "delete twice")
	list, err = s.ListSAMLProviders(ctx, acct1)
	ok(t, err)
	if len(list) != 1 {
		t.Errorf("after delete %+v", list)
	}
	if _, err := s.GetSAMLProvider(ctx, acct2, "Okta"); err != nil {
		t.Errorf("the other account's provider: %v", err)
	}
}

func testSAMLAssertions(t *testing.T, s store.Store) {
	ctx := ctxOf(t)
	k1, k2 := []byte("key-one-0123456789abcdef0123456"), []byte("key-two-0123456789abcdef0123456")
	ok(t, s.RecordSAMLAssertion(ctx, k1, at(5*time.Minute), t0))
	isErr(t, s.RecordSAMLAssertion(ctx, k1, at(10*time.Minute), at(time.Minute)), store.ErrAlreadyExists, "replay before expiry")
	ok(t, s.RecordSAMLAssertion(ctx, k2, at(time.Minute), t0))
	// Once expired, the key may be recorded again (the assertion itself is
	// rejected as expired before it gets here).
	ok(t, s.RecordSAMLAssertion(ctx, k2, at(10*time.Minute), at(2*time.Minute)))
	isErr(t, s.RecordSAMLAssertion(ctx, k2, at(10*time.Minute), at(3*time.Minute)), store.ErrAlreadyExists, "replay of the re-recorded key")

	n, err := s.PruneSAMLAssertions(ctx, at(6*time.Minute))
	ok(t, err)
	if n != 1 {
		t.Errorf("pruned %d, want 1 (k1)", n)
	}
	ok(t, s.RecordSAMLAssertion(ctx, k1, at(20*time.Minute), at(7*time.Minute)))

	// Concurrent records of one key: exactly one wins.
	k3 := []byte("key-three-0123456789abcdef01234")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Go(func() {
			if err := s.RecordSAMLAssertion(ctx, k3, at(time.Hour), t0); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !store.IsExists(err) {
				t.Errorf("concurrent record: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d concurrent records won, want 1", wins)
	}
	last, err := s.LastChange(ctx)
	ok(t, err)
	if last != 0 {
		t.Errorf("replay records wrote %d changes to the feed", last)
	}
}
