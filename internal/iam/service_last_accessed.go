package iam

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/session"
	"github.com/opensts/opensts/internal/store"
)

// Service last accessed data: GenerateServiceLastAccessedDetails builds a
// report at once from the recorded uses (internal/lastaccess) and stores it
// (store.AccessReport), so that GetServiceLastAccessedDetails* read it on
// any node; reports are kept for reportRetention. A report lists the
// services the entity's policies grant (policy.Policy.Grants), each with its
// last authenticated use by the entity (a user or role) or by any entity
// the group or policy applies to. Its size is bounded by the services
// granted times the entities covered.

// reportRetention is how long a generated report can be read.
const reportRetention = 7 * 24 * time.Hour

// Job statuses and types as IAM names them.
const (
	jobCompleted   = "COMPLETED"
	serviceLevel   = "SERVICE_LEVEL"
	actionLevel    = "ACTION_LEVEL"
	maxReportItems = 1000
)

// serviceNames are the display names of the services OpenSTS serves, and
// the services every report considers besides those its policies name.
var serviceNames = map[string]string{
	"cloudtrail":    "AWS CloudTrail",
	"iam":           "AWS Identity and Access Management",
	"organizations": "AWS Organizations",
	"sts":           "AWS Security Token Service",
}

// serviceName is a namespace's display name; the namespace itself for a
// service OpenSTS does not serve.
func serviceName(ns string) string {
	if n, ok := serviceNames[ns]; ok {
		return n
	}
	return ns
}

// GenerateServiceLastAccessedDetailsInput is the input of
// GenerateServiceLastAccessedDetails.
type GenerateServiceLastAccessedDetailsInput struct {
	ARN         string `query:"Arn" required:"true" min:"20" max:"2048"`
	Granularity string `enum:"SERVICE_LEVEL,ACTION_LEVEL"` // SERVICE_LEVEL (default) | ACTION_LEVEL
}

// GenerateServiceLastAccessedDetailsOutput is the output of
// GenerateServiceLastAccessedDetails.
type GenerateServiceLastAccessedDetailsOutput struct {
	JobID string `xml:"JobId"`
}

// TrackedActionLastAccessed is one action's last use.
type TrackedActionLastAccessed struct {
	ActionName         string     `xml:"ActionName" json:"a"`
	LastAccessedEntity string     `xml:"LastAccessedEntity,omitempty" json:"e,omitempty"`
	LastAccessedTime   *time.Time `xml:"LastAccessedTime,omitempty" json:"t,omitempty"`
	LastAccessedRegion string     `xml:"LastAccessedRegion,omitempty" json:"r,omitempty"`
}

// ServiceLastAccessed is one granted service's last use.
type ServiceLastAccessed struct {
	ServiceName                string                      `xml:"ServiceName" json:"n"`
	LastAuthenticated          *time.Time                  `xml:"LastAuthenticated,omitempty" json:"t,omitempty"`
	ServiceNamespace           string                      `xml:"ServiceNamespace" json:"s"`
	LastAuthenticatedEntity    string                      `xml:"LastAuthenticatedEntity,omitempty" json:"e,omitempty"`
	LastAuthenticatedRegion    string                      `xml:"LastAuthenticatedRegion,omitempty" json:"r,omitempty"`
	TotalAuthenticatedEntities int                         `xml:"TotalAuthenticatedEntities" json:"c"`
	TrackedActionsLastAccessed []TrackedActionLastAccessed `xml:"TrackedActionsLastAccessed>member,omitempty" json:"x,omitempty"`
}

// EntityInfo names an entity of a report.
type EntityInfo struct {
	ARN  string `xml:"Arn" json:"a"`
	Name string `xml:"Name" json:"n"`
	Type string `xml:"Type" json:"y"` // USER | ROLE
	ID   string `xml:"Id" json:"i"`
	Path string `xml:"Path,omitempty" json:"p,omitempty"`
}

// EntityDetails is one entity's last use of a service.
type EntityDetails struct {
	EntityInfo        EntityInfo `xml:"EntityInfo" json:"i"`
	LastAuthenticated *time.Time `xml:"LastAuthenticated,omitempty" json:"t,omitempty"`
}

// accessReport is what a stored report holds.
type accessReport struct {
	JobType   string                     `json:"type"`
	Completed time.Time                  `json:"completed"`
	Services  []ServiceLastAccessed      `json:"services"`
	Entities  map[string][]EntityDetails `json:"entities"`      // by namespace
	Org       *orgReport                 `json:"org,omitempty"` // an organizations access report
}

