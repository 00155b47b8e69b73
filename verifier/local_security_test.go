package verifier_test

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/opensts/opensts/internal/sigv4"
	"github.com/opensts/opensts/verifier"
)

// decide asks v whether c may read data/a.txt and returns the outcome's
// name (Allow, Deny, an authentication error's code).
func decide(t *testing.T, v *verifier.Verifier, c aws.Credentials) string {
	t.Helper()
	got, _, err := ask(t, v, &question{request: func(t *testing.T) *http.Request {
		return signedRequest(t, c, "http://data.s3.test/data/a.txt", "us-east-1", "s3")
	},
		action: "s3:GetObject", resource: "arn:aws:s3:::data/a.txt"})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// waitFor polls until f reports true, failing after a while: it waits for
// the server's own caches, never for the verifier's.
func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !f(); {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLocalFreshness checks the freshness bound: a revocation, a policy
// change and a deactivated key decided on a warm cache before they were
// made are decided with them by any decision Config.Freshness after they
// took effect on the server. The waits are the bound itself, not a speed
// target: by construction (the set and each key are fetched again once
// that old) no decision after it can use data fetched before the change.
func TestLocalFreshness(t *testing.T) {
	const freshness = time.Second
	self, err := newUser("fresh-svc", verifierPolicy)
	if err != nil {
		t.Fatal(err)
	}
	read := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","sts:AssumeRole"],"Resource":"*"}]}`
	alice, err := newUser("fresh-alice", read)
	if err != nil {
		t.Fatal(err)
	}
	bob, err := newUser("fresh-bob", read)
	if err != nil {
		t.Fatal(err)
	}
	c := rootIAM()
	role := mustDo[*iam.CreateRoleOutput](t)(c.CreateRole(bg, &iam.CreateRoleInput{RoleName: aws.String("fresh-role"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"sts:AssumeRole"}]}`)}))
	mustDo[*iam.PutRolePolicyOutput](t)(c.PutRolePolicy(bg, &iam.PutRolePolicyInput{RoleName: aws.String("fresh-role"), PolicyName: aws.String("read"), PolicyDocument: aws.String(read)}))
	sess := sessionCreds(mustDo[*sts.AssumeRoleOutput](t)(stsClient(alice).AssumeRole(bg, &sts.AssumeRoleInput{RoleArn: role.Role.Arn,
		RoleSessionName: aws.String("fresh")})).Credentials)

	remote := newVerifier(t, verifier.Remote, self, 0)
	local := newVerifier(t, verifier.Local, self, freshness)
	for _, c := range []aws.Credentials{alice, bob, sess} {
		if got := decide(t, local, c); got != "Allow" {
			t.Fatalf("before any change: %s", got)
		}
	}

	t.Run("revocation", func(t *testing.T) {
		if status, body := signedCall(t, aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}, "OpenSTSRevocation_20261204.RevokeSessions",
			map[string]any{"AccessKeyId": sess.AccessKeyID}); status != 200 {
			t.Fatalf("RevokeSessions: %d %s", status, body)
		}
		// RevokeSessions answers once the set is applied on the server.
		applied := time.Now()
		if got := decide(t, remote, sess); got != "InvalidClientTokenId" {
			t.Fatalf("remote after the revocation: %s", got)
		}
		time.Sleep(time.Until(applied.Add(freshness)))
		if got := decide(t, local, sess); got != "InvalidClientTokenId" {
			t.Errorf("local, the freshness bound after the revocation: %s", got)
		}
	})
	t.Run("policy", func(t *testing.T) {
		mustDo[*iam.PutUserPolicyOutput](t)(c.PutUserPolicy(bg, &iam.PutUserPolicyInput{UserName: aws.String("fresh-alice"), PolicyName: aws.String("p"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}`)}))
		waitFor(t, "the server denies", func() bool { return decide(t, remote, alice) == "Deny" })
		applied := time.Now()
		time.Sleep(time.Until(applied.Add(freshness)))
		if got := decide(t, local, alice); got != "Deny" {
			t.Errorf("local, the freshness bound after the policy change: %s", got)
		}
	})
	t.Run("key", func(t *testing.T) {
		mustDo[*iam.UpdateAccessKeyOutput](t)(c.UpdateAccessKey(bg, &iam.UpdateAccessKeyInput{UserName: aws.String("fresh-bob"), AccessKeyId: aws.String(bob.AccessKeyID),
			Status: iamtypes.StatusTypeInactive}))
		waitFor(t, "the server refuses the key", func() bool { return decide(t, remote, bob) == "InvalidAccessKeyId" })
		applied := time.Now()
		time.Sleep(time.Until(applied.Add(freshness)))
		if got := decide(t, local, bob); got != "InvalidAccessKeyId" {
			t.Errorf("local, the freshness bound after the key was deactivated: %s", got)
		}
	})
}

