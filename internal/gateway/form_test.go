package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
)

func TestFormScan(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body string
		hit  bool
	}{
		{"a=1&_method=DELETE", true},
		{"_method=DELETE", true},
		{"_method", true},
		{"a=1;_method=PUT", true},
		{"%5Fmethod=DELETE", true},
		{"%5f%6D%65%74%68%6f%64=DELETE", true},
		{"a=1&_method=", true},
		{"a=1&x_method=DELETE", false},
		{"a=_method&b=2", false},
		{"_methods=DELETE", false},
		{"_method+=DELETE", false},
		{"a=" + strings.Repeat("x", 100000) + "&b=1", false},
		{strings.Repeat("k", 100) + "_method=1", false},
		{"", false},
		// As PHP (Symfony, Laravel) names fields: leading spaces dropped,
		// ' ' and '.' read as '_'; as Rack 2 does: leading brackets
		// dropped; both: the name ends at a bracket.
		{"a=1&.method=DELETE", true},
		{"%2Emethod=DELETE", true},
		{"+_method=DELETE", true},
		{"%20%20.method=PUT", true},
		{strings.Repeat("+", 100) + "_method=DELETE", true},
		{"[_method]=DELETE", true},
		{"_method[]=DELETE", true},
		{"_method[a]=DELETE", true},
		{"%5B%5Fmethod%5D=DELETE", true},
		{"_method%00x=DELETE", true},
		{"_method%=DELETE", false},
		{"%_method=DELETE", false},
		{"_metho%64=DELETE", true},
		{"_metho%6=DELETE", false},
		{"x.method=DELETE", false},
		{"a=.method", false},
	} {
		// One byte at a time, so that keys span reads.
		_, err := io.ReadAll(iotest.OneByteReader(&formScan{src: strings.NewReader(tc.body)}))
		if got := errors.Is(err, gErrOverride); got != tc.hit || !tc.hit && err != nil {
			t.Errorf("%.40q: err %v, want hit %v", tc.body, err, tc.hit)
		}
		b, err := io.ReadAll(&formScan{src: strings.NewReader(tc.body)})
		if !tc.hit && (err != nil || string(b) != tc.body) {
			t.Errorf("%.40q: passed %d bytes, err %v", tc.body, len(b), err)
		}
	}
	for ct, want := range map[string]bool{
		"": true, "application/x-www-form-urlencoded": true, "Application/X-WWW-Form-Urlencoded; charset=utf-8": true,
		"application/json": false, "text/plain": false, "bad;;=": true,
	} {
		h := http.Header{}
		if ct != "" {
			h.Set("Content-Type", ct)
		}
		if got := formBody(h); got != want {
			t.Errorf("formBody(%q) = %v", ct, got)
		}
	}
}

func TestStripPresign(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":        "",
		"a=1&b=2": "a=1&b=2",
		"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F&X-Amz-Date=1&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ab&X-Amz-Security-Token=tok&q=x%20y": "q=x%20y",
		"b=2&x-amz-signature=1&a=1":    "b=2&a=1",
		"X%2DAmz%2DSecurity%2DToken=t": "",
		"X-Amz-Meta=1&z":               "X-Amz-Meta=1&z",
	} {
		if got := stripPresign(in); got != want {
			t.Errorf("stripPresign(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOverridesQuery(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]bool{
		"_method=DELETE": true, "a=1&.method=DELETE": true, "+_method=DELETE": true, "%5B_method%5D=PUT": true,
		"a=1;_method=DELETE": true, "_method[]=DELETE": true,
		"a=1&b=2": false, "a=.method": false, "x_method=1": false, "": false,
	} {
		q, _ := url.ParseQuery(raw)
		if got := overrides(http.Header{}, q, raw); got != want {
			t.Errorf("overrides(?%s) = %v, want %v", raw, got, want)
		}
	}
}

func TestOverridesHeaderUnderscore(t *testing.T) {
	t.Parallel()
	for k, want := range map[string]bool{
		"X-Http-Method-Override": true, "X_HTTP_METHOD_OVERRIDE": true, "X-Http_Method-Override": true, "x_original_url": true,
		"X_Amz_Date": false, "X-Custom": false,
	} {
		h := http.Header{}
		h[k] = []string{"DELETE"} // as the server keeps it (not canonicalized when it has '_')
		if got := overrides(h, url.Values{}, ""); got != want {
			t.Errorf("overrides(%s) = %v, want %v", k, got, want)
		}
	}
}