// reportEntity is a user or role a report covers.
type reportEntity struct {
	info EntityInfo
}

// GenerateServiceLastAccessedDetails builds the service last accessed report
// of a user, role, group or managed policy and returns its job id. The
// caller needs iam:GenerateServiceLastAccessedDetails on the entity's ARN.
func (s *Service) GenerateServiceLastAccessedDetails(ctx context.Context, c *authz.Caller, in *GenerateServiceLastAccessedDetailsInput) (*GenerateServiceLastAccessedDetailsOutput, error) {
	granularity := cmp.Or(in.Granularity, serviceLevel)
	if granularity != serviceLevel && granularity != actionLevel {
		return nil, apierr.Validation(fmt.Sprintf("Value '%s' at 'granularity' failed to satisfy constraint: Member must satisfy enum value set: [SERVICE_LEVEL, ACTION_LEVEL]", in.Granularity))
	}
	const action = "iam:GenerateServiceLastAccessedDetails"
	a, err := arn.Parse(in.ARN)
	if err != nil || a.Service != "iam" {
		return nil, apierr.New(apierr.InvalidInput, "ARN %s is not valid.", in.ARN)
	}
	kind, _, _ := strings.Cut(a.Resource, "/")
	var (
		policies []policy.Named
		entities []reportEntity
	)
	switch kind {
	case "user", "role", "group":
		r, ok := arn.ParseIAM(in.ARN, kind)
		if !ok {
			return nil, apierr.New(apierr.InvalidInput, "ARN %s is not valid.", in.ARN)
		}
		if r.Account != c.Account {
			if err := s.check(ctx, c, action, in.ARN); err != nil {
				return nil, err
			}
			return nil, noSuchEntity(store.PrincipalKind(kind), r.Name)
		}
		e, err := s.authEntity(ctx, c, store.PrincipalKind(kind), action, r.Name)
		if err != nil {
			return nil, err
		}
		if orRoot(e.path) != orRoot(r.Path) {
			return nil, noSuchEntity(e.kind, r.Name)
		}
		if policies, entities, err = s.entityScope(ctx, c.Account, e); err != nil {
			return nil, err
		}
	case "policy":
		mp, err := s.authPolicy(ctx, c, action, in.ARN, false)
		if err != nil {
			return nil, err
		}
		n, err := s.authz.ManagedPolicy(ctx, mp.ARN)
		if err != nil {
			return nil, internal(err, "load policy "+mp.ARN)
		}
		policies = []policy.Named{n}
		if entities, err = s.policyEntities(ctx, c.Account, mp.ARN); err != nil {
			return nil, err
		}
	default:
		return nil, apierr.New(apierr.InvalidInput, "ARN %s is not valid: name a user, group, role or policy.", in.ARN)
	}

	if s.flushUses != nil {
		// This node's uses not yet written; other nodes' are at most
		// their write interval behind.
		if err := s.flushUses(ctx); err != nil {
			return nil, internal(err, "write service last accessed data")
		}
	}
	ids := make([]string, len(entities))
	for i, e := range entities {
		ids[i] = e.info.ID
	}
	uses, err := s.store.ListServiceAccess(ctx, ids)
	if err != nil {
		return nil, internal(err, "load service last accessed data")
	}
	now := s.time()
	rep := buildReport(policies, entities, uses, granularity == actionLevel)
	rep.JobType, rep.Completed = granularity, now
	id, err := s.saveReport(ctx, c.Account, rep, now)
	if err != nil {
		return nil, err
	}
	return &GenerateServiceLastAccessedDetailsOutput{JobID: id}, nil
}

// saveReport stores a finished report under a new job id, after pruning
// those past their retention.
func (s *Service) saveReport(ctx context.Context, account string, rep accessReport, now time.Time) (string, error) {
	data, err := json.Marshal(rep)
	if err != nil {
		return "", internal(err, "encode report")
	}
	id, err := newJobID(s.rand)
	if err != nil {
		return "", internal(err, "new job id")
	}
	if _, err := s.store.PruneAccessReports(ctx, now.Add(-reportRetention)); err != nil {
		return "", internal(err, "prune reports")
	}
	if err := s.store.PutAccessReport(ctx, store.AccessReport{Account: account, ID: id, CreatedAt: now, Data: data}); err != nil {
		return "", internal(err, "store report")
	}
	return id, nil
}

