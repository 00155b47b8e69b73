package awsquery

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/google/go-cmp/cmp"
	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/sharedtest"
)

// Shapes shaped like the services' inputs and outputs, for tests.

type tag struct {
	Key   string `required:"true" min:"1" max:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
	Value string `required:"true" max:"256" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"`
}

type policyARN struct {
	ARN string `query:"arn" min:"20" max:"2048"`
}

type assumeRoleInput struct {
	RoleARN           string      `query:"RoleArn" required:"true" min:"20" max:"2048"`
	RoleSessionName   string      `required:"true" min:"2" max:"64" pattern:"[\\w+=,.@-]*"`
	PolicyARNs        []policyARN `query:"PolicyArns" max:"10"`
	Policy            *string     `min:"1" max:"2048"`
	DurationSeconds   *int32      `min:"900" max:"43200"`
	Tags              []tag       `max:"50"`
	TransitiveTagKeys []string    `max:"50"`
	ExternalID        *string     `query:"ExternalId" min:"2" max:"1224"`
	SerialNumber      *string     `min:"9" max:"256"`
	TokenCode         *string     `min:"6" max:"6" pattern:"[\\d]*" sensitive:"true"`
	SourceIdentity    *string     `min:"2" max:"64"`
	Mode              string      `enum:"fast,slow"` // not AssumeRole's: the enum tag
}

type getSessionTokenInput struct {
	DurationSeconds *int32  `min:"900" max:"129600"`
	SerialNumber    *string `min:"9" max:"256"`
	TokenCode       *string `min:"6" max:"6" pattern:"[\\d]*"`
}

type credentialsXML struct {
	AccessKeyID     string    `xml:"AccessKeyId"`
	SecretAccessKey string    `xml:"SecretAccessKey"`
	SessionToken    string    `xml:"SessionToken"`
	Expiration      time.Time `xml:"Expiration"`
}

type assumeRoleResult struct {
	Credentials     *credentialsXML `xml:"Credentials"`
	AssumedRoleUser *struct {
		ARN           string `xml:"Arn"`
		AssumedRoleID string `xml:"AssumedRoleId"`
	} `xml:"AssumedRoleUser"`
	PackedPolicySize *int32 `xml:"PackedPolicySize,omitempty"`
	SourceIdentity   string `xml:"SourceIdentity,omitempty"`
}

