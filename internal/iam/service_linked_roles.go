package iam

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store"
)

// Service-linked roles: roles under /aws-service-role/SERVICE/ that trust
// one AWS service principal. Outside AWS no service assumes them on its
// own; OpenSTS keeps them with AWS's names, paths and trust policy so that
// tools which create them get the role they expect, and protects them as
// AWS does: only DeleteServiceLinkedRole deletes one, and no other role may
// be created under the reserved path.

// serviceRolePath is the path prefix of service-linked roles.
const serviceRolePath = "/aws-service-role/"

var servicePrincipalPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*\.amazonaws\.com$`)

// serviceLinkedRoleName is AWS's name for a service's linked role:
// AWSServiceRoleFor and the service's name without .amazonaws.com, each
// part capitalized ("elasticbeanstalk.amazonaws.com" ->
// AWSServiceRoleForElasticbeanstalk), with _SUFFIX when a custom suffix
// is given.
func serviceLinkedRoleName(service, suffix string) string {
	base := strings.TrimSuffix(service, ".amazonaws.com")
	var b strings.Builder
	b.WriteString("AWSServiceRoleFor")
	for _, part := range strings.FieldsFunc(base, func(r rune) bool { return r == '.' || r == '-' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	if suffix != "" {
		b.WriteString("_" + suffix)
	}
	return b.String()
}

func isServiceLinked(r store.Role) bool { return strings.HasPrefix(r.Path, serviceRolePath) }

// changeable refuses a change of a service-linked role's policies (inline,
// attached or boundary): AWS keeps them, and answers UnmodifiableEntity.
// Another principal kind, or an ordinary role, may be changed.
func changeable(kind store.PrincipalKind, e entity) error {
	if kind == store.KindRole && isServiceLinked(e.role) {
		return protectedRole(e.name)
	}
	return nil
}

// protectedRole is AWS's answer to a change of a service-linked role by an
// action other than DeleteServiceLinkedRole.
func protectedRole(name string) error {
	return apierr.New(apierr.UnmodifiableEntity, "Cannot perform the operation on the protected role '%s' - this role is only modifiable by AWS", name)
}

// CreateServiceLinkedRoleInput is the input of CreateServiceLinkedRole.
type CreateServiceLinkedRoleInput struct {
	AWSServiceName string `query:"AWSServiceName" required:"true" min:"1" max:"128" pattern:"[\\w+=,.@-]+"`
	Description    string `max:"1000" pattern:"[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*"`
	CustomSuffix   string `min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// CreateServiceLinkedRoleOutput is the output of CreateServiceLinkedRole.
type CreateServiceLinkedRoleOutput struct {
	Role Role `xml:"Role"`
}

