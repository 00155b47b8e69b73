package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/spf13/cobra"

	"github.com/opensts/opensts/internal/revoke"
)

func newRevokeCmd() *cobra.Command {
	var (
		endpoint, profile, region, output, reason     string
		accessKeyID, principalARN, roleARN, accountID string
		issuedBefore, deleteID                        string
		list                                          bool
	)
	cmd := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke sessions before they expire (or --list, --delete ID the revocations)",
		Long: `Revoke temporary credentials before they expire, on every node within two
seconds. Exactly one of:

  --access-key-id ASIA...      one session, and what was chained from it
  --principal-arn ARN          every session a user, the root, a role session or a
                               federated user created, chained ones included
  --role-arn ARN               every session of the role issued before
                               --issued-before (RFC 3339; default now)
  --account-id ID              every session of the account issued before
                               --issued-before
  --list                       the account's active revocations
  --delete ID                  delete a revocation

It signs with the standard AWS credential chain (environment, --profile) and
needs opensts:RevokeSessions, opensts:ListRevocations or
opensts:DeleteRevocation. Long-term keys are not revoked here: deactivate them
(aws iam update-access-key) or attach AWSCompromisedKeyQuarantine to the user.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			n := 0
			for _, set := range []bool{accessKeyID != "", principalARN != "", roleARN != "", accountID != "", list, deleteID != ""} {
				if set {
					n++
				}
			}
			if n != 1 {
				return errors.New("give exactly one of --access-key-id, --principal-arn, --role-arn, --account-id, --list and --delete")
			}
			if issuedBefore != "" && roleARN == "" && accountID == "" {
				return errors.New("--issued-before goes with --role-arn or --account-id")
			}
			if output != "table" && output != "json" {
				return fmt.Errorf("--output %q: want table or json", output)
			}
			c, err := newJSONClient(cmd.Context(), endpoint, profile, region)
			if err != nil {
				return err
			}
			var in, out any
			action := "RevokeSessions"
			switch {
			case list:
				action, in, out = "ListRevocations", &revoke.ListRevocationsInput{}, &revoke.ListRevocationsOutput{}
			case deleteID != "":
				action, in, out = "DeleteRevocation", &revoke.DeleteRevocationInput{ID: deleteID}, &revoke.DeleteRevocationOutput{}
			default:
				r := &revoke.RevokeSessionsInput{AccessKeyID: accessKeyID, PrincipalArn: principalARN, RoleArn: roleARN, AccountID: accountID, Reason: reason}
				if issuedBefore != "" {
					t, err := time.Parse(time.RFC3339, issuedBefore)
					if err != nil {
						return fmt.Errorf("--issued-before: %w", err)
					}
					f := float64(t.UnixMilli()) / 1000
					r.IssuedBefore = &f
				}
				in, out = r, &revoke.RevokeSessionsOutput{}
			}
			if err := c.call(cmd.Context(), revoke.ServiceName, revoke.Prefix+"."+action, in, out); err != nil {
				return err
			}
			if output == "json" {
				b, _ := json.MarshalIndent(out, "", "  ")
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s\n", b)
				return err
			}
			var rows []revoke.Revocation
			switch o := out.(type) {
			case *revoke.ListRevocationsOutput:
				rows = o.Revocations
			case *revoke.RevokeSessionsOutput:
				rows = []revoke.Revocation{o.Revocation}
			default:
				_, err := fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", deleteID)
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "ID\tKIND\tTARGET\tISSUED BEFORE\tEXPIRES\tBY\tREASON")
			for _, r := range rows {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Kind, r.Target, when(r.IssuedBefore), when(r.ExpiresAt), r.CreatedBy, r.Reason)
			}
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&endpoint, "endpoint-url", "", "the OpenSTS endpoint (required)")
	f.StringVar(&accessKeyID, "access-key-id", "", "revoke this session (ASIA...)")
	f.StringVar(&principalARN, "principal-arn", "", "revoke every session this principal created")
	f.StringVar(&roleARN, "role-arn", "", "revoke this role's sessions issued before --issued-before")
	f.StringVar(&accountID, "account-id", "", "revoke this account's sessions issued before --issued-before")
	f.StringVar(&issuedBefore, "issued-before", "", "with --role-arn or --account-id: an RFC 3339 time (default now)")
	f.StringVar(&reason, "reason", "", "why, kept with the revocation")
	f.BoolVar(&list, "list", false, "list the account's active revocations")
	f.StringVar(&deleteID, "delete", "", "delete the revocation with this id")
	f.StringVar(&profile, "profile", "", "AWS profile (default: the standard AWS credential chain)")
	f.StringVar(&region, "region", "", "region to sign for (default: the chain's, else us-east-1)")
	f.StringVar(&output, "output", "table", "table or json")
	_ = cmd.MarkFlagRequired("endpoint-url")
	return cmd
}

func when(epoch float64) string {
	return time.UnixMilli(int64(epoch * 1000)).UTC().Format(time.RFC3339)
}

// jsonClient calls OpenSTS's own AWS JSON 1.1 APIs, signed with SigV4 by
// aws-sdk-go-v2's signer with credentials from the standard chain.
type jsonClient struct {
	endpoint string
	cfg      aws.Config
	http     *http.Client
}

func newJSONClient(ctx context.Context, endpoint, profile, region string) (*jsonClient, error) {
	cfg, err := loadAWSConfig(ctx, "", profile, region)
	if err != nil {
		return nil, err
	}
	return &jsonClient{endpoint: strings.TrimRight(endpoint, "/"), cfg: cfg, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// call posts in to target and decodes the answer into out; an AWS JSON
// error comes back as "Code: message".
func (c *jsonClient) call(ctx context.Context, service, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	creds, err := c.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, c.cfg.Region, time.Now()); err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(b, &e)
		code := e.Type[strings.LastIndexByte(e.Type, '#')+1:]
		if code == "" {
			code = resp.Status
		}
		return fmt.Errorf("%s: %s", code, e.Message)
	}
	return json.Unmarshal(b, out)
}
