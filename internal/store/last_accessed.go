package store

import (
	"context"
	"time"
)

// ServiceAccess is the last authenticated use of one action of a service by
// one principal (an IAM user or role, by unique id), for IAM's service last
// accessed data.
type ServiceAccess struct {
	PrincipalID string    // AIDA... or AROA...
	Account     string    // the principal's account
	Service     string    // the service namespace: iam, sts, organizations, ...
	Action      string    // the action as the API names it: CreateUser
	At          time.Time // UTC, as precise as the backend keeps it (milliseconds)
	Region      string
}

// AccessReport is one IAM service last accessed report (a job of
// GenerateServiceLastAccessedDetails), stored so that every node can
// answer GetServiceLastAccessedDetails. Data is opaque to the store.
type AccessReport struct {
	Account   string
	ID        string
	CreatedAt time.Time
	Data      []byte
}

// LastAccessed stores service last accessed data and the reports made of
// it.
type LastAccessed interface {
	// RecordServiceAccess stores uses, keyed by principal, service and
	// action. A use older than the stored one of its key changes nothing.
	RecordServiceAccess(ctx context.Context, uses []ServiceAccess) error
	// DeleteUser and DeleteRole delete the uses of what they delete.
	//
	// ListServiceAccess returns the stored uses of the principals (unique
	// ids), in no particular order.
	ListServiceAccess(ctx context.Context, principalIDs []string) ([]ServiceAccess, error)
	// PutAccessReport stores a report; ErrAlreadyExists if its id is taken.
	PutAccessReport(ctx context.Context, r AccessReport) error
	// GetAccessReport returns a report of account, or ErrNotFound.
	GetAccessReport(ctx context.Context, account, id string) (AccessReport, error)
	// PruneAccessReports deletes the reports created before before.
	PruneAccessReports(ctx context.Context, before time.Time) (int64, error)
}
