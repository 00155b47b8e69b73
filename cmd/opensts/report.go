package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/spf13/cobra"
)

func newReportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Access reviews over the IAM API: unused access, risky trust policies",
	}
	var (
		endpoint, profile, region, output, asOf string
		days                                    int
	)
	flags := func(c *cobra.Command) {
		c.Flags().StringVar(&endpoint, "endpoint-url", "", "the OpenSTS endpoint (default: the AWS configuration's)")
		c.Flags().StringVar(&profile, "profile", "", "the AWS profile to sign with")
		c.Flags().StringVar(&region, "region", "", "the region to sign for (default: the profile's, else us-east-1)")
		c.Flags().StringVar(&output, "output", "table", "table or json")
		c.Flags().IntVar(&days, "days", 90, "unused means not used for this many days")
		c.Flags().StringVar(&asOf, "as-of", "", "judge use as of this time (RFC 3339; default now)")
	}
	setup := func(cmd *cobra.Command) (*iam.Client, time.Time, error) {
		if output != "table" && output != "json" {
			return nil, time.Time{}, fmt.Errorf("--output %q: want table or json", output)
		}
		if days < 0 {
			return nil, time.Time{}, fmt.Errorf("--days %d: want 0 or more", days)
		}
		now := time.Now().UTC()
		if asOf != "" {
			t, err := time.Parse(time.RFC3339, asOf)
			if err != nil {
				return nil, time.Time{}, fmt.Errorf("--as-of: %w", err)
			}
			now = t.UTC()
		}
		cfg, err := loadAWSConfig(cmd.Context(), endpoint, profile, region)
		if err != nil {
			return nil, time.Time{}, err
		}
		return iam.NewFromConfig(cfg), now, nil
	}
	unused := &cobra.Command{
		Use:   "unused",
		Short: "Roles, users, access keys and granted services not used for --days days",
		Long: `List what has not been used for --days days (default 90): roles nobody
assumed, users whose keys and calls are all older, active access keys not used,
and services a user's or role's policies grant that it has not called (from
IAM's service last accessed data). Something created less than --days ago is
not reported as unused. It reads the IAM API (ListRoles, GetRole, ListUsers,
ListAccessKeys, GetAccessKeyLastUsed, GenerateServiceLastAccessedDetails,
GetServiceLastAccessedDetails) with the standard AWS credential chain, and
exits 0 whatever it finds.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, now, err := setup(cmd)
			if err != nil {
				return err
			}
			data, err := gatherUnused(cmd.Context(), c)
			if err != nil {
				return err
			}
			fs := unusedFindings(data, now, days)
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"asOf": now, "days": days, "findings": fs})
			}
			return writeUnusedTable(cmd.OutOrStdout(), fs)
		},
	}
	trust := &cobra.Command{
		Use:   "trust",
		Short: "Findings on every role's trust policy, and the cross-account trust inventory",
		Long: `Review every role's trust policy: trust of "*" without a condition that
narrows who, a whole foreign account trusted without sts:ExternalId, web
identity trust without a sub (or aud) condition (the GitHub Actions / GitLab
misconfiguration that lets any repository assume the role), SAML or LDAP trust
without an attribute or group condition, roles nobody assumed for --days
days, and permission policies that allow every action on every resource. Each finding names the role, the statement and a fix. It also lists
every foreign principal a role trusts. It reads ListRoles, GetRole and the
roles' policies (ListRolePolicies, GetRolePolicy, ListAttachedRolePolicies,
GetPolicy, GetPolicyVersion) with the standard AWS credential chain, and exits 0 whatever it finds.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, now, err := setup(cmd)
			if err != nil {
				return err
			}
			roles, err := listRoles(cmd.Context(), c)
			if err != nil {
				return err
			}
			for i := range roles {
				if roles[i].Policies, err = rolePolicies(cmd.Context(), c, roles[i].Name); err != nil {
					return err
				}
			}
			findings, inventory := trustReport(roles, now, days)
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"asOf": now, "days": days, "findings": findings, "crossAccount": inventory})
			}
			return writeTrustTable(cmd.OutOrStdout(), findings, inventory)
		},
	}
	flags(unused)
	flags(trust)
	cmd.AddCommand(unused, trust)
	return cmd
}

// reportRole is a role with what GetRole adds to ListRoles.
type reportRole struct {
	Name, ARN, Account string
	Created            time.Time
	LastUsed           *time.Time
	Trust              string
	// Policies are the role's permission policies (trust report only):
	// "inline/NAME" or the managed policy ARN, to its document.
	Policies []namedDoc
}

