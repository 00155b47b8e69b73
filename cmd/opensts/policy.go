package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/iam"
	"github.com/opensts/opensts/internal/policy"
	"github.com/spf13/cobra"
)

// errInvalidPolicies makes the command exit 1 after the messages were printed.
var errInvalidPolicies = errors.New("invalid policy documents")

func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Validate IAM policy documents and simulate authorization decisions",
	}
	cmd.AddCommand(newPolicyValidateCmd(), newPolicySimulateCmd())
	return cmd
}

func newPolicyValidateCmd() *cobra.Command {
	var kindName string
	cmd := &cobra.Command{
		Use:          "validate [--type identity|resource|trust|boundary|session|scp] FILE...",
		Short:        "Check policy documents as IAM would; exit status 1 if any is invalid",
		Args:         cobra.MinimumNArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, ok := policy.ParseKind(kindName)
			if !ok {
				return fmt.Errorf("validate: unknown policy type %q", kindName)
			}
			invalid := 0
			for _, file := range args {
				doc, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("validate: %w", err)
				}
				if _, err := policy.Parse(kind, string(doc)); err != nil {
					invalid++
					fmt.Fprintf(cmd.OutOrStdout(), "%s: MalformedPolicyDocument: %s\n", file, err)
					continue
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: valid %s policy\n", file, kind)
			}
			if invalid > 0 {
				cmd.SilenceErrors = true
				return errInvalidPolicies
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kindName, "type", "identity", "policy type: identity, resource, trust, boundary, session, scp or managed")
	return cmd
}

// simulateInput is the JSON input of "policy simulate".
type simulateInput struct {
	Principal struct {
		Type      string `json:"type"`
		ARN       string `json:"arn"`
		Account   string `json:"account"`
		ID        string `json:"id"`
		RoleARN   string `json:"roleArn"`
		RoleID    string `json:"roleId"`
		Federated string `json:"federated"`
		Service   string `json:"service"`
	} `json:"principal"`
	Action          string              `json:"action"`
	Resource        string              `json:"resource"`
	Context         map[string][]string `json:"context"`
	Now             string              `json:"now"`
	ResourceAccount string              `json:"resourceAccount"`
	SessionRequired bool                `json:"sessionRequired"`
	Policies        struct {
		Identity []simPolicy   `json:"identity"`
		Boundary []simPolicy   `json:"boundary"`
		Session  []simPolicy   `json:"session"`
		SCP      [][]simPolicy `json:"scp"`
		Resource []simPolicy   `json:"resource"`
	} `json:"policies"`
}

type simPolicy struct {
	ID       string          `json:"id"`
	Document json.RawMessage `json:"document"` // a JSON object, or a string holding one
}

type simulateOutput struct {
	Decision             string        `json:"decision"`
	MatchedStatements    []matchedStmt `json:"matchedStatements"`
	MissingContextValues []string      `json:"missingContextValues"`
	DeniedBy             string        `json:"deniedBy,omitempty"`
	Explanation          string        `json:"explanation"`
}

type matchedStmt struct {
	PolicyID   string `json:"policyId"`
	PolicyType string `json:"policyType"`
	Sid        string `json:"sid,omitempty"`
	Index      int    `json:"index"`
	Effect     string `json:"effect"`
}

var principalTypes = map[string]policy.PrincipalType{
	"": policy.Anonymous, "anonymous": policy.Anonymous, "root": policy.Root, "account": policy.Root,
	"user": policy.User, "assumedrole": policy.AssumedRole, "federateduser": policy.FederatedUser,
	"service": policy.Service, "webidentity": policy.WebIdentity, "samluser": policy.SAMLUser, "ldapuser": policy.LDAPUser,
}

func newPolicySimulateCmd() *cobra.Command {
	var input string
	cmd := &cobra.Command{
		Use:          "simulate --input FILE",
		Short:        "Evaluate one request against a set of policies and print the decision as JSON",
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			raw, err := os.ReadFile(input)
			if err != nil {
				return fmt.Errorf("simulate: %w", err)
			}
			out, err := simulate(cmd.Context(), raw)
			if err != nil {
				return fmt.Errorf("simulate %s: %w", input, err)
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "JSON file describing the request and the policies")
	_ = cmd.MarkFlagRequired("input")
	return cmd
}

// simulate decides the request described by raw with the simulator of
// IAM's SimulatePrincipalPolicy and SimulateCustomPolicy (iam.Simulate).
func simulate(ctx context.Context, raw []byte) (*simulateOutput, error) {
	var in simulateInput
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, fmt.Errorf("decode input: %w", err)
	}
	if in.Action == "" {
		return nil, errors.New("action is required")
	}
	pt, ok := principalTypes[strings.ToLower(in.Principal.Type)]
	if !ok {
		return nil, fmt.Errorf("unknown principal type %q", in.Principal.Type)
	}
	now := time.Now().UTC()
	if in.Now != "" {
		if now, ok = policy.ParseDate(in.Now); !ok {
			return nil, fmt.Errorf("now: %q is not a date", in.Now)
		}
	}
	resource := in.Resource
	if resource == "" {
		resource = "*"
	}
	pctx := &policy.Context{}
	for k, v := range in.Context {
		pctx.Set(k, v...)
	}
	set := &policy.Set{SessionRequired: in.SessionRequired}
	var err error
	if set.Identity, err = compileAll(policy.Identity, in.Policies.Identity); err != nil {
		return nil, err
	}
	if set.Boundary, err = compileAll(policy.Boundary, in.Policies.Boundary); err != nil {
		return nil, err
	}
	if set.Session, err = compileAll(policy.Session, in.Policies.Session); err != nil {
		return nil, err
	}
	resKind := policy.Resource
	if strings.HasPrefix(strings.ToLower(in.Action), "sts:assumerole") {
		resKind = policy.Trust
	}
	if set.Resource, err = compileAll(resKind, in.Policies.Resource); err != nil {
		return nil, err
	}
	for _, level := range in.Policies.SCP {
		l, err := compileAll(policy.SCP, level)
		if err != nil {
			return nil, err
		}
		if l == nil {
			l = []policy.Named{}
		}
		set.SCP = append(set.SCP, l)
	}
	decisions, err := iam.Simulate(ctx, &iam.Simulation{
		Set: set,
		Principal: policy.Principal{Type: pt, Account: in.Principal.Account, ARN: in.Principal.ARN, ID: in.Principal.ID,
			RoleARN: in.Principal.RoleARN, RoleID: in.Principal.RoleID, Federated: in.Principal.Federated, Service: in.Principal.Service},
		Context: pctx, Now: now, Actions: []string{in.Action}, Resources: []string{resource},
		// The resource is in the account the input names, whatever its ARN.
		ResourceOwner: in.ResourceAccount,
	})
	if err != nil {
		return nil, err
	}
	d := decisions[0][0]
	out := &simulateOutput{
		Decision:             d.Effect.String(),
		MatchedStatements:    []matchedStmt{},
		MissingContextValues: append([]string{}, d.Missing...),
		Explanation:          d.Explain(in.Action),
	}
	if d.DeniedBy != 0 {
		out.DeniedBy = d.DeniedBy.String()
	}
	for _, m := range d.Matched {
		out.MatchedStatements = append(out.MatchedStatements, matchedStmt{PolicyID: m.PolicyID, PolicyType: m.Kind.String(), Sid: m.Sid, Index: m.Index, Effect: m.Effect.String()})
	}
	return out, nil
}

func compileAll(kind policy.Kind, list []simPolicy) ([]policy.Named, error) {
	var out []policy.Named
	for i, sp := range list {
		doc := string(sp.Document)
		var s string
		if json.Unmarshal(sp.Document, &s) == nil {
			doc = s // a document passed as a JSON string
		}
		p, err := policy.Parse(kind, doc)
		if err != nil {
			return nil, fmt.Errorf("%s policy %d (%s): %w", kind, i, sp.ID, err)
		}
		id := sp.ID
		if id == "" {
			id = fmt.Sprintf("%s-%d", kind, i)
		}
		src := policy.Source{Type: policy.SourceInput, Name: id}
		if kind == policy.Resource || kind == policy.Trust {
			src.Type = policy.SourceResource
		}
		out = append(out, policy.Named{ID: id, Policy: p, Source: src})
	}
	return out, nil
}
