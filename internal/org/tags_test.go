package org_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/org"
)

func TestTags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	root := e.rootID()
	ou := e.createOU(root, "Tagged")
	pol := e.createPolicy("TaggedSCP", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	list := func(id string) []org.Tag {
		t.Helper()
		out, err := e.svc.ListTagsForResource(e.ctx, e.root, &org.ListTagsForResourceInput{ResourceID: id})
		if err != nil {
			t.Fatalf("list tags of %s: %v", id, err)
		}
		return out.Tags
	}
	for _, id := range []string{member, root, ou.ID, pol} {
		if got := list(id); got == nil || len(got) != 0 {
			t.Errorf("%s starts with tags %v", id, got)
		}
		if _, err := e.svc.TagResource(e.ctx, e.root, &org.TagResourceInput{ResourceID: id, Tags: []org.Tag{{Key: "b", Value: "1"}, {Key: "a", Value: ""}}}); err != nil {
			t.Fatalf("tag %s: %v", id, err)
		}
		if _, err := e.svc.TagResource(e.ctx, e.root, &org.TagResourceInput{ResourceID: id, Tags: []org.Tag{{Key: "b", Value: "2"}}}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]org.Tag{{Key: "a"}, {Key: "b", Value: "2"}}, list(id)); diff != "" {
			t.Errorf("%s tags (-want +got):\n%s", id, diff)
		}
		if _, err := e.svc.UntagResource(e.ctx, e.root, &org.UntagResourceInput{ResourceID: id, TagKeys: []string{"a", "absent"}}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]org.Tag{{Key: "b", Value: "2"}}, list(id)); diff != "" {
			t.Errorf("%s tags after untag (-want +got):\n%s", id, diff)
		}
	}
	_, err := e.svc.TagResource(e.ctx, e.root, &org.TagResourceInput{ResourceID: "999999999999", Tags: []org.Tag{{Key: "k"}}})
	wantCode(t, "tag a missing account", err, apierr.TargetNotFoundException)
	_, err = e.svc.TagResource(e.ctx, e.root, &org.TagResourceInput{ResourceID: "bogus", Tags: []org.Tag{{Key: "k"}}})
	wantCode(t, "tag a malformed id", err, apierr.OrgInvalidInputException)
	_, err = e.svc.TagResource(e.ctx, e.root, &org.TagResourceInput{ResourceID: member, Tags: []org.Tag{{Key: "k"}, {Key: "k"}}})
	wantCode(t, "duplicate keys", err, apierr.OrgInvalidInputException)
	var many []org.Tag
	for i := range 50 {
		many = append(many, org.Tag{Key: fmt.Sprintf("k%02d", i)})
	}
	_, err = e.svc.TagResource(e.ctx, e.root, &org.TagResourceInput{ResourceID: member, Tags: many})
	if wantCode(t, "51 tags", err, apierr.ConstraintViolationException); reason(err) == "" {
		t.Error("no Reason")
	}
	if got := list(member); len(got) != 1 {
		t.Errorf("a refused TagResource wrote %d tags", len(got))
	}
	// Pages of 20.
	if _, err := e.svc.TagResource(e.ctx, e.root, &org.TagResourceInput{ResourceID: member, Tags: many[:45]}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for tok := ""; ; {
		out, err := e.svc.ListTagsForResource(e.ctx, e.root, &org.ListTagsForResourceInput{ResourceID: member, NextToken: tok})
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range out.Tags {
			keys = append(keys, tg.Key)
		}
		if tok = out.NextToken; tok == "" {
			break
		}
	}
	if len(keys) != 46 {
		t.Errorf("%d keys over the pages", len(keys))
	}
	// Tags given at creation.
	raw := []org.Tag{{Key: "team", Value: "x"}}
	ou2, err := e.svc.CreateOrganizationalUnit(e.ctx, e.root, &org.CreateOrganizationalUnitInput{ParentID: root, Name: "WithTags", Tags: raw})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]org.Tag{{Key: "team", Value: "x"}}, list(ou2.OrganizationalUnit.ID)); diff != "" {
		t.Errorf("OU created with tags (-want +got):\n%s", diff)
	}
	acct, err := e.svc.CreateAccount(e.ctx, e.root, &org.CreateAccountInput{AccountName: "t", Email: "t@example.com", Tags: raw})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]org.Tag{{Key: "team", Value: "x"}}, list(acct.CreateAccountStatus.AccountID)); diff != "" {
		t.Errorf("account created with tags (-want +got):\n%s", diff)
	}
}
