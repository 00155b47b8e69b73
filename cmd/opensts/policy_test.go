package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func runPolicyCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newPolicyCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writeFile(t, dir, "good.json", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`)
	bad := writeFile(t, dir, "bad.json", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"adf"}}`)
	trust := writeFile(t, dir, "trust.json", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}`)

	tests := []struct {
		name    string
		args    []string
		wantErr bool
		want    []string
	}{
		{"valid", []string{"validate", good}, false, []string{good + ": valid identity policy"}},
		{"invalid", []string{"validate", good, bad}, true, []string{bad + `: MalformedPolicyDocument: Resource adf must be in ARN format or "*".`}},
		{"trust type", []string{"validate", "--type", "trust", trust}, false, []string{"valid trust policy"}},
		{"trust as identity", []string{"validate", trust}, true, []string{"Policy statement must contain resources."}},
		{"unknown type", []string{"validate", "--type", "x", good}, true, nil},
		{"missing file", []string{"validate", filepath.Join(dir, "nope.json")}, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := runPolicyCmd(t, tt.args...)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v; output:\n%s", err, tt.wantErr, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestPolicySimulate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	input := `{
	  "principal": {"type": "User", "arn": "arn:aws:iam::111122223333:user/alice", "account": "111122223333", "id": "AIDAALICE0000000000"},
	  "action": "s3:GetObject",
	  "resource": "arn:aws:s3:::b/home/alice/k",
	  "context": {"aws:username": ["alice"], "aws:SourceIp": ["10.0.0.1"]},
	  "now": "2024-06-01T12:00:00Z",
	  "policies": {
	    "identity": [{"id": "p1", "document": {"Version":"2012-10-17","Statement":{"Sid":"Home","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/home/${aws:username}/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}}}],
	    "scp": [[{"id": "scp1", "document": "{\"Version\":\"2012-10-17\",\"Statement\":{\"Sid\":\"All\",\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}"}]]
	  }
	}`
	tests := []struct {
		name    string
		input   string
		want    simulateOutput
		wantErr bool
	}{
		{name: "implicit deny with missing key", input: input, want: simulateOutput{
			Decision:             "implicitDeny",
			MatchedStatements:    []matchedStmt{{PolicyID: "scp1", PolicyType: "scp", Sid: "All", Index: 0, Effect: "allowed"}},
			MissingContextValues: []string{"aws:SecureTransport"},
			DeniedBy:             "identity",
			Explanation:          "because no identity-based policy allows the s3:GetObject action",
		}},
		{name: "allowed", input: strings.Replace(input, `"aws:username": ["alice"],`, `"aws:username": ["alice"], "aws:SecureTransport": ["true"],`, 1), want: simulateOutput{
			Decision: "allowed",
			MatchedStatements: []matchedStmt{
				{PolicyID: "scp1", PolicyType: "scp", Sid: "All", Effect: "allowed"},
				{PolicyID: "p1", PolicyType: "identity", Sid: "Home", Effect: "allowed"},
			},
			MissingContextValues: []string{},
		}},
		{name: "bad json", input: `{`, wantErr: true},
		{name: "invalid policy", input: strings.Replace(input, `"Effect":"Allow","Action":"s3:*"`, `"Effect":"Allow","Action":"s3:*","Principal":"*"`, 1), wantErr: true},
		{name: "bad principal type", input: strings.Replace(input, `"type": "User"`, `"type": "Robot"`, 1), wantErr: true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, dir, "in"+string(rune('a'+i))+".json", tt.input)
			out, err := runPolicyCmd(t, "simulate", "--input", file)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v; output:\n%s", err, tt.wantErr, out)
			}
			if tt.wantErr {
				return
			}
			var got simulateOutput
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPolicySimulateShared checks that the command decides with IAM's
// simulator: the resource is in the account the input names, not the one
// its ARN names, and the simulation stops when its context ends.
func TestPolicySimulateShared(t *testing.T) {
	t.Parallel()
	input := func(resourceAccount string) []byte {
		return []byte(`{
		  "principal": {"type": "user", "arn": "arn:aws:iam::111122223333:user/alice", "account": "111122223333"},
		  "action": "sqs:SendMessage", "resource": "arn:aws:sqs:us-east-1:444455556666:q", "resourceAccount": "` + resourceAccount + `",
		  "policies": {"identity": [{"id": "p", "document": {"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}}]}
		}`)
	}
	for account, want := range map[string]string{"": "allowed", "111122223333": "allowed", "444455556666": "implicitDeny"} {
		out, err := simulate(context.Background(), input(account))
		if err != nil {
			t.Fatal(err)
		}
		if out.Decision != want {
			t.Errorf("resource account %q: %s, want %s", account, out.Decision, want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if out, err := simulate(ctx, input("")); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %+v, %v; want context.Canceled", out, err)
	}
}
