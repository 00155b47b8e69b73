package sts

import "testing"

func TestSAMLHelpers(t *testing.T) {
	t.Parallel()
	// The API reference's example: BASE64(SHA1("https://example.com/saml" + "123456789012" + "/MySAMLIdP")),
	// the expected value computed independently with Python's hashlib.
	if got, want := nameQualifier("https://example.com/saml", "123456789012", "MySAMLIdP"), "1uAJanUnBc2XeUkHURMht+xam2c="; got != want {
		t.Errorf("nameQualifier = %s, want %s", got, want)
	}
	for in, want := range map[string]string{
		"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent":   "persistent",
		"urn:oasis:names:tc:SAML:2.0:nameid-format:transient":    "transient",
		"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
		"": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
	} {
		if got := subjectType(in); got != want {
			t.Errorf("subjectType(%q) = %q, want %q", in, got, want)
		}
	}
	role, prov := "arn:aws:iam::123456789012:role/R", "arn:aws:iam::123456789012:saml-provider/P"
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{[]string{role + "," + prov}, true},
		{[]string{prov + ", " + role}, true},
		{[]string{"arn:aws:iam::123456789012:role/Other," + prov, prov + "," + role}, true},
		{[]string{"arn:aws:iam::123456789012:role/r," + prov}, false},
		{[]string{role}, false},
		{[]string{role + ",arn:aws:iam::123456789012:saml-provider/Q"}, false},
		{nil, false},
	} {
		if got := samlRolePair(tc.values, role, prov); got != tc.want {
			t.Errorf("samlRolePair(%q) = %v, want %v", tc.values, got, tc.want)
		}
	}
}
