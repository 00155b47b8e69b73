package policy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/opensts/opensts/internal/sharedtest"
)

// TestMotoValidation checks every document of the moto suite: valid ones
// parse, invalid ones fail with AWS's exact MalformedPolicyDocument message.
func TestMotoValidation(t *testing.T) {
	t.Parallel()
	dir := sharedtest.Dir(t, "iam-policy-validation-moto")
	raw, err := os.ReadFile(filepath.Join(dir, "policy_documents.json"))
	if err != nil {
		t.Fatal(err)
	}
	var suite struct {
		Cases []struct {
			ID            string `json:"id"`
			Valid         bool   `json:"valid"`
			Document      string `json:"document"`
			ExpectedError struct {
				Message string `json:"message"`
			} `json:"expected_error"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(raw, &suite); err != nil {
		t.Fatal(err)
	}
	if len(suite.Cases) != 88 {
		t.Fatalf("suite has %d cases, want 88", len(suite.Cases))
	}
	for _, c := range suite.Cases {
		t.Run(c.ID, func(t *testing.T) {
			t.Parallel()
			// The suite is IAM CreatePolicy: managed identity policies.
			_, err := Parse(Identity, c.Document)
			if c.Valid {
				if err != nil {
					t.Fatalf("Parse() = %v, want valid", err)
				}
				return
			}
			var perr *Error
			if err == nil || !asError(err, &perr) {
				t.Fatalf("Parse() = %v, want *Error %q", err, c.ExpectedError.Message)
			}
			if diff := cmp.Diff(c.ExpectedError.Message, perr.Message); diff != "" {
				t.Errorf("message mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

type politestScenario struct {
	Scenario            string            `json:"scenario"`
	IdentityPolicies    []json.RawMessage `json:"identityPolicies"`
	PermissionsBoundary json.RawMessage   `json:"permissionsBoundary"`
	Cases               []struct {
		ID      string `json:"id"`
		Request struct {
			Principal     *string  `json:"principal"`
			Action        string   `json:"action"`
			Resources     []string `json:"resources"`
			ResourceOwner *string  `json:"resourceOwner"`
			Context       map[string]struct {
				Type   string   `json:"type"`
				Values []string `json:"values"`
			} `json:"context"`
		} `json:"request"`
		ResourcePolicy json.RawMessage `json:"resourcePolicy"`
		Expected       string          `json:"expected"`
		Note           string          `json:"note"`
	} `json:"cases"`
}

// politestTemplateVars are the values upstream politest substitutes into
// examples/athena-policy's policy before sending it to the simulator; the
// converted suite kept the placeholders. They are recovered from the
// scenario's own requests (e.g. the VPC endpoint account that is allowed
// and the organization paths the deny cases use), so the decisions are the
// ones AWS returned for the substituted policy.
var politestTemplateVars = strings.NewReplacer(
	"${DATA_PLANE_NONPROD_ORG_PATH}", "o-123abc1234/r-reei",
	"${DATA_PLANE_PROD_ORG_PATH}", "o-123abc1234/r-abcd",
	"${DNS_HUB_DEV_ACCOUNT_ID}", "123456789123",
	"${DNS_HUB_LIVE_ACCOUNT_ID}", "123456789124",
	"<ACCOUNT_NO>", "123456789123",
)

// TestPolitest replays every decision AWS's policy simulator returned in the
// politest suite. The simulator has no SCP input, so upstream sends SCPs and
// RCPs merged as one permissions boundary; they are evaluated as a boundary.
func TestPolitest(t *testing.T) {
	t.Parallel()
	dir := sharedtest.Dir(t, "iam-eval-politest")
	files, err := filepath.Glob(filepath.Join(dir, "scenarios", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var sc politestScenario
		if err := json.Unmarshal(raw, &sc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		set := Set{}
		for i, doc := range sc.IdentityPolicies {
			p, err := Parse(Identity, politestTemplateVars.Replace(string(doc)))
			if err != nil {
				t.Fatalf("%s: identity policy %d: %v", sc.Scenario, i, err)
			}
			set.Identity = append(set.Identity, Named{ID: "identity-" + string(rune('0'+i)), Policy: p})
		}
		if len(sc.PermissionsBoundary) > 0 && string(sc.PermissionsBoundary) != "null" {
			p, err := Parse(Boundary, string(sc.PermissionsBoundary))
			if err != nil {
				t.Fatalf("%s: boundary: %v", sc.Scenario, err)
			}
			set.Boundary = []Named{{ID: "boundary", Policy: p}}
		}
		for _, c := range sc.Cases {
			for _, resource := range c.Request.Resources {
				total++
				c, set, resource := c, set, resource
				t.Run(c.ID+"/"+resource, func(t *testing.T) {
					t.Parallel()
					pr := Principal{Type: User, Account: "123456789012", ARN: "arn:aws:iam::123456789012:user/politest"}
					if c.Request.Principal != nil {
						pr.ARN = *c.Request.Principal
						pr.Account = strings.Split(pr.ARN, ":")[4]
					}
					if c.Request.ResourceOwner != nil {
						set.ResourceAccount = strings.Split(*c.Request.ResourceOwner, ":")[4]
					}
					if len(c.ResourcePolicy) > 0 && string(c.ResourcePolicy) != "null" {
						p, err := Parse(Resource, string(c.ResourcePolicy))
						if err != nil {
							t.Fatalf("resource policy: %v", err)
						}
						set.Resource = []Named{{ID: "resource", Policy: p}}
					}
					ctx := &Context{}
					for k, v := range c.Request.Context {
						if strings.HasSuffix(strings.ToLower(v.Type), "list") {
							ctx.SetList(k, v.Values...)
						} else {
							ctx.Set(k, v.Values...)
						}
					}
					req := &Request{Principal: pr, Action: c.Request.Action, Resource: resource, Context: ctx,
						Now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
					d := Evaluate(&set, req)
					want := map[string]Effect{"allow": Allow, "explicit_deny": ExplicitDeny, "implicit_deny": ImplicitDeny}[c.Expected]
					if d.Effect != want {
						t.Errorf("decision = %v (%s), want %v; matched %+v; note: %s", d.Effect, d.Explain(c.Request.Action), want, d.Matched, c.Note)
					}
				})
			}
		}
	}
	t.Logf("politest: %d decisions", total)
}
