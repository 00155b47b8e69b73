package sqlite

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/store"
	"github.com/opensts/opensts/internal/store/sqlstore"
	"github.com/opensts/opensts/internal/store/storetest"
)

// errAgain is the failure twiceDB gives every write's first run.
var errAgain = errors.New("forced retry")

// twiceDB runs the fn of every write twice, as the PostgreSQL backend does
// after a deadlock or a serialization failure: the first run to its end in a
// transaction that is then rolled back, the second in one that commits. A
// write whose fn consumes or keeps state it captured behaves differently.
type twiceDB struct {
	db
	mu      sync.Mutex
	between func() // once, between the runs of the next write
}

func (d *twiceDB) Write(ctx context.Context, fn func(sqlstore.Tx) error) error {
	err := d.db.Write(ctx, func(tx sqlstore.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errAgain
	})
	if !errors.Is(err, errAgain) {
		return err
	}
	d.mu.Lock()
	b := d.between
	d.between = nil
	d.mu.Unlock()
	if b != nil {
		b()
	}
	return d.db.Write(ctx, fn)
}

func openTwice(t *testing.T) (*Store, *twiceDB) {
	s, _ := openTemp(t)
	d := &twiceDB{db: db{s}}
	s.Store = sqlstore.New(d, dialect{}, s.touches)
	return s, d
}

// Every write of the conformance suite, each run twice.
func TestConformanceWritesRunTwice(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, _ := openTwice(t)
		return s
	})
}

// CreateAccessKey fills an empty UserID from the user it reads in the
// transaction. A retried run must read it again: here the user was
// replaced (deleted and created again under its name) between the runs,
// and the key must name the user its row points to.
func TestCreateAccessKeyRetryReadsTheUserAgain(t *testing.T) {
	ctx := t.Context()
	s, d := openTwice(t)
	const acct = "111111111111"
	t0 := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	if err := s.CreateUser(ctx, store.User{Account: acct, ID: "AIDAOLD", Name: "alice", Path: "/", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	d.between = func() {
		if err := s.DeleteUser(ctx, acct, "alice"); err != nil {
			t.Error(err)
		}
		if err := s.CreateUser(ctx, store.User{Account: acct, ID: "AIDANEW", Name: "alice", Path: "/", CreatedAt: t0}); err != nil {
			t.Error(err)
		}
	}
	d.mu.Unlock()
	if err := s.CreateAccessKey(ctx, store.AccessKey{ID: "AKIARETRY", Account: acct, UserName: "alice", Status: "Active", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	u, err := s.GetUser(ctx, acct, "alice")
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.GetAccessKey(ctx, "AKIARETRY")
	if err != nil {
		t.Fatal(err)
	}
	if k.UserID != u.ID {
		t.Errorf("key's UserID %s, but its row belongs to user %s (UserID kept from the first run)", k.UserID, u.ID)
	}
}