func stsWire(t *testing.T, elem ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{sharedtest.Dir(t, "sts-wire")}, elem...)...))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docsRequest turns an AWS docs sample (one parameter a line, &AUTHPARAMS as
// the placeholder for the signature) into a GET request.
func docsRequest(t *testing.T, name string) *http.Request {
	t.Helper()
	var q []string
	for i, l := range strings.Split(stsWire(t, "aws-docs", name), "\n") {
		l = strings.TrimSpace(l)
		if i == 0 || l == "" || l == "&AUTHPARAMS" {
			continue
		}
		q = append(q, strings.TrimLeft(l, "?&"))
	}
	r := httptest.NewRequest(http.MethodGet, "https://sts.amazonaws.com/", nil)
	r.URL.RawQuery = strings.Join(q, "&")
	return r
}

func TestDocsRequests(t *testing.T) {
	t.Parallel()
	t.Run("AssumeRole", func(t *testing.T) {
		req, err := ReadRequest(docsRequest(t, "AssumeRole.request.txt"), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		var in assumeRoleInput
		if err := Decode(req.Params, &in); err != nil {
			t.Fatal(err)
		}
		want := assumeRoleInput{
			RoleARN:         "arn:aws::iam::123456789012:role/demo", // the docs' typo, kept
			RoleSessionName: "John-session",
			Policy:          aws.String(`{"Version":"2012-10-17","Statement":[{"Sid": "Stmt1","Effect": "Allow","Action": "s3:*","Resource": "*"}]}`),
			DurationSeconds: aws.Int32(1800),
			Tags:            []tag{{"Project", "Pegasus"}, {"Cost-Center", "12345"}},
			ExternalID:      aws.String("123ABC"),
			SourceIdentity:  aws.String("DevUser123"),
		}
		if diff := cmp.Diff(want, in); diff != "" {
			t.Errorf("decoded (-want +got):\n%s", diff)
		}
		if req.Action != "AssumeRole" || req.Version != STSVersion {
			t.Errorf("Action, Version = %q, %q", req.Action, req.Version)
		}
	})
	for _, tc := range []struct {
		file string
		want getSessionTokenInput
	}{
		{"GetSessionToken.request.txt", getSessionTokenInput{DurationSeconds: aws.Int32(1800)}},
		{"GetSessionToken-mfa.request.txt", getSessionTokenInput{DurationSeconds: aws.Int32(7200),
			SerialNumber: aws.String("YourMFADeviceSerialNumber"), TokenCode: aws.String("123456")}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			req, err := ReadRequest(docsRequest(t, tc.file), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			var in getSessionTokenInput
			if err := Decode(req.Params, &in); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, in); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

// TestProtocolInputCases decodes the bodies botocore's awsQuery input suite
// serializes and checks the values come back. In scope: the cases whose
// shapes services use (strings, booleans, integers, member lists, lists of
// structures, nested structures, empty lists). Out of scope, because no
// STS/IAM input needs them: maps, blobs, floats, timestamps, flattened lists
// and lists with a custom member name, idempotency tokens, endpoint traits.
func TestProtocolInputCases(t *testing.T) {
	t.Parallel()
	type greeting struct {
		Hi string `query:"hi" json:"hi"`
	}
	type queryLists struct {
		ListArg        []string
		ComplexListArg []greeting
		NestedWithList *struct{ ListArg []string }
	}
	type simple struct {
		Foo, Bar *string
		Baz      *bool
		Bam      *int
	}
	var suites []struct {
		Cases []struct {
			ID         string          `json:"id"`
			Params     json.RawMessage `json:"params"`
			Serialized struct {
				Body string `json:"body"`
			} `json:"serialized"`
		} `json:"cases"`
	}
	if err := json.Unmarshal([]byte(stsWire(t, "botocore-protocol-query", "input", "query.json")), &suites); err != nil {
		t.Fatal(err)
	}
	newDst := map[string]func() any{
		"QueryLists":                                   func() any { return new(queryLists) },
		"EmptyQueryLists":                              func() any { return new(queryLists) },
		"QueryNestedStructWithList":                    func() any { return new(queryLists) },
		"QuerySimpleInputParamsStrings":                func() any { return new(simple) },
		"QuerySimpleInputParamsStringAndBooleanTrue":   func() any { return new(simple) },
		"QuerySimpleInputParamsStringsAndBooleanFalse": func() any { return new(simple) },
		"QuerySimpleInputParamsInteger":                func() any { return new(simple) },
		"AwsQueryEndpointTrait":                        func() any { return new(simple) },
	}
	ran := 0
	for _, s := range suites {
		for _, c := range s.Cases {
			mk, ok := newDst[c.ID]
			if !ok {
				continue
			}
			ran++
			t.Run(c.ID, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.Serialized.Body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req, err := ReadRequest(r, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				got, want := mk(), mk()
				if err := Decode(req.Params, got); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(c.Params, want); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("decoded (-want +got):\n%s", diff)
				}
			})
		}
	}
	if ran != len(newDst) {
		t.Fatalf("ran %d cases, want %d: the suite changed", ran, len(newDst))
	}
}

// TestDocsResponsesThroughSDK reads AWS's sample responses into result
// structs, writes them with WriteResult and checks the aws-sdk-go-v2 STS
// client reads the same values back.
func TestDocsResponsesThroughSDK(t *testing.T) {
	t.Parallel()
	var sample struct {
		Result    assumeRoleResult `xml:"AssumeRoleResult"`
		RequestID string           `xml:"ResponseMetadata>RequestId"`
	}
	if err := xml.Unmarshal([]byte(stsWire(t, "aws-docs", "AssumeRole.response.xml")), &sample); err != nil {
		t.Fatal(err)
	}
	var gst struct {
		Result struct {
			Credentials *credentialsXML `xml:"Credentials"`
		} `xml:"GetSessionTokenResult"`
	}
	if err := xml.Unmarshal([]byte(stsWire(t, "aws-docs", "GetSessionToken.response.xml")), &gst); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := ReadRequest(r, 1<<20)
		if err != nil {
			WriteError(w, STSNamespace, "rid", err)
			return
		}
		switch req.Action {
		case "AssumeRole":
			WriteResult(w, STSNamespace, req.Action, sample.RequestID, &sample.Result)
		case "GetSessionToken":
			WriteResult(w, STSNamespace, req.Action, "rid", gst.Result)
		case "GetCallerIdentity":
			WriteResult(w, STSNamespace, req.Action, "rid", struct {
				Arn, UserId, Account string
			}{"arn:aws:iam::123456789012:user/Alice", "AIDACKCEVSQ6C2EXAMPLE", "123456789012"})
		default:
			WriteResult(w, STSNamespace, req.Action, "rid", nil)
		}
	}))
	t.Cleanup(srv.Close)
	c := newSTSClient(srv.URL)
	ctx := context.Background()

	out, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/demo"), RoleSessionName: aws.String("John")})
	if err != nil {
		t.Fatal(err)
	}
	sc := sample.Result.Credentials
	if got, want := [...]string{aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey),
		aws.ToString(out.Credentials.SessionToken), aws.ToString(out.AssumedRoleUser.Arn), aws.ToString(out.AssumedRoleUser.AssumedRoleId),
		aws.ToString(out.SourceIdentity)},
		[...]string{sc.AccessKeyID, sc.SecretAccessKey, sc.SessionToken, sample.Result.AssumedRoleUser.ARN,
			sample.Result.AssumedRoleUser.AssumedRoleID, sample.Result.SourceIdentity}; got != want {
		t.Errorf("AssumeRole = %q, want %q", got, want)
	}
	if want := time.Date(2019, 7, 15, 23, 28, 33, 359e6, time.UTC); !out.Credentials.Expiration.Equal(want) {
		t.Errorf("Expiration = %v, want %v", out.Credentials.Expiration, want)
	}
	if aws.ToInt32(out.PackedPolicySize) != 8 {
		t.Errorf("PackedPolicySize = %v, want 8", out.PackedPolicySize)
	}

	gout, err := c.GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(gout.Credentials.SessionToken), gst.Result.Credentials.SessionToken; got != want {
		t.Errorf("GetSessionToken token = %q, want %q", got, want)
	}
	if want := time.Date(2011, 7, 11, 19, 55, 29, 611e6, time.UTC); !gout.Credentials.Expiration.Equal(want) {
		t.Errorf("Expiration = %v, want %v", gout.Credentials.Expiration, want)
	}

	id, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(id.Account) != "123456789012" || aws.ToString(id.UserId) != "AIDACKCEVSQ6C2EXAMPLE" {
		t.Errorf("GetCallerIdentity = %+v", id)
	}

	if _, err := c.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String("x")}); err != nil {
		t.Errorf("nil result: %v", err)
	}
}

