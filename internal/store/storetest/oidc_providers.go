package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/store"
)

func testOIDCProviders(t *testing.T, s store.Store) {
	ctx := context.Background()
	p := store.OIDCProvider{Account: acct1, Name: "idp.example.com/tenant/a", ClientIDs: []string{"app", "cli"},
		Thumbprints: []string{"0123456789abcdef0123456789abcdef01234567"}, CreatedAt: t0, Tags: []store.Tag{{Key: "team", Value: "x"}}}
	before, _ := s.LastChange(ctx)
	if err := s.CreateOIDCProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOIDCProvider(ctx, p); !errors.Is(err, store.ErrAlreadyExists) {
		t.Errorf("create twice: %v, want ErrAlreadyExists", err)
	}
	// Names compare exactly (the path is case-sensitive); accounts are separate.
	other := p
	other.Name = "idp.example.com/tenant/A"
	if err := s.CreateOIDCProvider(ctx, other); err != nil {
		t.Errorf("create with other case: %v", err)
	}
	other = p
	other.Account = acct2
	other.ClientIDs, other.Thumbprints, other.Tags = nil, nil, nil
	if err := s.CreateOIDCProvider(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetOIDCProvider(ctx, acct1, p.Name)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, got, timeEqual); diff != "" {
		t.Errorf("get (-want +got):\n%s", diff)
	}
	got2, err := s.GetOIDCProvider(ctx, acct2, p.Name)
	if err != nil || got2.ClientIDs != nil || got2.Thumbprints != nil || got2.Tags != nil {
		t.Errorf("get empty lists: %+v %v", got2, err)
	}
	if _, err := s.GetOIDCProvider(ctx, acct1, "idp.example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("get missing: %v", err)
	}

	p.ClientIDs = []string{"cli"}
	p.Thumbprints = nil
	p.Tags = nil
	if err := s.UpdateOIDCProvider(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetOIDCProvider(ctx, acct1, p.Name)
	if diff := cmp.Diff(p, got, timeEqual); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	missing := p
	missing.Name = "nope.example.com"
	if err := s.UpdateOIDCProvider(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}

	list, err := s.ListOIDCProviders(ctx, acct1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range list {
		names = append(names, x.Name)
	}
	if diff := cmp.Diff([]string{"idp.example.com/tenant/A", "idp.example.com/tenant/a"}, names); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}

	if err := s.DeleteOIDCProvider(ctx, acct1, p.Name); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOIDCProvider(ctx, acct1, p.Name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delete twice: %v", err)
	}

	// Every write recorded one oidc-provider change naming the provider.
	changes, err := s.Changes(ctx, before, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range changes {
		if c.Kind == store.ChangeOIDCProvider {
			kinds = append(kinds, c.Account+" "+c.Key)
		}
	}
	want := []string{acct1 + " " + p.Name, acct1 + " idp.example.com/tenant/A", acct2 + " " + p.Name, acct1 + " " + p.Name, acct1 + " " + p.Name}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
}

var timeEqual = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })
