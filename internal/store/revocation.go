package store

import (
	"context"
	"time"
)

// Revocation is one entry of the revocation set: temporary credentials it
// matches are refused from the moment it is made until it expires (when the
// last credential it can match has expired). See session.Revocations for
// what each Kind matches.
type Revocation struct {
	ID      string
	Account string // the account that made it; it acts on that account's principals
	Kind    string // session, principal, role, account
	Target  string // an ASIA access key id, a principal ARN, a role ARN, an account id
	// RoleID is a role's unique id (kind role), OriginKeys a user's access
	// key ids when the entry was made (kind principal of an IAM user).
	RoleID       string
	OriginKeys   []string
	IssuedBefore time.Time // sessions issued before this instant
	CreatedAt    time.Time
	ExpiresAt    time.Time
	CreatedBy    string // the ARN of who made it
	Reason       string
}

// Revocations stores the revocation set, shared by every node.
type Revocations interface {
	// CreateRevocation stores r (ErrAlreadyExists for a taken ID).
	CreateRevocation(ctx context.Context, r Revocation) error
	// DeleteRevocation deletes account's entry id (ErrNotFound if none).
	DeleteRevocation(ctx context.Context, account, id string) error
	// ListRevocations lists the entries that expire after now, oldest
	// first; account "" lists every account's.
	ListRevocations(ctx context.Context, account string, now time.Time) ([]Revocation, error)
	// PruneRevocations deletes the entries that expired before before.
	PruneRevocations(ctx context.Context, before time.Time) (int64, error)
}

// ChangeRevocation is recorded by CreateRevocation and DeleteRevocation.
// Key is the entry's ID; Name is empty.
const ChangeRevocation ChangeKind = "revocation"
