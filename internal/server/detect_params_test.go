package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/detect"
	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/sigv4"
)

// TestDetectReadsEveryParam: for every IAM write, each input field that
// is one of the parameters the rules read (policyArn as PolicyARN,
// setAsDefault as a *bool) reaches the detection event. setAsDefault was
// read as a string and never was one, so CreatePolicyVersion making an
// allow-everything version the default of a policy attached to the caller
// raised no self-escalation alert.
func TestDetectReadsEveryParam(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.MasterKey = bytes.Repeat([]byte{7}, 32)
	cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey = "123456789012", "AKIAOPENSTSTEST00001", "testRootSecretForTestsOnly0123456789abcd"
	s, err := New(context.Background(), cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	checked := map[string]int{}
	for _, api := range s.APIs() {
		if api.Name != "iam" {
			continue
		}
		for action, r := range api.Routes {
			if readOnlyAction(action) || r.Input == nil {
				continue
			}
			in := reflect.New(r.Input.Elem())
			want := map[string]string{}
			for i := 0; i < r.Input.Elem().NumField(); i++ {
				f := r.Input.Elem().Field(i)
				for _, k := range detect.ParamNames {
					if !strings.EqualFold(f.Name, k) {
						continue
					}
					fv := in.Elem().Field(i)
					switch {
					case f.Type.Kind() == reflect.String:
						fv.SetString(action + "-" + k)
						want[k] = action + "-" + k
					case f.Type == reflect.TypeFor[*bool]():
						fv.Set(reflect.ValueOf(new(true)))
						want[k] = "true"
					default:
						t.Errorf("%s.%s: a %v the rules cannot read", action, f.Name, f.Type)
					}
				}
			}
			x := &pipeline.Exchange{RequestID: "r", Time: time.Now(), HTTP: httptest.NewRequest("POST", "/", nil), API: api, Action: action, Input: in.Interface()}
			ev := detectEvent(x)
			for k, v := range want {
				got := ""
				switch k {
				case "roleArn":
					got = ev.Params.RoleArn
				case "roleName":
					got = ev.Params.RoleName
				case "userName":
					got = ev.Params.UserName
				case "groupName":
					got = ev.Params.GroupName
				case "policyArn":
					got = ev.Params.PolicyArn
				case "policyName":
					got = ev.Params.PolicyName
				case "policyDocument":
					got = ev.Params.PolicyDocument
				case "assumeRolePolicyDocument":
					got = ev.Params.AssumeRolePolicyDocument
				case "setAsDefault":
					got = ev.Params.SetAsDefault
				case "ldapUsername":
					got = ev.Params.LDAPUsername
				}
				if got != v {
					t.Errorf("%s: the event's %s is %q, want %q", action, k, got, v)
				}
				checked[k]++
			}
		}
	}
	for _, k := range []string{"policyArn", "setAsDefault", "userName", "policyDocument"} {
		if checked[k] == 0 {
			t.Errorf("no IAM write has %s", k)
		}
	}
}

// TestQuarantineReadsPolicyARN: the quarantine observer reads the policy
// an AttachUserPolicy attaches (its field is PolicyARN, its parameter
// PolicyArn).
func TestQuarantineReadsPolicyARN(t *testing.T) {
	in := &iam.AttachUserPolicyInput{UserName: "alice", PolicyARN: QuarantinePolicyARN}
	if got := quarantinePolicyARNAt.Of(in); got != QuarantinePolicyARN {
		t.Errorf("policy %q, want %q", got, QuarantinePolicyARN)
	}
	if got := quarantineUserNameAt.Of(in); got != "alice" {
		t.Errorf("user %q", got)
	}
}

// TestDetectBoundsClaimedKeyID: the access key id an unauthenticated
// request claims reaches detection (and the alert's audit record and log
// line) cut to 128 bytes, as the request's own record has it; an attack
// review sent 40 KB of its own text that way.
func TestDetectBoundsClaimedKeyID(t *testing.T) {
	for _, id := range []string{"AKIA" + strings.Repeat("Q", 40000), "AKIA" + strings.Repeat("é", 100)} {
		x := &pipeline.Exchange{RequestID: "r", Time: time.Now(), HTTP: httptest.NewRequest("POST", "/", nil), Action: "GetCallerIdentity",
			SigV4: &sigv4.Request{AccessKeyID: id}}
		ev := detectEvent(x)
		if len(ev.AccessKeyID) > 128 || !strings.HasPrefix(id, ev.AccessKeyID) || !utf8.ValidString(ev.AccessKeyID) || len(ev.AccessKeyID) < 120 {
			t.Errorf("claimed id of %d bytes: event has %d bytes %q", len(id), len(ev.AccessKeyID), ev.AccessKeyID[:min(len(ev.AccessKeyID), 40)])
		}
	}
}
