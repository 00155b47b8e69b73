package pgsink

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/sharedtest"
	"github.com/opensts/opensts/internal/store/postgres"
)

// schemaDSN returns a DSN for a fresh, migrated schema of the test
// database (OPENSTS_TEST_POSTGRES_DSN; in CI a missing database fails).
func schemaDSN(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	dsn := sharedtest.PostgresSchema(t, sharedtest.PostgresDSN(t), "pgsink")
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	return dsn
}

var base = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// line is a record: event i of account acct at base+i minutes, by access
// key AKIA...<i%3>, resource role/r<i%2>.
func line(acct string, i int) []byte {
	return lineAt(acct, i, base.Add(time.Duration(i)*time.Minute))
}

func lineAt(acct string, i int, at time.Time) []byte {
	return fmt.Appendf(nil, `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::%[1]s:user/u%[3]d","accountId":"%[1]s","accessKeyId":"AKIAPGSINKTEST0000%[3]d","userName":"u%[3]d"},`+
		`"eventTime":"%[2]s","eventSource":"iam.amazonaws.com","eventName":"E%[4]d","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.1","userAgent":"t",`+
		`"requestParameters":null,"responseElements":null,"requestID":"r%[5]d","eventID":"id-%[1]s-%[5]d","readOnly":%[6]t,`+
		`"resources":[{"accountId":"%[1]s","type":"AWS::IAM::Role","ARN":"arn:aws:iam::%[1]s:role/r%[4]d"}],"eventType":"AwsApiCall","managementEvent":true,`+
		`"recipientAccountId":"%[1]s","eventCategory":"Management","seq":%[5]d,"prevHash":""}`,
		acct, at.Format(time.RFC3339), i%3, i%2, i, i%2 == 0)
}

