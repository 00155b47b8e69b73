package iam

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// Organizations access reports: GenerateOrganizationsAccessReport builds,
// at once, the service last accessed data of every IAM user and role in the
// accounts under an Organizations entity (the root, an OU or an account) and
// stores it as the service last accessed reports are stored (a
// store.AccessReport whose data carries an orgReport), so that
// GetOrganizationsAccessReport reads it on any node. A job is therefore
// always COMPLETED: IN_PROGRESS and FAILED never occur, and ErrorDetails is
// never set. Only the organization's management account may generate one.
//
// The services a report lists are those OpenSTS serves and those any
// principal under the entity used; with OrganizationsPolicyId, only those
// the SCP allows, and only the accounts the SCP applies to (attached to the
// root, to an OU above the account or to the account) count. The root user's
// uses are not recorded (internal/lastaccess records users and roles), so
// they never count.

// orgIDSetting is org.OrgIDSetting (iam does not import org).
const orgIDSetting = "org.id"

// orgJobType marks an organizations access report among the stored reports.
const orgJobType = "ORGANIZATIONS"

var (
	orgOUPattern      = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	orgAccountPattern = regexp.MustCompile(`^[0-9]{12}$`)
)

// GenerateOrganizationsAccessReportInput is the input of
// GenerateOrganizationsAccessReport.
type GenerateOrganizationsAccessReportInput struct {
	EntityPath            string `required:"true" min:"19" max:"427" pattern:"^o-[0-9a-z]{10,32}\\/r-[0-9a-z]{4,32}[0-9a-z-\\/]*"`
	OrganizationsPolicyID string `query:"OrganizationsPolicyId" pattern:"^p-[0-9a-zA-Z_]{8,128}$"`
}

// GenerateOrganizationsAccessReportOutput is the output of
// GenerateOrganizationsAccessReport.
type GenerateOrganizationsAccessReportOutput struct {
	JobID string `xml:"JobId"`
}

// AccessDetail is one service's last access under the reported entity.
type AccessDetail struct {
	ServiceName                string     `xml:"ServiceName" json:"n"`
	ServiceNamespace           string     `xml:"ServiceNamespace" json:"s"`
	Region                     string     `xml:"Region,omitempty" json:"r,omitempty"`
	EntityPath                 string     `xml:"EntityPath,omitempty" json:"p,omitempty"`
	LastAuthenticatedTime      *time.Time `xml:"LastAuthenticatedTime,omitempty" json:"t,omitempty"`
	TotalAuthenticatedEntities int        `xml:"TotalAuthenticatedEntities" json:"c"`
}

// orgReport is what a stored organizations access report holds.
type orgReport struct {
	EntityPath string         `json:"path"`
	PolicyID   string         `json:"policy,omitempty"`
	Details    []AccessDetail `json:"details"`
}

// orgAccount is an account a report covers, with its entity path.
type orgAccount struct {
	id, path string
}