type namedDoc struct{ Name, Document string }

// decodeDocument undoes IAM's URL encoding of a policy document.
func decodeDocument(s string) string {
	if d, err := url.QueryUnescape(s); err == nil {
		return d
	}
	return s
}

// rolePolicies reads a role's inline and attached policies.
func rolePolicies(ctx context.Context, c *iam.Client, role string) ([]namedDoc, error) {
	var out []namedDoc
	ip := iam.NewListRolePoliciesPaginator(c, &iam.ListRolePoliciesInput{RoleName: aws.String(role)})
	for ip.HasMorePages() {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list policies of role %s: %w", role, err)
		}
		for _, n := range page.PolicyNames {
			g, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(role), PolicyName: aws.String(n)})
			if err != nil {
				return nil, fmt.Errorf("get policy %s of role %s: %w", n, role, err)
			}
			out = append(out, namedDoc{Name: "inline/" + n, Document: decodeDocument(aws.ToString(g.PolicyDocument))})
		}
	}
	ap := iam.NewListAttachedRolePoliciesPaginator(c, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	for ap.HasMorePages() {
		page, err := ap.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list attached policies of role %s: %w", role, err)
		}
		for _, a := range page.AttachedPolicies {
			p, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: a.PolicyArn})
			if err != nil {
				return nil, fmt.Errorf("get policy %s: %w", aws.ToString(a.PolicyArn), err)
			}
			v, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: a.PolicyArn, VersionId: p.Policy.DefaultVersionId})
			if err != nil {
				return nil, fmt.Errorf("get policy version of %s: %w", aws.ToString(a.PolicyArn), err)
			}
			out = append(out, namedDoc{Name: aws.ToString(a.PolicyArn), Document: decodeDocument(aws.ToString(v.PolicyVersion.Document))})
		}
	}
	return out, nil
}

// reportService is one granted service's last use by an entity.
type reportService struct {
	Namespace string
	Last      *time.Time
}

type reportKey struct {
	ID       string
	Active   bool
	Created  time.Time
	LastUsed *time.Time
}

type reportUser struct {
	Name, ARN string
	Created   time.Time
	Keys      []reportKey
}

// unusedData is what the unused report reads.
type unusedData struct {
	Roles    []reportRole
	Users    []reportUser
	Services map[string][]reportService // by entity ARN
}

func listRoles(ctx context.Context, c *iam.Client) ([]reportRole, error) {
	var out []reportRole
	p := iam.NewListRolesPaginator(c, &iam.ListRolesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list roles: %w", err)
		}
		for _, r := range page.Roles {
			// ListRoles does not return RoleLastUsed (as in AWS): GetRole does.
			g, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: r.RoleName})
			if err != nil {
				return nil, fmt.Errorf("get role %s: %w", aws.ToString(r.RoleName), err)
			}
			rr := reportRole{Name: aws.ToString(g.Role.RoleName), ARN: aws.ToString(g.Role.Arn), Created: aws.ToTime(g.Role.CreateDate)}
			if parts := strings.SplitN(rr.ARN, ":", 6); len(parts) == 6 {
				rr.Account = parts[4]
			}
			if g.Role.RoleLastUsed != nil {
				rr.LastUsed = g.Role.RoleLastUsed.LastUsedDate
			}
			// IAM returns policy documents URL-encoded.
			rr.Trust = decodeDocument(aws.ToString(g.Role.AssumeRolePolicyDocument))
			out = append(out, rr)
		}
	}
	return out, nil
}

