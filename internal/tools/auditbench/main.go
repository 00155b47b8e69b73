// Command auditbench measures LookupEvents over a large trail: it records
// N events (default 1,000,000) through a real audit.Trail (its index sized
// to hold them all), and, given a PostgreSQL DSN, through the database
// sink into audit_events in a fresh schema; then it times LookupEvents
// (audit.Service, as the CloudTrail route calls it) by AccessKeyId (first
// page, a busy key and a key seen only in the oldest events) and by a
// one-hour time range in the middle of the trail.
//
//	go run ./internal/tools/auditbench
//	go run ./internal/tools/auditbench -postgres "$(./scripts/test-postgres)"
//
// It is a measuring tool, not a test: it prints figures and sets no targets.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opensts/opensts/internal/audit"
	"github.com/opensts/opensts/internal/audit/pgsink"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/policy"
	"github.com/opensts/opensts/internal/store/postgres"
)

const account = "123456789012"

var (
	n         = flag.Int("n", 1_000_000, "events to record")
	keys      = flag.Int("keys", 1000, "distinct access keys (the busy key makes 1/keys of the events)")
	span      = flag.Duration("span", 30*24*time.Hour, "time the events spread over")
	pgDSN     = flag.String("postgres", "", "PostgreSQL DSN: also seed audit_events (in a fresh schema, dropped after) and time lookups there")
	rounds    = flag.Int("rounds", 20, "timed lookups of each kind (the median and the slowest are printed)")
	keepDir   = flag.String("dir", "", "write the trail here and keep it (default: a temporary directory, removed)")
	fileBytes = flag.Int64("file-bytes", audit.DefaultMaxBytes, "trail file size (rotation)")
	reopen    = flag.Bool("reopen", true, "then close the trail and time opening it again: until Open returns (the server answers from then on) and until the index of the files is built")
)

// allowAll lets the bench's caller look up (the bench times lookups, not
// authorization).
type allowAll struct{}

func (allowAll) Check(context.Context, *authz.Caller, string, string, ...authz.Key) error { return nil }