// GenerateOrganizationsAccessReport builds the organizations access report
// of an entity path and returns its job id. The caller must be a principal
// of the organization's management account allowed
// iam:GenerateOrganizationsAccessReport.
func (s *Service) GenerateOrganizationsAccessReport(ctx context.Context, c *authz.Caller, in *GenerateOrganizationsAccessReportInput) (*GenerateOrganizationsAccessReportOutput, error) {
	if err := s.check(ctx, c, "iam:GenerateOrganizationsAccessReport", "*"); err != nil {
		return nil, err
	}
	acct, err := s.store.GetAccount(ctx, c.Account)
	if err != nil {
		return nil, internal(err, "load account "+c.Account)
	}
	orgID, err := s.store.GetSetting(ctx, orgIDSetting)
	if err != nil && !isNotFound(err) {
		return nil, internal(err, "load organization id")
	}
	if orgID == "" || !acct.Management {
		return nil, apierr.New(apierr.AccessDenied, "Only the management account of an organization can generate an organizations access report.")
	}
	accounts, err := s.orgEntityAccounts(ctx, orgID, in.EntityPath)
	if err != nil {
		return nil, err
	}
	var scp *policy.Policy
	if in.OrganizationsPolicyID != "" {
		if scp, accounts, err = s.scpScope(ctx, in.OrganizationsPolicyID, accounts); err != nil {
			return nil, err
		}
	}

	if s.flushUses != nil {
		if err := s.flushUses(ctx); err != nil {
			return nil, internal(err, "write service last accessed data")
		}
	}
	pathOf := map[string]string{} // principal id -> its account's entity path
	for _, a := range accounts {
		if err := s.accountPrincipals(ctx, a, pathOf); err != nil {
			return nil, err
		}
	}
	ids := make([]string, 0, len(pathOf))
	for id := range pathOf {
		ids = append(ids, id)
	}
	var uses []store.ServiceAccess
	if len(ids) > 0 {
		if uses, err = s.store.ListServiceAccess(ctx, ids); err != nil {
			return nil, internal(err, "load service last accessed data")
		}
	}
	now := s.time()
	rep := accessReport{JobType: orgJobType, Completed: now, Services: []ServiceLastAccessed{},
		Org: &orgReport{EntityPath: in.EntityPath, PolicyID: in.OrganizationsPolicyID, Details: buildOrgDetails(scp, uses, pathOf)}}
	id, err := s.saveReport(ctx, c.Account, rep, now)
	if err != nil {
		return nil, err
	}
	return &GenerateOrganizationsAccessReportOutput{JobID: id}, nil
}

func errEntityPath(path string) *apierr.Error {
	return apierr.New(apierr.InvalidInput, "The entity path %s does not name a root, organizational unit or account of your organization.", path)
}

