package sqlstore

import (
	"context"
	"fmt"

	"github.com/opensts/opensts/internal/store"
)

// sourcesQuery is the one statement of PolicySources for each kind: a row
// for the owner (tag 0), then its inline policies (1), attachments (2) and,
// for users, groups (3), ordered as the list calls order them.
var sourcesQuery = func() map[store.PrincipalKind]string {
	out := map[store.PrincipalKind]string{}
	for _, kind := range []store.PrincipalKind{store.KindUser, store.KindGroup, store.KindRole} {
		table, col, err := ownerTable(kind)
		if err != nil {
			panic(err)
		}
		q := `WITH o AS (SELECT pk FROM ` + table + ` WHERE account = ? AND name = ?)
			SELECT 0, '', '', '' FROM o
			UNION ALL SELECT 1, lower(i.name), i.name, i.document FROM inline_policies i JOIN o ON i.` + col + ` = o.pk
			UNION ALL SELECT 2, lower(p.name), p.arn, '' FROM attachments a JOIN o ON a.` + col + ` = o.pk JOIN managed_policies p ON p.pk = a.policy_pk`
		if kind == store.KindUser {
			q += `
			UNION ALL SELECT 3, lower(g.name), g.name, g.id FROM group_members m JOIN o ON m.user_pk = o.pk JOIN groups g ON g.pk = m.group_pk`
		}
		out[kind] = q + `
			ORDER BY 1, 2, 3`
	}
	return out
}()

// PolicySources implements store.PolicySourceReader with one statement
// (one snapshot), which the backend's statement cache keeps prepared.
func (s *Store) PolicySources(ctx context.Context, account string, kind store.PrincipalKind, owner string) (store.PolicySources, error) {
	var out store.PolicySources
	q, ok := sourcesQuery[kind]
	if !ok {
		return out, fmt.Errorf("policy sources: unknown kind %q", kind)
	}
	rows, err := s.db.QueryContext(ctx, q, account, owner)
	if err != nil {
		return out, fmt.Errorf("policy sources of %s %s: %w", kind, owner, s.db.Translate(err))
	}
	out, found, err := readSources(rows, &account, nil)
	if err != nil {
		return out, fmt.Errorf("policy sources of %s %s: %w", kind, owner, s.db.Translate(err))
	}
	if !found {
		return out, fmt.Errorf("policy sources of %s %s: %w", kind, owner, store.ErrNotFound)
	}
	return out, nil
}

// readSources reads the rows of a sources statement and closes them: the
// owner's (tag 0), whose columns after the sort key go to owner (nil when
// the statement has only the owner's tag), then its inline policies (1),
// attachments (2) and groups (3), each in columns a and b, the rest
// empty; groups are of *account, read when they come (after the owner's
// row). It reports whether the owner's row was there.
func readSources(rows Rows, account *string, owner func(cols *[5]string) error) (out store.PolicySources, found bool, err error) {
	defer rows.Close()
	var (
		tag  int
		sort string
		cols [5]string
	)
	dest := []any{&tag, &sort, &cols[0], &cols[1]}
	if owner != nil {
		dest = append(dest, &cols[2], &cols[3], &cols[4])
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return out, found, err
		}
		a, b := cols[0], cols[1]
		switch tag {
		case 0:
			found = true
			if owner != nil {
				if err := owner(&cols); err != nil {
					return out, found, err
				}
			}
		case 1:
			out.Inline = append(out.Inline, store.InlinePolicy{Name: a, Document: b})
		case 2:
			out.Attached = append(out.Attached, a)
		case 3:
			out.Groups = append(out.Groups, store.Group{Account: *account, Name: a, ID: b})
		}
	}
	return out, found, rows.Err()
}

// principalQuery is PrincipalSources' statement for each kind: sourcesQuery
// with the owner found by unique id and its row (tag 0) carrying its
// account, name, path, boundary and tags; every row has seven columns.
var principalQuery = func() map[store.PrincipalKind]string {
	out := map[store.PrincipalKind]string{}
	for _, kind := range []store.PrincipalKind{store.KindUser, store.KindRole} {
		table, col, err := ownerTable(kind)
		if err != nil {
			panic(err)
		}
		q := `WITH o AS (SELECT pk, account, name, path, boundary, CAST(tags AS TEXT) AS tags FROM ` + table + ` WHERE id = ?)
			SELECT 0, '', o.account, o.name, o.path, o.boundary, o.tags FROM o
			UNION ALL SELECT 1, lower(i.name), i.name, i.document, '', '', '' FROM inline_policies i JOIN o ON i.` + col + ` = o.pk
			UNION ALL SELECT 2, lower(p.name), p.arn, '', '', '', '' FROM attachments a JOIN o ON a.` + col + ` = o.pk JOIN managed_policies p ON p.pk = a.policy_pk`
		if kind == store.KindUser {
			q += `
			UNION ALL SELECT 3, lower(g.name), g.name, g.id, '', '', '' FROM group_members m JOIN o ON m.user_pk = o.pk JOIN groups g ON g.pk = m.group_pk`
		}
		out[kind] = q + `
			ORDER BY 1, 2, 3`
	}
	return out
}()

// PrincipalSources implements store.PrincipalSourceReader with one
// statement, which the backend's statement cache keeps prepared.
func (s *Store) PrincipalSources(ctx context.Context, kind store.PrincipalKind, id string) (store.PrincipalSources, error) {
	var out store.PrincipalSources
	q, ok := principalQuery[kind]
	if !ok {
		return out, fmt.Errorf("principal sources: unknown kind %q", kind)
	}
	rows, err := s.db.QueryContext(ctx, q, id)
	if err != nil {
		return out, fmt.Errorf("principal sources of %s %s: %w", kind, id, s.db.Translate(err))
	}
	src, found, err := readSources(rows, &out.Account, func(c *[5]string) error {
		out.Account, out.Name, out.Path, out.PermissionsBoundary = c[0], c[1], c[2], c[3]
		return ScanTags(&out.Tags).Scan(c[4])
	})
	if err != nil {
		return store.PrincipalSources{}, fmt.Errorf("principal sources of %s %s: %w", kind, id, s.db.Translate(err))
	}
	if !found {
		return store.PrincipalSources{}, fmt.Errorf("principal sources of %s %s: %w", kind, id, store.ErrNotFound)
	}
	out.Sources = src
	return out, nil
}