func gatherUnused(ctx context.Context, c *iam.Client) (unusedData, error) {
	d := unusedData{Services: map[string][]reportService{}}
	var err error
	if d.Roles, err = listRoles(ctx, c); err != nil {
		return d, err
	}
	p := iam.NewListUsersPaginator(c, &iam.ListUsersInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return d, fmt.Errorf("list users: %w", err)
		}
		for _, u := range page.Users {
			ru := reportUser{Name: aws.ToString(u.UserName), ARN: aws.ToString(u.Arn), Created: aws.ToTime(u.CreateDate)}
			keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: u.UserName})
			if err != nil {
				return d, fmt.Errorf("list access keys of %s: %w", ru.Name, err)
			}
			for _, k := range keys.AccessKeyMetadata {
				rk := reportKey{ID: aws.ToString(k.AccessKeyId), Active: k.Status == iamtypes.StatusTypeActive, Created: aws.ToTime(k.CreateDate)}
				lu, err := c.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
				if err != nil {
					return d, fmt.Errorf("get access key last used %s: %w", rk.ID, err)
				}
				if lu.AccessKeyLastUsed != nil {
					rk.LastUsed = lu.AccessKeyLastUsed.LastUsedDate
				}
				ru.Keys = append(ru.Keys, rk)
			}
			d.Users = append(d.Users, ru)
		}
	}
	arns := make([]string, 0, len(d.Roles)+len(d.Users))
	for _, r := range d.Roles {
		arns = append(arns, r.ARN)
	}
	for _, u := range d.Users {
		arns = append(arns, u.ARN)
	}
	for _, a := range arns {
		svcs, err := lastAccessed(ctx, c, a)
		if err != nil {
			return d, err
		}
		d.Services[a] = svcs
	}
	return d, nil
}

// lastAccessed runs a service last accessed job for arn and reads it.
func lastAccessed(ctx context.Context, c *iam.Client, arn string) ([]reportService, error) {
	job, err := c.GenerateServiceLastAccessedDetails(ctx, &iam.GenerateServiceLastAccessedDetailsInput{Arn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("generate service last accessed details of %s: %w", arn, err)
	}
	var out []reportService
	in := &iam.GetServiceLastAccessedDetailsInput{JobId: job.JobId}
	for deadline := time.Now().Add(time.Minute); ; {
		r, err := c.GetServiceLastAccessedDetails(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("get service last accessed details of %s: %w", arn, err)
		}
		if r.JobStatus == iamtypes.JobStatusTypeInProgress {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("service last accessed details of %s: job %s still in progress", arn, aws.ToString(job.JobId))
			}
			time.Sleep(time.Second)
			continue
		}
		if r.JobStatus == iamtypes.JobStatusTypeFailed {
			return nil, fmt.Errorf("service last accessed details of %s: job failed", arn)
		}
		for _, s := range r.ServicesLastAccessed {
			out = append(out, reportService{Namespace: aws.ToString(s.ServiceNamespace), Last: s.LastAuthenticated})
		}
		if !r.IsTruncated {
			return out, nil
		}
		in.Marker = r.Marker
	}
}

// UnusedFinding is one thing not used for the report's days.
type UnusedFinding struct {
	Kind     string     `json:"kind"` // role, user, access-key, permission
	Name     string     `json:"name"`
	ARN      string     `json:"arn,omitempty"`
	Detail   string     `json:"detail"`
	Created  time.Time  `json:"created"`
	LastUsed *time.Time `json:"lastUsed,omitempty"`
}

// stale reports whether something created at created and last used at last
// (nil: never) has been unused since cutoff.
func stale(created time.Time, last *time.Time, cutoff time.Time) bool {
	if last == nil {
		return created.Before(cutoff)
	}
	return last.Before(cutoff)
}

func latest(ts ...*time.Time) *time.Time {
	var out *time.Time
	for _, t := range ts {
		if t != nil && (out == nil || t.After(*out)) {
			out = t
		}
	}
	return out
}

func describeUse(last *time.Time, now time.Time) string {
	if last == nil {
		return "never used"
	}
	return fmt.Sprintf("last used %s (%d days ago)", last.UTC().Format(time.RFC3339), int(now.Sub(*last).Hours()/24))
}

