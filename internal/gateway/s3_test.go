package gateway

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	type tc struct {
		method, uri, host string
		header            map[string]string
		domains           []string
		name              string
		checks            []check
		ctx               map[string]string // a subset
		code              string            // an error code instead
	}
	obj := func(action, res string) []check {
		b, _, _ := strings.Cut(strings.TrimPrefix(res, "arn:aws:s3:::"), "/")
		return []check{{action: action, resource: res, bucket: b}}
	}
	for _, c := range []tc{
		{method: "GET", uri: "/", name: "ListBuckets", checks: []check{{action: "s3:ListAllMyBuckets", resource: "*"}}},
		{method: "GET", uri: "/data?list-type=2&prefix=home%2F&delimiter=%2F&max-keys=10", name: "ListObjectsV2",
			checks: obj("s3:ListBucket", "arn:aws:s3:::data"), ctx: map[string]string{"s3:prefix": "home/", "s3:delimiter": "/", "s3:max-keys": "10"}},
		{method: "GET", uri: "/data?prefix=a+b", name: "ListObjects", checks: obj("s3:ListBucket", "arn:aws:s3:::data"), ctx: map[string]string{"s3:prefix": "a b"}},
		{method: "HEAD", uri: "/data", name: "HeadBucket", checks: obj("s3:ListBucket", "arn:aws:s3:::data")},
		{method: "GET", uri: "/data?location", name: "GET ?location", checks: obj("s3:GetBucketLocation", "arn:aws:s3:::data")},
		{method: "PUT", uri: "/data?versioning", name: "PUT ?versioning", checks: obj("s3:PutBucketVersioning", "arn:aws:s3:::data")},
		{method: "GET", uri: "/data?versioning", name: "GET ?versioning", checks: obj("s3:GetBucketVersioning", "arn:aws:s3:::data")},
		{method: "DELETE", uri: "/data?tagging", name: "DELETE ?tagging", checks: obj("s3:PutBucketTagging", "arn:aws:s3:::data")},
		{method: "GET", uri: "/data?uploads&prefix=x", name: "GET ?uploads", checks: obj("s3:ListBucketMultipartUploads", "arn:aws:s3:::data"), ctx: map[string]string{"s3:prefix": "x"}},
		{method: "PUT", uri: "/data", name: "CreateBucket", checks: append(obj("s3:CreateBucket", "arn:aws:s3:::data"), obj("s3:PutBucketAcl", "arn:aws:s3:::data")...),
			header: map[string]string{"X-Amz-Acl": "private"}, ctx: map[string]string{"s3:x-amz-acl": "private"}},
		{method: "PUT", uri: "/data", name: "CreateBucket", header: map[string]string{"X-Amz-Bucket-Object-Lock-Enabled": "true", "X-Amz-Object-Ownership": "ObjectWriter"},
			checks: append(obj("s3:CreateBucket", "arn:aws:s3:::data"), append(obj("s3:PutBucketObjectLockConfiguration", "arn:aws:s3:::data"),
				append(obj("s3:PutBucketVersioning", "arn:aws:s3:::data"), obj("s3:PutBucketOwnershipControls", "arn:aws:s3:::data")...)...)...)},
		{method: "DELETE", uri: "/data", name: "DeleteBucket", checks: obj("s3:DeleteBucket", "arn:aws:s3:::data")},
		{method: "POST", uri: "/data?delete", name: "DeleteObjects"},
		{method: "GET", uri: "/data/a/b.txt", name: "GetObject", checks: obj("s3:GetObject", "arn:aws:s3:::data/a/b.txt")},
		{method: "GET", uri: "/data/k?versionId=v1", name: "GetObject", checks: obj("s3:GetObjectVersion", "arn:aws:s3:::data/k"), ctx: map[string]string{"s3:versionid": "v1"}},
		{method: "HEAD", uri: "/data/k", name: "HeadObject", checks: obj("s3:GetObject", "arn:aws:s3:::data/k")},
		{method: "PUT", uri: "/data/k", name: "PutObject", checks: append(obj("s3:PutObject", "arn:aws:s3:::data/k"), obj("s3:PutObjectTagging", "arn:aws:s3:::data/k")...),
			header: map[string]string{"X-Amz-Server-Side-Encryption": "AES256", "X-Amz-Tagging": "team=blue"},
			ctx:    map[string]string{"s3:x-amz-server-side-encryption": "AES256", "s3:RequestObjectTag/team": "blue", "s3:RequestObjectTagKeys": "team"}},
		{method: "PUT", uri: "/data/k", name: "CopyObject", header: map[string]string{"X-Amz-Copy-Source": "/src/a%20b.txt?versionId=3"},
			checks: append(obj("s3:PutObject", "arn:aws:s3:::data/k"), check{action: "s3:GetObjectVersion", resource: "arn:aws:s3:::src/a b.txt", bucket: "src"})},
		{method: "PUT", uri: "/data/k?partNumber=1&uploadId=u", name: "UploadPart", checks: obj("s3:PutObject", "arn:aws:s3:::data/k")},
		{method: "PUT", uri: "/data/k?partNumber=1&uploadId=u", name: "UploadPartCopy", header: map[string]string{"X-Amz-Copy-Source": "src/s"},
			checks: append(obj("s3:PutObject", "arn:aws:s3:::data/k"), check{action: "s3:GetObject", resource: "arn:aws:s3:::src/s", bucket: "src"})},
		{method: "POST", uri: "/data/k?uploads", name: "CreateMultipartUpload", checks: obj("s3:PutObject", "arn:aws:s3:::data/k")},
		{method: "POST", uri: "/data/k?uploadId=u", name: "CompleteMultipartUpload", checks: obj("s3:PutObject", "arn:aws:s3:::data/k")},
		{method: "DELETE", uri: "/data/k?uploadId=u", name: "AbortMultipartUpload", checks: obj("s3:AbortMultipartUpload", "arn:aws:s3:::data/k")},
		{method: "GET", uri: "/data/k?uploadId=u", name: "ListParts", checks: obj("s3:ListMultipartUploadParts", "arn:aws:s3:::data/k")},
		{method: "DELETE", uri: "/data/k", name: "DeleteObject", checks: obj("s3:DeleteObject", "arn:aws:s3:::data/k")},
		{method: "DELETE", uri: "/data/k?versionId=v", name: "DeleteObject", checks: obj("s3:DeleteObjectVersion", "arn:aws:s3:::data/k")},
		// Headers S3 authorizes with actions of their own.
		{method: "PUT", uri: "/data/k", name: "PutObject", header: map[string]string{"X-Amz-Grant-Full-Control": "id=x", "X-Amz-Object-Lock-Mode": "GOVERNANCE",
			"X-Amz-Object-Lock-Legal-Hold": "ON"}, checks: append(obj("s3:PutObject", "arn:aws:s3:::data/k"), append(obj("s3:PutObjectAcl", "arn:aws:s3:::data/k"),
			append(obj("s3:PutObjectRetention", "arn:aws:s3:::data/k"), obj("s3:PutObjectLegalHold", "arn:aws:s3:::data/k")...)...)...)},
		{method: "PUT", uri: "/data/k", name: "CopyObject", header: map[string]string{"X-Amz-Copy-Source": "src/s", "X-Amz-Acl": "public-read"},
			checks: append(obj("s3:PutObject", "arn:aws:s3:::data/k"), obj("s3:PutObjectAcl", "arn:aws:s3:::data/k")[0], check{action: "s3:GetObject", resource: "arn:aws:s3:::src/s", bucket: "src"})},
		{method: "POST", uri: "/data/k?uploads", name: "CreateMultipartUpload", header: map[string]string{"X-Amz-Acl": "public-read"},
			checks: append(obj("s3:PutObject", "arn:aws:s3:::data/k"), obj("s3:PutObjectAcl", "arn:aws:s3:::data/k")...)},
		{method: "DELETE", uri: "/data/k?versionId=v", name: "DeleteObject", header: map[string]string{"X-Amz-Bypass-Governance-Retention": "true"},
			checks: append(obj("s3:DeleteObjectVersion", "arn:aws:s3:::data/k"), obj("s3:BypassGovernanceRetention", "arn:aws:s3:::data/k")...)},
		{method: "PUT", uri: "/data/k?retention", name: "PUT ?retention", header: map[string]string{"X-Amz-Bypass-Governance-Retention": "true"},
			checks: append(obj("s3:PutObjectRetention", "arn:aws:s3:::data/k"), obj("s3:BypassGovernanceRetention", "arn:aws:s3:::data/k")...)},
		{method: "PUT", uri: "/data/k?tagging", name: "PUT ?tagging", checks: obj("s3:PutObjectTagging", "arn:aws:s3:::data/k")},
		{method: "GET", uri: "/data/k?tagging&versionId=v", name: "GET ?tagging", checks: obj("s3:GetObjectVersionTagging", "arn:aws:s3:::data/k")},
		// Keys are decoded once; encoded slashes are part of the key, as
		// S3 reads them, but a key a store could resolve as a path (dot
		// segments, empty ones before the last) is refused.
		{method: "GET", uri: "/data/home%2Fx", name: "GetObject", checks: obj("s3:GetObject", "arn:aws:s3:::data/home/x")},
		{method: "GET", uri: "/data/home/folder/", name: "GetObject", checks: obj("s3:GetObject", "arn:aws:s3:::data/home/folder/")},
		{method: "GET", uri: "/data/home/..%2Fprivate/x", code: "InvalidURI"},
		{method: "GET", uri: "/data/home/%2E/x", code: "InvalidURI"},
		{method: "GET", uri: "/data//x", code: "InvalidURI"},
		{method: "GET", uri: "/data/a//x", code: "InvalidURI"},
		// Virtual-hosted style.
		{method: "GET", uri: "/k", host: "data.s3.example.com:9000", domains: []string{"s3.example.com"}, name: "GetObject", checks: obj("s3:GetObject", "arn:aws:s3:::data/k")},
		{method: "GET", uri: "/data/k", host: "S3.Example.com", domains: []string{"s3.example.com"}, name: "GetObject", checks: obj("s3:GetObject", "arn:aws:s3:::data/k")},
		{method: "GET", uri: "/k", host: "my.data.s3.example.com", domains: []string{"s3.example.com"}, name: "GetObject", checks: obj("s3:GetObject", "arn:aws:s3:::my.data/k")},

		// Refusals.
		{method: "GET", uri: "/k", host: "data.evil.example", domains: []string{"s3.example.com"}, code: "InvalidRequest"},
		{method: "GET", uri: "/k", host: "evil.example/data.s3.example.com", domains: []string{"s3.example.com"}, code: "InvalidBucketName"},
		{method: "GET", uri: "/data?acl&policy", code: "NotImplemented"},
		{method: "GET", uri: "/data?select", code: "NotImplemented"},
		{method: "POST", uri: "/data/k?select", code: "NotImplemented"},
		{method: "PATCH", uri: "/data/k", code: "NotImplemented"},
		{method: "GET", uri: "/data?prefix=a&prefix=b", code: "InvalidArgument"},
		{method: "GET", uri: "/data?prefix=%zz", code: "InvalidArgument"},
		{method: "GET", uri: "/Data/k", code: "InvalidBucketName"},
		{method: "GET", uri: "/../k", code: "InvalidBucketName"},
		{method: "GET", uri: "/data/%ff", code: "InvalidURI"},
		{method: "GET", uri: "/data/a%00b", code: "InvalidURI"},
		// A condition header or a tag given twice: its key would be
		// multivalued, which no single-valued operator matches.
		{method: "PUT", uri: "/data/k", header: map[string]string{"X-Amz-Tagging": "a=1&a=2"}, code: "InvalidTag"},
		{method: "PUT", uri: "/data/k", header: map[string]string{"X-Amz-Tagging": "a=1;b=2"}, code: "InvalidTag"},
		{method: "POST", uri: "/data/k?uploads", header: map[string]string{"X-Amz-Tagging": "=1"}, code: "InvalidTag"},
		// A raw "#": OpenSTS verifies the URL without what follows it.
		{method: "GET", uri: "/data/k#x", code: "InvalidURI"},
		{method: "GET", uri: "/data/k?X-Amz-Signature=s#&acl", code: "InvalidURI"},
		{method: "GET", uri: "/data/" + strings.Repeat("k", 1025), code: "KeyTooLongError"},
		{method: "PUT", uri: "/data/k", header: map[string]string{"X-Amz-Copy-Source": "nokey"}, code: "InvalidArgument"},
		{method: "PUT", uri: "/data/k", header: map[string]string{"X-Amz-Copy-Source": "/src/k?versionId=1&x=2"}, code: "InvalidArgument"},
		{method: "PUT", uri: "/data/k?uploadId=u", code: "InvalidArgument"},
		{method: "GET", uri: "http://data/k", code: "InvalidRequest"},
		{method: "PUT", uri: "/", code: "NotImplemented"},
	} {
		t.Run(c.method+" "+c.uri, func(t *testing.T) {
			r, err := http.NewRequest(c.method, "http://gw.test/", nil)
			if err != nil {
				t.Fatal(err)
			}
			r.RequestURI = c.uri
			r.Host = "gw.test"
			if c.host != "" {
				r.Host = c.host
			}
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			tg, e := parseTarget(r, c.domains)
			var op *operation
			if e == nil {
				op, e = classify(r, tg, false, time.Time{}, time.Now())
			}
			if c.code != "" {
				if e == nil || e.Code != c.code {
					t.Fatalf("error = %v, want %s", e, c.code)
				}
				return
			}
			if e != nil {
				t.Fatalf("error %v", e)
			}
			if op.name != c.name {
				t.Errorf("operation %s, want %s", op.name, c.name)
			}
			if diff := cmp.Diff(c.checks, op.checks, cmp.AllowUnexported(check{})); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
			for k, v := range c.ctx {
				if got := op.ctx[k]; len(got) != 1 || got[0] != v {
					t.Errorf("context %s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

// The forwarded key and copy source are re-encoded from the decoded
// values the policy saw.
func TestEscapeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, key := range []string{"a b/c+d", "..x/y.", "ü/%41", "a?b#c", "k=v&x"} {
		enc := s3Escape(key, true)
		if strings.ContainsAny(enc, "?#& +") {
			t.Errorf("%q encodes to %q", key, enc)
		}
		r, _ := http.NewRequest("GET", "http://gw.test/", nil)
		r.RequestURI = "/data/" + enc
		tg, e := parseTarget(r, nil)
		if e != nil || tg.key != key {
			t.Errorf("%q -> %q -> %+v %v", key, enc, tg, e)
		}
	}
}

type chunks struct {
	parts [][]byte
}

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	c.parts[0] = c.parts[0][n:]
	if len(c.parts[0]) == 0 {
		c.parts = c.parts[1:]
	}
	return n, nil
}

// The holdback reader never releases a body's last byte unless the body
// verified.
func TestHoldback(t *testing.T) {
	t.Parallel()
	bad := errors.New("bad body")
	for _, fail := range []bool{false, true} {
		src := &chunks{parts: [][]byte{[]byte("hello "), []byte("w"), []byte("orld")}}
		h := newHoldback(src, func() error {
			if fail {
				return bad
			}
			return nil
		})
		got, err := io.ReadAll(h)
		if fail {
			if !errors.Is(err, bad) || string(got) != "hello worl" || !errors.Is(h.Err(), bad) {
				t.Fatalf("failing body: %q %v", got, err)
			}
			continue
		}
		if err != nil || string(got) != "hello world" {
			t.Fatalf("good body: %q %v", got, err)
		}
	}
	// A hashed body of the wrong length or hash.
	for _, tc := range []struct {
		body, hash string
		n          int64
		want       *Error
	}{
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3, nil},
		{"abc", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", 3, nil},
		{"abd", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3, errContentSHA},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 4, errIncompleteBody},
	} {
		got, err := io.ReadAll(hashedBody(strings.NewReader(tc.body), tc.hash, tc.n))
		if tc.want == nil && (err != nil || string(got) != tc.body) || tc.want != nil && (!errors.Is(err, tc.want) || len(got) != len(tc.body)-1) {
			t.Errorf("%+v: %q %v", tc, got, err)
		}
	}
}

// DeleteObjects: the keys checked are the keys forwarded, whatever the
// client's XML says twice or hides in elements S3 may read differently.
func TestReadDelete(t *testing.T) {
	t.Parallel()
	g := &Gateway{cfg: Config{MaxDeleteBody: 1 << 20}}
	tg := &target{bucket: "data"}
	for _, tc := range []struct {
		name, body string
		keys       []string
		fwd        string // a fragment of the forwarded document
	}{
		{"plain", `<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a</Key></Object><Object><Key>b&amp;c</Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>`,
			[]string{"s3:DeleteObject arn:aws:s3:::data/a", "s3:DeleteObjectVersion arn:aws:s3:::data/b&c"}, "<Key>b&amp;c</Key><VersionId>v1</VersionId>"},
		{"key twice", `<Delete><Object><Key>home/a</Key><Key>private/b</Key></Object></Delete>`, nil, ""},
		{"unknown element", `<Delete><Object><Key>home/a</Key><Extra>x</Extra></Object></Delete>`, nil, ""},
		{"unknown top element", `<Delete><Object><Key>home/a</Key></Object><Objects><Key>private/b</Key></Objects></Delete>`, nil, ""},
		{"no objects", `<Delete></Delete>`, nil, ""},
		{"not xml", `{"Delete":[]}`, nil, ""},
		{"empty key", `<Delete><Object><Key></Key></Object></Delete>`, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodPost, "http://gw.test/data?delete", strings.NewReader(tc.body))
			b, checks, e := g.readDelete(r, tg, "UNSIGNED-PAYLOAD")
			if tc.keys == nil {
				if e == nil || e.Code != "MalformedXML" {
					t.Fatalf("accepted: %v %s", e, b)
				}
				return
			}
			if e != nil {
				t.Fatal(e)
			}
			var got []string
			for _, c := range checks {
				got = append(got, c.action+" "+c.resource)
			}
			if diff := cmp.Diff(tc.keys, got); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
			if !strings.Contains(string(b), tc.fwd) || !strings.Contains(string(b), "<Quiet>true</Quiet>") {
				t.Errorf("forwarded %s", b)
			}
		})
	}
}

// TestClassifyRepeatedHeader: an x-amz-* header given twice is refused; a
// condition key made multivalued would match no single-valued operator
// (a Deny on s3:x-amz-acl would not apply) while the store reads one.
func TestClassifyRepeatedHeader(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"X-Amz-Acl", "X-Amz-Storage-Class", "X-Amz-Meta-Owner"} {
		r, _ := http.NewRequest(http.MethodPut, "http://gw.test/data/k", nil)
		r.RequestURI = "/data/k"
		r.Header[h] = []string{"public-read", "private"}
		tg, e := parseTarget(r, nil)
		if e == nil {
			_, e = classify(r, tg, false, time.Time{}, time.Now())
		}
		if e == nil || e.Code != "InvalidArgument" {
			t.Errorf("%s twice: %v", h, e)
		}
	}
}
