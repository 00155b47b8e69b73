package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/opensts/opensts/internal/store"
)

// CreateAccessKey implements store.AccessKeys. A key with a UserName belongs
// to that user, who must exist (ErrNotFound otherwise); an empty UserID is
// filled in from the user. A key without a UserName is a root key.
func (s *Store) CreateAccessKey(ctx context.Context, k store.AccessKey) error {
	err := s.write(ctx, true, func(tx *tx) error {
		var upk sql.NullInt64
		if k.UserName != "" {
			var uid string
			if err := tx.QueryRowContext(ctx, `SELECT pk, id FROM users WHERE account = ? AND name = ?`, k.Account, k.UserName).Scan(&upk, &uid); err != nil {
				return fmt.Errorf("user %s: %w", k.UserName, translate(err))
			}
			if k.UserID == "" {
				k.UserID = uid
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO access_keys (id, account, user_pk, user_id, secret, status, created_at,
			last_used_at, last_used_service, last_used_region) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.Account, upk, k.UserID, k.Secret, k.Status, encTime(k.CreatedAt),
			encTime(k.LastUsedAt), k.LastUsedService, k.LastUsedRegion)
		return err
	})
	if err != nil {
		return fmt.Errorf("create access key %s: %w", k.ID, err)
	}
	return nil
}

const accessKeyColumns = `k.id, k.account, coalesce(u.name, ''), k.user_id, k.secret, k.status, k.created_at,
	k.last_used_at, k.last_used_service, k.last_used_region`

func scanAccessKey(r scanner) (store.AccessKey, error) {
	var k store.AccessKey
	err := r.Scan(&k.ID, &k.Account, &k.UserName, &k.UserID, &k.Secret, &k.Status, scanTime(&k.CreatedAt),
		scanTime(&k.LastUsedAt), &k.LastUsedService, &k.LastUsedRegion)
	return k, err
}

// GetAccessKey implements store.AccessKeys. Its last-used fields include
// TouchAccessKey calls not yet written to the database.
func (s *Store) GetAccessKey(ctx context.Context, id string) (store.AccessKey, error) {
	k, err := scanAccessKey(s.reads.QueryRowContext(ctx, `SELECT `+accessKeyColumns+`
		FROM access_keys k LEFT JOIN users u ON u.pk = k.user_pk WHERE k.id = ?`, id))
	if err != nil {
		return store.AccessKey{}, fmt.Errorf("get access key %s: %w", id, translate(err))
	}
	s.touches.overlay(&k)
	return k, nil
}

// UpdateAccessKey implements store.AccessKeys. It writes Status and Secret;
// the owner cannot change, and the last-used fields are written only by
// TouchAccessKey.
func (s *Store) UpdateAccessKey(ctx context.Context, k store.AccessKey) error {
	err := s.write(ctx, true, func(tx *tx) error {
		return affected(tx.ExecContext(ctx, `UPDATE access_keys SET status = ?, secret = ? WHERE id = ?`, k.Status, k.Secret, k.ID))
	})
	if err != nil {
		return fmt.Errorf("update access key %s: %w", k.ID, err)
	}
	return nil
}

// DeleteAccessKey implements store.AccessKeys.
func (s *Store) DeleteAccessKey(ctx context.Context, id string) error {
	err := s.write(ctx, true, func(tx *tx) error {
		return affected(tx.ExecContext(ctx, `DELETE FROM access_keys WHERE id = ?`, id))
	})
	if err != nil {
		return fmt.Errorf("delete access key %s: %w", id, err)
	}
	s.touches.forget(id)
	return nil
}

// ListAccessKeys implements store.AccessKeys, oldest first. It returns
// ErrNotFound if user is not empty and does not exist.
func (s *Store) ListAccessKeys(ctx context.Context, account, user string) ([]store.AccessKey, error) {
	var ks []store.AccessKey
	err := s.read(ctx, func(tx *tx) error {
		const q = `SELECT ` + accessKeyColumns + ` FROM access_keys k LEFT JOIN users u ON u.pk = k.user_pk WHERE k.account = ? AND `
		if user == "" {
			var err error
			ks, err = collect(ctx, tx, scanAccessKey, q+`k.user_pk IS NULL ORDER BY k.created_at, k.id COLLATE "C"`, account)
			return err
		}
		upk, err := userPK(ctx, tx, account, user)
		if err != nil {
			return err
		}
		ks, err = collect(ctx, tx, scanAccessKey, q+`k.user_pk = ? ORDER BY k.created_at, k.id COLLATE "C"`, account, upk)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list access keys of %q: %w", user, err)
	}
	for i := range ks {
		s.touches.overlay(&ks[i])
	}
	return ks, nil
}

// TouchAccessKey implements store.AccessKeys. It only records the use in
// memory; a background goroutine writes pending uses once per touch interval
// (one second) in one transaction, and Close writes what is left. The latest
// use wins; an older use never overwrites a newer one. Touching an unknown or
// deleted key is not an error: the use is dropped, as is a zero time. It
// does not change the generation.
func (s *Store) TouchAccessKey(ctx context.Context, id string, at time.Time, service, region string) error {
	if at.IsZero() {
		return nil
	}
	if s.touches.direct {
		return s.touches.write(ctx, map[string]touch{id: {at, service, region}})
	}
	if !s.touches.record(id, touch{at, service, region}) {
		return fmt.Errorf("touch access key %s: %w", id, errClosed)
	}
	return nil
}

type touch struct {
	at              time.Time
	service, region string
}

// toucher coalesces access key usage.
type toucher struct {
	s        *Store
	interval time.Duration
	direct   bool // write every touch at once (benchmarks only)

	mu      sync.Mutex
	pending map[string]touch
	closed  bool

	done    chan struct{}
	stopped chan struct{}
}

func newToucher(s *Store, interval time.Duration) *toucher {
	t := &toucher{
		s:        s,
		interval: interval,
		pending:  make(map[string]touch),
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go t.run()
	return t
}

func (t *toucher) run() {
	defer close(t.stopped)
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	for {
		select {
		case <-t.done:
			return
		case <-tick.C:
			// A failed write is retried on the next tick; stop reports it.
			_ = t.flush(context.Background())
		}
	}
}

// record keeps the latest use of key id; false if the store is closed.
func (t *toucher) record(id string, u touch) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	if old, ok := t.pending[id]; !ok || !old.at.After(u.at) {
		t.pending[id] = u
	}
	return true
}

// overlay applies a pending use of k newer than its stored one.
func (t *toucher) overlay(k *store.AccessKey) {
	t.mu.Lock()
	u, ok := t.pending[k.ID]
	t.mu.Unlock()
	if ok && u.at.After(k.LastUsedAt) {
		k.LastUsedAt, k.LastUsedService, k.LastUsedRegion = u.at.UTC(), u.service, u.region
	}
}

func (t *toucher) forget(ids ...string) {
	t.mu.Lock()
	for _, id := range ids {
		delete(t.pending, id)
	}
	t.mu.Unlock()
}

// flush writes the pending uses; on failure they are merged back.
func (t *toucher) flush(ctx context.Context) error {
	t.mu.Lock()
	batch := t.pending
	if len(batch) == 0 {
		t.mu.Unlock()
		return nil
	}
	t.pending = make(map[string]touch, len(batch))
	t.mu.Unlock()

	err := t.write(ctx, batch)
	if err != nil {
		t.mu.Lock()
		for id, u := range batch {
			if old, ok := t.pending[id]; !ok || u.at.After(old.at) {
				t.pending[id] = u
			}
		}
		t.mu.Unlock()
	}
	return err
}

func (t *toucher) write(ctx context.Context, batch map[string]touch) error {
	err := t.s.write(ctx, false, func(tx *tx) error {
		for id, u := range batch {
			if _, err := tx.ExecContext(ctx, `UPDATE access_keys SET last_used_at = ?, last_used_service = ?, last_used_region = ?
				WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)`, encTime(u.at), u.service, u.region, id, encTime(u.at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("touch access keys: %w", err)
	}
	return nil
}

// stop ends the background goroutine and writes what is pending.
func (t *toucher) stop() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	close(t.done)
	<-t.stopped
	return t.flush(context.Background())
}
