package server

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/opensts/opensts/internal/store/postgres"
	"github.com/opensts/opensts/internal/store/sqlite"
	"github.com/opensts/opensts/internal/store/sqlstore"
)

// StoreLocation names a store for CopyStore: a PostgreSQL URL
// (postgres:// or postgresql://) or a data directory (a path, or
// sqlite:PATH), whose database is DIR/opensts.db.
type StoreLocation struct {
	DatabaseURL string
	DataDir     string
}

// ParseStoreLocation reads a --from or --to value.
func ParseStoreLocation(s string) (StoreLocation, error) {
	switch {
	case s == "":
		return StoreLocation{}, errors.New("empty store location")
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return StoreLocation{DatabaseURL: s}, nil
	case strings.Contains(s, "://"):
		return StoreLocation{}, fmt.Errorf("store location %q: want a postgres:// URL or a data directory", redactURL(s))
	}
	return StoreLocation{DataDir: strings.TrimPrefix(s, "sqlite:")}, nil
}

// String names the location without a password.
func (l StoreLocation) String() string {
	if l.DatabaseURL != "" {
		return redactURL(l.DatabaseURL)
	}
	return "data directory " + l.DataDir
}

// redactURL drops the passwords of a URL: the userinfo's, and the value
// of every query parameter whose name holds "password" (libpq and pgx
// read password= and sslpassword= there too).
func redactURL(s string) string {
	s, frag, hasFrag := strings.Cut(s, "#")
	base, query, hasQuery := strings.Cut(s, "?")
	if scheme, rest, ok := strings.Cut(base, "://"); ok {
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			user, _, _ := strings.Cut(rest[:at], ":")
			base = scheme + "://" + user + ":xxxxx" + rest[at:]
		}
	}
	if hasQuery {
		parts := strings.Split(query, "&")
		for i, p := range parts {
			name, _, _ := strings.Cut(p, "=")
			if n, err := url.QueryUnescape(name); err != nil || strings.Contains(strings.ToLower(n), "password") {
				parts[i] = name + "=xxxxx"
			}
		}
		base += "?" + strings.Join(parts, "&")
	}
	if hasFrag {
		base += "#" + frag
	}
	return base
}

func (l StoreLocation) open(ctx context.Context, create bool) (*sqlstore.Store, func() error, error) {
	if l.DatabaseURL != "" {
		s, err := postgres.Open(ctx, l.DatabaseURL)
		if err != nil {
			return nil, nil, err
		}
		return s.Store, s.Close, nil
	}
	db := filepath.Join(l.DataDir, "opensts.db")
	if create {
		if err := ensureDataDir(l.DataDir); err != nil {
			return nil, nil, err
		}
	} else if _, err := os.Stat(db); err != nil {
		return nil, nil, fmt.Errorf("no OpenSTS database in %s: %w", l.DataDir, err)
	}
	s, err := sqlite.Open(db)
	if err != nil {
		return nil, nil, err
	}
	return s.Store, s.Close, nil
}

// CopyStore copies every table of the store at from into the store at to
// (sqlstore.Copy), which must be empty: a new data directory, or a
// PostgreSQL database (or schema) holding no OpenSTS data. Both are brought
// to this binary's schema first. No server may write to from meanwhile
// (stop it, or accept that writes after the copy's snapshot stay behind).
// Sealed secrets are copied as they are: start the target's nodes with the
// master key of the source.
func CopyStore(ctx context.Context, from, to StoreLocation) (sqlstore.CopyReport, error) {
	if from == to {
		return sqlstore.CopyReport{}, errors.New("copy store: --from and --to are the same store")
	}
	src, closeSrc, err := from.open(ctx, false)
	if err != nil {
		return sqlstore.CopyReport{}, fmt.Errorf("copy store: open %s: %w", from, err)
	}
	defer func() { _ = closeSrc() }() // read only: nothing to flush that matters
	dst, closeDst, err := to.open(ctx, true)
	if err != nil {
		return sqlstore.CopyReport{}, fmt.Errorf("copy store: open %s: %w", to, err)
	}
	rep, err := sqlstore.Copy(ctx, dst, src)
	if cerr := closeDst(); err == nil && cerr != nil {
		err = fmt.Errorf("copy store: close %s: %w", to, cerr)
	}
	return rep, err
}
