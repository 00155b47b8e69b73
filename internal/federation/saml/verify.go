package saml

import (
	"bytes"
	"compress/flate"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	xrv "github.com/mattermost/xml-roundtrip-validator"
	"github.com/russellhaering/gosaml2/types"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// XML namespaces and values of SAML 2.0.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"

	statusSuccess = "urn:oasis:names:tc:SAML:2.0:status:Success"
	methodBearer  = "urn:oasis:names:tc:SAML:2.0:cm:bearer"

	// MaxResponseSize bounds the decoded Response (AWS: 100000 base64
	// characters).
	MaxResponseSize = 100000
	// maxResponseMarkup bounds the markup ('<') of a Response: a real one
	// has a few hundred (an assertion with fifty roles, a signature); the
	// well-formedness check before parsing costs some 20µs an element, so
	// this bounds what an unauthenticated request costs at about 20ms.
	maxResponseMarkup = 2048
)

// Decode base64-decodes a SAMLAssertion parameter (standard alphabet,
// line breaks and spaces ignored), inflating a deflated Response.
func Decode(s string) ([]byte, error) {
	if len(s) > MaxResponseSize*4/3+4096 {
		return nil, invalid("Response is too large", nil)
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', ' ', '\t':
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, invalid("Response is not valid base64", err)
	}
	if t := bytes.TrimLeft(b, " \t\r\n\xef\xbb\xbf"); len(t) > 0 && t[0] != '<' {
		// Some identity providers deflate the Response (as the Redirect
		// binding does); inflate at most MaxResponseSize+1 bytes.
		r := flate.NewReader(bytes.NewReader(b))
		defer r.Close()
		inflated, err := io.ReadAll(io.LimitReader(r, MaxResponseSize+1))
		if err != nil {
			return nil, invalid("Response is not valid XML", err)
		}
		return inflated, nil
	}
	return b, nil
}

// Verify checks a decoded SAML Response against cfg and returns its
// assertion. Errors are *Error.
func Verify(raw []byte, cfg Config) (*Assertion, error) {
	if cfg.Skew == 0 {
		cfg.Skew = DefaultSkew
	}
	root, err := parse(raw, MaxResponseSize, maxResponseMarkup)
	if err != nil {
		return nil, err
	}
	if !is(root, nsProtocol, "Response") {
		return nil, invalid("Response is not a SAML 2.0 Response", nil)
	}

	// The Response: when it is signed, everything below is read from what
	// the signature covers.
	response := root
	responseSigned := false
	if hasSignature(root) {
		v, err := verifySignature(root, cfg)
		if err != nil {
			return nil, invalid("Response signature invalid", err)
		}
		response, responseSigned = v, true
	}
	if v := response.SelectAttrValue("Version", ""); v != "2.0" {
		return nil, invalid("Response version is not 2.0", nil)
	}
	if err := checkStatus(response); err != nil {
		return nil, err
	}
	if d := response.SelectAttrValue("Destination", ""); d != "" && !slices.Contains(cfg.Recipients, d) {
		return nil, invalid("Response Destination is not an accepted recipient", nil)
	}
	if iss := child(response, nsAssertion, "Issuer"); iss != nil {
		if v, err := text(iss); err != nil || v != cfg.EntityID {
			return nil, invalid("Issuer not present in specified provider", err)
		}
	}

	// Exactly one assertion, a direct child of the Response.
	var candidates []*etree.Element
	for _, c := range response.ChildElements() {
		if is(c, nsAssertion, "Assertion") || is(c, nsAssertion, "EncryptedAssertion") {
			candidates = append(candidates, c)
		}
	}
	if len(candidates) != 1 {
		return nil, invalid("Response must contain exactly one Assertion", nil)
	}
	assertion := candidates[0]
	if assertion.Tag == "EncryptedAssertion" {
		if assertion, err = decrypt(response, assertion, cfg); err != nil {
			return nil, err
		}
	}
	// No other Assertion anywhere in what we read (wrapped copies in
	// Extensions, Objects or the Assertion itself).
	if n := countAssertions(response); n != 1 {
		return nil, invalid("Response must contain exactly one Assertion", nil)
	}

	switch {
	case hasSignature(assertion):
		v, err := verifySignature(assertion, cfg)
		if err != nil {
			return nil, invalid("Response signature invalid", err)
		}
		assertion = v
	case !responseSigned:
		return nil, invalid("Response signature invalid", errors.New("neither the Response nor the Assertion is signed"))
	}
	return readAssertion(assertion, cfg)
}

