package iam

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/store"
)

// GetAccountAuthorizationDetails: every user, group, role and managed
// policy of the account with the policies that apply to it, a page at a
// time. The list is the sections User, Group, Role, LocalManagedPolicy,
// AWSManagedPolicy in that order, each in name key order; the marker is
// the section and the name key of the last entry returned, so a page costs
// its entries (each a few indexed reads: inline policies, attachments,
// groups or instance profiles, versions), not the account's size. AWS
// managed policies are listed when the account uses them (attached or as a
// boundary): OpenSTS ships a fixed, small set.

// PolicyDetail is an inline policy: its name and URL-encoded document.
type PolicyDetail struct {
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

// UserDetail is the IAM UserDetail shape.
type UserDetail struct {
	Path                    string                       `xml:"Path"`
	UserName                string                       `xml:"UserName"`
	UserID                  string                       `xml:"UserId"`
	ARN                     string                       `xml:"Arn"`
	CreateDate              time.Time                    `xml:"CreateDate"`
	UserPolicyList          []PolicyDetail               `xml:"UserPolicyList>member"`
	GroupList               []string                     `xml:"GroupList>member"`
	AttachedManagedPolicies []AttachedPolicy             `xml:"AttachedManagedPolicies>member"`
	PermissionsBoundary     *AttachedPermissionsBoundary `xml:"PermissionsBoundary,omitempty"`
	Tags                    []Tag                        `xml:"Tags>member"`
}

// GroupDetail is the IAM GroupDetail shape.
type GroupDetail struct {
	Path                    string           `xml:"Path"`
	GroupName               string           `xml:"GroupName"`
	GroupID                 string           `xml:"GroupId"`
	ARN                     string           `xml:"Arn"`
	CreateDate              time.Time        `xml:"CreateDate"`
	GroupPolicyList         []PolicyDetail   `xml:"GroupPolicyList>member"`
	AttachedManagedPolicies []AttachedPolicy `xml:"AttachedManagedPolicies>member"`
}

// RoleDetail is the IAM RoleDetail shape.
type RoleDetail struct {
	Path                     string                       `xml:"Path"`
	RoleName                 string                       `xml:"RoleName"`
	RoleID                   string                       `xml:"RoleId"`
	ARN                      string                       `xml:"Arn"`
	CreateDate               time.Time                    `xml:"CreateDate"`
	AssumeRolePolicyDocument string                       `xml:"AssumeRolePolicyDocument"`
	InstanceProfileList      []InstanceProfile            `xml:"InstanceProfileList>member"`
	RolePolicyList           []PolicyDetail               `xml:"RolePolicyList>member"`
	AttachedManagedPolicies  []AttachedPolicy             `xml:"AttachedManagedPolicies>member"`
	PermissionsBoundary      *AttachedPermissionsBoundary `xml:"PermissionsBoundary,omitempty"`
	Tags                     []Tag                        `xml:"Tags>member"`
	RoleLastUsed             *RoleLastUsed                `xml:"RoleLastUsed,omitempty"`
}

// ManagedPolicyDetail is the IAM ManagedPolicyDetail shape: the policy with
// every version's (URL-encoded) document.
type ManagedPolicyDetail struct {
	PolicyName                    string          `xml:"PolicyName"`
	PolicyID                      string          `xml:"PolicyId"`
	ARN                           string          `xml:"Arn"`
	Path                          string          `xml:"Path"`
	DefaultVersionID              string          `xml:"DefaultVersionId"`
	AttachmentCount               int32           `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int32           `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool            `xml:"IsAttachable"`
	Description                   string          `xml:"Description,omitempty"`
	CreateDate                    time.Time       `xml:"CreateDate"`
	UpdateDate                    time.Time       `xml:"UpdateDate"`
	PolicyVersionList             []PolicyVersion `xml:"PolicyVersionList>member"`
}

// GetAccountAuthorizationDetailsInput is the input of GetAccountAuthorizationDetails.
type GetAccountAuthorizationDetailsInput struct {
	Filter   []string
	Marker   string `min:"1" max:"320" pattern:"[\\u0020-\\u00FF]+"`
	MaxItems *int32 `min:"1" max:"1000"`
}

// GetAccountAuthorizationDetailsOutput is the output of GetAccountAuthorizationDetails.
type GetAccountAuthorizationDetailsOutput struct {
	UserDetailList  []UserDetail          `xml:"UserDetailList>member"`
	GroupDetailList []GroupDetail         `xml:"GroupDetailList>member"`
	RoleDetailList  []RoleDetail          `xml:"RoleDetailList>member"`
	Policies        []ManagedPolicyDetail `xml:"Policies>member"`
	Page
}

// filterEnum is the Filter values as the model's enum lists them (and
// AWS's ValidationError quotes them).
const filterEnum = "User, Role, Group, LocalManagedPolicy, AWSManagedPolicy"

// The sections of the list, in order.
var detailSections = []string{"User", "Group", "Role", "LocalManagedPolicy", "AWSManagedPolicy"}

// GetAccountAuthorizationDetails lists the account's entities and policies
// that Filter selects (all when empty).
func (s *Service) GetAccountAuthorizationDetails(ctx context.Context, c *authz.Caller, in *GetAccountAuthorizationDetailsInput) (*GetAccountAuthorizationDetailsOutput, error) {
	want := map[int]bool{}
	for _, f := range in.Filter {
		i := indexOf(detailSections, f)
		if i < 0 {
			return nil, apierr.Validation(fmt.Sprintf("Value '[%s]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [%s]]",
				strings.Join(in.Filter, ", "), filterEnum))
		}
		want[i] = true
	}
	if len(want) == 0 {
		for i := range detailSections {
			want[i] = true
		}
	}
	if err := s.check(ctx, c, "iam:GetAccountAuthorizationDetails", "*"); err != nil {
		return nil, err
	}
	req, err := pageRequest(in.Marker, in.MaxItems)
	if err != nil {
		return nil, err
	}
	start, after := 0, ""
	if req.after != "" {
		sec, key, ok := strings.Cut(req.after, ":")
		n, err := strconv.Atoi(sec)
		if !ok || err != nil || n < 0 || n >= len(detailSections) {
			return nil, apierr.New(apierr.InvalidInput, "Invalid Marker.")
		}
		start, after = n, key
	}
	out := &GetAccountAuthorizationDetailsOutput{UserDetailList: []UserDetail{}, GroupDetailList: []GroupDetail{}, RoleDetailList: []RoleDetail{}, Policies: []ManagedPolicyDetail{}}
	d := detailer{s: s, account: c.Account, out: out, left: req.size}
	for sec := start; sec < len(detailSections); sec++ {
		if !want[sec] {
			continue
		}
		from := ""
		if sec == start {
			from = after
		}
		last, more, err := d.section(ctx, sec, from)
		if err != nil {
			return nil, err
		}
		if more {
			out.Page = Page{IsTruncated: true, Marker: encodeMarker(strconv.Itoa(sec) + ":" + last)}
			return out, nil
		}
	}
	return out, nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

// detailer fills one page.
type detailer struct {
	s       *Service
	account string
	out     *GetAccountAuthorizationDetailsOutput
	left    int // entries the page still takes
}

// section adds the entries of section sec after the name key from, as many
// as the page takes; it returns the key of the last one added and whether
// the section has more (the page is full).
func (d *detailer) section(ctx context.Context, sec int, from string) (last string, more bool, err error) {
	if d.left == 0 {
		return from, true, nil
	}
	opt := store.ListOptions{After: from, Limit: d.left + 1}
	switch detailSections[sec] {
	case "User":
		us, err := d.s.store.ListUsers(ctx, d.account, opt)
		if err != nil {
			return "", false, internal(err, "list users")
		}
		for i, u := range us {
			if d.left == 0 {
				return nameKey(us[i-1].Name), true, nil
			}
			ud, err := d.user(ctx, u)
			if err != nil {
				return "", false, err
			}
			d.out.UserDetailList = append(d.out.UserDetailList, ud)
			d.left--
		}
	case "Group":
		gs, err := d.s.store.ListGroups(ctx, d.account, opt)
		if err != nil {
			return "", false, internal(err, "list groups")
		}
		for i, g := range gs {
			if d.left == 0 {
				return nameKey(gs[i-1].Name), true, nil
			}
			inline, atts, err := d.policies(ctx, store.KindGroup, g.Name)
			if err != nil {
				return "", false, err
			}
			d.out.GroupDetailList = append(d.out.GroupDetailList, GroupDetail{Path: g.Path, GroupName: g.Name, GroupID: g.ID,
				ARN: groupARN(g.Account, g.Path, g.Name), CreateDate: g.CreatedAt.UTC(), GroupPolicyList: inline, AttachedManagedPolicies: atts})
			d.left--
		}
	case "Role":
		rs, err := d.s.store.ListRoles(ctx, d.account, opt)
		if err != nil {
			return "", false, internal(err, "list roles")
		}
		for i, r := range rs {
			if d.left == 0 {
				return nameKey(rs[i-1].Name), true, nil
			}
			rd, err := d.role(ctx, r)
			if err != nil {
				return "", false, err
			}
			d.out.RoleDetailList = append(d.out.RoleDetailList, rd)
			d.left--
		}
	case "LocalManagedPolicy", "AWSManagedPolicy":
		owner := d.account
		if detailSections[sec] == "AWSManagedPolicy" {
			owner = awsManagedPolicyOwner
			opt.Limit = 0 // a fixed, small set, filtered by use below
		}
		ps, err := d.s.store.ListManagedPolicies(ctx, owner, opt)
		if err != nil {
			return "", false, internal(err, "list managed policies")
		}
		prev := from
		for _, mp := range ps {
			u, err := d.s.policyUsage(ctx, d.account, mp)
			if err != nil {
				return "", false, err
			}
			if owner == awsManagedPolicyOwner && u.attachments == 0 && u.boundaries == 0 {
				continue
			}
			if d.left == 0 {
				return prev, true, nil
			}
			pd, err := d.policy(ctx, mp, u)
			if err != nil {
				return "", false, err
			}
			d.out.Policies = append(d.out.Policies, pd)
			d.left--
			prev = nameKey(mp.Name)
		}
	}
	return "", false, nil
}

// policies returns the inline policies and attached managed policies of a
// user, group or role.
func (d *detailer) policies(ctx context.Context, kind store.PrincipalKind, owner string) ([]PolicyDetail, []AttachedPolicy, error) {
	inline, err := d.s.store.ListInlinePolicies(ctx, d.account, kind, owner)
	if err != nil {
		return nil, nil, internal(err, "list inline policies")
	}
	pds := make([]PolicyDetail, 0, len(inline))
	for _, ip := range inline {
		pds = append(pds, PolicyDetail{PolicyName: ip.Name, PolicyDocument: encodeDocument(ip.Document)})
	}
	atts, err := d.s.store.ListAttachments(ctx, d.account, kind, owner)
	if err != nil {
		return nil, nil, internal(err, "list attached policies")
	}
	aps := make([]AttachedPolicy, 0, len(atts))
	for _, a := range atts {
		_, _, name, _ := parsePolicyARN(a.PolicyARN)
		aps = append(aps, AttachedPolicy{PolicyName: name, PolicyARN: a.PolicyARN})
	}
	return pds, aps, nil
}

func (d *detailer) user(ctx context.Context, u store.User) (UserDetail, error) {
	inline, atts, err := d.policies(ctx, store.KindUser, u.Name)
	if err != nil {
		return UserDetail{}, err
	}
	groups, err := d.s.store.ListGroupsForUser(ctx, d.account, u.Name)
	if err != nil {
		return UserDetail{}, internal(err, "list groups for user")
	}
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.Name)
	}
	tags := tagsOut(u.Tags)
	if tags == nil {
		tags = []Tag{}
	}
	return UserDetail{Path: u.Path, UserName: u.Name, UserID: u.ID, ARN: userARN(u.Account, u.Path, u.Name), CreateDate: u.CreatedAt.UTC(),
		UserPolicyList: inline, GroupList: names, AttachedManagedPolicies: atts, PermissionsBoundary: boundaryOut(u.PermissionsBoundary), Tags: tags}, nil
}

