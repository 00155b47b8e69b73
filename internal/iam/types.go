package iam

import (
	"time"

	"github.com/opensts/opensts/internal/store"
)

// The IAM wire shapes shared by several actions. Field tags name the XML
// elements; time.Time values are UTC with second precision.

// Tag is an IAM tag, as input (Tags.member.N.Key/Value) and output.
type Tag struct {
	Key   string `xml:"Key" required:"true" min:"1" max:"128" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"`
	Value string `xml:"Value" required:"true" min:"0" max:"256" pattern:"[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"`
}

// TagKV implements authz.Tag.
func (t Tag) TagKV() (string, string) { return t.Key, t.Value }

// AttachedPermissionsBoundary is the PermissionsBoundary of a user or role.
type AttachedPermissionsBoundary struct {
	PermissionsBoundaryType string `xml:"PermissionsBoundaryType"`
	PermissionsBoundaryARN  string `xml:"PermissionsBoundaryArn"`
}

// User is the IAM User shape. UserName and Path are absent for the account
// root (GetUser as root).
type User struct {
	Path                string                       `xml:"Path,omitempty"`
	UserName            string                       `xml:"UserName,omitempty"`
	UserID              string                       `xml:"UserId"`
	ARN                 string                       `xml:"Arn"`
	CreateDate          time.Time                    `xml:"CreateDate"`
	PermissionsBoundary *AttachedPermissionsBoundary `xml:"PermissionsBoundary,omitempty"`
	Tags                []Tag                        `xml:"Tags>member,omitempty"`
}

// Group is the IAM Group shape.
type Group struct {
	Path       string    `xml:"Path"`
	GroupName  string    `xml:"GroupName"`
	GroupID    string    `xml:"GroupId"`
	ARN        string    `xml:"Arn"`
	CreateDate time.Time `xml:"CreateDate"`
}

// RoleLastUsed says when a role was last used to make a request.
type RoleLastUsed struct {
	LastUsedDate *time.Time `xml:"LastUsedDate,omitempty"`
	Region       string     `xml:"Region,omitempty"`
}

// Role is the IAM Role shape. AssumeRolePolicyDocument is URL-encoded.
type Role struct {
	Path                     string                       `xml:"Path"`
	RoleName                 string                       `xml:"RoleName"`
	RoleID                   string                       `xml:"RoleId"`
	ARN                      string                       `xml:"Arn"`
	CreateDate               time.Time                    `xml:"CreateDate"`
	AssumeRolePolicyDocument string                       `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              string                       `xml:"Description,omitempty"`
	MaxSessionDuration       int32                        `xml:"MaxSessionDuration,omitempty"`
	PermissionsBoundary      *AttachedPermissionsBoundary `xml:"PermissionsBoundary,omitempty"`
	Tags                     []Tag                        `xml:"Tags>member,omitempty"`
	RoleLastUsed             *RoleLastUsed                `xml:"RoleLastUsed,omitempty"`
}

// Policy is the IAM managed Policy shape.
type Policy struct {
	PolicyName                    string    `xml:"PolicyName"`
	PolicyID                      string    `xml:"PolicyId"`
	ARN                           string    `xml:"Arn"`
	Path                          string    `xml:"Path"`
	DefaultVersionID              string    `xml:"DefaultVersionId"`
	AttachmentCount               int32     `xml:"AttachmentCount"`
	PermissionsBoundaryUsageCount int32     `xml:"PermissionsBoundaryUsageCount"`
	IsAttachable                  bool      `xml:"IsAttachable"`
	Description                   string    `xml:"Description,omitempty"`
	CreateDate                    time.Time `xml:"CreateDate"`
	UpdateDate                    time.Time `xml:"UpdateDate"`
	Tags                          *[]Tag    `xml:"Tags>member"` // nil: no Tags element
}

// PolicyVersion is the IAM PolicyVersion shape. Document is URL-encoded and
// present only in GetPolicyVersion.
type PolicyVersion struct {
	Document         string    `xml:"Document,omitempty"`
	VersionID        string    `xml:"VersionId"`
	IsDefaultVersion bool      `xml:"IsDefaultVersion"`
	CreateDate       time.Time `xml:"CreateDate"`
}

// AttachedPolicy names a managed policy attached to a user, group or role.
type AttachedPolicy struct {
	PolicyName string `xml:"PolicyName"`
	PolicyARN  string `xml:"PolicyArn"`
}

func tagsOut(tags []store.Tag) []Tag {
	if len(tags) == 0 {
		return nil
	}
	out := make([]Tag, len(tags))
	for i, t := range tags {
		out[i] = Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func boundaryOut(arn string) *AttachedPermissionsBoundary {
	if arn == "" {
		return nil
	}
	return &AttachedPermissionsBoundary{PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryARN: arn}
}

func userOut(u store.User, full bool) User {
	out := User{Path: u.Path, UserName: u.Name, UserID: u.ID, ARN: userARN(u.Account, u.Path, u.Name), CreateDate: u.CreatedAt.UTC()}
	if full {
		out.PermissionsBoundary = boundaryOut(u.PermissionsBoundary)
		out.Tags = tagsOut(u.Tags)
	}
	return out
}

func groupOut(g store.Group) Group {
	return Group{Path: g.Path, GroupName: g.Name, GroupID: g.ID, ARN: groupARN(g.Account, g.Path, g.Name), CreateDate: g.CreatedAt.UTC()}
}

// roleOut renders a role; full adds what GetRole returns and ListRoles omits
// (PermissionsBoundary, Tags, RoleLastUsed).
func roleOut(r store.Role, full bool) Role {
	out := Role{
		Path: r.Path, RoleName: r.Name, RoleID: r.ID, ARN: roleARN(r.Account, r.Path, r.Name), CreateDate: r.CreatedAt.UTC(),
		AssumeRolePolicyDocument: encodeDocument(r.TrustPolicy), Description: r.Description, MaxSessionDuration: int32(r.MaxSessionDuration),
	}
	if full {
		out.PermissionsBoundary = boundaryOut(r.PermissionsBoundary)
		out.Tags = tagsOut(r.Tags)
		out.RoleLastUsed = &RoleLastUsed{}
		if !r.LastUsedAt.IsZero() {
			t := r.LastUsedAt.UTC().Truncate(time.Second)
			out.RoleLastUsed.LastUsedDate = &t
			out.RoleLastUsed.Region = r.LastUsedRegion
		}
	}
	return out
}
