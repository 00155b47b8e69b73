package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// receiver records the bodies and headers it gets; fail makes it answer
// that status to the next n POSTs.
type receiver struct {
	mu      sync.Mutex
	bodies  [][]byte
	headers []http.Header
	times   []time.Time
	fail    int
	status  int
	block   chan struct{}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.block != nil {
		<-r.block
	}
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.times = append(r.times, time.Now())
	if r.fail > 0 {
		r.fail--
		w.WriteHeader(r.status)
		return
	}
	r.bodies = append(r.bodies, b)
	r.headers = append(r.headers, req.Header.Clone())
}

func (r *receiver) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, b := range r.decoded(t) {
		out = append(out, b.Records...)
	}
	return out
}

// body is one POST the receiver got: records, or an alert (Text) with its
// records.
type body struct {
	Text    *string          `json:"text"`
	Records []map[string]any `json:"Records"`
}

// decoded decodes every POST the receiver got, in order.
func (r *receiver) decoded(t *testing.T) []body {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]body, 0, len(r.bodies))
	for _, b := range r.bodies {
		var x body
		if err := json.Unmarshal(b, &x); err != nil {
			t.Fatalf("body %s: %v", b, err)
		}
		out = append(out, x)
	}
	return out
}

func record(i int) []byte { return fmt.Appendf(nil, `{"eventName":"E%d","seq":%d}`, i, i) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBatchesByCountWithHeaders(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, err := New(Config{URL: srv.URL, Header: http.Header{"Authorization": {"Bearer s3cr3t-token"}}, BatchEvents: 10, BatchWait: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	for i := range 25 {
		if !s.Write(record(i)) {
			t.Fatal("dropped")
		}
	}
	// Two full batches go at once; the remaining 5 wait for BatchWait.
	waitFor(t, "two batches", func() bool { return s.Sent() == 20 })
	rc.mu.Lock()
	if len(rc.bodies) != 2 || rc.headers[0].Get("Authorization") != "Bearer s3cr3t-token" || rc.headers[0].Get("Content-Type") != "application/json" {
		t.Fatalf("%d bodies, headers %v", len(rc.bodies), rc.headers)
	}
	rc.mu.Unlock()
	recs := rc.records(t)
	for i, r := range recs {
		if r["eventName"] != fmt.Sprintf("E%d", i) {
			t.Fatalf("record %d: %v", i, r)
		}
	}
	if s.Backlog() != 5 {
		t.Fatalf("backlog %d", s.Backlog())
	}
	s.Close(context.Background())
	if s.Sent() != 25 || s.Dropped() != 0 || len(rc.records(t)) != 25 {
		t.Fatalf("after close: sent %d dropped %d", s.Sent(), s.Dropped())
	}
}

func TestBatchesByTimeAndBytes(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, _ := New(Config{URL: srv.URL, BatchEvents: 1000, BatchBytes: 100, BatchWait: 50 * time.Millisecond})
	defer s.Close(context.Background())
	s.Write(record(1))
	waitFor(t, "the time-bound batch", func() bool { return s.Sent() == 1 })
	for i := range 10 {
		s.Write(record(i)) // about 30 bytes each: at most 3 a batch
	}
	waitFor(t, "byte-bound batches", func() bool { return s.Sent() == 11 })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, b := range rc.bodies {
		if len(b) > 100+len(`{"Records":[]}`)+40 {
			t.Fatalf("batch of %d bytes: %s", len(b), b)
		}
	}
	if len(rc.bodies) < 5 {
		t.Fatalf("%d bodies", len(rc.bodies))
	}
}

func TestRetriesWithBackoff(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusInternalServerError} {
		rc := &receiver{fail: 4, status: status}
		srv := httptest.NewServer(rc)
		var logs bytes.Buffer
		s, _ := New(Config{URL: srv.URL, BatchWait: time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
			Log: slog.New(slog.NewTextHandler(&logs, nil))})
		s.Write(record(7))
		waitFor(t, "delivery after retries", func() bool { return s.Sent() == 1 })
		rc.mu.Lock()
		if len(rc.times) != 5 || s.Failures() != 4 || s.Dropped() != 0 {
			t.Fatalf("status %d: %d attempts, %d failures, %d dropped", status, len(rc.times), s.Failures(), s.Dropped())
		}
		// Waits are at least MinBackoff/2 each, and grow: the last wait's
		// ceiling is 8x the first's.
		for i := 1; i < len(rc.times); i++ {
			if gap := rc.times[i].Sub(rc.times[i-1]); gap < 10*time.Millisecond {
				t.Fatalf("retry %d after %v", i, gap)
			}
		}
		rc.mu.Unlock()
		if recs := rc.records(t); len(recs) != 1 || recs[0]["eventName"] != "E7" {
			t.Fatalf("%v", recs)
		}
		s.Close(context.Background())
		srv.Close()
	}
}

func TestBackoffGrowsWithJitter(t *testing.T) {
	s := &Sink{cfg: Config{MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}}
	seen := map[time.Duration]bool{}
	for attempt := range 10 {
		ceil := min(2*time.Second, 100*time.Millisecond<<attempt)
		for range 50 {
			d := s.backoff(attempt)
			if d < 50*time.Millisecond || d > ceil {
				t.Fatalf("attempt %d: %v outside [50ms, %v]", attempt, d, ceil)
			}
			seen[d] = true
		}
	}
	if len(seen) < 100 {
		t.Fatalf("no jitter: %d distinct waits", len(seen))
	}
}

func TestRefusedBatchIsDroppedNotRetried(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusForbidden, http.StatusFound} {
		t.Run(strconv.Itoa(status), func(t *testing.T) { testRefused(t, status) })
	}
}

func testRefused(t *testing.T, status int) {
	rc := &receiver{fail: 1, status: status}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, _ := New(Config{URL: srv.URL, BatchWait: time.Millisecond, MinBackoff: time.Millisecond})
	defer s.Close(context.Background())
	s.Write(record(1))
	waitFor(t, "the drop", func() bool { return s.Dropped() == 1 })
	s.Write(record(2))
	waitFor(t, "the next record", func() bool { return s.Sent() == 1 })
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.times) != 2 {
		t.Fatalf("%d attempts", len(rc.times))
	}
}