func TestWriteResultBytes(t *testing.T) {
	t.Parallel()
	exp := time.Date(2026, 1, 2, 15, 4, 5, 0, time.FixedZone("CET", 3600))
	rec := httptest.NewRecorder()
	WriteResult(rec, IAMNamespace, "ListRoles", "rid", struct {
		Roles       []struct{ RoleName string } `xml:"Roles>member"`
		IsTruncated bool
		Marker      string    `xml:",omitempty"`
		Created     time.Time `xml:"CreateDate"`
		MS          time.Time
		Skipped     *string
		Hidden      string `xml:"-"`
	}{
		Roles:   []struct{ RoleName string }{{"a<b"}, {"c"}},
		Created: exp,
		MS:      time.Date(2011, 7, 15, 23, 28, 33, 359e6, time.UTC),
		Hidden:  "secret",
	})
	want := `<ListRolesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListRolesResult>` +
		`<Roles><member><RoleName>a&lt;b</RoleName></member><member><RoleName>c</RoleName></member></Roles>` +
		`<IsTruncated>false</IsTruncated><CreateDate>2026-01-02T14:04:05Z</CreateDate><MS>2011-07-15T23:28:33.359Z</MS>` +
		`</ListRolesResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></ListRolesResponse>`
	if diff := cmp.Diff(want, rec.Body.String()); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	for k, v := range map[string]string{"Content-Type": "text/xml", "X-Amzn-Requestid": "rid"} {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// TestHeadersOnTheWire: through a real net/http server, every answer, small
// or larger than net/http buffers, carries Date, Content-Type, the request id
// and a Content-Length, and none is chunked.
func TestHeadersOnTheWire(t *testing.T) {
	t.Parallel()
	type result struct{ Value string }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/small":
			WriteResult(w, STSNamespace, "GetCallerIdentity", "rid", result{Value: "x"})
		case "/large":
			WriteResult(w, STSNamespace, "GetCallerIdentity", "rid", result{Value: strings.Repeat("x", 3*bufferedBody)})
		case "/edge":
			// A body of exactly bufferedBody bytes.
			overhead := len(`<GetCallerIdentityResponse xmlns="` + STSNamespace + `"><GetCallerIdentityResult><Value></Value></GetCallerIdentityResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetCallerIdentityResponse>`)
			WriteResult(w, STSNamespace, "GetCallerIdentity", "rid", result{Value: strings.Repeat("x", bufferedBody-overhead)})
		default:
			WriteError(w, STSNamespace, "rid", apierr.New(apierr.AccessDenied, "no"))
		}
	}))
	defer srv.Close()
	for _, path := range []string{"/small", "/large", "/edge", "/error"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if path == "/edge" && len(body) != bufferedBody {
			t.Errorf("%s: %d bytes, want %d", path, len(body), bufferedBody)
		}
		if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
			t.Errorf("%s: Content-Length %d, Transfer-Encoding %v for %d bytes", path, resp.ContentLength, resp.TransferEncoding, len(body))
		}
		if _, err := http.ParseTime(resp.Header.Get("Date")); err != nil {
			t.Errorf("%s: Date header: %v", path, err)
		}
		if resp.Header.Get("Content-Type") != "text/xml" || resp.Header.Get("X-Amzn-Requestid") != "rid" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
	}
}

func TestDecodeValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		query   string
		wantMsg string
	}{
		{"missing required", "RoleSessionName=ab",
			"1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"},
		{"too short", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=x",
			"1 validation error detected: Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"pattern", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=a%20b",
			`1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*`},
		{"number too big", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=ab&DurationSeconds=43201",
			"1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"},
		{"two errors", "RoleSessionName=x",
			"2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null; " +
				"Value 'x' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2"},
		{"sensitive value hidden", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=ab&TokenCode=12",
			"1 validation error detected: Value at 'tokenCode' failed to satisfy constraint: Member must have length greater than or equal to 6"},
		{"list member", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=ab&Tags.member.1.Key=&Tags.member.1.Value=v",
			"2 validation errors detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1; " +
				`Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\p{L}\p{Z}\p{N}_.:/=+\-@]+`},
		{"list struct member missing", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=ab&Tags.member.1.Value=v",
			"1 validation error detected: Value null at 'tags.1.member.key' failed to satisfy constraint: Member must not be null"},
		{"bad integer", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=ab&DurationSeconds=1e3",
			"1 validation error detected: Value '1e3' at 'durationSeconds' failed to satisfy constraint: Member must be an integer"},
		{"integer overflow", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=ab&DurationSeconds=99999999999",
			"1 validation error detected: Value '99999999999' at 'durationSeconds' failed to satisfy constraint: Member must be an integer"},
		{"multibyte length counts characters", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=ab&Policy=" + strings.Repeat("%C3%A9", 2048), ""},
		{"list too long", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=ab" + manyMembers("TransitiveTagKeys", 51),
			"1 validation error detected: Value '[" + strings.TrimSuffix(strings.Repeat("k, ", 51), ", ") + "]' at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to 50"},
		{"empty list", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=ab&PolicyArns=&TransitiveTagKeys=", ""},
		{"enum", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=ab&Mode=medium",
			"1 validation error detected: Value 'medium' at 'mode' failed to satisfy constraint: Member must satisfy enum value set: [fast, slow]"},
		{"enum value", "RoleArn=arn:aws:iam::123456789012:role/demo&RoleSessionName=ab&Mode=slow", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/?Action=AssumeRole&"+tt.query, nil)
			req, err := ReadRequest(r, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			var in assumeRoleInput
			err = Decode(req.Params, &in)
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			e, ok := apierr.As(err)
			if !ok || !errors.Is(err, &apierr.Error{Code: apierr.ValidationError}) {
				t.Fatalf("error = %v, want ValidationError", err)
			}
			if diff := cmp.Diff(tt.wantMsg, e.Message); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
		})
	}
}

func manyMembers(name string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString("&" + name + ".member." + strconv.Itoa(i) + "=k")
	}
	return b.String()
}

func TestDecodeEmptyListIsEmpty(t *testing.T) {
	t.Parallel()
	var in assumeRoleInput
	if err := Decode(map[string][]string{"RoleArn": {"arn:aws:iam::123456789012:role/demo"}, "RoleSessionName": {"ab"},
		"PolicyArns": {""}, "TransitiveTagKeys": {""}}, &in); err != nil {
		t.Fatal(err)
	}
	if in.PolicyARNs == nil || len(in.PolicyARNs) != 0 || in.TransitiveTagKeys == nil || len(in.TransitiveTagKeys) != 0 {
		t.Errorf("empty lists decoded as %#v, %#v", in.PolicyARNs, in.TransitiveTagKeys)
	}
}

func TestReadRequestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		method, url string
		ctype, body string
		max         int64
		want        apierr.Code
	}{
		{"too large", "POST", "/", "application/x-www-form-urlencoded", "Action=GetCallerIdentity&Version=2011-06-15", 10, apierr.RequestEntityTooLarge},
		{"bad escape in body", "POST", "/", "application/x-www-form-urlencoded", "Action=Get%zzCallerIdentity", 1 << 20, apierr.MalformedQueryString},
		{"bad escape in query", "GET", "/?Action=%G0", "", "", 1 << 20, apierr.MalformedQueryString},
		{"repeated in body", "POST", "/", "application/x-www-form-urlencoded", "Action=A&RoleArn=a&RoleArn=b", 1 << 20, apierr.InvalidParameterValue},
		{"repeated across query and body", "POST", "/?Action=A", "application/x-www-form-urlencoded", "Action=A", 1 << 20, apierr.InvalidParameterValue},
		{"json body", "POST", "/", "application/json", `{"Action":"A"}`, 1 << 20, apierr.InvalidParameterValue},
		{"no action", "POST", "/", "application/x-www-form-urlencoded; charset=utf-8", "Version=2011-06-15", 1 << 20, apierr.MissingAction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			_, err := ReadRequest(r, tt.max)
			if !errors.Is(err, &apierr.Error{Code: tt.want}) {
				t.Fatalf("error = %v, want %s", err, tt.want.Name)
			}
		})
	}
	t.Run("charset and merge", func(t *testing.T) {
		r := httptest.NewRequest("POST", "/?Version=2011-06-15", strings.NewReader("Action=GetCallerIdentity"))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		req, err := ReadRequest(r, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if req.Action != "GetCallerIdentity" || req.Version != STSVersion || string(req.Body) != "Action=GetCallerIdentity" {
			t.Errorf("got %+v", req)
		}
	})
}

func FuzzReadDecode(f *testing.F) {
	f.Add("Action=AssumeRole&RoleArn=x&RoleSessionName=ab&Tags.member.1.Key=k&Tags.member.1.Value=v&PolicyArns.member.1.arn=a", "DurationSeconds=99")
	f.Add("Action=A&PolicyArns=&Tags.member.2.Key=%zz", "")
	f.Fuzz(func(t *testing.T, body, query string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req, err := ReadRequest(r, 1<<16)
		if err != nil {
			if _, ok := apierr.As(err); !ok {
				t.Fatalf("ReadRequest returned a non-API error: %v", err)
			}
			return
		}
		var in assumeRoleInput
		if err := Decode(req.Params, &in); err != nil {
			if e, ok := apierr.As(err); !ok || e.Code != apierr.ValidationError {
				t.Fatalf("Decode: %v", err)
			}
		}
	})
}

func BenchmarkWriteResult(b *testing.B) {
	size := int32(8)
	res := &assumeRoleResult{
		Credentials: &credentialsXML{
			AccessKeyID:     "ASIAIOSFODNN7EXAMPLE",
			SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY",
			SessionToken:    strings.Repeat("AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW", 8),
			Expiration:      time.Date(2026, 7, 15, 23, 28, 33, 0, time.UTC),
		},
		AssumedRoleUser: &struct {
			ARN           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		}{"arn:aws:sts::123456789012:assumed-role/demo/John", "AROA123EXAMPLE123:John"},
		PackedPolicySize: &size,
		SourceIdentity:   "DevUser123",
	}
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		WriteResult(w, STSNamespace, "AssumeRole", "c6104cbe-af31-11e0-8154-cbc7ccf896c7", res)
	}
}

func BenchmarkDecode(b *testing.B) {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fdemo"+
		"&RoleSessionName=testAR&DurationSeconds=3600&ExternalId=123ABC&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3A123456789012%3Apolicy%2Fdemopolicy1"+
		"&Tags.member.1.Key=Project&Tags.member.1.Value=Pegasus"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req, err := ReadRequest(r, 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		var in assumeRoleInput
		if err := Decode(req.Params, &in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadRequest reads a typical AssumeRole form body.
func BenchmarkReadRequest(b *testing.B) {
	const body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fbench-role" +
		"&RoleSessionName=bench&DurationSeconds=900"
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	r.ContentLength = int64(len(body))
	sr := strings.NewReader(body)
	r.Body = io.NopCloser(sr)
	b.ReportAllocs()
	for b.Loop() {
		sr.Reset(body)
		req, err := ReadRequest(r, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if req.Action != "AssumeRole" {
			b.Fatalf("Action = %q", req.Action)
		}
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
