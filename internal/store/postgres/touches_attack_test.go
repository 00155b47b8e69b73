package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opensts/opensts/internal/sharedtest"
	"github.com/opensts/opensts/internal/store/sqlstore"
)

// attackStore opens a fresh schema.
func attackStore(t *testing.T, name string) (*Store, string) {
	t.Helper()
	dsn := sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), name)
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, dsn
}

// connect opens a connection of its own to dsn, closed when t ends.
func connect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close(context.Background()) })
	return c
}

// addKey and addRole write a key or a role of id straight into s.
func addKey(t *testing.T, s *Store, id string) {
	t.Helper()
	if _, err := (queryer{pool: s.pool}).ExecContext(t.Context(),
		`INSERT INTO access_keys (id, account, user_id, status) VALUES (?, '111111111111', '111111111111', 'Active')`, id); err != nil {
		t.Fatalf("key %q: %v", id, err)
	}
}

// addRole is addKey for a role (named from its id: names are unique).
func addRole(t *testing.T, s *Store, id string) {
	t.Helper()
	if _, err := (queryer{pool: s.pool}).ExecContext(t.Context(),
		`INSERT INTO roles (account, id, name, path, trust_policy, description, max_session_duration, boundary, tags, last_used_region)
		VALUES ('111111111111', ?, 'attack' || md5(?), '/', '{}', '', 3600, '', '{}', '')`, id, id); err != nil {
		t.Fatalf("role %q: %v", id, err)
	}
}

type lastUse struct {
	at              time.Time
	service, region string
	null            bool
}

// keyUse and roleUse read the last use of a key or a role (a role's has no
// service).
func keyUse(t *testing.T, s *Store, id string) lastUse {
	t.Helper()
	return lastUseOf(t, s, "access_keys", "last_used_service", id)
}

func roleUse(t *testing.T, s *Store, id string) lastUse {
	t.Helper()
	return lastUseOf(t, s, "roles", "''", id)
}

func lastUseOf(t *testing.T, s *Store, table, service, id string) lastUse {
	t.Helper()
	var u lastUse
	var at *time.Time
	if err := (queryer{pool: s.pool}).QueryRowContext(t.Context(), `SELECT last_used_at, `+service+`, last_used_region FROM `+table+` WHERE id = ?`, id).
		Scan(&at, &u.service, &u.region); err != nil {
		t.Fatalf("%s %q: %v", table, id, err)
	}
	if at == nil {
		u.null = true
	} else {
		u.at = at.UTC()
	}
	return u
}

// TestTouchesOddIDs: ids that an array's text form would have to quote
// (quotes, backslashes, braces, commas, spaces, NULL spelled out, the
// empty string), non-ASCII, ids that differ only in case, a 10,000-byte
// id, and the same id as a key and as a role: each row gets its own use,
// and no other.
func TestTouchesOddIDs(t *testing.T) {
	s, _ := attackStore(t, "touchodd")
	ids := []string{`AKIA'QUOTE`, `AKIA"DQUOTE`, `AKIA\BACK\\SLASH`, `AKIA{BRACE}`, `AKIA,COMMA`, `AKIA SPACE `, `NULL`, `null`, ``,
		`AKIAÉTÉ✓`, `akiamixed`, `AKIAMIXED`, strings.Repeat("K", 10000), `SHARED`, `{"a","b"}`, `AKIA)`, "AKIA\tTAB\nNL"}
	for _, id := range ids {
		addKey(t, s, id)
	}
	roleIDs := []string{`AROA'QUOTE`, `AROA\`, `NULL`, `SHARED`, `aroamixed`, `AROAMIXED`, strings.Repeat("R", 10000)}
	for _, id := range roleIDs {
		addRole(t, s, id)
	}
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	batch := map[string]sqlstore.Touch{}
	wantKey, wantRole := map[string]lastUse{}, map[string]lastUse{}
	for i, id := range ids {
		u := sqlstore.Touch{At: t0.Add(time.Duration(i) * time.Second), Service: fmt.Sprintf(`svc'%d"\{`, i), Region: fmt.Sprintf("reg,%d}", i)}
		batch[id] = u
		wantKey[id] = lastUse{at: u.At, service: u.Service, region: u.Region}
	}
	for i, id := range roleIDs {
		u := sqlstore.Touch{At: t0.Add(time.Hour + time.Duration(i)*time.Second), Region: fmt.Sprintf(`r"%d`, i)}
		batch[sqlstore.RolePrefix+id] = u
		wantRole[id] = lastUse{at: u.At, region: u.Region}
	}
	if err := s.writeTouches(t.Context(), batch); err != nil {
		t.Fatal(err)
	}
	for id, want := range wantKey {
		if got := keyUse(t, s, id); got != want {
			t.Errorf("key %.40q: %+v, want %+v", id, got, want)
		}
	}
	for id, want := range wantRole {
		if got := roleUse(t, s, id); got != want {
			t.Errorf("role %.40q: %+v, want %+v", id, got, want)
		}
	}
}