// unusedFindings judges data as of now: unused means no use in the days
// before now.
func unusedFindings(d unusedData, now time.Time, days int) []UnusedFinding {
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	fs := []UnusedFinding{}
	permissions := func(kind, name, arn string, created time.Time) {
		for _, s := range d.Services[arn] {
			if stale(created, s.Last, cutoff) {
				fs = append(fs, UnusedFinding{Kind: "permission", Name: name + " " + s.Namespace, ARN: arn, Created: created, LastUsed: s.Last,
					Detail: fmt.Sprintf("%s %s is granted %s: %s", kind, name, s.Namespace, describeUse(s.Last, now))})
			}
		}
	}
	for _, r := range d.Roles {
		if stale(r.Created, r.LastUsed, cutoff) {
			fs = append(fs, UnusedFinding{Kind: "role", Name: r.Name, ARN: r.ARN, Created: r.Created, LastUsed: r.LastUsed, Detail: "not assumed: " + describeUse(r.LastUsed, now)})
		}
		permissions("role", r.Name, r.ARN, r.Created)
	}
	for _, u := range d.Users {
		uses := []*time.Time{}
		for _, s := range d.Services[u.ARN] {
			uses = append(uses, s.Last)
		}
		for _, k := range u.Keys {
			uses = append(uses, k.LastUsed)
			if k.Active && stale(k.Created, k.LastUsed, cutoff) {
				fs = append(fs, UnusedFinding{Kind: "access-key", Name: k.ID, ARN: u.ARN, Created: k.Created, LastUsed: k.LastUsed,
					Detail: "active key of " + u.Name + ": " + describeUse(k.LastUsed, now)})
			}
		}
		if last := latest(uses...); stale(u.Created, last, cutoff) {
			fs = append(fs, UnusedFinding{Kind: "user", Name: u.Name, ARN: u.ARN, Created: u.Created, LastUsed: last, Detail: "no call: " + describeUse(last, now)})
		}
		permissions("user", u.Name, u.ARN, u.Created)
	}
	order := map[string]int{"role": 0, "user": 1, "access-key": 2, "permission": 3}
	slices.SortStableFunc(fs, func(a, b UnusedFinding) int {
		if order[a.Kind] != order[b.Kind] {
			return order[a.Kind] - order[b.Kind]
		}
		return strings.Compare(a.Name, b.Name)
	})
	return fs
}

// trustReport reviews every role's trust policy, and flags roles not
// assumed for days.
func trustReport(roles []reportRole, now time.Time, days int) ([]TrustFinding, []CrossAccountTrust) {
	cutoff := now.Add(-time.Duration(days) * 24 * time.Hour)
	findings, inventory := []TrustFinding{}, []CrossAccountTrust{}
	for _, r := range roles {
		f, inv := reviewTrust(trustRole{Name: r.Name, ARN: r.ARN, Account: r.Account, Document: r.Trust})
		findings = append(findings, f...)
		n := len(findings)
		for _, p := range r.Policies {
			findings = append(findings, reviewPermissions(r.Name, r.ARN, p)...)
		}
		if len(findings) == n {
			findings = append(findings, reviewPermissionsTogether(r.Name, r.ARN, r.Policies)...)
		}
		inventory = append(inventory, inv...)
		if stale(r.Created, r.LastUsed, cutoff) {
			findings = append(findings, TrustFinding{Role: r.Name, RoleARN: r.ARN, Statement: "-", Severity: "LOW",
				Finding: fmt.Sprintf("not assumed for %d days: %s", days, describeUse(r.LastUsed, now)),
				Fix:     "delete the role if nothing needs it; a trust policy nobody uses is still a way in"})
		}
	}
	sev := map[string]int{"HIGH": 0, "MEDIUM": 1, "LOW": 2}
	slices.SortStableFunc(findings, func(a, b TrustFinding) int {
		if sev[a.Severity] != sev[b.Severity] {
			return sev[a.Severity] - sev[b.Severity]
		}
		return strings.Compare(a.Role, b.Role)
	})
	return findings, inventory
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeUnusedTable(w io.Writer, fs []UnusedFinding) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tLAST USED\tDETAIL")
	for _, f := range fs {
		last := "never"
		if f.LastUsed != nil {
			last = f.LastUsed.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Kind, f.Name, last, f.Detail)
	}
	if len(fs) == 0 {
		fmt.Fprintln(tw, "(nothing unused)")
	}
	return tw.Flush()
}

func writeTrustTable(w io.Writer, fs []TrustFinding, inv []CrossAccountTrust) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SEVERITY\tROLE\tSTATEMENT\tPRINCIPAL\tFINDING\tFIX")
	for _, f := range fs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Severity, f.Role, f.Statement, cmp.Or(f.Principal, "-"), f.Finding, f.Fix)
	}
	if len(fs) == 0 {
		fmt.Fprintln(tw, "(no findings)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Cross-account trust:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tSTATEMENT\tACCOUNT\tPRINCIPAL\tEXTERNAL ID\tCONDITIONS")
	for _, t := range inv {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\n", t.Role, t.Statement, t.Account, t.Principal, t.ExternalID, cmp.Or(strings.Join(t.Conditions, ", "), "-"))
	}
	if len(inv) == 0 {
		fmt.Fprintln(tw, "(none)")
	}
	return tw.Flush()
}
