// Package sqlstore is the store.Store implementation shared by the SQL
// storage backends (sqlite and postgres): the queries, written once with ?
// placeholders and with a Dialect for what differs, the scanning and encoding
// of records, migration file loading and the coalescing of access key usage.
// Each backend keeps its connections, transactions, schema, time encoding and
// error translation, and provides them through DB and Dialect.
//
// Deletes: IAM refuses to delete a user, group or role that still has keys,
// memberships, policies or attachments before it calls the store, so the store
// simply deletes the row. Rows that only exist through that principal
// (memberships, inline policies, attachments, access keys) go with it through
// ON DELETE CASCADE in each backend's schema, so nothing is left for a later
// principal of the same name to inherit; an MFA device assigned to a deleted
// user becomes unassigned. A managed policy or an Organizations policy that is
// still attached is the exception: deleting one returns store.ErrConflict, as
// AWS does.
//
// Change feed: every write records the store.Changes it makes in its own
// transaction, under one sequence number taken last (changes.go says how the
// numbers stay in commit order across nodes); rows removed by a cascade are
// recorded too.
//
// It imports store only.
package sqlstore

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/opensts/opensts/internal/store"
)

// Scanner is a single row: a *sql.Row, *sql.Rows, pgx.Row or pgx.Rows.
type Scanner interface{ Scan(dest ...any) error }

// Result is the outcome of a statement: a sql.Result or a backend's row count.
type Result interface{ RowsAffected() (int64, error) }

// Affected returns store.ErrNotFound when res changed no row, and err if it
// is not nil.
func Affected(res Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// EncodeTags encodes tags as a JSON array, keeping their order; no tags
// encode as "[]".
func EncodeTags(tags []store.Tag) string {
	if len(tags) == 0 {
		return "[]"
	}
	b, err := json.Marshal(tags)
	if err != nil {
		panic(err) // strings always marshal
	}
	return string(b)
}

// Tags scans a tags column written by EncodeTags into *p; NULL and no
// tags decode as nil.
type Tags struct{ p *[]store.Tag }

// ScanTags returns the scan destination for a tags column.
func ScanTags(p *[]store.Tag) Tags { return Tags{p} }

// Scan implements sql.Scanner.
func (t Tags) Scan(v any) error {
	var s string
	switch v := v.(type) {
	case nil:
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		return fmt.Errorf("scan tags: unsupported type %T", v)
	}
	*t.p = nil
	if s == "" || s == "[]" {
		return nil
	}
	return json.Unmarshal([]byte(s), t.p)
}

// Migration is one schema migration script, read from a file named
// "<version>_<name>.sql".
type Migration struct {
	Version int
	Name    string // the file name
	SQL     string
}

// LoadMigrations reads the migration scripts in directory dir of fsys,
// ordered by version. The versions must be 1..n without gaps.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("bad migration file name %q", e.Name())
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{v, e.Name(), string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations are not numbered 1..n: %s", m.Name)
		}
	}
	return ms, nil
}
