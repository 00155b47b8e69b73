package server

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/sigv4"
)

type stressCreds struct {
	key, secret, token string
	arn                string // what GetCallerIdentity must answer
}

// TestStressCallerIdentityDoesNotCross: users and their role sessions call
// GetCallerIdentity at once through the real server (audit and detection
// on), mixed with bad signatures, another session's token, expired and
// long requests and an unsigned action; each gets its own answer.
func TestStressCallerIdentityDoesNotCross(t *testing.T) {
	for _, network := range []bool{false, true} {
		t.Run(map[bool]string{false: "in process", true: "over HTTP"}[network], func(t *testing.T) {
			stressCallerIdentity(t, network)
		})
	}
}

func stressCallerIdentity(t *testing.T, network bool) {
	s := newTestServer(t, io.Discard)
	h := s.Handler()
	do := func(r *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if network {
		// Real connections (keep-alive, the server's own request parsing).
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		u, _ := url.Parse(srv.URL)
		client := srv.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = 16
		do = func(r *http.Request) *httptest.ResponseRecorder {
			r.RequestURI = ""
			r.URL.Scheme, r.URL.Host = u.Scheme, u.Host // r.Host, signed, stays
			resp, err := client.Do(r)
			if err != nil {
				t.Error(err)
				return httptest.NewRecorder()
			}
			defer resp.Body.Close()
			w := httptest.NewRecorder()
			w.Code = resp.StatusCode
			_, _ = io.Copy(w.Body, resp.Body)
			return w
		}
	}
	sign := func(form url.Values, service string, c stressCreds, at time.Time, long bool) *http.Request {
		body := []byte(form.Encode())
		target := "http://opensts.test/"
		if long {
			target += "?pad=" + strings.Repeat("x%2F", 900)
		}
		r := httptest.NewRequest("POST", target, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if long {
			r.Header.Set("X-Amz-Meta-Pad", strings.Repeat("m", 2000))
		}
		if err := sigv4.Sign(r, body, c.key, c.secret, c.token, "us-east-1", service, at); err != nil {
			t.Fatal(err)
		}
		return r
	}
	root := stressCreds{key: benchRootKey, secret: benchRootSec}
	iamCall := func(form url.Values) []byte {
		form.Set("Version", "2010-05-08")
		w := do(sign(form, "iam", root, time.Now(), false))
		if w.Code != 200 {
			t.Fatalf("%s: %d %s", form.Get("Action"), w.Code, w.Body)
		}
		return w.Body.Bytes()
	}
	var creds []stressCreds
	for i := range 3 {
		user := fmt.Sprint("u", i)
		iamCall(url.Values{"Action": {"CreateUser"}, "UserName": {user}})
		var k struct {
			ID     string `xml:"CreateAccessKeyResult>AccessKey>AccessKeyId"`
			Secret string `xml:"CreateAccessKeyResult>AccessKey>SecretAccessKey"`
		}
		if err := xml.Unmarshal(iamCall(url.Values{"Action": {"CreateAccessKey"}, "UserName": {user}}), &k); err != nil {
			t.Fatal(err)
		}
		uc := stressCreds{key: k.ID, secret: k.Secret, arn: "arn:aws:iam::" + benchAccount + ":user/" + user}
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + uc.arn + `"},"Action":"sts:AssumeRole"}]}`
		iamCall(url.Values{"Action": {"CreateRole"}, "RoleName": {"r" + user}, "AssumeRolePolicyDocument": {trust}})
		creds = append(creds, uc)
		// A user may call GetCallerIdentity without any policy; the role
		// session too.
		var out struct {
			Key    string `xml:"AssumeRoleResult>Credentials>AccessKeyId"`
			Secret string `xml:"AssumeRoleResult>Credentials>SecretAccessKey"`
			Token  string `xml:"AssumeRoleResult>Credentials>SessionToken"`
			ARN    string `xml:"AssumeRoleResult>AssumedRoleUser>Arn"`
		}
		// The user needs sts:AssumeRole on the role.
		pol := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`
		iamCall(url.Values{"Action": {"PutUserPolicy"}, "UserName": {user}, "PolicyName": {"ar"}, "PolicyDocument": {pol}})
		w := do(sign(url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::" + benchAccount + ":role/r" + user},
			"RoleSessionName": {"s" + user}}, "sts", uc, time.Now(), false))
		if w.Code != 200 || xml.Unmarshal(w.Body.Bytes(), &out) != nil {
			t.Fatalf("AssumeRole: %d %s", w.Code, w.Body)
		}
		creds = append(creds, stressCreds{key: out.Key, secret: out.Secret, token: out.Token, arn: out.ARN})
	}
	gci := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
	arnRE := regexp.MustCompile(`<Arn>([^<]*)</Arn>`)
	codeRE := regexp.MustCompile(`<Code>([^<]*)</Code>`)
	type kind struct {
		name  string
		build func(c stressCreds, other stressCreds) *http.Request
		code  string // "" for success with c's ARN
	}
	kinds := []kind{
		{"own", func(c, _ stressCreds) *http.Request { return sign(gci, "sts", c, time.Now(), false) }, ""},
		{"own long", func(c, _ stressCreds) *http.Request { return sign(gci, "sts", c, time.Now(), true) }, ""},
		{"tampered", func(c, _ stressCreds) *http.Request {
			r := sign(gci, "sts", c, time.Now(), true)
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-1]+map[bool]string{true: "1", false: "0"}[a[len(a)-1] == '0'])
			return r
		}, "SignatureDoesNotMatch"},
		{"expired", func(c, _ stressCreds) *http.Request { return sign(gci, "sts", c, time.Now().Add(-time.Hour), false) }, "SignatureDoesNotMatch"},
		{"secret of another", func(c, o stressCreds) *http.Request {
			c.secret = o.secret
			return sign(gci, "sts", c, time.Now(), false)
		}, "SignatureDoesNotMatch"},
		{"token of another", func(c, o stressCreds) *http.Request {
			if c.token == "" || o.token == "" {
				c.token = "bogus"
			} else {
				c.token = o.token
			}
			return sign(gci, "sts", c, time.Now(), true)
		}, "InvalidClientTokenId"},
		{"unsigned action", func(c, _ stressCreds) *http.Request {
			r := sign(url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}, "RoleArn": {"arn:aws:iam::" + benchAccount + ":role/ru0"},
				"RoleSessionName": {"xx"}, "WebIdentityToken": {"not.a.jwt"}}, "sts", c, time.Now(), false)
			return r
		}, "InvalidIdentityToken"},
	}
	const workers, per = 6, 120
	var wg sync.WaitGroup
	var fails atomic.Int64
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				c := creds[(w+i)%len(creds)]
				o := creds[(w+i+2)%len(creds)]
				if o.token == "" && c.token != "" {
					o = creds[(w+i+1)%len(creds)]
				}
				k := kinds[(i*5+w)%len(kinds)]
				rw := do(k.build(c, o))
				body := rw.Body.String()
				var bad bool
				if k.code == "" {
					m := arnRE.FindStringSubmatch(body)
					bad = rw.Code != 200 || m == nil || m[1] != c.arn
				} else {
					m := codeRE.FindStringSubmatch(body)
					bad = m == nil || m[1] != k.code
				}
				if bad && fails.Add(1) <= 20 {
					t.Errorf("%s as %s: %d %s", k.name, c.arn, rw.Code, body)
				}
			}
		}()
	}
	wg.Wait()
}