func TestFullBufferDropsAndNeverBlocks(t *testing.T) {
	rc := &receiver{block: make(chan struct{})}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, _ := New(Config{URL: srv.URL, BufferBytes: 64 << 10, BatchEvents: 1, BatchWait: time.Millisecond, Timeout: time.Minute})
	line := bytes.Repeat([]byte("x"), 1000)
	line[0], line[len(line)-1] = '"', '"'
	// The receiver hangs: the buffer fills (64 records of 1000 bytes),
	// then every Write returns at once, dropping.
	start := time.Now()
	accepted := 0
	for range 10_000 {
		if s.Write(line) {
			accepted++
		}
	}
	elapsed := time.Since(start)
	if accepted != 65 && accepted != 64 || s.Dropped() != uint64(10_000-accepted) {
		t.Fatalf("accepted %d, dropped %d", accepted, s.Dropped())
	}
	if s.BacklogBytes() > 64<<10 {
		t.Fatalf("buffer %d bytes", s.BacklogBytes())
	}
	if elapsed > 5*time.Second { // a hang, not a speed target
		t.Fatalf("writes blocked: %v", elapsed)
	}
	close(rc.block)
	waitFor(t, "delivery", func() bool { return s.Sent() == uint64(accepted) })
	s.Close(context.Background())
}