func open(t *testing.T, dsn string, cfg Config) *Sink {
	t.Helper()
	cfg.DSN, cfg.Node = dsn, "test"
	if cfg.TokenKey == nil {
		cfg.TokenKey = []byte("0123456789abcdef0123456789abcdef")
	}
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func TestWriteAndLookup(t *testing.T) {
	dsn := schemaDSN(t)
	ctx := context.Background()
	s := open(t, dsn, Config{BatchEvents: 7})
	for i := range 30 {
		s.Write(line("111111111111", i))
		s.Write(line("222222222222", i))
	}
	if !s.Write([]byte(`{"not":"a record"`)) {
		t.Fatal("the buffer refused a line")
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Inserted() != 60 || s.Dropped() != 1 || s.Backlog() != 0 || s.WriteLatency() <= 0 {
		t.Fatalf("inserted %d dropped %d backlog %d latency %v", s.Inserted(), s.Dropped(), s.Backlog(), s.WriteLatency())
	}
	acct := audit.Filter{Account: "111111111111"}
	evs, next, err := s.LookupEvents(ctx, acct, "", 50)
	if err != nil || len(evs) != 30 || next != "" {
		t.Fatalf("%d events, next %q, %v", len(evs), next, err)
	}
	// Newest first, with the lookup fields and the record as written.
	e := evs[0]
	if e.EventID != "id-111111111111-29" || e.EventName != "E1" || e.ReadOnly != "false" || e.AccessKeyID != "AKIAPGSINKTEST00002" || e.Username != "u2" ||
		e.EventSource != "iam.amazonaws.com" || e.EventTime != float64(base.Add(29*time.Minute).Unix()) || string(line("111111111111", 29)) != e.CloudTrailEvent ||
		len(e.Resources) != 1 || e.Resources[0].ResourceType != "AWS::IAM::Role" || e.Resources[0].ResourceName != "arn:aws:iam::111111111111:role/r1" {
		t.Fatalf("event %+v", e)
	}
	count := func(f audit.Filter) int {
		t.Helper()
		f.Account = "111111111111"
		evs, _, err := s.LookupEvents(ctx, f, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.CloudTrailEvent == "" || e.EventID[:15] != "id-111111111111" {
				t.Fatalf("another account's event: %+v", e)
			}
		}
		return len(evs)
	}
	for f, want := range map[audit.Filter]int{
		{Attribute: "AccessKeyId", Value: "AKIAPGSINKTEST00001"}:                                      10,
		{Attribute: "Username", Value: "u0"}:                                                          10,
		{Attribute: "EventName", Value: "E0"}:                                                         15,
		{Attribute: "EventId", Value: "id-111111111111-4"}:                                            1,
		{Attribute: "EventId", Value: "id-222222222222-4"}:                                            0,
		{Attribute: "EventSource", Value: "iam.amazonaws.com"}:                                        30,
		{Attribute: "ReadOnly", Value: "true"}:                                                        15,
		{Attribute: "ReadOnly", Value: "yes"}:                                                         0,
		{Attribute: "ResourceType", Value: "AWS::IAM::Role"}:                                          30,
		{Attribute: "ResourceName", Value: "arn:aws:iam::111111111111:role/r0"}:                       15,
		{Attribute: "Nope", Value: "x"}:                                                               0,
		{Start: base.Add(10 * time.Minute), End: base.Add(14 * time.Minute)}:                          5,
		{Start: base.Add(25 * time.Minute)}:                                                           5,
		{End: base.Add(2*time.Minute + 30*time.Second)}:                                               3,
		{Attribute: "Username", Value: "u0", Start: base, End: base.Add(9*time.Minute + 1)}:           4,
		{Attribute: "AccessKeyId", Value: "AKIAPGSINKTEST00001", Start: base.Add(time.Hour)}:          0,
		{Attribute: "ResourceName", Value: "arn:aws:iam::222222222222:role/r0", Start: base}:          0,
		{Attribute: "AccessKeyId", Value: "AKIAPGSINKTEST00001' OR '1'='1", End: base.Add(time.Hour)}: 0,
	} {
		if got := count(f); got != want {
			t.Errorf("%+v: %d events, want %d", f, got, want)
		}
	}
}

func TestPagesAndTokens(t *testing.T) {
	dsn := schemaDSN(t)
	ctx := context.Background()
	s := open(t, dsn, Config{})
	// Several events share each second: the pages still split them once.
	for i := range 25 {
		s.Write(lineAt("111111111111", i, base.Add(time.Duration(i%5)*time.Minute)))
	}
	if err := s.Flush(ctx); err != nil || s.Inserted() != 25 {
		t.Fatalf("%v, inserted %d", err, s.Inserted())
	}
	f := audit.Filter{Account: "111111111111", Attribute: "EventSource", Value: "iam.amazonaws.com"}
	var got []string
	token, pages := "", 0
	var first string
	for {
		evs, next, err := s.LookupEvents(ctx, f, token, 4)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range evs {
			got = append(got, e.CloudTrailEvent)
		}
		if pages == 1 {
			first = next
		}
		if next == "" {
			break
		}
		token = next
	}
	seen := map[string]bool{}
	for _, g := range got {
		seen[g] = true
	}
	if len(got) != 25 || len(seen) != 25 || pages != 7 {
		t.Fatalf("%d events (%d distinct) in %d pages", len(got), len(seen), pages)
	}
	// A changed token, one for another filter or account, or another key's,
	// is refused.
	other := open(t, dsn, Config{TokenKey: []byte("another key of thirty-two bytes!!")})
	bad := []struct {
		s     *Sink
		f     audit.Filter
		token string
	}{
		{s, f, first[:len(first)-1] + flip(first[len(first)-1])},
		{s, f, first[:len(first)-10] + flip(first[len(first)-10]) + first[len(first)-9:]},
		{s, f, flip(first[0]) + first[1:]},
		{s, f, "MTIzLjQ1." + first[len(first)-22:]},
		{s, f, "not a token"},
		{s, audit.Filter{Account: "111111111111", Attribute: "EventName", Value: "E0"}, first},
		{s, audit.Filter{Account: "222222222222", Attribute: "EventSource", Value: "iam.amazonaws.com"}, first},
		{other, f, first},
	}
	for i, b := range bad {
		if _, _, err := b.s.LookupEvents(ctx, b.f, b.token, 4); !errors.Is(err, audit.ErrInvalidToken) {
			t.Errorf("bad token %d: %v", i, err)
		}
	}
}

func TestRetention(t *testing.T) {
	dsn := schemaDSN(t)
	ctx := context.Background()
	now := base.Add(30 * time.Minute)
	s := open(t, dsn, Config{Retention: 10 * time.Minute, Now: func() time.Time { return now }})
	for i := range 30 {
		s.Write(line("111111111111", i))
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	evs, _, err := s.LookupEvents(ctx, audit.Filter{Account: "111111111111"}, "", 50)
	if err != nil || len(evs) != 10 || evs[len(evs)-1].EventID != "id-111111111111-20" {
		t.Fatalf("%d events after retention: %v", len(evs), err)
	}
}

func TestFullBufferDropsAndDatabaseDownRetries(t *testing.T) {
	dsn := schemaDSN(t)
	ctx := context.Background()
	// A database that refuses connections: records wait (bounded), the
	// rest is dropped and counted, and Write never blocks.
	u, _ := url.Parse(dsn)
	u.Host = "127.0.0.1:1"
	s := start(Config{DSN: u.String(), Node: "t", TokenKey: make([]byte, 32), BufferBytes: 4096, BatchEvents: 100, BatchWait: time.Millisecond, Conns: 1,
		Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	accepted := 0
	for i := range 100 {
		if s.Write(line("111111111111", i)) {
			accepted++
		}
	}
	if accepted == 0 || accepted > 4096/500 || s.Dropped() != uint64(100-accepted) {
		t.Fatalf("accepted %d, dropped %d", accepted, s.Dropped())
	}
	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	s.Close(cctx)
	if s.Inserted() > uint64(accepted) || s.Backlog() != 0 {
		t.Fatalf("inserted %d backlog %d", s.Inserted(), s.Backlog())
	}
}

// flip is another base64url character than c.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// A batch sent again — as the sink does after an error that may have
// come after the server committed it — is stored once: LookupEvents lists
// each event once, and an event id looked up finds one event.
func TestBatchSentTwiceStoredOnce(t *testing.T) {
	dsn := schemaDSN(t)
	ctx := context.Background()
	s := open(t, dsn, Config{BatchEvents: 100})
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var batch [][]byte
	for i := range 5 {
		batch = append(batch, queued(line("111111111111", i), nil))
	}
	// Sent first (copied into the table), again (through the staging
	// table), and as a first attempt once more: a first attempt that
	// meets an event stored already falls back to the staging table.
	for _, again := range []bool{false, true, false} {
		if _, err := s.insert(ctx, conn, batch, again); err != nil {
			t.Fatal(err)
		}
	}
	// And a batch that holds one of them and a new one.
	if _, err := s.insert(ctx, conn, [][]byte{queued(line("111111111111", 2), nil), queued(line("111111111111", 5), nil)}, false); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit_events`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 6 {
		t.Fatalf("%d rows after the same 5 events were sent twice and 2 more (one of them again), want 6", n)
	}
	evs, _, err := s.LookupEvents(ctx, audit.Filter{Account: "111111111111", Attribute: "EventId", Value: "id-111111111111-2"}, "", 50)
	if err != nil || len(evs) != 1 {
		t.Fatalf("event id-111111111111-2: %d events, %v", len(evs), err)
	}
	// The same event id in another account is another event.
	if _, err := s.insert(ctx, conn, [][]byte{queued(bytes.ReplaceAll(line("111111111111", 0), []byte(`"recipientAccountId":"111111111111"`), []byte(`"recipientAccountId":"222222222222"`)), nil)}, false); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM audit_events`).Scan(&n); err != nil || n != 7 {
		t.Fatalf("%d rows (%v) after another account's event of the same id, want 7", n, err)
	}
}

// A value PostgreSQL's TEXT refuses (a NUL, which an unsigned request's
// action can carry, as \u0000 in its record; bytes that are not UTF-8) is
// stored as U+FFFD instead of failing the batch, which the sink retried
// for ever while every later event, of every account, waited behind it
// (an attack review's). Through a trail, as the server hands records over,
// and through Write, which parses the line.
func TestRefusedCharactersDoNotStopTheSink(t *testing.T) {
	dsn := schemaDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := open(t, dsn, Config{BatchEvents: 10})
	tr, err := audit.Open(audit.Config{Dir: t.TempDir(), Key: ed25519.NewKeyFromSeed(make([]byte, 32)),
		Build: audit.BuildConfig{Region: "us-east-1", Account: "111111111111"}, Sink: func(line, attrs []byte) { s.WriteWith(line, attrs) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, action := range []string{"Get\x00Caller", "Get\xffCaller", "ListUsers"} {
		r := httptest.NewRequest("POST", "http://opensts.test/", nil)
		x := &pipeline.Exchange{RequestID: "r-" + action, Time: time.Now(), HTTP: r, API: &pipeline.API{Name: "iam"}, Action: action}
		if err := tr.Record(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	s.Write(bytes.Replace(line("111111111111", 0), []byte(`"eventName":"E0"`), []byte(`"eventName":"E\u0000"`), 1))
	s.Write(line("111111111111", 1)) // a victim's, after them
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("flush: %v (inserted %d, failures %d)", err, s.Inserted(), s.Failures())
	}
	evs, _, err := s.LookupEvents(ctx, audit.Filter{Account: "111111111111"}, "", 50)
	if err != nil || len(evs) != 5 {
		t.Fatalf("%d events, %v", len(evs), err)
	}
	names := map[string]bool{}
	for _, e := range evs {
		names[e.EventName] = true
	}
	for _, want := range []string{"Get\uFFFDCaller", "ListUsers", "E\uFFFD", "E1"} {
		if !names[want] {
			t.Errorf("no event named %q among %v", want, names)
		}
	}
}

// A record PostgreSQL refuses for what it holds (here a line whose JSON
// string carries a byte that is not UTF-8, which Go's JSON reader
// accepts and the json column does not) fails the batch's COPY: the batch
// goes row by row, the refused record is dropped and counted, and the
// others of its batch and after it are stored, where the whole batch was
// retried for ever before.
func TestRefusedRecordDroppedOthersStored(t *testing.T) {
	dsn := schemaDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := open(t, dsn, Config{BatchEvents: 10})
	// Without the row-by-row retry the sink retries the batch for ever;
	// Close with the expired ctx then cuts it short instead of the
	// cleanup's waiting for it.
	defer s.Close(ctx)
	s.Write(line("111111111111", 0))
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// The writer now lets records gather for BatchWait: the next two
	// are one batch.
	s.Write(bytes.Replace(line("111111111111", 1), []byte(`"userAgent":"t"`), []byte("\"userAgent\":\"t\xff\""), 1))
	s.Write(line("111111111111", 2))
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("flush: %v (inserted %d, dropped %d, failures %d)", err, s.Inserted(), s.Dropped(), s.Failures())
	}
	s.Write(line("111111111111", 3)) // after the refused batch
	if err := s.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if s.Inserted() != 3 || s.Dropped() != 1 {
		t.Fatalf("inserted %d, dropped %d; want 3 and 1", s.Inserted(), s.Dropped())
	}
	evs, _, err := s.LookupEvents(ctx, audit.Filter{Account: "111111111111"}, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range evs {
		got[e.EventID] = true
	}
	for i, want := range []bool{true, false, true, true} {
		if id := fmt.Sprintf("id-111111111111-%d", i); got[id] != want {
			t.Errorf("event %s stored: %v, want %v", id, got[id], want)
		}
	}
}

// queued is the record the queue holds for line and attrs, on the heap.
func queued(line, attrs []byte) []byte {
	rec := make([]byte, queuedLen(line, attrs))
	putQueued(rec, line, attrs)
	return rec
}

// flakyProxy forwards connections to addr while up, and closes them at
// once while down.
type flakyProxy struct {
	ln   net.Listener
	addr string
	up   atomic.Bool
}

// startBehindProxy starts a sink on dsn whose one connection goes through a
// flakyProxy, up from the start or not.
func startBehindProxy(t *testing.T, dsn string, up bool, buffer int64, batch int) (*flakyProxy, *Sink) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newFlakyProxy(t, u.Host)
	p.up.Store(up)
	u.Host = p.ln.Addr().String()
	s := start(Config{DSN: u.String(), Node: "t", TokenKey: make([]byte, 32), BufferBytes: buffer, BatchEvents: batch, BatchWait: time.Millisecond, Conns: 1, ScratchDir: t.TempDir(),
		Now: time.Now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, nil)
	return p, s
}

func newFlakyProxy(t *testing.T, addr string) *flakyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, addr: addr}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.up.Load() {
				c.Close()
				continue
			}
			go func() {
				defer c.Close()
				d, err := net.Dial("tcp", p.addr)
				if err != nil {
					return
				}
				defer d.Close()
				go func() { _, _ = io.Copy(d, c) }()
				_, _ = io.Copy(c, d)
			}()
		}
	}()
	return p
}

// Records wait, in order, while the database is down, and those written
// while a batch is failing and retried are neither lost nor stored twice:
// once it is back, every accepted record is in the table once. The
// backlog (some 5 MB) is more than the chunks the queue keeps in memory:
// most of it waits in the scratch file and is read back.
func TestDatabaseDownThenUpStoresEveryRecordOnce(t *testing.T) {
	dsn := schemaDSN(t)
	ctx := context.Background()
	p, s := startBehindProxy(t, dsn, false, 8<<20, 40)
	defer s.Close(ctx)
	const n = 8000
	for i := range n {
		if !s.Write(line("222222222222", i)) {
			t.Fatalf("record %d dropped with the buffer far from full", i)
		}
		if i == n/2 {
			// Let the writer fail a few times with half the records queued.
			deadline := time.Now().Add(10 * time.Second)
			for s.Failures() < 2 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if s.Failures() < 2 {
				t.Fatalf("the writer did not fail against a database that is down (%d failures)", s.Failures())
			}
		}
	}
	if s.Inserted() != 0 || s.Backlog() != n {
		t.Fatalf("while down: inserted %d, backlog %d, want 0 and %d", s.Inserted(), s.Backlog(), n)
	}
	s.mu.Lock()
	inFile := s.queue.InFile()
	s.mu.Unlock()
	if inFile < 2 {
		t.Fatalf("while down: %d chunks of the backlog in the scratch file, want 2 or more", inFile)
	}
	p.up.Store(true)
	fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := s.Flush(fctx); err != nil {
		t.Fatalf("flush once the database is back: %v", err)
	}
	if s.Inserted() != n || s.Dropped() != 0 || s.Backlog() != 0 {
		t.Fatalf("inserted %d dropped %d backlog %d, want %d, 0, 0", s.Inserted(), s.Dropped(), s.Backlog(), n)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, distinct, whole int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT event_id), count(*) FILTER (WHERE event_id = 'id-222222222222-' || (record->>'seq')
		AND (record->>'seq')::int BETWEEN 0 AND $1) FROM audit_events WHERE account = '222222222222'`, n-1).Scan(&rows, &distinct, &whole); err != nil {
		t.Fatal(err)
	}
	if rows != n || distinct != n || whole != n {
		t.Fatalf("%d rows, %d distinct events, %d whole (the record's seq its event id's), want %d", rows, distinct, whole, n)
	}
}

// BenchmarkInsert stores batches of 1,000 records of an AssumeRole's size
// (some 1,300 bytes) as the writer does; ns/op is a batch's. The database
// does most of the work: on one machine, its backend's CPU time.
func BenchmarkInsert(b *testing.B) {
	dsn := sharedtest.PostgresSchema(b, sharedtest.PostgresDSN(b), "pgsinkbench")
	st, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	st.Close()
	ctx := context.Background()
	s := start(Config{DSN: dsn, Node: "bench", TokenKey: []byte("0123456789abcdef0123456789abcdef"), BatchEvents: DefaultBatchEvents,
		BatchWait: DefaultBatchWait, BufferBytes: DefaultBufferBytes, Conns: 1, Now: time.Now, Log: slog.New(slog.DiscardHandler)}, nil)
	defer s.Close(ctx)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	pad := bytes.Repeat([]byte("x"), 900)
	batch := make([][]byte, DefaultBatchEvents)
	cpu0, _ := backendCPU(conn)
	b.ResetTimer()
	for n := range b.N {
		for i := range batch {
			l := lineAt("111111111111", n*len(batch)+i, base)
			batch[i] = queued(append(l[:len(l)-1:len(l)-1], []byte(`,"pad":"`+string(pad)+`"}`)...), nil)
		}
		if _, err := s.insert(ctx, conn, batch, false); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/record")
	if end, ok := backendCPU(conn); ok {
		b.ReportMetric(float64(end-cpu0)/float64(b.N*len(batch)), "backend-ns/record")
	}
}

// backendCPU returns the CPU time conn's backend has taken, where the
// database runs on this machine (Linux).
func backendCPU(conn *pgx.Conn) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", conn.PgConn().PID()))
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+s) * 10 * time.Millisecond, true // USER_HZ: 100
}