func (d *detailer) role(ctx context.Context, r store.Role) (RoleDetail, error) {
	inline, atts, err := d.policies(ctx, store.KindRole, r.Name)
	if err != nil {
		return RoleDetail{}, err
	}
	profiles, err := d.s.store.ListInstanceProfilesForRole(ctx, d.account, r.ID, store.ListOptions{})
	if err != nil {
		return RoleDetail{}, internal(err, "list instance profiles for role")
	}
	ips := make([]InstanceProfile, 0, len(profiles))
	for _, p := range profiles {
		o, err := d.s.instanceProfileOut(ctx, p, false)
		if err != nil {
			return RoleDetail{}, err
		}
		ips = append(ips, o)
	}
	r.TrustPolicy = d.s.principalNames().show(ctx, r.TrustPolicy)
	ro := roleOut(r, true)
	tags := ro.Tags
	if tags == nil {
		tags = []Tag{}
	}
	return RoleDetail{Path: ro.Path, RoleName: ro.RoleName, RoleID: ro.RoleID, ARN: ro.ARN, CreateDate: ro.CreateDate,
		AssumeRolePolicyDocument: ro.AssumeRolePolicyDocument, InstanceProfileList: ips, RolePolicyList: inline, AttachedManagedPolicies: atts,
		PermissionsBoundary: ro.PermissionsBoundary, Tags: tags, RoleLastUsed: ro.RoleLastUsed}, nil
}

func (d *detailer) policy(ctx context.Context, mp store.ManagedPolicy, u usage) (ManagedPolicyDetail, error) {
	versions, err := d.s.store.ListPolicyVersions(ctx, mp.ARN)
	if err != nil {
		return ManagedPolicyDetail{}, internal(err, "list policy versions")
	}
	vs := make([]PolicyVersion, 0, len(versions))
	for _, v := range versions {
		vs = append(vs, versionOut(v, mp.DefaultVersionID, true))
	}
	p := policyOut(mp, u, policyGot)
	return ManagedPolicyDetail{PolicyName: p.PolicyName, PolicyID: p.PolicyID, ARN: p.ARN, Path: p.Path, DefaultVersionID: p.DefaultVersionID,
		AttachmentCount: p.AttachmentCount, PermissionsBoundaryUsageCount: p.PermissionsBoundaryUsageCount, IsAttachable: true,
		Description: p.Description, CreateDate: p.CreateDate, UpdateDate: p.UpdateDate, PolicyVersionList: vs}, nil
}
