package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// ErrTargetNotEmpty is returned by Copy for a target that holds data.
var ErrTargetNotEmpty = errors.New("the target store is not empty")

// colKind is how a column is carried between backends.
type colKind int

const (
	cText colKind = iota // TEXT
	cInt                 // INTEGER / BIGINT
	cBool                // INTEGER 0/1 (SQLite), BOOLEAN (PostgreSQL)
	cTime                // Dialect.Time
	cBlob                // BLOB / BYTEA: sealed secrets are copied byte for byte
	cJSON                // TEXT (SQLite), JSONB (PostgreSQL)
)

type copyColumn struct {
	name string
	kind colKind
}

// copyTable is one table Copy moves. identity names a key column that
// PostgreSQL generates (the copy keeps its values, and the sequence is
// moved past them).
type copyTable struct {
	name     string
	identity string
	cols     []copyColumn
	// selfRef names a column that references the table's own key (key:
	// the first column): rows are inserted with it NULL and it is set once
	// every row is in, so that no row waits for its parent.
	selfRef string
}

func cols(spec string) []copyColumn {
	var out []copyColumn
	for _, f := range strings.Fields(spec) {
		name, k, _ := strings.Cut(f, ":")
		kind, ok := map[string]colKind{"": cText, "i": cInt, "b": cBool, "t": cTime, "x": cBlob, "j": cJSON}[k]
		if !ok {
			panic("copy: unknown column kind " + k)
		}
		out = append(out, copyColumn{name, kind})
	}
	return out
}

// copyTables is every table of the schema but schema_migrations (each
// backend writes its own when it opens) and PostgreSQL's audit_events (the
// SQLite backend keeps the audit trail in files; see Copy), in an order
// that satisfies the foreign keys. Copy checks it against both databases'
// schemas, so a table or column added by a migration and not here stops
// the copy instead of being left behind.
var copyTables = []copyTable{
	{name: "accounts", cols: cols("id name email created_at:t management:b standalone:b joined_method joined_at:t closed_at:t")},
	{name: "users", identity: "pk", cols: cols("pk:i account id name path created_at:t boundary tags:j")},
	{name: "groups", identity: "pk", cols: cols("pk:i account id name path created_at:t")},
	{name: "group_members", cols: cols("group_pk:i user_pk:i user_key")},
	{name: "roles", identity: "pk", cols: cols("pk:i account id name path trust_policy description max_session_duration:i boundary created_at:t tags:j last_used_at:t last_used_region")},
	{name: "access_keys", cols: cols("id account user_pk:i user_id secret:x status created_at:t last_used_at:t last_used_service last_used_region")},
	{name: "inline_policies", identity: "pk", cols: cols("pk:i user_pk:i group_pk:i role_pk:i name document")},
	{name: "managed_policies", identity: "pk", cols: cols("pk:i account id name path arn description default_version_id created_at:t updated_at:t tags:j")},
	{name: "policy_versions", cols: cols("policy_pk:i version_id document created_at:t")},
	{name: "attachments", identity: "pk", cols: cols("pk:i user_pk:i group_pk:i role_pk:i policy_pk:i account owner_key")},
	{name: "mfa_devices", cols: cols("serial account name path seed:x user_pk:i enabled_at:t created_at:t tags:j last_counter:i")},
	{name: "signing_keys", cols: cols("id algorithm public:x private:x created_at:t sign_until:t verify_until:t revoked:b")},
	{name: "org_policies", cols: cols("id name description type content aws_managed:b")},
	{name: "org_attachments", cols: cols("policy_id target_id")},
	{name: "settings", cols: cols("key value")},
	{name: "changes", cols: cols("seq:i idx:i kind account key name changed_at:t")},
	{name: "saml_providers", cols: cols("account name arn metadata created_at:t valid_until:t tags:j")},
	{name: "saml_assertions", cols: cols("key:x expires_ms:i")},
	{name: "oidc_providers", cols: cols("account name client_ids thumbprints tags:j created_at:t")},
	{name: "ldap_providers", cols: cols("account name arn url start_tls:b allow_insecure:b ca_certificates bind_dn bind_password:x user_search_base user_filter group_mode group_search_base group_filter created_at:t updated_at:t")},
	{name: "revocations", cols: cols("id account kind target role_id origin_keys issued_before_ms:i created_ms:i expires_ms:i created_by reason")},
	{name: "org_units", cols: cols("id name parent_unit created_at:t"), selfRef: "parent_unit"},
	{name: "org_account_parents", cols: cols("account_id parent_unit")},
	{name: "org_tags", cols: cols("resource_id key value")},
	{name: "detect_alerts", cols: cols("key:x until_ms:i")},
	{name: "detect_baselines", cols: cols("subject data:x updated_ms:i")},
	{name: "service_access", cols: cols("principal_id service action account at_ms:i region")},
	{name: "access_reports", cols: cols("account id created_ms:i data:x")},
	{name: "org_handshakes", cols: cols("id org_id action state master target_type target target_account notes tags requested_at:t expires_at:t")},
	{name: "org_delegated_admins", cols: cols("account_id service_principal delegated_at:t")},
	{name: "org_service_access", cols: cols("service_principal enabled_at:t")},
	{name: "org_account_failures", cols: cols("id account_name reason requested_at:t")},
	{name: "throttles", cols: cols("key:x failures:i window_start_ms:i locked_until_ms:i expires_ms:i")},
	{name: "instance_profiles", identity: "pk", cols: cols("pk:i account id name path created_at:t tags:j role_pk:i")},
	{name: "login_profiles", cols: cols("user_pk:i password_hash reset_required:b created_at:t changed_at:t previous")},
	{name: "password_policies", cols: cols("account policy")},
	{name: "account_aliases", cols: cols("account alias")},
	{name: "user_credentials", cols: cols("id user_pk:i kind status created_at:t expires_at:t body fingerprint service_name service_user_name secret:x")},
	{name: "server_certificates", identity: "pk", cols: cols("pk:i account id name path body chain private_key:x uploaded_at:t expires_at:t tags:j")},
	{name: "credential_reports", cols: cols("account generated_at:t content:x")},
	{name: "role_deletion_tasks", cols: cols("id account role_name status reason created_at:t")},
	{name: "issuer_keys", cols: cols("id algorithm public:x private:x created_at:t sign_until:t verify_until:t revoked:b")},
}

