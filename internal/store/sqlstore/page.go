package sqlstore

import (
	"strings"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/store"
)

// page is the WHERE conditions (each starting with " AND "), ORDER BY and
// LIMIT of one page of a list sorted by a case-insensitive name, with their
// arguments: the conditions' arguments come before the LIMIT's, so a query
// appends the tail after its own conditions.
type page struct {
	cond  string
	args  []any
	order string // " ORDER BY ..."
	limit string // " LIMIT ?" or ""
	n     []any  // the LIMIT's argument
}

// query returns head (a SELECT ... WHERE ... with args) completed into the
// page's query and its arguments.
func (p page) query(head string, args ...any) (string, []any) {
	all := append(append(append([]any{}, args...), p.args...), p.n...)
	return head + p.cond + p.order + p.limit, all
}

// listFrom is the FROM item of a list page over table (with alias): when
// opt has a path prefix, the table with the backend's hint to use its path
// index, <table>_path, which 0003_list_indexes creates for every paged table
// with a path.
func (s *Store) listFrom(table, alias string, opt store.ListOptions) string {
	from := table
	if alias != "" {
		from += " " + alias
	}
	if opt.PathPrefix != "" && opt.PathPrefix != "/" {
		from += s.d.IndexedBy(table + "_path")
	}
	return from
}

// namePage builds the page of opt over the name column nameCol and the path
// column pathCol ("" if the list has no path). The order is the
// case-insensitive order of names (store.NameKey), which the backends serve
// from an index on (account, folded name); the path prefix is a range on an
// index on (account, path).
func (s *Store) namePage(nameCol, pathCol string, opt store.ListOptions) page {
	p := s.keysetPage(s.d.FoldOrder(nameCol), store.NameKey(opt.After), opt)
	if pathCol != "" {
		cond, args := s.pathPrefix(pathCol, opt.PathPrefix)
		p.cond, p.args = cond+p.cond, append(args, p.args...)
	}
	return p
}

// keyPage builds the page of opt over keyCol, a column that holds the list
// key (store.NameKey) of a name, compared in byte order: the keys that
// memberships and attachments keep of their owners.
func (s *Store) keyPage(keyCol string, opt store.ListOptions) page {
	return s.keysetPage(s.d.Order(keyCol), store.NameKey(opt.After), opt)
}

// exactPage builds the page of opt over col compared byte for byte, for
// lists keyed by an id: opt.After is an id, not a name.
func (s *Store) exactPage(col string, opt store.ListOptions) page {
	return s.keysetPage(s.d.Order(col), opt.After, opt)
}

// keysetPage is the page of opt ordered by the ORDER BY term key, starting
// after (or at, with IncludeAfter) the key after if it is not empty; opt's
// path prefix is the caller's.
func (s *Store) keysetPage(key, after string, opt store.ListOptions) page {
	var p page
	if after != "" {
		op := " > ?"
		if opt.IncludeAfter {
			op = " >= ?"
		}
		p.cond = " AND " + key + op
		p.args = []any{after}
	}
	p.order = " ORDER BY " + key
	if opt.Limit > 0 {
		p.limit, p.n = " LIMIT ?", []any{opt.Limit}
	}
	return p
}

// pathPrefix is the condition on the path column for a path prefix: the
// range [prefix, successor(prefix)) in byte order, which an index on the
// column serves (a LIKE or substr would scan). Paths are case-sensitive
// and literal, as in AWS.
func (s *Store) pathPrefix(column, prefix string) (string, []any) {
	if prefix == "" || prefix == "/" {
		return "", nil
	}
	col := s.d.Order(column)
	if hi, ok := prefixEnd(prefix); ok {
		return " AND " + col + " >= ? AND " + col + " < ?", []any{prefix, hi}
	}
	return " AND " + col + " >= ?", []any{prefix}
}

// prefixEnd returns the smallest string greater, in byte order, than every
// string that starts with prefix, when there is one. For valid UTF-8 it
// increments the last rune that can be incremented and drops the runes after
// it, so the result is valid UTF-8 too (PostgreSQL refuses anything else);
// UTF-8 byte order is code point order, so no valid string that does not
// start with prefix falls in between. Otherwise it works on bytes.
func prefixEnd(prefix string) (string, bool) {
	if !utf8.ValidString(prefix) {
		b := []byte(prefix)
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] < 0xff {
				b[i]++
				return string(b[:i+1]), true
			}
		}
		return "", false
	}
	for p := prefix; p != ""; {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		next := r + 1
		if next == 0xD800 { // skip the surrogates, which UTF-8 cannot encode
			next = 0xE000
		}
		if next > utf8.MaxRune {
			continue
		}
		var b strings.Builder
		b.WriteString(p)
		b.WriteRune(next)
		return b.String(), true
	}
	return "", false
}