// parse reads one XML document, refusing DTDs and what Go's encoder would
// not read back the same way.
func parse(raw []byte, limit, markup int) (*etree.Element, error) {
	if len(raw) > limit || bytes.Count(raw, []byte("<")) > markup {
		return nil, invalid("Response is too large", nil)
	}
	if bytes.Contains(raw, []byte("<!DOCTYPE")) || bytes.Contains(raw, []byte("<!ENTITY")) {
		return nil, invalid("Response must not contain a DTD", nil)
	}
	if err := xrv.Validate(bytes.NewReader(raw)); err != nil {
		return nil, invalid("Response is not well-formed XML", err)
	}
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(raw); err != nil {
		return nil, invalid("Response is not well-formed XML", err)
	}
	root := doc.Root()
	if root == nil {
		return nil, invalid("Response is empty", nil)
	}
	return root, nil
}

func is(el *etree.Element, ns, tag string) bool {
	return el != nil && el.Tag == tag && el.NamespaceURI() == ns
}

func child(el *etree.Element, ns, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if is(c, ns, tag) {
			return c
		}
	}
	return nil
}

func children(el *etree.Element, ns, tag string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if is(c, ns, tag) {
			out = append(out, c)
		}
	}
	return out
}

func countAssertions(el *etree.Element) int {
	n := 0
	if is(el, nsAssertion, "Assertion") || is(el, nsAssertion, "EncryptedAssertion") {
		n++
	}
	for _, c := range el.ChildElements() {
		n += countAssertions(c)
	}
	return n
}

// text returns an element's character data. Comments are skipped, so the
// value is what exclusive canonicalization (which the signature covers)
// sees; a child element where text is expected is an error.
func text(el *etree.Element) (string, error) {
	var b strings.Builder
	for _, t := range el.Child {
		switch t := t.(type) {
		case *etree.CharData:
			b.WriteString(t.Data)
		case *etree.Element:
			return "", errors.New("unexpected element " + t.Tag + " in " + el.Tag)
		}
	}
	return strings.TrimSpace(b.String()), nil
}

func hasSignature(el *etree.Element) bool { return child(el, nsDSig, "Signature") != nil }

// verifySignature checks the enveloped signature of el (a direct child
// that references el's ID) with each trusted certificate and returns the
// element the signature covers. The signature's own KeyInfo is ignored:
// only the provider's metadata says which keys are trusted.
func verifySignature(el *etree.Element, cfg Config) (*etree.Element, error) {
	if len(cfg.Certificates) == 0 {
		return nil, errors.New("no signing certificates")
	}
	nsctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		return nil, err
	}
	detached, err := etreeutils.NSDetatch(nsctx, el)
	if err != nil {
		return nil, err
	}
	for _, s := range children(detached, nsDSig, "Signature") {
		for _, ki := range children(s, nsDSig, "KeyInfo") {
			s.RemoveChild(ki)
		}
	}
	var last error
	for _, cert := range cfg.Certificates {
		ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
		ctx.Clock = dsig.NewFakeClockAt(cfg.Now)
		v, err := ctx.Validate(detached)
		if err == nil {
			return v, nil
		}
		last = err
	}
	return nil, last
}

func checkStatus(response *etree.Element) error {
	st := child(response, nsProtocol, "Status")
	if st == nil {
		return invalid("Response has no Status", nil)
	}
	code := child(st, nsProtocol, "StatusCode")
	if code == nil {
		return invalid("Response has no StatusCode", nil)
	}
	if code.SelectAttrValue("Value", "") != statusSuccess {
		return &Error{Kind: Rejected, Message: "The identity provider did not report success"}
	}
	return nil
}