func TestCloseDropsWhatItCannotSend(t *testing.T) {
	rc := &receiver{fail: 1 << 30, status: http.StatusBadGateway}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, _ := New(Config{URL: srv.URL, BatchWait: time.Millisecond, MinBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	for i := range 3 {
		s.Write(record(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	s.Close(ctx)
	if s.Dropped() != 3 || s.Sent() != 0 || s.Backlog() != 0 {
		t.Fatalf("dropped %d sent %d backlog %d", s.Dropped(), s.Sent(), s.Backlog())
	}
	if s.Write(record(9)) {
		t.Fatal("a closed sink took a record")
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	rc := &receiver{fail: 2, status: http.StatusServiceUnavailable}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	var logs bytes.Buffer
	url := srv.URL + "/hook?token=query-secret-123"
	s, _ := New(Config{URL: url, Header: http.Header{"Authorization": {"Bearer header-secret-456"}}, BatchWait: time.Millisecond, MinBackoff: time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	s.Write(record(1))
	waitFor(t, "delivery", func() bool { return s.Sent() == 1 })
	s.Close(context.Background())
	// And a network error (nothing listening), whose error names the URL.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL + "/x?token=query-secret-123"
	dead.Close()
	s2, _ := New(Config{URL: deadURL, Header: http.Header{"Authorization": {"Bearer header-secret-456"}}, BatchWait: time.Millisecond, MinBackoff: time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	s2.Write(record(1))
	waitFor(t, "a failure", func() bool { return s2.Failures() > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s2.Close(ctx)
	out := logs.String()
	if !strings.Contains(out, "delivery failed") || !strings.Contains(out, "127.0.0.1") {
		t.Fatalf("log: %s", out)
	}
	for _, secret := range []string{"query-secret-123", "header-secret-456"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log holds %q: %s", secret, out)
		}
	}
}

func TestAlertBody(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, _ := New(Config{URL: srv.URL, BatchWait: time.Millisecond})
	s.Write(record(1))
	s.Alert("root login from \"new\" IP\n:warning:", record(2))
	s.Write(record(3))
	waitFor(t, "three items", func() bool { return s.Sent() == 3 })
	s.Close(context.Background())
	var alerts int
	for _, b := range rc.decoded(t) {
		if b.Text != nil {
			alerts++
			if *b.Text != "root login from \"new\" IP\n:warning:" || len(b.Records) != 1 || b.Records[0]["eventName"] != "E2" {
				t.Fatalf("alert body %q with %v", *b.Text, b.Records)
			}
		}
	}
	if alerts != 1 {
		t.Fatalf("%d alert bodies", alerts)
	}
}

func TestConfigChecks(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "http://", "/relative", "localhost:80"} {
		if _, err := New(Config{URL: u}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
	h := http.Header{}
	for _, bad := range []string{"NoColon", ": value", "Bad Name: v", "X-A: a\r\nX-B: b"} {
		if err := ParseHeader(h, bad); err == nil {
			t.Errorf("header %q accepted", bad)
		}
	}
	if err := ParseHeader(h, "Authorization:  Bearer x:y "); err != nil || h.Get("Authorization") != "Bearer x:y" {
		t.Fatalf("%v %v", err, h)
	}
}

// Records and alerts queued while the receiver is held go out in the order
// they came: the records before an alert in a body of their own, the alert
// alone, then the records after it; each record once.
func TestQueuedRecordsAndAlertsKeepTheirOrder(t *testing.T) {
	rc := &receiver{block: make(chan struct{})}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	s, _ := New(Config{URL: srv.URL, BatchWait: time.Millisecond, BatchEvents: 4})
	defer s.Close(context.Background())
	s.Write(record(0)) // sent first, and held by the receiver
	waitFor(t, "the first POST", func() bool { return s.length() == 0 })
	for i := 1; i <= 5; i++ {
		s.Write(record(i))
	}
	s.Alert("alert", record(100))
	for i := 6; i <= 7; i++ {
		s.Write(record(i))
	}
	close(rc.block)
	waitFor(t, "every item", func() bool { return s.Sent() == 9 })
	var got []string
	for _, b := range rc.decoded(t) {
		var names []string
		for _, r := range b.Records {
			names = append(names, r["eventName"].(string))
		}
		kind := "records"
		if b.Text != nil {
			kind = "alert " + *b.Text
		}
		got = append(got, fmt.Sprintf("%s %v", kind, names))
	}
	want := []string{"records [E0]", "records [E1 E2 E3 E4]", "records [E5]", "alert alert [E100]", "records [E6 E7]"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("bodies %q, want %q", got, want)
	}
	if s.Backlog() != 0 || s.BacklogBytes() != 0 {
		t.Fatalf("backlog %d records, %d bytes after all was sent", s.Backlog(), s.BacklogBytes())
	}
}