// orgEntityAccounts checks that path names the organization's root, an OU
// below it through its parent OUs, or an account in the OU (or root) the
// path names before it, and returns the accounts under it.
func (s *Service) orgEntityAccounts(ctx context.Context, orgID, path string) ([]orgAccount, error) {
	parts := strings.Split(strings.TrimSuffix(path, "/"), "/")
	root, err := s.store.GetSetting(ctx, authz.OrgRootSetting)
	if err != nil && !isNotFound(err) {
		return nil, internal(err, "load organization root")
	}
	if len(parts) < 2 || parts[0] != orgID || parts[1] != root {
		return nil, errEntityPath(path)
	}
	parent := "" // the root
	prefix := orgID + "/" + root
	for i, p := range parts[2:] {
		switch {
		case orgOUPattern.MatchString(p):
			u, err := s.store.GetOrgUnit(ctx, p)
			if isNotFound(err) || err == nil && u.ParentID != parent {
				return nil, errEntityPath(path)
			}
			if err != nil {
				return nil, internal(err, "load organizational unit "+p)
			}
			parent, prefix = p, prefix+"/"+p
		case orgAccountPattern.MatchString(p) && i == len(parts)-3:
			got, err := s.store.OrgAccountParent(ctx, p)
			if isNotFound(err) || err == nil && got != parent {
				return nil, errEntityPath(path)
			}
			if err != nil {
				return nil, internal(err, "load parent of account "+p)
			}
			return []orgAccount{{id: p, path: prefix + "/" + p}}, nil
		default:
			return nil, errEntityPath(path)
		}
	}
	// Every account below parent, depth first (OUs nest at most five deep).
	var out []orgAccount
	var walk func(unit, prefix string, depth int) error
	walk = func(unit, prefix string, depth int) error {
		if depth > 6 {
			return internal(fmt.Errorf("organizational units nested deeper than 5 below %s", unit), "walk organization")
		}
		ids, err := s.store.ListOrgAccountsInUnit(ctx, unit)
		if err != nil {
			return internal(err, "list accounts")
		}
		for _, id := range ids {
			out = append(out, orgAccount{id: id, path: prefix + "/" + id})
		}
		units, err := s.store.ListOrgUnits(ctx, unit)
		if err != nil {
			return internal(err, "list organizational units")
		}
		for _, u := range units {
			if err := walk(u.ID, prefix+"/"+u.ID, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(parent, prefix, 0); err != nil {
		return nil, err
	}
	return out, nil
}

// scpScope loads the SCP id and keeps the accounts it applies to: attached
// to the root, to an OU on the account's path, or to the account.
func (s *Service) scpScope(ctx context.Context, id string, accounts []orgAccount) (*policy.Policy, []orgAccount, error) {
	p, err := s.store.GetOrgPolicy(ctx, id)
	if isNotFound(err) || err == nil && p.Type != "SERVICE_CONTROL_POLICY" {
		return nil, nil, apierr.New(apierr.InvalidInput, "The service control policy %s does not exist in your organization.", id)
	}
	if err != nil {
		return nil, nil, internal(err, "load policy "+id)
	}
	compiled, err := s.policies.Compile(policy.SCP, p.Content)
	if err != nil {
		return nil, nil, internal(err, "compile policy "+id)
	}
	targets := map[string]bool{}
	opt := store.ListOptions{Limit: 1000}
	for {
		ts, err := s.store.ListOrgTargets(ctx, id, opt)
		if err != nil {
			return nil, nil, internal(err, "list targets of policy "+id)
		}
		for _, t := range ts {
			targets[t] = true
		}
		if len(ts) < opt.Limit {
			break
		}
		opt.After = ts[len(ts)-1]
	}
	kept := accounts[:0:0]
	for _, a := range accounts {
		// The path's components after the organization id: the root, the
		// OUs, the account.
		if slices.ContainsFunc(strings.Split(a.path, "/")[1:], func(t string) bool { return targets[t] }) {
			kept = append(kept, a)
		}
	}
	return compiled, kept, nil
}

// accountPrincipals adds the ids of an account's users and roles to pathOf.
func (s *Service) accountPrincipals(ctx context.Context, a orgAccount, pathOf map[string]string) error {
	opt := store.ListOptions{Limit: 1000}
	for {
		us, err := s.store.ListUsers(ctx, a.id, opt)
		if err != nil {
			return internal(err, "list users of "+a.id)
		}
		for _, u := range us {
			pathOf[u.ID] = a.path
		}
		if len(us) < opt.Limit {
			break
		}
		opt.After = nameKey(us[len(us)-1].Name)
	}
	opt = store.ListOptions{Limit: 1000}
	for {
		rs, err := s.store.ListRoles(ctx, a.id, opt)
		if err != nil {
			return internal(err, "list roles of "+a.id)
		}
		for _, r := range rs {
			pathOf[r.ID] = a.path
		}
		if len(rs) < opt.Limit {
			return nil
		}
		opt.After = nameKey(rs[len(rs)-1].Name)
	}
}

// buildOrgDetails lists the services a report considers (those OpenSTS
// serves and those used, narrowed to what scp allows when there is one),
// each with its last use by a principal of pathOf and the number of
// accounts whose principals used it, by namespace.
func buildOrgDetails(scp *policy.Policy, uses []store.ServiceAccess, pathOf map[string]string) []AccessDetail {
	candidates := map[string]bool{}
	for ns := range serviceNames {
		candidates[ns] = true
	}
	if scp != nil {
		for _, ns := range scp.Services() {
			candidates[ns] = true
		}
	}
	for _, u := range uses {
		candidates[strings.ToLower(u.Service)] = true
	}
	out := []AccessDetail{}
	for ns := range candidates {
		if scp != nil && !scp.Grants(ns) {
			continue
		}
		d := AccessDetail{ServiceName: serviceName(ns), ServiceNamespace: ns}
		accounts := map[string]bool{}
		var last time.Time // as precise as stored, so the latest wins within a second
		for _, u := range uses {
			path, ok := pathOf[u.PrincipalID]
			if !ok || strings.ToLower(u.Service) != ns {
				continue
			}
			accounts[path] = true
			if d.LastAuthenticatedTime == nil || u.At.After(last) {
				at := u.At.UTC().Truncate(time.Second)
				last, d.LastAuthenticatedTime, d.Region, d.EntityPath = u.At, &at, u.Region, path
			}
		}
		d.TotalAuthenticatedEntities = len(accounts)
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b AccessDetail) int { return strings.Compare(a.ServiceNamespace, b.ServiceNamespace) })
	return out
}

// GetOrganizationsAccessReportInput is the input of
// GetOrganizationsAccessReport.
type GetOrganizationsAccessReportInput struct {
	JobID    string `query:"JobId" required:"true" min:"36" max:"36"`
	MaxItems *int32 `min:"1" max:"1000"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	SortKey  string `enum:"SERVICE_NAMESPACE_ASCENDING,SERVICE_NAMESPACE_DESCENDING,LAST_AUTHENTICATED_TIME_ASCENDING,LAST_AUTHENTICATED_TIME_DESCENDING"`
}

// GetOrganizationsAccessReportOutput is the output of
// GetOrganizationsAccessReport.
type GetOrganizationsAccessReportOutput struct {
	JobStatus                   string         `xml:"JobStatus"`
	JobCreationDate             time.Time      `xml:"JobCreationDate"`
	JobCompletionDate           time.Time      `xml:"JobCompletionDate"`
	NumberOfServicesAccessible  int            `xml:"NumberOfServicesAccessible"`
	NumberOfServicesNotAccessed int            `xml:"NumberOfServicesNotAccessed"`
	AccessDetails               []AccessDetail `xml:"AccessDetails>member"`
	Page
}

// Sort keys of GetOrganizationsAccessReport.
const (
	sortNamespaceAsc  = "SERVICE_NAMESPACE_ASCENDING"
	sortNamespaceDesc = "SERVICE_NAMESPACE_DESCENDING"
	sortTimeAsc       = "LAST_AUTHENTICATED_TIME_ASCENDING"
	sortTimeDesc      = "LAST_AUTHENTICATED_TIME_DESCENDING"
)

// GetOrganizationsAccessReport returns an organizations access report, a
// page of services at a time, in the order SortKey names (by namespace by
// default; by time, a service never used sorts as the oldest). The caller
// needs iam:GetOrganizationsAccessReport.
func (s *Service) GetOrganizationsAccessReport(ctx context.Context, c *authz.Caller, in *GetOrganizationsAccessReportInput) (*GetOrganizationsAccessReportOutput, error) {
	key := cmp.Or(in.SortKey, sortNamespaceAsc)
	switch key {
	case sortNamespaceAsc, sortNamespaceDesc, sortTimeAsc, sortTimeDesc:
	default:
		return nil, apierr.Validation(fmt.Sprintf("Value '%s' at 'sortKey' failed to satisfy constraint: Member must satisfy enum value set: [%s, %s, %s, %s]", in.SortKey, sortNamespaceAsc, sortNamespaceDesc, sortTimeAsc, sortTimeDesc))
	}
	r, rep, err := s.loadReport(ctx, c, "iam:GetOrganizationsAccessReport", in.JobID)
	if err != nil {
		return nil, err
	}
	details := rep.Org.Details
	notAccessed := 0
	for _, d := range details {
		if d.LastAuthenticatedTime == nil {
			notAccessed++
		}
	}
	byTime := func(a, b AccessDetail) int {
		switch {
		case a.LastAuthenticatedTime == nil && b.LastAuthenticatedTime == nil:
			return 0
		case a.LastAuthenticatedTime == nil:
			return -1
		case b.LastAuthenticatedTime == nil:
			return 1
		}
		return a.LastAuthenticatedTime.Compare(*b.LastAuthenticatedTime)
	}
	byNS := func(a, b AccessDetail) int { return strings.Compare(a.ServiceNamespace, b.ServiceNamespace) }
	switch key {
	case sortNamespaceDesc:
		slices.SortFunc(details, func(a, b AccessDetail) int { return byNS(b, a) })
	case sortTimeAsc:
		slices.SortFunc(details, func(a, b AccessDetail) int { return cmp.Or(byTime(a, b), byNS(a, b)) })
	case sortTimeDesc:
		slices.SortFunc(details, func(a, b AccessDetail) int { return cmp.Or(byTime(b, a), byNS(a, b)) })
	}
	page, p, err := paginateInOrder(details, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &GetOrganizationsAccessReportOutput{JobStatus: jobCompleted, JobCreationDate: r.CreatedAt.Truncate(time.Second), JobCompletionDate: rep.Completed,
		NumberOfServicesAccessible: len(details), NumberOfServicesNotAccessed: notAccessed, AccessDetails: page, Page: p}
	return out, nil
}

func errNoJob(id string) *apierr.Error {
	return apierr.New(apierr.NoSuchEntity, "The job with id %s cannot be found.", id)
}