// decrypt replaces the EncryptedAssertion child of response by its
// plaintext Assertion, which it returns.
func decrypt(response, enc *etree.Element, cfg Config) (*etree.Element, error) {
	if len(cfg.DecryptionKeys) == 0 {
		return nil, invalid("Encrypted assertions are not accepted by this provider", nil)
	}
	nsctx, err := etreeutils.NSBuildParentContext(enc)
	if err != nil {
		return nil, invalid("EncryptedAssertion is malformed", err)
	}
	detached, err := etreeutils.NSDetatch(nsctx, enc)
	if err != nil {
		return nil, invalid("EncryptedAssertion is malformed", err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(detached)
	b, err := doc.WriteToBytes()
	if err != nil {
		return nil, invalid("EncryptedAssertion is malformed", err)
	}
	var ea types.EncryptedAssertion
	if err := xml.Unmarshal(b, &ea); err != nil {
		return nil, invalid("EncryptedAssertion is malformed", err)
	}
	var plain []byte
	last := errors.New("no usable decryption key")
	for _, k := range cfg.DecryptionKeys {
		if k.Certificate == nil || k.Key == nil {
			continue
		}
		if cfg.Now.Before(k.Certificate.NotBefore) || cfg.Now.After(k.Certificate.NotAfter) {
			last = errors.New("decryption certificate is not valid at this time")
			continue
		}
		tc := &tls.Certificate{Certificate: [][]byte{k.Certificate.Raw}, PrivateKey: k.Key, Leaf: k.Certificate}
		if plain, err = ea.DecryptBytes(tc); err == nil {
			break
		}
		last = err
	}
	if plain == nil {
		return nil, invalid("Failed to decrypt the assertion", last)
	}
	pdoc := etree.NewDocument()
	if bytes.Contains(plain, []byte("<!DOCTYPE")) || bytes.Contains(plain, []byte("<!ENTITY")) {
		return nil, invalid("Assertion must not contain a DTD", nil)
	}
	if err := xrv.Validate(bytes.NewReader(plain)); err != nil {
		return nil, invalid("Decrypted assertion is not well-formed XML", err)
	}
	if err := pdoc.ReadFromBytes(plain); err != nil || pdoc.Root() == nil {
		return nil, invalid("Decrypted assertion is not well-formed XML", err)
	}
	a := pdoc.Root()
	response.RemoveChild(enc)
	response.AddChild(a)
	if !is(a, nsAssertion, "Assertion") {
		return nil, invalid("Decrypted content is not an Assertion", nil)
	}
	return a, nil
}

func parseTime(el *etree.Element, attr string) (time.Time, bool, error) {
	v := el.SelectAttrValue(attr, "")
	if v == "" {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, false, invalid("Invalid "+attr+" in "+el.Tag, err)
	}
	return t.UTC(), true, nil
}

func readAssertion(el *etree.Element, cfg Config) (*Assertion, error) {
	a := &Assertion{ID: el.SelectAttrValue("ID", "")}
	if a.ID == "" {
		return nil, invalid("Assertion has no ID", nil)
	}
	if el.SelectAttrValue("Version", "") != "2.0" {
		return nil, invalid("Assertion version is not 2.0", nil)
	}
	var err error
	if a.IssueInstant, _, err = parseTime(el, "IssueInstant"); err != nil {
		return nil, err
	}
	iss := child(el, nsAssertion, "Issuer")
	if iss == nil {
		return nil, invalid("Assertion has no Issuer", nil)
	}
	if a.Issuer, err = text(iss); err != nil || a.Issuer != cfg.EntityID {
		return nil, invalid("Issuer not present in specified provider", err)
	}
	now := cfg.Now

	// expire records an upper bound of validity.
	expire := func(t time.Time) {
		if a.NotOnOrAfter.IsZero() || t.Before(a.NotOnOrAfter) {
			a.NotOnOrAfter = t
		}
	}

	// Conditions: required, with both bounds checked and an audience.
	cond := child(el, nsAssertion, "Conditions")
	if cond == nil {
		return nil, invalid("Assertion has no Conditions", nil)
	}
	nb, ok, err := parseTime(cond, "NotBefore")
	if err != nil {
		return nil, err
	}
	if ok && now.Add(cfg.Skew).Before(nb) {
		return nil, invalid("Assertion is not yet valid", nil)
	}
	noa, ok, err := parseTime(cond, "NotOnOrAfter")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, invalid("Conditions has no NotOnOrAfter", nil)
	}
	expire(noa)
	restrictions := children(cond, nsAssertion, "AudienceRestriction")
	if len(restrictions) == 0 {
		return nil, invalid("Response does not contain the required audience.", nil)
	}
	for _, r := range restrictions {
		match := false
		for _, au := range children(r, nsAssertion, "Audience") {
			v, err := text(au)
			if err != nil {
				return nil, invalid("Invalid Audience", err)
			}
			a.Audiences = append(a.Audiences, v)
			if slices.Contains(cfg.Audiences, v) {
				match = true
			}
		}
		if !match {
			return nil, invalid("Response does not contain the required audience.", nil)
		}
	}

	// Subject: a NameID and at least one bearer confirmation, each of
	// which must hold.
	subj := child(el, nsAssertion, "Subject")
	if subj == nil {
		return nil, invalid("Assertion has no Subject", nil)
	}
	if child(subj, nsAssertion, "EncryptedID") != nil || child(subj, nsAssertion, "BaseID") != nil {
		return nil, invalid("Only NameID subjects are supported", nil)
	}
	if id := child(subj, nsAssertion, "NameID"); id != nil {
		if a.Subject, err = text(id); err != nil {
			return nil, invalid("Invalid NameID", err)
		}
		a.SubjectFormat = id.SelectAttrValue("Format", "")
		a.NameQualifier = id.SelectAttrValue("NameQualifier", "")
		a.SPNameQualifier = id.SelectAttrValue("SPNameQualifier", "")
	}
	bearers := 0
	for _, sc := range children(subj, nsAssertion, "SubjectConfirmation") {
		if sc.SelectAttrValue("Method", "") != methodBearer {
			continue
		}
		bearers++
		data := child(sc, nsAssertion, "SubjectConfirmationData")
		if data == nil {
			return nil, invalid("SubjectConfirmation has no SubjectConfirmationData", nil)
		}
		if r := data.SelectAttrValue("Recipient", ""); r != "" {
			if !slices.Contains(cfg.Recipients, r) {
				return nil, invalid("Recipient is not an accepted recipient", nil)
			}
			if a.Recipient == "" {
				a.Recipient = r
			}
		}
		nb, ok, err := parseTime(data, "NotBefore")
		if err != nil {
			return nil, err
		}
		if ok && now.Add(cfg.Skew).Before(nb) {
			return nil, invalid("Assertion is not yet valid", nil)
		}
		t, ok, err := parseTime(data, "NotOnOrAfter")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, invalid("SubjectConfirmationData has no NotOnOrAfter", nil)
		}
		expire(t)
	}
	if bearers == 0 {
		return nil, invalid("Subject has no bearer SubjectConfirmation", nil)
	}
	if !now.Add(-cfg.Skew).Before(a.NotOnOrAfter) {
		return nil, &Error{Kind: Expired, Message: "Token expired", Expiry: a.NotOnOrAfter}
	}

	for _, st := range children(el, nsAssertion, "AuthnStatement") {
		t, ok, err := parseTime(st, "SessionNotOnOrAfter")
		if err != nil {
			return nil, err
		}
		if ok && (a.SessionNotOnOrAfter.IsZero() || t.Before(a.SessionNotOnOrAfter)) {
			a.SessionNotOnOrAfter = t
		}
	}
	for _, st := range children(el, nsAssertion, "AttributeStatement") {
		for _, at := range children(st, nsAssertion, "Attribute") {
			attr := Attribute{Name: at.SelectAttrValue("Name", ""), FriendlyName: at.SelectAttrValue("FriendlyName", "")}
			for _, v := range children(at, nsAssertion, "AttributeValue") {
				s, err := text(v)
				if err != nil {
					return nil, invalid("Invalid AttributeValue", err)
				}
				attr.Values = append(attr.Values, s)
			}
			a.Attributes = append(a.Attributes, attr)
		}
	}
	return a, nil
}
