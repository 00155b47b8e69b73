package org

import (
	"encoding/base64"
	"errors"
	"regexp"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// The wire shapes (AWS JSON 1.1 member names in the tags).

// PolicyTypeSummary is a policy type and whether the root enables it.
type PolicyTypeSummary struct {
	Type   string `json:"Type"`
	Status string `json:"Status"`
}

// Organization describes the organization.
type Organization struct {
	ID                   string              `json:"Id"`
	ARN                  string              `json:"Arn"`
	FeatureSet           string              `json:"FeatureSet"`
	MasterAccountARN     string              `json:"MasterAccountArn"`
	MasterAccountEmail   string              `json:"MasterAccountEmail,omitempty"`
	MasterAccountID      string              `json:"MasterAccountId"`
	AvailablePolicyTypes []PolicyTypeSummary `json:"AvailablePolicyTypes"`
}

// Account is an account of the organization.
type Account struct {
	ID              string     `json:"Id"`
	ARN             string     `json:"Arn"`
	Email           string     `json:"Email,omitempty"`
	Name            string     `json:"Name"`
	Status          string     `json:"Status"`
	State           string     `json:"State"`
	JoinedMethod    string     `json:"JoinedMethod"`
	JoinedTimestamp *Timestamp `json:"JoinedTimestamp,omitempty"`
	Paths           []string   `json:"Paths,omitempty"`
}

// account is a as the wire describes it at now.
func (o org) account(a store.Account, now time.Time) Account {
	method := "CREATED"
	if a.Management || a.JoinedMethod != "" {
		method = "INVITED"
	}
	status, state := accountStatus(a, now)
	out := Account{ID: a.ID, ARN: o.accountARN(a.ID), Email: a.Email, Name: a.Name, Status: status, State: state,
		JoinedMethod: method, Paths: []string{o.id + "/" + o.root + "/" + a.ID + "/"}}
	switch {
	case !a.JoinedAt.IsZero():
		out.JoinedTimestamp = ts(a.JoinedAt)
	case !a.CreatedAt.IsZero():
		out.JoinedTimestamp = ts(a.CreatedAt)
	}
	return out
}

// CreateAccountStatus is the status of a CreateAccount request.
type CreateAccountStatus struct {
	ID                 string     `json:"Id"`
	AccountName        string     `json:"AccountName,omitempty"`
	State              string     `json:"State"`
	RequestedTimestamp *Timestamp `json:"RequestedTimestamp,omitempty"`
	CompletedTimestamp *Timestamp `json:"CompletedTimestamp,omitempty"`
	AccountID          string     `json:"AccountId,omitempty"`
	FailureReason      string     `json:"FailureReason,omitempty"`
}

// carPrefix starts every create-account request id.
const carPrefix = "car-"

// succeeded is the status of the request that created a: requests complete
// at once, so the account's creation time is both timestamps.
func succeeded(a store.Account) CreateAccountStatus {
	st := CreateAccountStatus{ID: carPrefix + a.ID, AccountName: a.Name, State: "SUCCEEDED", AccountID: a.ID}
	if !a.CreatedAt.IsZero() {
		st.RequestedTimestamp, st.CompletedTimestamp = ts(a.CreatedAt), ts(a.CreatedAt)
	}
	return st
}

// failed is the status of a request that failed; it completed when it was
// made.
func failed(f store.OrgAccountFailure) CreateAccountStatus {
	return CreateAccountStatus{ID: f.ID, AccountName: f.AccountName, State: "FAILED", FailureReason: f.Reason,
		RequestedTimestamp: ts(f.RequestedAt), CompletedTimestamp: ts(f.RequestedAt)}
}

// Root is the organization root.
type Root struct {
	ID          string              `json:"Id"`
	ARN         string              `json:"Arn"`
	Name        string              `json:"Name"`
	PolicyTypes []PolicyTypeSummary `json:"PolicyTypes"`
}

// PolicySummary describes a policy without its content.
type PolicySummary struct {
	ID          string `json:"Id"`
	ARN         string `json:"Arn"`
	Name        string `json:"Name"`
	Description string `json:"Description"`
	Type        string `json:"Type"`
	AWSManaged  bool   `json:"AwsManaged"`
}

// Policy is a policy with its content.
type Policy struct {
	PolicySummary PolicySummary `json:"PolicySummary"`
	Content       string        `json:"Content"`
}

func (o org) summary(p store.OrgPolicy) PolicySummary {
	return PolicySummary{ID: p.ID, ARN: o.policyARN(p), Name: p.Name, Description: p.Description, Type: p.Type, AWSManaged: p.AWSManaged}
}

func (o org) policy(p store.OrgPolicy) *Policy {
	return &Policy{PolicySummary: o.summary(p), Content: p.Content}
}

// PolicyTargetSummary is one target a policy is attached to.
type PolicyTargetSummary struct {
	TargetID string `json:"TargetId"`
	ARN      string `json:"Arn"`
	Name     string `json:"Name"`
	Type     string `json:"Type"` // ROOT | ORGANIZATIONAL_UNIT | ACCOUNT
}

// Input patterns (the Organizations model's).
var (
	policyIDPattern  = regexp.MustCompile(`^p-[0-9a-zA-Z_]{8,128}$`)
	accountIDPattern = regexp.MustCompile(`^\d{12}$`)
	targetIDPattern  = regexp.MustCompile(`^(r-[0-9a-z]{4,32}|\d{12}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$`)
	emailPattern     = regexp.MustCompile(`^[^\s@]+@[^\s@]+\.[^\s@]+$`)
	carIDPattern     = regexp.MustCompile(`^car-[a-z0-9]{8,32}$`)
	printablePattern = regexp.MustCompile(`^[\x{0020}-\x{007E}]+$`)
	roleNamePattern  = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
)

// policyTypes are the Organizations policy types (ListPolicies' filters).
var policyTypes = map[string]bool{
	scpType: true, "RESOURCE_CONTROL_POLICY": true, "DECLARATIVE_POLICY_EC2": true, "BACKUP_POLICY": true,
	"TAG_POLICY": true, "CHATBOT_POLICY": true, "AISERVICES_OPT_OUT_POLICY": true, "SECURITYHUB_POLICY": true,
}

func encodeToken(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

func decodeToken(tok string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) == 0 {
		return "", errors.New("bad token")
	}
	return string(b), nil
}
