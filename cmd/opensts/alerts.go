package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/spf13/cobra"

	"github.com/opensts/opensts/internal/audit"
)

func newAlertsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "alerts", Short: "Detection alerts (audit events of type OpenSTSAlert)"}
	cmd.AddCommand(newAlertsListCmd())
	return cmd
}

func newAlertsListCmd() *cobra.Command {
	var (
		endpoint, profile, region, output string
		since                             time.Duration
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List recent alerts of the caller's account (through LookupEvents; needs cloudtrail:LookupEvents)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("--output %q: want table or json", output)
			}
			if since <= 0 {
				return fmt.Errorf("--since %s: want a positive duration", since)
			}
			ctx := cmd.Context()
			cfg, err := loadAWSConfig(ctx, endpoint, profile, region)
			if err != nil {
				return err
			}
			client := cloudtrail.NewFromConfig(cfg)
			in := &cloudtrail.LookupEventsInput{
				LookupAttributes: []cttypes.LookupAttribute{{AttributeKey: cttypes.LookupAttributeKeyEventSource, AttributeValue: aws.String(audit.AlertEventSource)}},
				StartTime:        aws.Time(time.Now().Add(-since)),
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			if output == "table" {
				fmt.Fprintln(w, "TIME\tRULE\tSEVERITY\tPRINCIPAL\tACCESS KEY\tSOURCE\tRESPONSE\tDETAIL")
			}
			for p := cloudtrail.NewLookupEventsPaginator(client, in); p.HasMorePages(); {
				page, err := p.NextPage(ctx)
				if err != nil {
					return err
				}
				for _, e := range page.Events {
					raw := aws.ToString(e.CloudTrailEvent)
					if output == "json" {
						fmt.Fprintln(cmd.OutOrStdout(), raw)
						continue
					}
					var r struct {
						EventTime    string `json:"eventTime"`
						EventName    string `json:"eventName"`
						SourceIP     string `json:"sourceIPAddress"`
						UserIdentity struct {
							ARN         string `json:"arn"`
							AccessKeyID string `json:"accessKeyId"`
						} `json:"userIdentity"`
						RequestParameters struct {
							Severity, Detail, Response, Mode string
						} `json:"requestParameters"`
						ResponseElements struct{ Outcome string } `json:"responseElements"`
					}
					if err := json.Unmarshal([]byte(raw), &r); err != nil {
						return fmt.Errorf("alert %s: %w", aws.ToString(e.EventId), err)
					}
					resp := r.RequestParameters.Response
					if o := r.ResponseElements.Outcome; o != "" {
						resp += " (" + o + ")"
					}
					// Fields an unauthenticated request chooses (its access key
					// id, in the detail too) are shown escaped: a newline, tab
					// or terminal escape in them must not forge a row.
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(r.EventTime), printable(r.EventName), printable(r.RequestParameters.Severity),
						printable(dash(r.UserIdentity.ARN)), printable(dash(r.UserIdentity.AccessKeyID)), printable(dash(r.SourceIP)), printable(resp), printable(r.RequestParameters.Detail))
				}
			}
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&endpoint, "endpoint-url", "", "the OpenSTS endpoint (required)")
	f.DurationVar(&since, "since", 24*time.Hour, "how far back to look")
	f.StringVar(&profile, "profile", "", "AWS profile (default: the standard AWS credential chain)")
	f.StringVar(&region, "region", "", "region to sign for (default: the chain's, else us-east-1)")
	f.StringVar(&output, "output", "table", "table or json (one CloudTrail record per line)")
	_ = cmd.MarkFlagRequired("endpoint-url")
	return cmd
}

// printable escapes control and formatting characters (newlines, tabs,
// terminal escapes, bidirectional overrides) as Go escapes them.
func printable(s string) string {
	if !strings.ContainsFunc(s, hidden) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if hidden(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hidden(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