// changeSeq is the feed's counter row, copied as a value.
const changeSeq = "change_seq"

// notCopied are tables Copy leaves alone: schema_migrations, and
// audit_events, which only the PostgreSQL backend has.
var notCopied = map[string]bool{"schema_migrations": true, "audit_events": true}

// CopyReport says what Copy moved.
type CopyReport struct {
	Rows map[string]int64 // by table
	// ChangeSeq is the change feed's counter as copied.
	ChangeSeq int64
	// AuditEvents is the number of rows of the source's audit_events table
	// (PostgreSQL), which Copy leaves behind.
	AuditEvents int64
}

// Copy copies every table of src into dst, which must be empty (a store
// just opened: no rows, the feed's counter at 0; else ErrTargetNotEmpty),
// reading src in one snapshot and writing dst in one transaction, so dst
// ends with all of it or none. Values move as they are stored: sealed
// secrets stay sealed under the same master key, ids and the change feed's
// sequence are kept. Both stores must be at the same schema version (open
// them with the same binary). PostgreSQL's audit_events table is not
// copied (CopyReport.AuditEvents counts it): the audit trail of a SQLite
// deployment is files in its data directory, and the database's events
// stay where they are.
func Copy(ctx context.Context, dst, src *Store) (CopyReport, error) {
	rep := CopyReport{Rows: map[string]int64{}}
	srcCols, err := schemaColumns(ctx, src)
	if err != nil {
		return rep, fmt.Errorf("copy store: read the source schema: %w", err)
	}
	dstCols, err := schemaColumns(ctx, dst)
	if err != nil {
		return rep, fmt.Errorf("copy store: read the target schema: %w", err)
	}
	for _, sc := range []struct {
		what string
		cols map[string][]string
	}{{"source", srcCols}, {"target", dstCols}} {
		if err := checkSchema(sc.cols); err != nil {
			return rep, fmt.Errorf("copy store: the %s schema: %w", sc.what, err)
		}
	}
	_, srcAudit := srcCols["audit_events"]
	tables := copyTables
	err = src.db.Read(ctx, func(stx Tx) error {
		if srcAudit {
			if err := stx.QueryRowContext(ctx, `SELECT count(*) FROM audit_events`).Scan(&rep.AuditEvents); err != nil {
				return err
			}
		}
		var seq int64
		if err := stx.QueryRowContext(ctx, `SELECT value FROM change_seq WHERE id = 1`).Scan(&seq); err != nil {
			return err
		}
		return dst.db.Write(ctx, func(dtx Tx) error {
			clear(rep.Rows) // a retried write starts over
			if err := dst.checkEmpty(ctx, dtx, tables); err != nil {
				return err
			}
			for _, t := range tables {
				n, err := copyRows(ctx, dtx, stx, src.d, dst.d, t)
				if err != nil {
					return fmt.Errorf("table %s: %w", t.name, err)
				}
				rep.Rows[t.name] = n
				if n > 0 && t.identity != "" {
					if q := dst.d.ResetIdentity(t.name, t.identity); q != "" {
						if _, err := dtx.ExecContext(ctx, q); err != nil {
							return fmt.Errorf("table %s: %w", t.name, err)
						}
					}
				}
			}
			if _, err := dtx.ExecContext(ctx, `UPDATE change_seq SET value = ? WHERE id = 1`, seq); err != nil {
				return err
			}
			rep.ChangeSeq = seq
			return nil
		})
	})
	if err != nil {
		return rep, fmt.Errorf("copy store: %w", err)
	}
	return rep, nil
}

// schemaColumns returns the columns of every table of s's schema.
func schemaColumns(ctx context.Context, s *Store) (map[string][]string, error) {
	out := map[string][]string{}
	rows, err := s.db.QueryContext(ctx, s.d.ColumnsQuery())
	if err != nil {
		return nil, s.db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return nil, err
		}
		out[t] = append(out[t], c)
	}
	return out, rows.Err()
}