func main() {
	flag.Parse()
	ctx := context.Background()
	log.SetFlags(0)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	step := *span / time.Duration(*n)
	dir := *keepDir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "auditbench"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
	}
	_, key, _ := ed25519.GenerateKey(rand.Reader)

	var pg *pgsink.Sink
	if *pgDSN != "" {
		dsn, drop := freshSchema(ctx, *pgDSN)
		defer drop()
		st, err := postgres.Open(ctx, dsn) // migrates: audit_events
		if err != nil {
			log.Fatal(err)
		}
		st.Close()
		tk := make([]byte, 32)
		rand.Read(tk)
		if pg, err = pgsink.Open(ctx, pgsink.Config{DSN: dsn, Node: "bench", TokenKey: tk, BufferBytes: 1 << 30, BatchEvents: 5000,
			Log: slog.New(slog.NewTextHandler(os.Stderr, nil))}); err != nil {
			log.Fatal(err)
		}
	}
	cfg := audit.Config{Dir: dir, MaxBytes: *fileBytes, Strict: true, Key: key, IndexMax: *n, IndexBytes: 1 << 30,
		Build: audit.BuildConfig{Region: "us-east-1", Account: account}}
	if pg != nil {
		cfg.Sink = func(line, attrs []byte) { pg.WriteWith(line, attrs) }
	}
	tr, err := audit.Open(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer tr.Close()

	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= *n {
					return
				}
				if err := tr.Record(ctx, exchange(i, base.Add(time.Duration(i)*step))); err != nil {
					log.Fatalf("record %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	fmt.Printf("recorded %d events in the file trail in %v\n", *n, time.Since(start).Round(time.Millisecond))
	if pg != nil {
		if err := pg.Flush(ctx); err != nil {
			log.Fatal(err)
		}
		fmt.Printf("inserted %d events into audit_events in %v (dropped %d)\n", pg.Inserted(), time.Since(start).Round(time.Millisecond), pg.Dropped())
	}

	busy := akid(7)
	rare := "AKIABENCHRARE0000001" // only in the first 10 events
	mid := base.Add(*span / 2)
	from, to := float64(mid.Unix()), float64(mid.Add(time.Hour).Unix())
	cases := []struct {
		name string
		in   audit.LookupEventsInput
	}{
		{"AccessKeyId, busy key, first page", audit.LookupEventsInput{LookupAttributes: []audit.LookupAttribute{{AttributeKey: "AccessKeyId", AttributeValue: busy}}}},
		{"AccessKeyId, key only in the oldest events", audit.LookupEventsInput{LookupAttributes: []audit.LookupAttribute{{AttributeKey: "AccessKeyId", AttributeValue: rare}}}},
		{"time range of 1h in the middle, first page", audit.LookupEventsInput{StartTime: &from, EndTime: &to}},
	}
	caller := &authz.Caller{Account: account, ARN: "arn:aws:iam::" + account + ":root"}
	for _, src := range []struct {
		name string
		svc  *audit.Service
	}{{"file trail index", &audit.Service{Trail: tr, Authz: allowAll{}}}, {"postgres audit_events", &audit.Service{Authz: allowAll{}, Events: pg}}} {
		if src.svc.Trail == nil && pg == nil {
			continue
		}
		for _, c := range cases {
			var times []time.Duration
			var got int
			for range *rounds {
				in := c.in
				t0 := time.Now()
				out, err := src.svc.LookupEvents(ctx, caller, &in)
				times = append(times, time.Since(t0))
				if err != nil {
					log.Fatalf("%s: %s: %v", src.name, c.name, err)
				}
				got = len(out.Events)
			}
			slices.Sort(times)
			fmt.Printf("%-22s %-45s %2d events  median %8.2f ms  max %8.2f ms\n", src.name, c.name, got, ms(times[len(times)/2]), ms(times[len(times)-1]))
		}
	}
	if pg != nil {
		pg.Close(ctx)
	}
	if *reopen {
		reopenTrail(cfg, tr)
	}
}

// reopenTrail closes tr and times opening its directory again.
func reopenTrail(cfg audit.Config, tr *audit.Trail) {
	if err := tr.Close(); err != nil {
		log.Fatal(err)
	}
	var size int64
	files, _ := filepath.Glob(filepath.Join(cfg.Dir, "audit-*.jsonl"))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	cfg.Sink = nil
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	t0 := time.Now()
	tr2, err := audit.Open(cfg)
	if err != nil {
		log.Fatal(err)
	}
	opened := time.Since(t0)
	<-tr2.Indexed()
	built := time.Since(t0)
	defer tr2.Close()
	fmt.Printf("reopened the trail (%d files, %.0f MB): Open returned in %.1f ms (the server answers from then on); index of the files built in %.2f s\n",
		len(files), float64(size)/1e6, ms(opened), built.Seconds())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func akid(k int) string { return fmt.Sprintf("AKIABENCH%011d", k) }

func exchange(i int, t time.Time) *pipeline.Exchange {
	r := httptest.NewRequest("POST", "http://opensts.test/", nil)
	r.Header.Set("User-Agent", "auditbench")
	k := akid(i % *keys)
	if i < 10 {
		k = "AKIABENCHRARE0000001"
	}
	c := &authz.Caller{Account: account, Type: policy.User, ARN: fmt.Sprintf("arn:aws:iam::%s:user/u%d", account, i%*keys),
		UserName: fmt.Sprintf("u%d", i%*keys), UserID: "AIDABENCH", AccessKeyID: k, SourceIP: "10.0.0.1", UserAgent: "auditbench"}
	return &pipeline.Exchange{RequestID: fmt.Sprintf("req-%d", i), Time: t, HTTP: r, Caller: c,
		API: &pipeline.API{Name: "sts"}, Action: "GetCallerIdentity", Input: &struct{}{}}
}

// freshSchema creates a schema for the bench and returns a DSN using it.
func freshSchema(ctx context.Context, dsn string) (string, func()) {
	b := make([]byte, 6)
	rand.Read(b)
	schema := "auditbench_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		log.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		log.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(context.Background())
	}
}