// CreateServiceLinkedRole creates the role a service links to the account:
// AWSServiceRoleFor..., under /aws-service-role/SERVICE/, trusting the
// service principal. The caller needs iam:CreateServiceLinkedRole on the
// role, with iam:AWSServiceName the service.
func (s *Service) CreateServiceLinkedRole(ctx context.Context, c *authz.Caller, in *CreateServiceLinkedRoleInput) (*CreateServiceLinkedRoleOutput, error) {
	if !servicePrincipalPattern.MatchString(in.AWSServiceName) {
		return nil, apierr.New(apierr.InvalidInput, "Invalid service principal %s: a service principal is a name such as elasticbeanstalk.amazonaws.com.", in.AWSServiceName)
	}
	name := serviceLinkedRoleName(in.AWSServiceName, in.CustomSuffix)
	if len(name) > 64 {
		return nil, apierr.New(apierr.InvalidInput, "The role name %s is longer than 64 characters: use a shorter custom suffix.", name)
	}
	path := serviceRolePath + in.AWSServiceName + "/"
	if err := s.check(ctx, c, "iam:CreateServiceLinkedRole", roleARN(c.Account, path, name),
		authz.Key{Name: "iam:AWSServiceName", Values: []string{in.AWSServiceName}}); err != nil {
		return nil, err
	}
	id, err := s.newID("AROA")
	if err != nil {
		return nil, err
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + in.AWSServiceName + `"},"Action":"sts:AssumeRole"}]}`
	if err := s.compile(policy.Trust, trust); err != nil {
		return nil, err
	}
	r := store.Role{Account: c.Account, ID: id, Name: name, Path: path, TrustPolicy: trust, Description: in.Description,
		MaxSessionDuration: defaultMaxSessionDur, CreatedAt: s.time()}
	if err := s.store.CreateRole(ctx, r); err != nil {
		if isExists(err) {
			return nil, apierr.New(apierr.InvalidInput, "Service role name %s has been taken in this account, please try a different suffix.", name)
		}
		return nil, internal(err, "create service-linked role "+name)
	}
	out := roleOut(r, true)
	out.RoleLastUsed = nil
	return &CreateServiceLinkedRoleOutput{Role: out}, nil
}

// DeleteServiceLinkedRoleInput is the input of DeleteServiceLinkedRole.
type DeleteServiceLinkedRoleInput struct {
	RoleName string `required:"true" min:"1" max:"64" pattern:"[\\w+=,.@-]+"`
}

// DeleteServiceLinkedRoleOutput is the output of DeleteServiceLinkedRole.
type DeleteServiceLinkedRoleOutput struct {
	DeletionTaskID string `xml:"DeletionTaskId"`
}

// DeleteServiceLinkedRole deletes a service-linked role with its policies,
// unless a resource still uses it (here: an instance profile holds it),
// and records the outcome as a deletion task that
// GetServiceLinkedRoleDeletionStatus reports.
func (s *Service) DeleteServiceLinkedRole(ctx context.Context, c *authz.Caller, in *DeleteServiceLinkedRoleInput) (*DeleteServiceLinkedRoleOutput, error) {
	e, err := s.authEntity(ctx, c, store.KindRole, "iam:DeleteServiceLinkedRole", in.RoleName)
	if err != nil {
		return nil, err
	}
	if !isServiceLinked(e.role) {
		return nil, apierr.New(apierr.InvalidInput, "Role %s is not a service-linked role.", e.name)
	}
	service := strings.TrimSuffix(strings.TrimPrefix(e.role.Path, serviceRolePath), "/")
	uuid, err := s.uuid()
	if err != nil {
		return nil, err
	}
	task := store.RoleDeletionTask{Account: c.Account, ID: "task" + serviceRolePath + service + "/" + e.name + "/" + uuid, RoleName: e.name,
		Status: "SUCCEEDED", CreatedAt: s.time()}
	profiles, err := s.store.ListInstanceProfilesForRole(ctx, c.Account, e.role.ID, store.ListOptions{Limit: 100})
	if err != nil {
		return nil, internal(err, "list instance profiles for role "+e.name)
	}
	if len(profiles) > 0 {
		names := make([]string, len(profiles))
		for i, p := range profiles {
			names[i] = instanceProfileARN(c.Account, p.Path, p.Name)
		}
		task.Status, task.Reason = "FAILED", "The role is in use by instance profiles: "+strings.Join(names, ", ")
	} else if err := s.store.DeleteRole(ctx, c.Account, e.name); err != nil && !isNotFound(err) {
		return nil, internal(err, "delete service-linked role "+e.name)
	}
	if err := s.store.PutRoleDeletionTask(ctx, task); err != nil {
		return nil, internal(err, "record role deletion task")
	}
	return &DeleteServiceLinkedRoleOutput{DeletionTaskID: task.ID}, nil
}

// uuid returns a random (version 4) UUID.
func (s *Service) uuid() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(s.rand, b[:]); err != nil {
		return "", apierr.Internal(fmt.Errorf("new uuid: %w", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:]), nil
}

// GetServiceLinkedRoleDeletionStatusInput is the input of GetServiceLinkedRoleDeletionStatus.
type GetServiceLinkedRoleDeletionStatusInput struct {
	DeletionTaskID string `query:"DeletionTaskId" required:"true" min:"1" max:"1000"`
}

// RoleUsageType is the RoleUsageType shape.
type RoleUsageType struct {
	Region    string   `xml:"Region,omitempty"`
	Resources []string `xml:"Resources>member"`
}

// DeletionTaskFailureReason is the DeletionTaskFailureReasonType shape.
type DeletionTaskFailureReason struct {
	Reason        string          `xml:"Reason,omitempty"`
	RoleUsageList []RoleUsageType `xml:"RoleUsageList>member"`
}

// GetServiceLinkedRoleDeletionStatusOutput is the output of GetServiceLinkedRoleDeletionStatus.
type GetServiceLinkedRoleDeletionStatusOutput struct {
	Status string                     `xml:"Status"`
	Reason *DeletionTaskFailureReason `xml:"Reason,omitempty"`
}

// GetServiceLinkedRoleDeletionStatus reports a deletion task's outcome. The
// caller needs the action on the role the task deleted.
func (s *Service) GetServiceLinkedRoleDeletionStatus(ctx context.Context, c *authz.Caller, in *GetServiceLinkedRoleDeletionStatusInput) (*GetServiceLinkedRoleDeletionStatusOutput, error) {
	rest, ok := strings.CutPrefix(in.DeletionTaskID, "task"+serviceRolePath)
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 || !servicePrincipalPattern.MatchString(parts[0]) || !validName(parts[1], 64) || parts[2] == "" {
		return nil, apierr.New(apierr.InvalidInput, "Invalid deletion task id %s.", in.DeletionTaskID)
	}
	if err := s.check(ctx, c, "iam:GetServiceLinkedRoleDeletionStatus", roleARN(c.Account, serviceRolePath+parts[0]+"/", parts[1])); err != nil {
		return nil, err
	}
	task, err := s.store.GetRoleDeletionTask(ctx, c.Account, in.DeletionTaskID)
	if isNotFound(err) {
		return nil, apierr.New(apierr.NoSuchEntity, "The deletion task with id %s cannot be found.", in.DeletionTaskID)
	}
	if err != nil {
		return nil, internal(err, "load role deletion task")
	}
	out := &GetServiceLinkedRoleDeletionStatusOutput{Status: task.Status}
	if task.Status == "FAILED" {
		out.Reason = &DeletionTaskFailureReason{Reason: task.Reason, RoleUsageList: []RoleUsageType{}}
	}
	return out, nil
}