// entityScope returns the identity policies of a user, role or group and the
// entities whose uses count: the user or role, or the group's members.
func (s *Service) entityScope(ctx context.Context, account string, e entity) ([]policy.Named, []reportEntity, error) {
	ps, err := s.identityPolicies(ctx, account, e)
	if err != nil {
		return nil, nil, internal(err, "load policies of "+e.arn)
	}
	switch e.kind {
	case store.KindUser:
		return ps, []reportEntity{userEntity(account, e.user)}, nil
	case store.KindRole:
		return ps, []reportEntity{roleEntity(account, e.role)}, nil
	}
	members, err := s.groupMembers(ctx, account, e.name)
	return ps, members, err
}

// identityPolicies returns the identity policies of a user, role (as its
// sessions have them, without session policies) or group.
func (s *Service) identityPolicies(ctx context.Context, account string, e entity) ([]policy.Named, error) {
	switch e.kind {
	case store.KindUser:
		set, err := s.authz.PolicySet(ctx, &authz.Caller{Account: account, Type: policy.User, UserName: e.name, UserID: e.user.ID})
		return set.Identity, err
	case store.KindRole:
		set, err := s.authz.PolicySet(ctx, &authz.Caller{Account: account, Type: policy.AssumedRole,
			Session: &session.Session{Type: session.AssumedRole, RoleName: e.name, RoleID: e.role.ID, RolePath: e.path}})
		return set.Identity, err
	}
	return s.groupPolicies(ctx, account, e.name)
}

func (s *Service) groupMembers(ctx context.Context, account, group string) ([]reportEntity, error) {
	var out []reportEntity
	opt := store.ListOptions{Limit: 1000}
	for {
		us, err := s.store.ListGroupMembers(ctx, account, group, opt)
		if err != nil {
			return nil, internal(err, "list members of group "+group)
		}
		for _, u := range us {
			out = append(out, userEntity(account, u))
		}
		if len(us) < opt.Limit {
			return out, nil
		}
		opt.After = nameKey(us[len(us)-1].Name)
	}
}

// policyEntities are the users and roles a managed policy is attached to,
// directly or through a group, in account.
func (s *Service) policyEntities(ctx context.Context, account, policyARN string) ([]reportEntity, error) {
	var out []reportEntity
	seen := map[string]bool{}
	for _, kind := range []store.PrincipalKind{store.KindUser, store.KindRole, store.KindGroup} {
		opt := store.ListOptions{Limit: 1000}
		for {
			es, err := s.store.ListPolicyEntities(ctx, account, policyARN, kind, store.UseAttached, opt)
			if err != nil {
				return nil, internal(err, "list entities for policy")
			}
			for _, pe := range es {
				var add []reportEntity
				switch kind {
				case store.KindUser:
					add = []reportEntity{{info: EntityInfo{ARN: userARN(account, orRoot(pe.Path), pe.Name), Name: pe.Name, Type: "USER", ID: pe.ID, Path: orRoot(pe.Path)}}}
				case store.KindRole:
					add = []reportEntity{{info: EntityInfo{ARN: roleARN(account, orRoot(pe.Path), pe.Name), Name: pe.Name, Type: "ROLE", ID: pe.ID, Path: orRoot(pe.Path)}}}
				case store.KindGroup:
					if add, err = s.groupMembers(ctx, account, pe.Name); err != nil {
						return nil, err
					}
				}
				for _, e := range add {
					if !seen[e.info.ID] {
						seen[e.info.ID] = true
						out = append(out, e)
					}
				}
			}
			if len(es) < opt.Limit {
				break
			}
			opt.After = nameKey(es[len(es)-1].Name)
		}
	}
	return out, nil
}

func userEntity(account string, u store.User) reportEntity {
	return reportEntity{info: EntityInfo{ARN: userARN(account, orRoot(u.Path), u.Name), Name: u.Name, Type: "USER", ID: u.ID, Path: orRoot(u.Path)}}
}

func roleEntity(account string, r store.Role) reportEntity {
	return reportEntity{info: EntityInfo{ARN: roleARN(account, orRoot(r.Path), r.Name), Name: r.Name, Type: "ROLE", ID: r.ID, Path: orRoot(r.Path)}}
}