// verificationData calls GetVerificationData as c and returns the status
// and the answer as JSON values.
func verificationData(t *testing.T, c aws.Credentials, in map[string]any) (int, map[string]any) {
	t.Helper()
	status, body := signedCall(t, c, "OpenSTSAuthorization_20261204.GetVerificationData", in)
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("%d %s: %v", status, body, err)
	}
	return status, out
}

// proof returns the string to sign and signature of a request c signs
// for service in us-east-1, and its scope's date.
func proof(t *testing.T, c aws.Credentials, service string) (sts, sig, date string) {
	t.Helper()
	r := signedRequest(t, c, "http://data.s3.test/data/a.txt", "us-east-1", service)
	sr, err := sigv4.NewVerifier(now).ParseHashAt(r, emptyHash, now())
	if err != nil {
		t.Fatal(err)
	}
	return sr.StringToSign(), sr.Signature(), sr.Date
}

// strings returns every string in a JSON value, with the object keys on
// the way to it.
func jsonStrings(v any, path string, out map[string]string) {
	switch v := v.(type) {
	case string:
		out[path] = v
	case map[string]any:
		for k, x := range v {
			jsonStrings(x, path+"/"+k, out)
		}
	case []any:
		for _, x := range v {
			jsonStrings(x, path+"[]", out)
		}
	}
}