// checkSchema checks that copyTables names every table and column of a
// schema, and nothing it lacks.
func checkSchema(schema map[string][]string) error {
	known := map[string]bool{changeSeq: true}
	for t := range notCopied {
		known[t] = true
	}
	for _, t := range copyTables {
		known[t.name] = true
		have, ok := schema[t.name]
		if !ok {
			return fmt.Errorf("no table %s (is it at this binary's schema version?)", t.name)
		}
		want := make([]string, len(t.cols))
		for i, c := range t.cols {
			want[i] = c.name
		}
		sort.Strings(want)
		have = append([]string(nil), have...)
		sort.Strings(have)
		if strings.Join(want, ",") != strings.Join(have, ",") {
			return fmt.Errorf("table %s has columns %v; the copy knows %v", t.name, have, want)
		}
	}
	for t := range schema {
		if !known[t] {
			return fmt.Errorf("table %s is not known to the copy", t)
		}
	}
	return nil
}

// checkEmpty returns ErrTargetNotEmpty unless every table is empty and the
// feed's counter is 0.
func (s *Store) checkEmpty(ctx context.Context, tx Tx, tables []copyTable) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT value FROM change_seq WHERE id = 1`).Scan(&seq); err != nil {
		return err
	}
	if seq != 0 {
		return fmt.Errorf("%w: its change feed is at %d", ErrTargetNotEmpty, seq)
	}
	for _, t := range tables {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM `+t.name+` LIMIT 1) x`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: table %s has rows", ErrTargetNotEmpty, t.name)
		}
	}
	return nil
}

// copyBatch bounds the rows of one INSERT (at most 16 columns each, far
// below either backend's limit on parameters).
const copyBatch = 200

// copyRows streams table t from stx into dtx and returns the row count.
func copyRows(ctx context.Context, dtx, stx Tx, sd, dd Dialect, t copyTable) (int64, error) {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	rows, err := stx.QueryContext(ctx, `SELECT `+strings.Join(names, ", ")+` FROM `+t.name)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
	head := `INSERT INTO ` + t.name + ` (` + strings.Join(names, ", ") + `) `
	if t.identity != "" {
		head += dd.OverrideIdentity() + " "
	}
	var args []any
	var pending int
	var n int64
	self := -1
	for i, c := range t.cols {
		if c.name == t.selfRef {
			self = i
		}
	}
	var refs [][2]string // key, reference
	flush := func() error {
		if pending == 0 {
			return nil
		}
		q := head + "VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", pending), ", ")
		if _, err := dtx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		args, pending = args[:0], 0
		return nil
	}
	for rows.Next() {
		vals := make([]columnValue, len(t.cols))
		dests := make([]any, len(t.cols))
		for i, c := range t.cols {
			vals[i].kind = c.kind
			dests[i] = vals[i].dest(sd)
		}
		if err := rows.Scan(dests...); err != nil {
			return n, err
		}
		if self >= 0 && vals[self].str.Valid {
			refs = append(refs, [2]string{vals[0].str.String, vals[self].str.String})
			vals[self].str.Valid = false
		}
		for i := range vals {
			args = append(args, vals[i].arg(dd))
		}
		pending++
		n++
		if pending == copyBatch {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	if err := flush(); err != nil {
		return n, err
	}
	for _, r := range refs {
		if _, err := dtx.ExecContext(ctx, `UPDATE `+t.name+` SET `+t.selfRef+` = ? WHERE `+t.cols[0].name+` = ?`, r[1], r[0]); err != nil {
			return n, err
		}
	}
	return n, nil
}

// columnValue is one value in flight, decoded from the source's encoding
// and encoded for the target's.
type columnValue struct {
	kind  colKind
	str   sql.NullString
	num   sql.NullInt64
	b     flexBool
	t     time.Time
	bytes []byte
}

func (v *columnValue) dest(d Dialect) any {
	switch v.kind {
	case cInt:
		return &v.num
	case cBool:
		return &v.b
	case cTime:
		return d.ScanTime(&v.t)
	case cBlob:
		return &v.bytes
	default:
		return &v.str
	}
}

func (v *columnValue) arg(d Dialect) any {
	switch v.kind {
	case cInt:
		if !v.num.Valid {
			return nil
		}
		return v.num.Int64
	case cBool:
		return d.Bool(bool(v.b))
	case cTime:
		return d.Time(v.t)
	case cBlob:
		return v.bytes
	default:
		if !v.str.Valid {
			return nil
		}
		return v.str.String
	}
}

// flexBool scans a boolean stored as a BOOLEAN or as an INTEGER 0/1.
type flexBool bool

func (b *flexBool) Scan(v any) error {
	switch v := v.(type) {
	case bool:
		*b = flexBool(v)
	case int64:
		*b = v != 0
	default:
		return fmt.Errorf("scan bool: unsupported type %T", v)
	}
	return nil
}
