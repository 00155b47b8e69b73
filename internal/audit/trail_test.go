package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
	"github.com/opensts/opensts/internal/pipeline"
)

var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))

func exchange(i int) *pipeline.Exchange {
	r := httptest.NewRequest("POST", "http://opensts.test/", nil)
	r.Header.Set("User-Agent", "test-agent")
	return &pipeline.Exchange{RequestID: fmt.Sprintf("req-%d", i), Time: time.Date(2026, 1, 2, 3, 4, i, 0, time.UTC), HTTP: r,
		API: &pipeline.API{Name: "iam"}, Action: "CreateUser", Input: &struct{ UserName string }{fmt.Sprintf("user%d", i)}}
}

// writeTrail writes n events into a trail in a new directory with files of
// about maxBytes, and closes it.
func writeTrail(t testing.TB, n int, maxBytes int64) string {
	t.Helper()
	dir := t.TempDir()
	tr, err := Open(Config{Dir: dir, MaxBytes: maxBytes, Key: testKey, Build: BuildConfig{Region: "us-east-1", Account: "123456789012"}, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := tr.Record(context.Background(), exchange(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
}

func writeLines(t *testing.T, path string, ls []string) {
	t.Helper()
	s := strings.Join(ls, "")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func fix(l string) string {
	if !strings.HasSuffix(l, "\n") {
		return l + "\n"
	}
	return l
}

// TestVerifyNamesTheFirstBadRecord tampers with a trail of three files
// every way the task names and expects Verify to name the record.
func TestVerifyNamesTheFirstBadRecord(t *testing.T) {
	t.Parallel()
	clean := writeTrail(t, 30, 8<<10)
	sum, err := Verify(clean, testKey.Public().(ed25519.PublicKey))
	if err != nil || sum.Files < 3 || sum.Records != 30 || sum.Sealed != sum.Files || sum.Open != "" {
		t.Fatalf("clean trail: %+v %v", sum, err)
	}
	f1 := FileName(1)
	n1 := len(lines(t, filepath.Join(clean, f1)))
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string // "file:line" prefix
		reason string
	}{
		{"changed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, f1)
			ls := lines(t, p)
			ls[2] = strings.Replace(ls[2], "user2", "mallory", 1)
			writeLines(t, p, ls)
		}, f1 + ":3:", "changed"},
		{"changed last before digest", func(t *testing.T, dir string) {
			p := filepath.Join(dir, f1)
			ls := lines(t, p)
			ls[n1-2] = strings.Replace(ls[n1-2], "CreateUser", "DeleteUser", 1)
			writeLines(t, p, ls)
		}, fmt.Sprintf("%s:%d:", f1, n1-1), "changed"},
		{"removed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, f1)
			ls := lines(t, p)
			writeLines(t, p, append(ls[:2:2], ls[3:]...))
		}, f1 + ":3:", "removed"},
		{"inserted", func(t *testing.T, dir string) {
			p := filepath.Join(dir, f1)
			ls := lines(t, p)
			out := append([]string{}, ls[:4]...)
			out = append(out, ls[1])
			writeLines(t, p, append(out, ls[4:]...))
		}, f1 + ":5:", "inserted"},
		{"reordered", func(t *testing.T, dir string) {
			p := filepath.Join(dir, f1)
			ls := lines(t, p)
			ls[2], ls[3] = fix(ls[3]), fix(ls[2])
			writeLines(t, p, ls)
		}, f1 + ":3:", "reordered"},
		{"truncated", func(t *testing.T, dir string) {
			p := filepath.Join(dir, f1)
			ls := lines(t, p)
			writeLines(t, p, ls[:len(ls)-2])
		}, fmt.Sprintf("%s:%d:", f1, n1-2), "truncated"},
		{"torn", func(t *testing.T, dir string) {
			p := filepath.Join(dir, f1)
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, b[:len(b)-10], 0o600); err != nil {
				t.Fatal(err)
			}
		}, f1 + ":", "truncated"},
		{"file removed from the middle", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, FileName(2)))
		}, FileName(3) + ":", "missing"},
		{"digest forged", func(t *testing.T, dir string) {
			p := filepath.Join(dir, f1)
			ls := lines(t, p)
			ls[n1-1] = strings.Replace(ls[n1-1], `"signature":"`, `"signature":"AAAA`, 1)
			writeLines(t, p, ls)
		}, fmt.Sprintf("%s:%d:", f1, n1), "signature"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyDir(t, clean, dir)
			tc.tamper(t, dir)
			_, err := Verify(dir, testKey.Public().(ed25519.PublicKey))
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify = %v, want a VerifyError", err)
			}
			name, rest, _ := strings.Cut(tc.want, ":")
			if want := fmt.Sprintf("%q:", name) + rest; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("Verify = %q, want %s... %s", err, tc.want, tc.reason)
			}
		})
	}
	// Another key does not verify the digests.
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	if _, err := Verify(clean, other.Public().(ed25519.PublicKey)); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("other key: %v", err)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	des, _ := os.ReadDir(from)
	for _, d := range des {
		b, err := os.ReadFile(filepath.Join(from, d.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, d.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReopenContinuesTheChain: a crash leaves the last file open; Open
// seals it, and the next file chains on.
func TestReopenContinuesTheChain(t *testing.T) {
	t.Parallel()
	dir := writeTrail(t, 5, 1<<20)
	// Simulate a crash: drop the digest and add half a line.
	p := filepath.Join(dir, FileName(1))
	ls := lines(t, p)
	writeLines(t, p, ls[:len(ls)-1])
	f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if _, err := f.WriteString(`{"eventVersion":"1.0`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tr, err := Open(Config{Dir: dir, Key: testKey, Build: BuildConfig{Account: "123456789012"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Record(context.Background(), exchange(99)); err != nil {
		t.Fatal(err)
	}
	tr.Flush(context.Background())
	lines, _, _, err := tr.Lookup(Filter{}, 0, 50)
	if err != nil || len(lines) != 6 {
		t.Errorf("lookup after reopen: %d events, %v", len(lines), err)
	}
	tr.Close()
	sum, err := Verify(dir, testKey.Public().(ed25519.PublicKey))
	if err != nil || sum.Records != 6 || sum.Files != 2 {
		t.Errorf("%+v %v", sum, err)
	}
}

// TestStrictFailsWhenTheEventCannotBeWritten: once the directory is gone,
// rotation cannot open the next file; strict mode refuses the request,
// and the default mode counts the event as dropped.
func TestStrictFailsWhenTheEventCannotBeWritten(t *testing.T) {
	t.Parallel()
	for _, strict := range []bool{true, false} {
		dir := filepath.Join(t.TempDir(), "trail")
		tr, err := Open(Config{Dir: dir, MaxBytes: 4096, Key: testKey, Strict: strict, StrictWait: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		os.RemoveAll(dir)
		if err := os.WriteFile(dir, []byte("not a directory"), 0o600); err != nil {
			t.Fatal(err)
		}
		var failed error
		for i := 0; i < 50 && failed == nil; i++ {
			failed = tr.Record(context.Background(), exchange(i))
			tr.Flush(context.Background())
		}
		if strict && !errors.Is(failed, ErrUnavailable) {
			t.Errorf("strict: %v, want ErrUnavailable", failed)
		}
		if !strict && (failed != nil || tr.Dropped() == 0) {
			t.Errorf("default: %v, %d dropped", failed, tr.Dropped())
		}
		tr.Close()
	}
}

// TestLookupFiltersAndPages pages through events newest first with filters.
func TestLookupFiltersAndPages(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr, err := Open(Config{Dir: dir, Key: testKey, IndexMax: 1000, Build: BuildConfig{Account: "123456789012"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for i := range 25 {
		if err := tr.Record(context.Background(), exchange(i)); err != nil {
			t.Fatal(err)
		}
	}
	tr.Flush(context.Background())
	var seen []string
	before := uint64(0)
	for {
		ls, es, next, err := tr.Lookup(Filter{Account: "123456789012", Attribute: "ResourceType", Value: "AWS::IAM::User"}, before, 10)
		if err != nil || len(ls) != len(es) {
			t.Fatal(err)
		}
		for _, e := range es {
			seen = append(seen, e.resources[0].ARN)
		}
		if next == 0 {
			break
		}
		before = next
	}
	if len(seen) != 25 || seen[0] != "user24" || seen[24] != "user0" {
		t.Errorf("paged %v", seen)
	}
	if ls, _, _, _ := tr.Lookup(Filter{Attribute: "ResourceName", Value: "user7"}, 0, 50); len(ls) != 1 || !bytes.Contains(ls[0], []byte(`"userName":"user7"`)) {
		t.Errorf("by name: %q", ls)
	}
	if ls, _, _, _ := tr.Lookup(Filter{Account: "999999999999"}, 0, 50); len(ls) != 0 {
		t.Errorf("another account sees %d events", len(ls))
	}
}

// Open reads only the newest files that hold the index's worth of events:
// a long trail does not make every start parse all of it. An old file
// damaged on disk does not stop the start (audit verify names it); the
// newest events are still found, and the chain goes on from the last one.
func TestOpenReadsOnlyWhatTheIndexHolds(t *testing.T) {
	dir := writeTrail(t, 120, 4096)
	files, err := listFiles(dir)
	if err != nil || len(files) < 6 {
		t.Fatalf("%d files, %v", len(files), err)
	}
	// Damage the oldest file: it is past what an index of 20 holds.
	old := filepath.Join(dir, files[0])
	orig, err := os.ReadFile(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old+".orig", orig, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("not json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Dir: dir, MaxBytes: 4096, Key: testKey, IndexMax: 20, Build: BuildConfig{Region: "us-east-1", Account: "123456789012"}, Strict: true}
	tr, err := Open(cfg)
	if err != nil {
		t.Fatalf("open with an old file damaged: %v", err)
	}
	lines, _, _, err := tr.Lookup(Filter{}, 0, 5)
	if err != nil || len(lines) != 5 || !bytes.Contains(lines[0], []byte(`"req-119"`)) {
		t.Fatalf("newest events: %d, %v, %.200s", len(lines), err, lines)
	}
	if err := tr.Record(context.Background(), exchange(120)); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(dir, testKey.Public().(ed25519.PublicKey)); err == nil || !strings.Contains(err.Error(), files[0]) {
		t.Fatalf("verify: %v, want the damaged %s named", err, files[0])
	}
	// With the whole trail in the index's reach, the damage does not stop
	// the start (the index is built after it): the build reports the
	// damaged file, and every other event is found.
	cfg.IndexMax = 1000
	var log lockedBuffer
	cfg.Log = slog.New(slog.NewTextHandler(&log, nil))
	tr, err = Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	<-tr.indexed
	if !strings.Contains(log.String(), files[0]+" at byte 0") {
		t.Errorf("the damaged file is not reported: %s", log.String())
	}
	if got := countEvents(t, tr, Filter{}); got != 121-eventsIn(t, old+".orig") {
		t.Errorf("%d events found", got)
	}
}

// allowLookups lets every caller look up (these tests are about the
// trail, not authorization).
type allowLookups struct{}

func (allowLookups) Check(context.Context, *authz.Caller, string, string, ...authz.Key) error {
	return nil
}

// lockedBuffer is a log's output, written from the trail's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// countEvents pages through every event f selects.
func countEvents(t *testing.T, tr *Trail, f Filter) int {
	t.Helper()
	n, before := 0, uint64(0)
	for {
		ls, _, next, err := tr.Lookup(f, before, 50)
		if err != nil {
			t.Fatal(err)
		}
		n += len(ls)
		if next == 0 {
			return n
		}
		before = next
	}
}

// eventsIn counts the event records (not digests) of a trail file.
func eventsIn(t *testing.T, path string) int {
	t.Helper()
	n := 0
	for _, l := range lines(t, path) {
		if !strings.Contains(l, `"digest":`) && !strings.Contains(l, `"prune":`) {
			n++
		}
	}
	return n
}

// Open does not read the trail's files before it takes events: the chain
// goes on from the last record (read from the end of the last file), the
// index of the files is built after. Until it is, a page the new events
// fill is answered at once, one that needs older events waits (never a
// partial answer); once built, every event is found, newest first, and the
// trail verifies.
func TestOpenServesBeforeTheIndexIsBuilt(t *testing.T) {
	const old = 300
	dir := writeTrail(t, old, 4096)
	files, err := listFiles(dir)
	if err != nil || len(files) < 20 {
		t.Fatalf("%d files, %v", len(files), err)
	}
	gate := make(chan struct{})
	cfg := Config{Dir: dir, MaxBytes: 4096, Key: testKey, Build: BuildConfig{Region: "us-east-1", Account: "123456789012"}, Strict: true, indexGate: gate}
	tr, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx := context.Background()
	for i := old; i < old+10; i++ {
		if err := tr.Record(ctx, exchange(i)); err != nil {
			t.Fatal(err)
		}
	}
	ls, _, next, err := tr.Lookup(Filter{}, 0, 5)
	if err != nil || len(ls) != 5 || next == 0 || !bytes.Contains(ls[0], []byte(`"req-309"`)) || !bytes.Contains(ls[4], []byte(`"req-305"`)) {
		t.Fatalf("newest page before the index is built: %d, %v, %.200s", len(ls), err, ls)
	}
	// The next page reaches into the events on disk: it waits.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, _, _, err := tr.LookupContext(short, Filter{}, next, 50); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a page needing the unbuilt index answered: %v", err)
	}
	// Through LookupEvents: a retryable ServiceUnavailable when the
	// request's time runs out first, never a partial page.
	svc := &Service{Trail: tr, Authz: allowLookups{}}
	tok := base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(next, 10)))
	short2, cancel2 := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel2()
	_, err = svc.LookupEvents(short2, &authz.Caller{Account: "123456789012"}, &LookupEventsInput{NextToken: tok})
	if e, ok := apierr.As(err); !ok || e.Code != apierr.ServiceUnavailable {
		t.Fatalf("LookupEvents before the index is built: %v", err)
	}
	select {
	case <-tr.indexed:
		t.Fatal("index built before the gate opened")
	default:
	}
	close(gate)
	if got := countEvents(t, tr, Filter{}); got != old+10 {
		t.Errorf("%d events after the index is built, want %d", got, old+10)
	}
	ls, es, _, err := tr.Lookup(Filter{Attribute: "ResourceName", Value: "user0"}, 0, 50)
	if err != nil || len(ls) != 1 || es[0].seq != 1 || !bytes.Contains(ls[0], []byte(`"req-0"`)) {
		t.Errorf("oldest event: %v %.200s", err, ls)
	}
	// The chain went on from the last record on disk.
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(dir, testKey.Public().(ed25519.PublicKey)); err != nil {
		t.Fatal(err)
	}
}

// TestWriteBatchFile checks the writev path: more lines than one call
// takes, of every length, land in the file whole and in order.
func TestWriteBatchFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "batch"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]byte
	var want []byte
	for i := range 2500 {
		l := append(bytes.Repeat([]byte{byte('a' + i%26)}, i%300), '\n')
		lines = append(lines, l)
		want = append(want, l...)
	}
	bw := newBatchWriter(f)
	if err := bw.write(lines[:1]); err != nil {
		t.Fatal(err)
	}
	if err := bw.write(lines[1:]); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, want %d (or they differ)", len(got), len(want))
	}
}

// With its segments in the spill file, the index answers lookups made
// while events are written (all found, newest first, each read back from
// its line), and leaves nothing in the audit directory but the trail.
func TestLookupWhileSpilling(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr, err := Open(Config{Dir: dir, Key: testKey, IndexMax: 2000, Build: BuildConfig{Account: "123456789012"}}) // segments of 125
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	done := make(chan struct{})
	lookups := make(chan error, 1)
	go func() {
		var err error
		for n := 0; err == nil; n++ {
			select {
			case <-done:
				lookups <- nil
				return
			default:
			}
			var ls [][]byte
			ls, _, _, err = tr.Lookup(Filter{Account: "123456789012", Attribute: "ResourceName", Value: "user3"}, 0, 1000)
			for _, l := range ls {
				if !bytes.Contains(l, []byte(`"userName":"user3"`)) {
					err = fmt.Errorf("lookup %d read %q", n, l)
				}
			}
		}
		lookups <- err
	}()
	for i := range 1500 {
		if err := tr.Record(context.Background(), exchange(i%100)); err != nil {
			t.Fatal(err)
		}
	}
	tr.Flush(context.Background())
	close(done)
	if err := <-lookups; err != nil {
		t.Fatal(err)
	}
	tr.mu.RLock()
	spilled := 0
	for _, s := range tr.idx.segs {
		if s.spilled {
			spilled++
		}
	}
	tr.mu.RUnlock()
	if spilled < 10 {
		t.Fatalf("%d segments spilled of 1500 events in segments of 125", spilled)
	}
	ls, es, _, err := tr.Lookup(Filter{Account: "123456789012", Attribute: "ResourceName", Value: "user3"}, 0, 1000)
	if err != nil || len(ls) != 15 || es[0].seq <= es[14].seq {
		t.Fatalf("user3: %d events, %v", len(ls), err)
	}
	des, _ := os.ReadDir(dir)
	for _, d := range des {
		if strings.HasPrefix(d.Name(), ".index") {
			t.Fatalf("the spill file is left in the directory: %s", d.Name())
		}
	}
}

// TestRecordOutlivesTheExchange: the writer encodes a record after Record
// returned, when the pipeline has reset its exchange and handed it to the
// next request; the line must still be the first request's.
func TestRecordOutlivesTheExchange(t *testing.T) {
	dir := t.TempDir()
	tr, err := Open(Config{Dir: dir, Key: testKey, Build: BuildConfig{Region: "us-east-1", Account: "123456789012", NewID: NewUUID}})
	if err != nil {
		t.Fatal(err)
	}
	x := benchExchange()
	if err := tr.Record(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	first := x.EventID
	*x = pipeline.Exchange{} // the pipeline's reset
	next := exchange(7)
	*x = *next
	if err := tr.Record(context.Background(), x); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := listFiles(dir)
	if err != nil || len(files) != 1 {
		t.Fatalf("files %v, %v", files, err)
	}
	ls := lines(t, filepath.Join(dir, files[0]))
	var recs []Record
	for _, l := range ls {
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if !r.control() {
			recs = append(recs, r)
		}
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2:\n%s", len(recs), strings.Join(ls, ""))
	}
	a := recs[0]
	if a.EventID != first || a.EventName != "AssumeRole" || a.UserIdentity.UserName != "bench" || !strings.HasPrefix(a.UserAgent, "aws-cli/") {
		t.Errorf("first record is not the AssumeRole's: %+v", a)
	}
	if !strings.Contains(string(a.RequestParameters), `"roleArn":"arn:aws:iam::123456789012:role/bench-role"`) ||
		!strings.Contains(string(a.ResponseElements), `"accessKeyId":"ASIARZPUZDIKGXEISGJP"`) || strings.Contains(ls[0], `"secret"`) {
		t.Errorf("first record's parameters or response: %s", ls[0])
	}
	if len(a.Resources) != 2 || a.Resources[1].ARN != "ASIARZPUZDIKGXEISGJP" {
		t.Errorf("first record's resources: %+v", a.Resources)
	}
	if b := recs[1]; b.EventName != "CreateUser" || !strings.Contains(string(b.RequestParameters), `"userName":"user7"`) || b.UserAgent != "test-agent" {
		t.Errorf("second record: %+v", b)
	}
}

// stsExchange is exchange(i) as a small STS call: the records the writer
// encodes (deferrable).
func stsExchange(i int) *pipeline.Exchange {
	x := exchange(i)
	x.API, x.Action, x.Size = &pipeline.API{Name: "sts"}, "GetCallerIdentity", 200
	return x
}

// TestLargeRequestsAreEncodedByTheRequest: the writer encodes only the
// records of small STS calls (deferrable). Deferring every record let any
// caller hand the one writer 15 ms of escaping with a 1 MB input, an
// unsigned 4 KiB body of '<' 41 KB of output, and an Authorize of 626
// bytes a 604 KB response: the queue filled, other requests' events were
// dropped (attack reviews).
func TestLargeRequestsAreEncodedByTheRequest(t *testing.T) {
	var deferred []string
	var mu sync.Mutex
	tr, err := Open(Config{Dir: t.TempDir(), Key: testKey, Strict: true, StrictWait: 5 * time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		encoding: func(r *Record) { mu.Lock(); deferred = append(deferred, r.RequestID); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	small := stsExchange(1)
	big := stsExchange(2)
	big.Size = 1<<20 + 100
	big.Input = &struct{ PolicyDocument string }{strings.Repeat("<", 1<<20)}
	escaped := stsExchange(3) // the unsigned AssumeRoleWithWebIdentity of '<'
	escaped.Action, escaped.Size = "AssumeRoleWithWebIdentity", 1100
	escaped.Input = &struct{ RoleArn string }{strings.Repeat("<", 1000)}
	agent := stsExchange(4)
	agent.HTTP.Header.Set("User-Agent", strings.Repeat("a", 1000))
	response := stsExchange(5) // a small request whose response is large
	response.API, response.Action = &pipeline.API{Name: "opensts"}, "Authorize"
	response.Output = &struct{ MatchedStatements []string }{slices.Repeat([]string{strings.Repeat("a", 500)}, 1000)}
	ldap := stsExchange(6) // the directory's answer, not the request, is large
	ldap.Action = "AssumeRoleWithLDAPIdentity"
	ldap.Output = &struct{ SubjectFromToken string }{strings.Repeat("<", 1<<20)}
	for _, x := range []*pipeline.Exchange{small, big, escaped, agent, response, ldap} {
		if err := tr.Record(context.Background(), x); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(deferred, []string{"req-1"}) {
		t.Errorf("the writer encoded %v, want only req-1's record", deferred)
	}
}

// TestDeferOnlyWhileTheWriterKeepsUp: once a quarter of the queue waits,
// requests encode their own records again, so that a writer that falls
// behind is not handed more (and the queue holds no more requests).
func TestDeferOnlyWhileTheWriterKeepsUp(t *testing.T) {
	var hold atomic.Bool
	release := make(chan struct{})
	var mu sync.Mutex
	var deferred []string
	first := make(chan struct{})
	tr, err := Open(Config{Dir: t.TempDir(), Key: testKey, Queue: 8, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		wrap: func(w io.Writer) io.Writer { return heldWriter{w, &hold, release} },
		encoding: func(r *Record) {
			mu.Lock()
			deferred = append(deferred, r.RequestID)
			mu.Unlock()
			if r.RequestID == "req-0" {
				close(first)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	hold.Store(true)
	if err := tr.Record(context.Background(), stsExchange(0)); err != nil {
		t.Fatal(err)
	}
	<-first // the writer has it, and will wait in its write
	for i := 1; i <= 4; i++ {
		if err := tr.Record(context.Background(), stsExchange(i)); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	mu.Lock()
	defer mu.Unlock()
	// Queue 8: deferred while fewer than 2 wait (req-1 and req-2), then
	// encoded by the requests (req-3, req-4).
	if want := []string{"req-0", "req-1", "req-2"}; !slices.Equal(deferred, want) {
		t.Errorf("the writer encoded %v, want %v", deferred, want)
	}
	if tr.Dropped() != 0 {
		t.Errorf("%d dropped", tr.Dropped())
	}
}

// heldWriter waits for release before each write while hold is set.
type heldWriter struct {
	w       io.Writer
	hold    *atomic.Bool
	release chan struct{}
}

func (h heldWriter) Write(p []byte) (int, error) {
	if h.hold.Load() {
		<-h.release
	}
	return h.w.Write(p)
}

// TestWriterSurvivesAPanickingRecord: a record whose encoding panics on
// the writer (none is known) is written without its parameters and
// response, or else lost and failed in strict mode; the writer
// goes on, where the panic ended the process.
func TestWriterSurvivesAPanickingRecord(t *testing.T) {
	var calls atomic.Int32
	panics := atomic.Int32{} // panic on this many calls for req-1
	dir := t.TempDir()
	tr, err := Open(Config{Dir: dir, Key: testKey, Strict: true, StrictWait: 5 * time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		encoding: func(r *Record) {
			calls.Add(1)
			if r.RequestID == "req-1" && panics.Add(-1) >= 0 {
				panic("boom")
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	panics.Store(1)
	if err := tr.Record(context.Background(), stsExchange(1)); err != nil {
		t.Fatalf("a record that panics once: %v, want it written without its parameters", err)
	}
	panics.Store(2)
	if err := tr.Record(context.Background(), stsExchange(1)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a record that always panics: %v, want ErrUnavailable", err)
	}
	if tr.Dropped() != 0 {
		t.Errorf("dropped %d, want 0 (strict mode fails the request instead)", tr.Dropped())
	}
	if err := tr.Record(context.Background(), stsExchange(2)); err != nil {
		t.Fatalf("the next record: %v", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := listFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines(t, filepath.Join(dir, files[0])) {
		var r Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if !r.control() {
			got = append(got, r.RequestID+" "+string(r.RequestParameters))
		}
	}
	want := []string{"req-1 null", `req-2 {"userName":"user2"}`}
	if !slices.Equal(got, want) {
		t.Errorf("records %q, want %q", got, want)
	}
	if _, err := Verify(dir, testKey.Public().(ed25519.PublicKey)); err != nil {
		t.Errorf("verify: %v", err)
	}
}

// TestLargeRequestsDoNotFloodTheWriter is the attack itself, scaled down:
// requests with large inputs, one after another, into a short queue, in
// the default mode. Each pays for its own record, so the writer keeps up
// and nothing is dropped; with their records deferred, Record returned at
// once and the queue overflowed.
func TestLargeRequestsDoNotFloodTheWriter(t *testing.T) {
	tr, err := Open(Config{Dir: t.TempDir(), Key: testKey, Queue: 8, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	in := &struct{ PolicyDocument string }{strings.Repeat("<", 256<<10)}
	for i := range 64 {
		x := stsExchange(i)
		x.Input, x.Size = in, 256<<10+100
		if err := tr.Record(context.Background(), x); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := tr.Dropped(); n != 0 {
		t.Errorf("%d of 64 events dropped", n)
	}
}

// TestFederatedIdentityIsBounded: a SAML assertion's NameID (or a token's
// subject) of 95 KB made a 1.1 MB line; the identity's names are cut.
func TestFederatedIdentityIsBounded(t *testing.T) {
	x := exchange(1)
	x.API, x.Action, x.Unsigned = &pipeline.API{Name: "sts"}, "AssumeRoleWithSAML", true
	long := strings.Repeat("n", 95<<10)
	x.Output = &struct{ Issuer, Subject, NameQualifier string }{long, long, long}
	r := Build(BuildConfig{Region: "us-east-1", Account: "123456789012", NewID: NewUUID}, x)[0]
	u := r.UserIdentity
	if u.Type != "SAMLUser" || len(u.UserName) != maxIdentityBytes || len(u.IdentityProvider) != maxIdentityBytes || len(u.PrincipalID) != 2*maxIdentityBytes {
		t.Errorf("identity %s: userName %d, identityProvider %d, principalId %d bytes", u.Type, len(u.UserName), len(u.IdentityProvider), len(u.PrincipalID))
	}
}