// TestLocalCannotMint checks what local mode is handed: never a secret
// access key, a token's secret or a key that opens or signs tokens; a
// signing key only of the scope a request signed with the key proved,
// never of a service OpenSTS answers, and only to a caller allowed
// opensts:GetVerificationData (for that service, with the condition key).
func TestLocalCannotMint(t *testing.T) {
	self, err := newUser("mint-svc", verifierPolicy)
	if err != nil {
		t.Fatal(err)
	}
	s3only, err := newUser("mint-s3only", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"opensts:GetVerificationData","Resource":"*",
		"Condition":{"StringEquals":{"opensts:SigningService":"s3"}}}]}`)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := newUser("mint-alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetSessionToken","Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	sess := sessionCreds(mustDo[*sts.GetSessionTokenOutput](t)(stsClient(alice).GetSessionToken(bg, &sts.GetSessionTokenInput{})).Credentials)
	allowed := []string{"/Principal", "/Match", "/Session", "/Context", "/Policies", "/Gone", "/SigningKey", "/Scope"}
	secrets := []string{alice.SecretAccessKey, sess.SecretAccessKey}
	check := func(t *testing.T, out map[string]any) {
		t.Helper()
		for k := range out {
			if !slices.Contains(allowed, "/"+k) {
				t.Errorf("the answer has field %s", k)
			}
		}
		all := map[string]string{}
		jsonStrings(out, "", all)
		for path, v := range all {
			for _, s := range secrets {
				if strings.Contains(v, s) {
					t.Errorf("%s holds a secret access key", path)
				}
			}
			if strings.Contains(v, sess.SessionToken) || strings.Contains(strings.ToLower(path), "secret") ||
				strings.Contains(strings.ToLower(path), "private") || strings.Contains(strings.ToLower(path), "seed") {
				t.Errorf("%s: key material or a token in the answer", path)
			}
		}
	}

	t.Run("session without a request", func(t *testing.T) {
		status, out := verificationData(t, self, map[string]any{"AccessKeyId": sess.AccessKeyID, "SessionToken": sess.SessionToken})
		if status != 200 || out["Principal"] == nil || out["Session"] == nil {
			t.Fatalf("%d %v", status, out)
		}
		if _, ok := out["SigningKey"]; ok {
			t.Error("a signing key without a signed request")
		}
		check(t, out)
	})
	for _, c := range []struct {
		name  string
		creds aws.Credentials
	}{{"long-term key", alice}, {"session", sess}} {
		t.Run(c.name+" with a signed request", func(t *testing.T) {
			sts, sig, date := proof(t, c.creds, "s3")
			in := map[string]any{"AccessKeyId": c.creds.AccessKeyID, "SessionToken": c.creds.SessionToken, "StringToSign": sts, "Signature": sig}
			status, out := verificationData(t, self, in)
			if status != 200 {
				t.Fatalf("%d %v", status, out)
			}
			check(t, out)
			key := sigv4.SigningKey([]byte(c.creds.SecretAccessKey), date, "us-east-1", "s3")
			if out["SigningKey"] != hex.EncodeToString(key[:]) || out["Scope"] != date+"/us-east-1/s3/aws4_request" {
				t.Errorf("SigningKey %v for %v, want the s3 scope's", out["SigningKey"], out["Scope"])
			}
			// The same from a caller allowed s3 only.
			if status, out := verificationData(t, s3only, in); status != 200 || out["SigningKey"] == nil {
				t.Errorf("s3-only caller: %d %v", status, out)
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		stsScope, stsSig, _ := proof(t, alice, "sts")
		s3, s3Sig, _ := proof(t, alice, "s3")
		s4, s4Sig, _ := proof(t, alice, "s4")
		bad := []byte(s3Sig)
		// Another hex digit (flipping a bit could make 'a' or 'f' no
		// digit at all, a malformed signature rather than a wrong one).
		if bad[0] == '0' {
			bad[0] = '1'
		} else {
			bad[0] = '0'
		}
		for name, tc := range map[string]struct {
			caller aws.Credentials
			in     map[string]any
			status int
			code   string
		}{
			"long-term key without a request":  {self, map[string]any{"AccessKeyId": alice.AccessKeyID}, 400, "ValidationException"},
			"a service OpenSTS answers":        {self, map[string]any{"AccessKeyId": alice.AccessKeyID, "StringToSign": stsScope, "Signature": stsSig}, 400, "ValidationException"},
			"a caller without the action":      {alice, map[string]any{"AccessKeyId": alice.AccessKeyID, "StringToSign": s3, "Signature": s3Sig}, 400, "AccessDeniedException"},
			"a caller allowed another service": {s3only, map[string]any{"AccessKeyId": alice.AccessKeyID, "StringToSign": s4, "Signature": s4Sig}, 400, "AccessDeniedException"},
			"a signature that does not match":  {self, map[string]any{"AccessKeyId": alice.AccessKeyID, "StringToSign": s3, "Signature": string(bad)}, 200, "SignatureDoesNotMatch"},
			"another key's signature":          {self, map[string]any{"AccessKeyId": sess.AccessKeyID, "SessionToken": sess.SessionToken, "StringToSign": s3, "Signature": s3Sig}, 200, "SignatureDoesNotMatch"},
		} {
			t.Run(name, func(t *testing.T) {
				status, out := verificationData(t, tc.caller, tc.in)
				code, _ := out["__type"].(string)
				if ae, ok := out["AuthenticationError"].(map[string]any); ok {
					code, _ = ae["Code"].(string)
				}
				code = code[strings.LastIndexByte(code, '#')+1:]
				if status != tc.status || code != tc.code {
					t.Errorf("%d %s, want %d %s (%v)", status, code, tc.status, tc.code, out)
				}
				if _, ok := out["SigningKey"]; ok {
					t.Error("a signing key in a refusal")
				}
			})
		}
	})
	t.Run("revocations", func(t *testing.T) {
		status, body := signedCall(t, self, "OpenSTSAuthorization_20261204.GetRevocations", map[string]any{})
		var out map[string]any
		if err := json.Unmarshal(body, &out); status != 200 || err != nil {
			t.Fatalf("%d %s", status, body)
		}
		for k := range out {
			if !slices.Contains([]string{"Version", "Modified", "Entries", "Region", "CallerAccount", "ServerTime", "ResourceControlPolicies"}, k) {
				t.Errorf("GetRevocations answers field %s", k)
			}
		}
		status, body = signedCall(t, self, "OpenSTSAuthorization_20261204.GetRevocations", map[string]any{"Version": out["Version"]})
		var again struct {
			Modified bool
			Entries  []any
		}
		if err := json.Unmarshal(body, &again); status != 200 || err != nil || again.Modified || len(again.Entries) != 0 {
			t.Errorf("an unchanged set: %d %s", status, body)
		}
		if status, _ := signedCall(t, alice, "OpenSTSAuthorization_20261204.GetRevocations", map[string]any{}); status != 400 {
			t.Errorf("a caller without the action: %d", status)
		}
	})
}

// countingTransport counts the calls a verifier makes to OpenSTS.
type countingTransport struct {
	n atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// TestLocalNoRoundTrip checks that a warm local verifier decides without
// calling OpenSTS: one call for the revocation set and one per access key
// and scope, then none for the next hundred decisions.
func TestLocalNoRoundTrip(t *testing.T) {
	self, err := newUser("trip-svc", verifierPolicy)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := newUser("trip-alice", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	ct := &countingTransport{}
	v, err := verifier.New(verifier.Config{Mode: verifier.Local, Endpoint: openstsEndpoint, Credentials: credentials.StaticCredentialsProvider{Value: self},
		HTTPClient: &http.Client{Transport: ct}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if got := decide(t, v, alice); got != "Allow" {
		t.Fatal(got)
	}
	if n := ct.n.Load(); n != 2 {
		t.Errorf("the first decision made %d calls, want 2 (the revocation set, the key's data)", n)
	}
	for range 100 {
		if got := decide(t, v, alice); got != "Allow" {
			t.Fatal(got)
		}
	}
	if n := ct.n.Load(); n != 2 {
		t.Errorf("100 warm decisions made %d more calls", n-2)
	}
}
