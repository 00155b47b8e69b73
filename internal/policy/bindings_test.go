package policy

import (
	"reflect"
	"testing"
)

// TestRebind: a policy rebuilt from its bindings and a policy of its shape
// is equal to the one parsed from its document (principals of every form,
// statements without one, statement positions other than the shape's), and
// decides alike.
func TestRebind(t *testing.T) {
	docs := []struct {
		kind      Kind
		tmpl, doc string
	}{
		{Trust, userTrust(1), userTrust(2)},
		{Trust, userTrust(1), `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::444455556666:root","arn:aws:iam::111122223333:user/a/b","AIDAEXAMPLEUSER12345"]},"Action":"sts:AssumeRole"}]}`},
		// Other positions: spaces the shape's first document did not have.
		{Trust, userTrust(1), `{"Version":"2012-10-17",  "Statement":[ {"Effect":"Allow","Principal":{"AWS":"AIDAEXAMPLEUSER67890"},"Action":"sts:AssumeRole"}]}`},
		{Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"},{"Effect":"Deny","Principal":{"Federated":["cognito-identity.amazonaws.com","arn:aws:iam::111122223333:saml-provider/p"]},"Action":"sts:AssumeRole"}]}`},
		{Resource, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},{"Effect":"Deny","NotPrincipal":{"AWS":"111122223333"},"Action":"s3:*","Resource":"*"}]}`,
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"},{"Effect":"Deny","NotPrincipal":{"Service":["ec2.amazonaws.com","lambda.amazonaws.com"]},"Action":"s3:*","Resource":"*"}]}`},
		{Identity, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`},
	}
	for _, d := range docs {
		tmpl, p := mustParse(t, d.kind, d.tmpl), mustParse(t, d.kind, d.doc)
		if p.Shape() != tmpl.Shape() {
			t.Fatalf("%s: not of its template's shape", d.doc)
		}
		b := p.AppendBindings(nil)
		q, ok := Rebind(tmpl, b)
		if !ok {
			t.Fatalf("%s: its bindings were refused", d.doc)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("%s: rebound\n%+v\nparsed\n%+v", d.doc, *q, *p)
		}
		if q.Size() != p.Size() {
			t.Errorf("%s: size %d, parsed %d", d.doc, q.Size(), p.Size())
		}
		// Every cut of the bindings is refused, never a panic.
		for n := range len(b) {
			if _, ok := Rebind(tmpl, b[:n]); ok {
				t.Errorf("%s: bindings cut to %d of %d bytes accepted", d.doc, n, len(b))
			}
		}
		for i := range b {
			c := append([]byte(nil), b...)
			c[i] ^= 0xff
			Rebind(tmpl, c) // refused or another policy of the shape: no panic
		}
		if _, ok := Rebind(tmpl, append(b, 0)); ok {
			t.Errorf("%s: bindings with a byte more accepted", d.doc)
		}
	}
	// Bindings of a policy whose statements have principals do not fit a
	// shape whose statements have none, and the other way round.
	trust, ident := mustParse(t, Trust, docs[0].doc), mustParse(t, Identity, docs[5].doc)
	if _, ok := Rebind(ident, trust.AppendBindings(nil)); ok {
		t.Error("a trust policy's bindings fit an identity policy's shape")
	}
	if _, ok := Rebind(trust, ident.AppendBindings(nil)); ok {
		t.Error("an identity policy's bindings fit a trust policy's shape")
	}
}

func BenchmarkRebindTrust(b *testing.B) {
	tmpl, p := mustParse(b, Trust, userTrust(1)), mustParse(b, Trust, userTrust(2))
	bind := p.AppendBindings(nil)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Rebind(tmpl, bind); !ok {
			b.Fatal("refused")
		}
	}
}

func BenchmarkParseTrustOfKnownShape(b *testing.B) {
	mustParse(b, Trust, userTrust(1))
	doc := userTrust(2)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(Trust, doc); err != nil {
			b.Fatal(err)
		}
	}
}