// buildReport lists every service the policies grant, by namespace, with
// its last use by any of entities (and, with actions, each action's).
func buildReport(policies []policy.Named, entities []reportEntity, uses []store.ServiceAccess, actions bool) accessReport {
	byID := make(map[string]*reportEntity, len(entities))
	for i := range entities {
		byID[entities[i].info.ID] = &entities[i]
	}
	candidates := map[string]bool{}
	for ns := range serviceNames {
		candidates[ns] = true
	}
	for _, p := range policies {
		for _, ns := range p.Policy.Services() {
			candidates[ns] = true
		}
	}
	for _, u := range uses {
		candidates[strings.ToLower(u.Service)] = true
	}
	rep := accessReport{Services: []ServiceLastAccessed{}, Entities: map[string][]EntityDetails{}}
	for ns := range candidates {
		if !slices.ContainsFunc(policies, func(p policy.Named) bool { return p.Policy.Grants(ns) }) {
			continue
		}
		svc := ServiceLastAccessed{ServiceName: serviceName(ns), ServiceNamespace: ns}
		last := map[string]time.Time{} // by entity id
		acts := map[string]*TrackedActionLastAccessed{}
		for _, u := range uses {
			e := byID[u.PrincipalID]
			if e == nil || strings.ToLower(u.Service) != ns {
				continue
			}
			at := u.At.UTC().Truncate(time.Second)
			if t, ok := last[u.PrincipalID]; !ok || at.After(t) {
				last[u.PrincipalID] = at
			}
			if svc.LastAuthenticated == nil || at.After(*svc.LastAuthenticated) {
				svc.LastAuthenticated, svc.LastAuthenticatedEntity, svc.LastAuthenticatedRegion = &at, e.info.ARN, u.Region
			}
			if actions {
				a := acts[u.Action]
				if a == nil {
					a = &TrackedActionLastAccessed{ActionName: u.Action}
					acts[u.Action] = a
				}
				if a.LastAccessedTime == nil || at.After(*a.LastAccessedTime) {
					a.LastAccessedTime, a.LastAccessedEntity, a.LastAccessedRegion = &at, e.info.ARN, u.Region
				}
			}
		}
		svc.TotalAuthenticatedEntities = len(last)
		for _, a := range acts {
			svc.TrackedActionsLastAccessed = append(svc.TrackedActionsLastAccessed, *a)
		}
		slices.SortFunc(svc.TrackedActionsLastAccessed, func(a, b TrackedActionLastAccessed) int { return strings.Compare(a.ActionName, b.ActionName) })
		rep.Services = append(rep.Services, svc)
		details := make([]EntityDetails, 0, len(entities))
		for _, e := range entities {
			d := EntityDetails{EntityInfo: e.info}
			if t, ok := last[e.info.ID]; ok {
				d.LastAuthenticated = &t
			}
			details = append(details, d)
		}
		// Most recent first, then never used, by name.
		slices.SortFunc(details, func(a, b EntityDetails) int {
			switch {
			case a.LastAuthenticated != nil && b.LastAuthenticated != nil && !a.LastAuthenticated.Equal(*b.LastAuthenticated):
				return b.LastAuthenticated.Compare(*a.LastAuthenticated)
			case (a.LastAuthenticated == nil) != (b.LastAuthenticated == nil):
				if a.LastAuthenticated != nil {
					return -1
				}
				return 1
			}
			return cmp.Or(strings.Compare(a.EntityInfo.Name, b.EntityInfo.Name), strings.Compare(a.EntityInfo.ID, b.EntityInfo.ID))
		})
		rep.Entities[ns] = details
	}
	slices.SortFunc(rep.Services, func(a, b ServiceLastAccessed) int { return strings.Compare(a.ServiceNamespace, b.ServiceNamespace) })
	return rep
}

// newJobID returns a random (version 4) UUID.
func newJobID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], nil
}