// TestTouchesBadBytesAreAtomic: an id PostgreSQL cannot hold as text (a
// NUL, bytes that are not UTF-8) fails the flush, and the flush writes
// nothing of its other uses (they are retried whole).
func TestTouchesBadBytesAreAtomic(t *testing.T) {
	s, _ := attackStore(t, "touchbad")
	seedKeysAndRoles(t, s, "BAD", 1500)
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, bad := range []string{"AKIA\x00NUL", "AKIA\xff\xfe", sqlstore.RolePrefix + "AROA\x00", sqlstore.RolePrefix + "AROA\xc3"} {
		batch := map[string]sqlstore.Touch{bad: {At: t0, Service: "sts", Region: "us-east-1"}}
		for i := range 1500 {
			batch[fmt.Sprintf("AKIABAD%011d", i+1)] = sqlstore.Touch{At: t0, Service: "sts", Region: "us-east-1"}
			batch[sqlstore.RolePrefix+fmt.Sprintf("AROABAD%011d", i+1)] = sqlstore.Touch{At: t0, Region: "us-east-1"}
		}
		err := s.writeTouches(t.Context(), batch)
		t.Logf("%q: %v", bad, err)
		var n int
		if err := (queryer{pool: s.pool}).QueryRowContext(t.Context(), `SELECT (SELECT count(*) FROM access_keys WHERE last_used_at IS NOT NULL) + (SELECT count(*) FROM roles WHERE last_used_at IS NOT NULL)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err == nil && n != 3000 || err != nil && n != 0 {
			t.Fatalf("%q: writeTouches %v, and %d rows written of 3,000", bad, err, n)
		}
	}
}

// TestTouchesExtremeTimes: the year 1 (not the zero time), the year 9999,
// and uses a microsecond apart: each stored as written (to the
// microsecond), the later one winning whichever is written first.
func TestTouchesExtremeTimes(t *testing.T) {
	s, _ := attackStore(t, "touchtimes")
	for _, id := range []string{"AKIAYEAR1", "AKIAYEAR9999", "AKIAMICRO", "AKIANANO"} {
		addKey(t, s, id)
	}
	addRole(t, s, "AROAYEAR1")
	ctx := t.Context()
	y1 := time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)
	y9999 := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
	if err := s.writeTouches(ctx, map[string]sqlstore.Touch{
		"AKIAYEAR1": {At: y1, Service: "a", Region: "r"}, "AKIAYEAR9999": {At: y9999, Service: "b", Region: "r"},
		sqlstore.RolePrefix + "AROAYEAR1": {At: y1, Region: "r"},
	}); err != nil {
		t.Fatal(err)
	}
	if got := keyUse(t, s, "AKIAYEAR1"); !got.at.Equal(y1) {
		t.Errorf("year 1: %+v", got)
	}
	if got := roleUse(t, s, "AROAYEAR1"); !got.at.Equal(y1) {
		t.Errorf("role, year 1: %+v", got)
	}
	if got := keyUse(t, s, "AKIAYEAR9999"); !got.at.Equal(y9999) {
		t.Errorf("year 9999: %+v", got)
	}
	// An older use never overwrites a newer: year 1 after year 9999.
	if err := s.writeTouches(ctx, map[string]sqlstore.Touch{"AKIAYEAR9999": {At: y1, Service: "old", Region: "old"}}); err != nil {
		t.Fatal(err)
	}
	if got := keyUse(t, s, "AKIAYEAR9999"); !got.at.Equal(y9999) || got.service != "b" {
		t.Errorf("year 1 overwrote year 9999: %+v", got)
	}
	// A microsecond apart, the newer written first.
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, u := range []sqlstore.Touch{{At: t0.Add(2 * time.Microsecond), Service: "new"}, {At: t0.Add(time.Microsecond), Service: "old"}} {
		if err := s.writeTouches(ctx, map[string]sqlstore.Touch{"AKIAMICRO": u}); err != nil {
			t.Fatal(err)
		}
	}
	if got := keyUse(t, s, "AKIAMICRO"); !got.at.Equal(t0.Add(2*time.Microsecond)) || got.service != "new" {
		t.Errorf("a use a microsecond older overwrote the newer: %+v", got)
	}
	// Within one microsecond: stored to the microsecond (the time written
	// is never later than the use).
	if err := s.writeTouches(ctx, map[string]sqlstore.Touch{"AKIANANO": {At: t0.Add(1999 * time.Nanosecond), Service: "x"}}); err != nil {
		t.Fatal(err)
	}
	if got := keyUse(t, s, "AKIANANO"); got.at.After(t0.Add(1999*time.Nanosecond)) || got.at.Before(t0.Add(time.Microsecond)) {
		t.Errorf("a use at 1.999 µs stored at %v", got.at)
	}
}

// TestTouchesBatchSizes: batches around maxTouchBatch statements (and of
// keys only, roles only) write every use, and ignore unknown ids.
func TestTouchesBatchSizes(t *testing.T) {
	s, _ := attackStore(t, "touchsizes")
	const n = 2001
	seedKeysAndRoles(t, s, "SIZE", n)
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for i, c := range []struct{ keys, roles int }{{1000, 0}, {0, 1000}, {1001, 1001}, {2000, 1}, {1, 2000}, {2001, 2001}, {999, 1000}} {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		batch := map[string]sqlstore.Touch{"AKIAUNKNOWN": {At: at}, sqlstore.RolePrefix + "AROAUNKNOWN": {At: at}}
		for j := range c.keys {
			batch[fmt.Sprintf("AKIASIZE%011d", j+1)] = sqlstore.Touch{At: at, Service: "sts", Region: "eu-west-1"}
		}
		for j := range c.roles {
			batch[sqlstore.RolePrefix+fmt.Sprintf("AROASIZE%011d", j+1)] = sqlstore.Touch{At: at, Region: "eu-west-1"}
		}
		if err := s.writeTouches(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		var keys, roles int
		if err := (queryer{pool: s.pool}).QueryRowContext(t.Context(), `SELECT
			(SELECT count(*) FROM access_keys WHERE id LIKE 'AKIASIZE%' AND last_used_at = ?),
			(SELECT count(*) FROM roles WHERE id LIKE 'AROASIZE%' AND last_used_at = ?)`, at, at).Scan(&keys, &roles); err != nil {
			t.Fatal(err)
		}
		if keys != c.keys || roles != c.roles {
			t.Fatalf("a batch of %d keys and %d roles wrote %d and %d", c.keys, c.roles, keys, roles)
		}
	}
}

// TestTouchesOlderRacesNewer: two nodes flush uses of the same keys and
// roles at once, one the older use of each and one the newer (which node
// has which varies): whichever commits last, each row ends with the newer.
// Both flushes succeed (deadlocks retried).
func TestTouchesOlderRacesNewer(t *testing.T) {
	_, dsn := attackStore(t, "touchrace")
	var nodes [2]*Store
	for i := range nodes {
		s, err := Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		nodes[i] = s
	}
	const n = 1200
	seedKeysAndRoles(t, nodes[0], "RACE", n)
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 6 {
		var batches [2]map[string]sqlstore.Touch
		want := map[string]time.Time{}
		for i := range batches {
			batches[i] = map[string]sqlstore.Touch{}
		}
		for j := range n {
			for _, id := range []string{fmt.Sprintf("AKIARACE%011d", j+1), sqlstore.RolePrefix + fmt.Sprintf("AROARACE%011d", j+1)} {
				base := t0.Add(time.Duration(round) * time.Hour)
				older := base.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
				newer := older.Add(time.Duration(1+rng.IntN(1000)) * time.Microsecond)
				o := rng.IntN(2)
				batches[o][id] = sqlstore.Touch{At: older, Service: "old", Region: "old"}
				if rng.IntN(4) > 0 { // else: only the older is flushed this round
					batches[1-o][id] = sqlstore.Touch{At: newer, Service: "new", Region: "new"}
					want[id] = newer
				} else {
					want[id] = older
				}
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range nodes {
			wg.Go(func() { errs[i] = nodes[i].writeTouches(context.Background(), batches[i]) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: node %d: %v", round, i, err)
			}
		}
		bad := 0
		for id, w := range want {
			var got lastUse
			if rid, ok := strings.CutPrefix(id, sqlstore.RolePrefix); ok {
				got = roleUse(t, nodes[0], rid)
			} else {
				got = keyUse(t, nodes[0], id)
			}
			if !got.at.Equal(w.Truncate(time.Microsecond)) {
				bad++
				if bad < 5 {
					t.Errorf("round %d: %s last used %v, want %v", round, id, got.at, w)
				}
			}
		}
		if bad > 0 {
			t.Fatalf("round %d: %d of %d rows hold an older use", round, bad, len(want))
		}
	}
}

// TestTouchesHeldRowOlderAfterNewer: a node's flush waits on a row
// another node's flush holds with a newer use; when that commits, the
// waiting older use must not overwrite it (the row is rechecked), and a
// key deleted while the flush waits is skipped without error.
func TestTouchesHeldRowOlderAfterNewer(t *testing.T) {
	s, dsn := attackStore(t, "touchheld")
	for _, id := range []string{"AKIAHELD", "AKIAGONE"} {
		addKey(t, s, id)
	}
	addRole(t, s, "AROAHELD")
	ctx := t.Context()
	t0 := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	other := connect(t, dsn)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	for _, q := range []string{
		`UPDATE access_keys SET last_used_at = '2026-12-07 12:00:10+00', last_used_service = 'new' WHERE id = 'AKIAHELD'`,
		`UPDATE roles SET last_used_at = '2026-12-07 12:00:10+00', last_used_region = 'new' WHERE id = 'AROAHELD'`,
		`DELETE FROM access_keys WHERE id = 'AKIAGONE'`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() {
		done <- s.writeTouches(ctx, map[string]sqlstore.Touch{
			"AKIAHELD":                       {At: t0.Add(5 * time.Second), Service: "old", Region: "old"},
			"AKIAGONE":                       {At: t0.Add(5 * time.Second), Service: "old", Region: "old"},
			sqlstore.RolePrefix + "AROAHELD": {At: t0.Add(5 * time.Second), Region: "old"},
		})
	}()
	select {
	case err := <-done:
		t.Fatalf("the flush did not wait for the held rows: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := keyUse(t, s, "AKIAHELD"); !got.at.Equal(t0.Add(10*time.Second)) || got.service != "new" {
		t.Errorf("key: the older use overwrote the newer once its row was free: %+v", got)
	}
	if got := roleUse(t, s, "AROAHELD"); !got.at.Equal(t0.Add(10*time.Second)) || got.region != "new" {
		t.Errorf("role: the older use overwrote the newer once its row was free: %+v", got)
	}
	var n int
	if err := (queryer{pool: s.pool}).QueryRowContext(ctx, `SELECT count(*) FROM access_keys WHERE id = 'AKIAGONE'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("deleted key: %d rows, %v", n, err)
	}
}
