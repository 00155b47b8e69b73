package store

import (
	"context"
	"time"
)

// DetectState is what the detection engine (internal/detect) shares across
// the nodes of a deployment: alert claims, so that a cluster raises one
// alert per incident and not one per node, and the learned baselines, so
// that they outlive restarts and every node judges with what all of them
// saw. Keys are opaque to the store; baselines are opaque documents.
type DetectState interface {
	// ClaimAlert records that the alert key fired and stays claimed until
	// until. It returns ErrAlreadyExists, atomically, when key holds a
	// claim that lasts past now (another node raised it); an expired claim
	// is replaced.
	ClaimAlert(ctx context.Context, key []byte, until, now time.Time) error
	// PruneAlertClaims deletes the claims that ended before before.
	PruneAlertClaims(ctx context.Context, before time.Time) (int64, error)
	// GetBaselines returns the stored baselines of those of subjects that
	// have one.
	GetBaselines(ctx context.Context, subjects []string) (map[string][]byte, error)
	// PutBaselines creates or replaces baselines.
	PutBaselines(ctx context.Context, baselines map[string][]byte, now time.Time) error
	// MergeBaselines writes what merge returns, given the stored
	// baselines of those of subjects that have one, in one transaction
	// that keeps every other writer of those subjects out from the read
	// to the commit: two nodes that merge one subject at once both keep
	// what they learned, where a read and a PutBaselines of each could
	// lose the first writer's. merge may be called more than once (a
	// retried transaction), each time with what the store then holds; it
	// must not block on anything a store write may wait for. An error
	// from it aborts the write, and is returned.
	MergeBaselines(ctx context.Context, subjects []string, now time.Time, merge func(stored map[string][]byte) (map[string][]byte, error)) error
}