// loadReport authorizes action and loads a report of the caller's account.
func (s *Service) loadReport(ctx context.Context, c *authz.Caller, action, jobID string) (store.AccessReport, accessReport, error) {
	if err := s.check(ctx, c, action, "*"); err != nil {
		return store.AccessReport{}, accessReport{}, err
	}
	r, err := s.store.GetAccessReport(ctx, c.Account, jobID)
	if isNotFound(err) {
		return store.AccessReport{}, accessReport{}, errNoJob(jobID)
	}
	if err != nil {
		return store.AccessReport{}, accessReport{}, internal(err, "load report")
	}
	var rep accessReport
	if err := json.Unmarshal(r.Data, &rep); err != nil {
		return store.AccessReport{}, accessReport{}, internal(err, "decode report")
	}
	if (rep.Org != nil) != (action == "iam:GetOrganizationsAccessReport") {
		// The other kind of report: not a job of this action.
		return store.AccessReport{}, accessReport{}, errNoJob(jobID)
	}
	return r, rep, nil
}

// GetServiceLastAccessedDetailsInput is the input of
// GetServiceLastAccessedDetails.
type GetServiceLastAccessedDetailsInput struct {
	JobID    string `query:"JobId" required:"true" min:"36" max:"36"`
	MaxItems *int32 `min:"1" max:"1000"`
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
}

// GetServiceLastAccessedDetailsOutput is the output of
// GetServiceLastAccessedDetails.
type GetServiceLastAccessedDetailsOutput struct {
	JobStatus            string                `xml:"JobStatus"`
	JobType              string                `xml:"JobType"`
	JobCreationDate      time.Time             `xml:"JobCreationDate"`
	ServicesLastAccessed []ServiceLastAccessed `xml:"ServicesLastAccessed>member"`
	JobCompletionDate    time.Time             `xml:"JobCompletionDate"`
	Page
}

// GetServiceLastAccessedDetails returns a report, a page of services at a
// time. The caller needs iam:GetServiceLastAccessedDetails.
func (s *Service) GetServiceLastAccessedDetails(ctx context.Context, c *authz.Caller, in *GetServiceLastAccessedDetailsInput) (*GetServiceLastAccessedDetailsOutput, error) {
	r, rep, err := s.loadReport(ctx, c, "iam:GetServiceLastAccessedDetails", in.JobID)
	if err != nil {
		return nil, err
	}
	page, p, err := paginate(rep.Services, func(s ServiceLastAccessed) string { return s.ServiceNamespace }, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	return &GetServiceLastAccessedDetailsOutput{JobStatus: jobCompleted, JobType: rep.JobType, JobCreationDate: r.CreatedAt.Truncate(time.Second),
		ServicesLastAccessed: page, JobCompletionDate: rep.Completed, Page: p}, nil
}

// GetServiceLastAccessedDetailsWithEntitiesInput is the input of
// GetServiceLastAccessedDetailsWithEntities.
type GetServiceLastAccessedDetailsWithEntitiesInput struct {
	JobID            string `query:"JobId" required:"true" min:"36" max:"36"`
	ServiceNamespace string `required:"true" min:"1" max:"64" pattern:"[\\w-]*"`
	MaxItems         *int32 `min:"1" max:"1000"`
	Marker           string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
}

// GetServiceLastAccessedDetailsWithEntitiesOutput is the output of
// GetServiceLastAccessedDetailsWithEntities.
type GetServiceLastAccessedDetailsWithEntitiesOutput struct {
	JobStatus         string          `xml:"JobStatus"`
	JobCreationDate   time.Time       `xml:"JobCreationDate"`
	JobCompletionDate time.Time       `xml:"JobCompletionDate"`
	EntityDetailsList []EntityDetails `xml:"EntityDetailsList>member"`
	Page
}

// GetServiceLastAccessedDetailsWithEntities returns, for one service of a
// report, the users and roles it covers with their last use of it, most
// recent first. The caller needs iam:GetServiceLastAccessedDetailsWithEntities.
func (s *Service) GetServiceLastAccessedDetailsWithEntities(ctx context.Context, c *authz.Caller, in *GetServiceLastAccessedDetailsWithEntitiesInput) (*GetServiceLastAccessedDetailsWithEntitiesOutput, error) {
	r, rep, err := s.loadReport(ctx, c, "iam:GetServiceLastAccessedDetailsWithEntities", in.JobID)
	if err != nil {
		return nil, err
	}
	details := rep.Entities[strings.ToLower(in.ServiceNamespace)]
	page, p, err := paginateInOrder(details, in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	out := &GetServiceLastAccessedDetailsWithEntitiesOutput{JobStatus: jobCompleted, JobCreationDate: r.CreatedAt.Truncate(time.Second),
		JobCompletionDate: rep.Completed, EntityDetailsList: page, Page: p}
	return out, nil
}
