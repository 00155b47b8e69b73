package iam

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// awsManaged is an AWS managed policy OpenSTS ships, with the id and create
// date AWS gives it.
type awsManaged struct {
	name, id, description, document string
	path                            string // "" is "/"
	created                         time.Time
}

func awsDate(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// rootTaskPolicy is one of the policies that scope an AssumeRoot session
// (path /root-task/). The documents allow the actions AWS documents for
// each task.
func rootTaskPolicy(name, id, description string, actions ...string) awsManaged {
	doc := `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "` + name + `",
            "Effect": "Allow",
            "Action": [
                "` + strings.Join(actions, "\",\n                \"") + `"
            ],
            "Resource": "*"
        }
    ]
}`
	return awsManaged{name: name, id: id, path: "/root-task/", description: description, document: doc, created: awsDate("2024-11-15T00:00:00Z")}
}

// awsManagedPolicies are the AWS managed policies users expect to attach.
// Documents are AWS's; ReadOnlyAccess is a faithful condensed form (AWS's
// lists some 1,500 read actions service by service).
var awsManagedPolicies = []awsManaged{
	{
		name: "AdministratorAccess", id: "ANPAIWMBCKSKIEE64ZLYK", created: awsDate("2015-02-06T18:39:46Z"),
		description: "Provides full access to AWS services and resources.",
		document: `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*"
        }
    ]
}`,
	},
	{
		name: "PowerUserAccess", id: "ANPAJYRXTHIB4FOVS3ZXS", created: awsDate("2015-02-06T18:39:47Z"),
		description: "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
		document: `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "NotAction": [
                "iam:*",
                "organizations:*",
                "account:*"
            ],
            "Resource": "*"
        },
        {
            "Effect": "Allow",
            "Action": [
                "iam:CreateServiceLinkedRole",
                "iam:DeleteServiceLinkedRole",
                "iam:ListRoles",
                "organizations:DescribeOrganization",
                "account:ListRegions",
                "account:GetAccountInformation"
            ],
            "Resource": "*"
        }
    ]
}`,
	},
	{
		name: "ReadOnlyAccess", id: "ANPAILL3HVNFSB6DCOWYQ", created: awsDate("2015-02-06T18:39:48Z"),
		description: "Provides read-only access to AWS services and resources.",
		document: `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadOnlyActions",
            "Effect": "Allow",
            "Action": [
                "*:BatchGet*",
                "*:Describe*",
                "*:Get*",
                "*:List*",
                "*:Lookup*",
                "*:Search*",
                "*:View*",
                "iam:GenerateCredentialReport",
                "iam:GenerateServiceLastAccessedDetails",
                "iam:SimulateCustomPolicy",
                "iam:SimulatePrincipalPolicy"
            ],
            "Resource": "*"
        }
    ]
}`,
	},
	{
		name: "IAMFullAccess", id: "ANPAI7XKCFMBPM3QQRRVQ", created: awsDate("2015-02-06T18:40:38Z"),
		description: "Provides full access to IAM via the AWS Management Console.",
		document: `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "iam:*",
                "organizations:DescribeAccount",
                "organizations:DescribeOrganization",
                "organizations:DescribeOrganizationalUnit",
                "organizations:DescribePolicy",
                "organizations:ListChildren",
                "organizations:ListParents",
                "organizations:ListPoliciesForTarget",
                "organizations:ListRoots",
                "organizations:ListPolicies",
                "organizations:ListTargetsForPolicy"
            ],
            "Resource": "*"
        }
    ]
}`,
	},
	{
		// AWS attaches its AWSCompromisedKeyQuarantine policies (a long deny
		// list) to a user whose key leaked. OpenSTS's denies everything,
		// and attaching it also revokes every session started from the
		// user's keys (internal/server).
		name: "AWSCompromisedKeyQuarantine", id: "ANPAZKAPJZG4LQUARANT1", created: awsDate("2026-12-04T00:00:00Z"),
		description: "Denies everything to a user whose access key is compromised; in OpenSTS, attaching it also revokes every session started from the user's keys.",
		document: `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "QuarantineCompromisedKey",
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*"
        }
    ]
}`,
	},
	{
		name: "IAMReadOnlyAccess", id: "ANPAJKSO7NDY4T57MWDSQ", created: awsDate("2015-02-06T18:40:39Z"),
		description: "Provides read only access to IAM via the AWS Management Console.",
		document: `{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "iam:GenerateCredentialReport",
                "iam:GenerateServiceLastAccessedDetails",
                "iam:Get*",
                "iam:List*",
                "iam:SimulateCustomPolicy",
                "iam:SimulatePrincipalPolicy"
            ],
            "Resource": "*"
        }
    ]
}`,
	},
	rootTaskPolicy("IAMAuditRootUserCredentials", "ANPAZKAPJZG4ROOTTASK1", "Audits the root user credentials of a member account",
		"iam:GetAccessKeyLastUsed", "iam:GetAccountSummary", "iam:GetLoginProfile", "iam:GetMFADevice", "iam:GetUser",
		"iam:ListAccessKeys", "iam:ListMFADevices", "iam:ListSigningCertificates"),
	rootTaskPolicy("IAMCreateRootUserPassword", "ANPAZKAPJZG4ROOTTASK2", "Creates the root user password of a member account",
		"iam:CreateLoginProfile", "iam:GetLoginProfile"),
	rootTaskPolicy("IAMDeleteRootUserCredentials", "ANPAZKAPJZG4ROOTTASK3", "Deletes the root user credentials of a member account",
		"iam:DeactivateMFADevice", "iam:DeleteAccessKey", "iam:DeleteLoginProfile", "iam:DeleteSigningCertificate",
		"iam:GetAccessKeyLastUsed", "iam:GetLoginProfile", "iam:GetUser", "iam:ListAccessKeys", "iam:ListMFADevices",
		"iam:ListSigningCertificates"),
	rootTaskPolicy("S3UnlockBucketPolicy", "ANPAZKAPJZG4ROOTTASK4", "Unlocks an S3 bucket whose policy denies every principal",
		"s3:DeleteBucketPolicy", "s3:GetBucketPolicy", "s3:PutBucketPolicy"),
	rootTaskPolicy("SQSUnlockQueuePolicy", "ANPAZKAPJZG4ROOTTASK5", "Unlocks an SQS queue whose policy denies every principal",
		"sqs:GetQueueAttributes", "sqs:SetQueueAttributes"),
}

// SeedManagedPolicies creates the AWS managed policies (account "aws", ARNs
// arn:aws:iam::aws:policy/NAME) that are missing, and brings an existing one
// whose default document differs from the shipped one up to date with a new
// default version (deleting the oldest non-default versions to stay within
// five). It is idempotent; the server calls it at start-up.
func (s *Service) SeedManagedPolicies(ctx context.Context) error {
	for _, m := range awsManagedPolicies {
		if err := s.seed(ctx, m); err != nil {
			return fmt.Errorf("seed managed policy %s: %w", m.name, err)
		}
	}
	return nil
}

func (s *Service) seed(ctx context.Context, m awsManaged) error {
	path := m.path
	if path == "" {
		path = "/"
	}
	arn := policyARN(awsManagedPolicyOwner, path, m.name)
	mp, err := s.store.GetManagedPolicy(ctx, arn)
	if isNotFound(err) {
		mp = store.ManagedPolicy{Account: awsManagedPolicyOwner, ID: m.id, Name: m.name, Path: path, ARN: arn,
			Description: m.description, DefaultVersionID: "v1", CreatedAt: m.created, UpdatedAt: m.created}
		v := store.PolicyVersion{PolicyARN: arn, VersionID: "v1", Document: m.document, CreatedAt: m.created}
		err = s.store.CreateManagedPolicy(ctx, mp, v)
		if isExists(err) { // created concurrently by another node
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	def, err := s.store.GetPolicyVersion(ctx, arn, mp.DefaultVersionID)
	if err != nil {
		return err
	}
	if def.Document == m.document {
		return nil
	}
	versions, err := s.store.ListPolicyVersions(ctx, arn)
	if err != nil {
		return err
	}
	slices.SortFunc(versions, func(a, b store.PolicyVersion) int { return versionNumber(a.VersionID) - versionNumber(b.VersionID) })
	next := 1
	for _, v := range versions {
		next = max(next, versionNumber(v.VersionID)+1)
	}
	// Oldest first: drop non-default versions until there is room.
	for i := 0; len(versions) >= maxPolicyVersions && i < len(versions); i++ {
		v := versions[i]
		if v.VersionID == mp.DefaultVersionID {
			continue
		}
		if err := s.store.DeletePolicyVersion(ctx, arn, v.VersionID); err != nil {
			return err
		}
		versions = append(versions[:i], versions[i+1:]...)
		i--
	}
	now := s.time()
	v := store.PolicyVersion{PolicyARN: arn, VersionID: fmt.Sprintf("v%d", next), Document: m.document, CreatedAt: now}
	if err := s.store.CreatePolicyVersion(ctx, v); err != nil {
		return err
	}
	mp.DefaultVersionID, mp.UpdatedAt = v.VersionID, now
	return s.store.UpdateManagedPolicy(ctx, mp)
}
