package awsquery

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/sts"
)

// reflective encodes v's fields as WriteResult does without the XMLAppender
// fast path.
func reflective(t *testing.T, v any) string {
	t.Helper()
	var buf bytes.Buffer
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return ""
		}
		rv = rv.Elem()
	}
	if err := encodeFields(&buf, rv); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestXMLAppenderMatchesReflection checks that the hand-written encoders of
// the STS results produce byte for byte what the reflective encoder does.
func TestXMLAppenderMatchesReflection(t *testing.T) {
	nasty := []string{
		"", "plain", `a&b<c>d'e"f`, "Jöhn-日本語-😀", "tab\there\nnl\rcr", "bad\xffutf8", "ctl\x01\x7f", "]]>",
	}
	times := []time.Time{
		{},
		time.Date(2026, 7, 15, 23, 28, 33, 0, time.UTC),
		time.Date(2026, 7, 15, 23, 28, 33, 359_000_000, time.UTC),
		time.Date(2026, 7, 15, 23, 28, 33, 999_999, time.FixedZone("x", 5*3600+1800)),
		time.Date(2026, 1, 2, 3, 4, 5, 1_000_000, time.FixedZone("y", -7*3600)),
	}
	zero, size := 0, 37
	sizes := []*int{nil, &zero, &size}
	var values []any
	for i, s := range nasty {
		tm := times[i%len(times)]
		creds := &sts.Credentials{AccessKeyID: "ASIA" + s, SecretAccessKey: s + "/+=", SessionToken: strings.Repeat(s, 3), Expiration: tm}
		for j, ps := range sizes {
			values = append(values,
				&sts.AssumeRoleOutput{Credentials: creds, AssumedRoleUser: &sts.AssumedRoleUser{AssumedRoleID: "AROA:" + s, ARN: "arn:" + s}, PackedPolicySize: ps, SourceIdentity: nasty[(i+j)%len(nasty)]},
				&sts.GetFederationTokenOutput{Credentials: creds, FederatedUser: &sts.FederatedUser{FederatedUserID: "1:" + s, ARN: s}, PackedPolicySize: ps},
			)
		}
		values = append(values,
			&sts.AssumeRoleOutput{},
			&sts.GetFederationTokenOutput{},
			&sts.GetSessionTokenOutput{Credentials: creds},
			&sts.GetSessionTokenOutput{},
			&sts.GetCallerIdentityOutput{UserID: s, Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/" + s},
			creds, &sts.AssumedRoleUser{AssumedRoleID: s}, &sts.FederatedUser{ARN: s},
		)
	}
	values = append(values, (*sts.AssumeRoleOutput)(nil), (*sts.Credentials)(nil), (*sts.GetCallerIdentityOutput)(nil))
	for _, v := range values {
		a, ok := v.(XMLAppender)
		if !ok {
			t.Fatalf("%T does not implement XMLAppender", v)
		}
		got, want := string(a.AppendXML([]byte("prefix"))), "prefix"+reflective(t, v)
		if got != want {
			t.Errorf("%T %+v:\nAppendXML  %q\nreflective %q", v, v, got, want)
		}
	}
	// The whole response is the same through WriteResult either way.
	out := values[0].(*sts.AssumeRoleOutput)
	type plain sts.AssumeRoleOutput // same fields and tags, no methods
	w1, w2 := httptest.NewRecorder(), httptest.NewRecorder()
	WriteResult(w1, STSNamespace, "AssumeRole", "req-1", out)
	WriteResult(w2, STSNamespace, "AssumeRole", "req-1", (*plain)(out))
	if w1.Body.String() != w2.Body.String() {
		t.Errorf("WriteResult differs:\n%s\n%s", w1.Body, w2.Body)
	}
	for _, k := range []string{"Content-Type", "X-Amzn-Requestid"} {
		if w1.Header().Get(k) != w2.Header().Get(k) || w1.Header().Get(k) == "" {
			t.Errorf("header %s: %q vs %q", k, w1.Header().Get(k), w2.Header().Get(k))
		}
	}
}

// BenchmarkWriteResultAppender is BenchmarkWriteResult's response through
// the XMLAppender fast path (sts.AssumeRoleOutput).
func BenchmarkWriteResultAppender(b *testing.B) {
	size := 8
	res := &sts.AssumeRoleOutput{
		Credentials: &sts.Credentials{
			AccessKeyID:     "ASIAIOSFODNN7EXAMPLE",
			SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
			SessionToken:    strings.Repeat("AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW", 8),
			Expiration:      time.Date(2026, 7, 15, 23, 28, 33, 0, time.UTC),
		},
		AssumedRoleUser:  &sts.AssumedRoleUser{AssumedRoleID: "AROA123EXAMPLE123:John", ARN: "arn:aws:sts::123456789012:assumed-role/demo/John"},
		PackedPolicySize: &size,
		SourceIdentity:   "DevUser123",
	}
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		WriteResult(w, STSNamespace, "AssumeRole", "c6104cbe-af31-11e0-8154-cbc7ccf896c7", res)
	}
}
