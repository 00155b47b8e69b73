// Package webhook is an audit sink that POSTs records to an HTTP(S)
// endpoint in batches.
//
// Body (Content-Type application/json), one of:
//
//	{"Records":[<CloudTrail record>, ...]}
//	{"text":"<alert, Slack mrkdwn>","Records":[<CloudTrail record>, ...]}
//
// Records are the trail's record objects, exactly as written to the file
// (with seq and prevHash). Audit batches carry only Records; other
// producers (a detection engine) send alerts through Alert, each in a body
// of its own with a top-level "text" (what a Slack incoming webhook shows)
// and the records it concerns.
//
// Write never blocks: records wait in a buffer bounded in bytes; a record
// that does not fit is dropped and counted. A sender goroutine batches
// (by count, bytes and time), POSTs, and retries a batch on a network
// error, a 5xx, 408 or 429 with exponential backoff and full jitter,
// without limit while the sink is open (new records meanwhile fill the
// buffer, then drop). Another 4xx, or a redirect (not followed), drops
// the batch (counted): the receiver refuses it. Header values (an
// Authorization header) are sent and never logged; the log names the
// endpoint by scheme and host only.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opensts/opensts/internal/offheap"
)

// Defaults of Config.
const (
	DefaultBufferBytes = 16 << 20
	DefaultBatchEvents = 500
	DefaultBatchBytes  = 1 << 20
	DefaultBatchWait   = time.Second
	DefaultMinBackoff  = 250 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultTimeout     = 10 * time.Second
)

// Config configures a Sink.
type Config struct {
	URL string // http or https
	// Header is sent with every POST (e.g. Authorization); never logged.
	Header http.Header
	// BufferBytes bounds the records waiting (and being sent).
	BufferBytes int64
	// A batch is sent once it holds BatchEvents records or BatchBytes
	// bytes, or BatchWait after its first record.
	BatchEvents int
	BatchBytes  int
	BatchWait   time.Duration
	// MinBackoff and MaxBackoff bound the wait before a retry: attempt n
	// waits a random time up to min(MaxBackoff, MinBackoff*2^n).
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one POST.
	Timeout time.Duration
	Client  *http.Client
	Log     *slog.Logger
}

// ParseURL checks a webhook URL: absolute http or https with a host.
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("--audit-webhook-url must be an http:// or https:// URL")
	}
	return u, nil
}

// ParseHeader parses "Name: value".
func ParseHeader(h http.Header, s string) error {
	name, value, ok := bytes.Cut([]byte(s), []byte(":"))
	n := string(bytes.TrimSpace(name))
	if !ok || n == "" || !validHeaderName(n) || bytes.ContainsAny(value, "\r\n\x00") {
		return errors.New(`--audit-webhook-header must be "Name: value"`)
	}
	h.Add(n, string(bytes.TrimSpace(value)))
	return nil
}

func validHeaderName(n string) bool {
	for _, c := range []byte(n) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0) {
			return false
		}
	}
	return true
}

// The queue holds records and alerts each as a kind byte (kindRecord or
// kindAlert) and the record, or the alert's whole body.
const (
	kindRecord = 0
	kindAlert  = 1
)

// queueChunk is the queue's unit of memory.
const queueChunk = 1 << 20

// Sink is the webhook sink. Its methods are safe for concurrent use.
type Sink struct {
	cfg    Config
	target string // scheme://host, for the log

	mu sync.Mutex
	// queue holds what waits to be sent outside the Go heap: under load,
	// or while the receiver is down, up to BufferBytes of records that,
	// each allocated on the heap, made the collector run more often and
	// mark them while they waited.
	queue    *offheap.FIFO
	queued   int64 // bytes in queue
	bytes    int64 // queued and in flight
	closed   bool
	wake     chan struct{}
	stop     chan struct{}
	stopped  chan struct{}
	closeCtx context.Context

	dropped  atomic.Uint64
	sent     atomic.Uint64
	failures atomic.Uint64
	latency  atomic.Int64 // of the last POST, ns
	backlog  atomic.Int64 // records queued or in flight
	failing  atomic.Bool
}

// New starts a sink.
func New(cfg Config) (*Sink, error) {
	u, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.BufferBytes <= 0 {
		cfg.BufferBytes = DefaultBufferBytes
	}
	if cfg.BatchEvents <= 0 {
		cfg.BatchEvents = DefaultBatchEvents
	}
	if cfg.BatchBytes <= 0 {
		cfg.BatchBytes = DefaultBatchBytes
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = DefaultBatchWait
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Sink{cfg: cfg, target: u.Scheme + "://" + u.Host, queue: offheap.NewFIFO(queueChunk), wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{})}
	go s.run()
	return s, nil
}

// Write queues a copy of one record line (an audit.Config.Sink). It never
// blocks; it reports false when the record was dropped (buffer full, or
// the sink closed).
func (s *Sink) Write(line []byte) bool {
	return s.enqueue(kindRecord, line)
}

// Alert queues an alert: a body of its own with a top-level "text" and the
// records it concerns (each a JSON object). Like Write it never blocks.
func (s *Sink) Alert(text string, records ...[]byte) bool {
	b := appendJSONString([]byte(`{"text":`), text)
	b = append(b, `,"Records":[`...)
	for i, r := range records {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, r...)
	}
	b = append(b, "]}"...)
	return s.enqueue(kindAlert, b)
}

// enqueue copies data, of kind, into the queue.
func (s *Sink) enqueue(kind byte, data []byte) bool {
	n := int64(len(data))
	s.mu.Lock()
	if s.closed || 1+len(data) > offheap.MaxRecord || s.bytes+n > s.cfg.BufferBytes {
		s.mu.Unlock()
		s.dropped.Add(1)
		return false
	}
	rec := s.queue.Push(1 + len(data))
	rec[0] = kind
	copy(rec[1:], data)
	s.queued += n
	s.bytes += n
	s.mu.Unlock()
	s.backlog.Add(1)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// Stats accessors, for metrics.

// Backlog is the number of records (and alerts) queued or being sent.
func (s *Sink) Backlog() int64 { return s.backlog.Load() }

// BacklogBytes is the bytes of the buffer in use.
func (s *Sink) BacklogBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Dropped is the number of records (and alerts) lost: buffer full, refused
// by the receiver (4xx), or still unsent at Close.
func (s *Sink) Dropped() uint64 { return s.dropped.Load() }

// Sent is the number of records (and alerts) the receiver accepted.
func (s *Sink) Sent() uint64 { return s.sent.Load() }

// Failures is the number of POSTs that failed (each retried or dropped).
func (s *Sink) Failures() uint64 { return s.failures.Load() }

// WriteLatency is how long the last POST took.
func (s *Sink) WriteLatency() time.Duration { return time.Duration(s.latency.Load()) }

// Close stops taking records and sends what is buffered until ctx ends;
// what is still unsent then is dropped (counted).
func (s *Sink) Close(ctx context.Context) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		<-s.stopped
		return
	}
	s.closed, s.closeCtx = true, ctx
	s.mu.Unlock()
	close(s.stop)
	<-s.stopped
}

func (s *Sink) run() {
	defer close(s.stopped)
	defer func() {
		// Nothing is queued once the sender stops (drain sent or dropped
		// it, and Close takes no more).
		s.mu.Lock()
		s.queue.Free()
		s.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Close's deadline cuts the last deliveries short.
		<-s.stop
		select {
		case <-s.closeCtx.Done():
			cancel()
		case <-s.stopped:
		}
	}()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		// Wait for a first record, then for a full batch or BatchWait.
		if s.length() == 0 {
			select {
			case <-s.wake:
				continue
			case <-s.stop:
				s.drain(ctx)
				return
			}
		}
		timer.Reset(s.cfg.BatchWait)
	gather:
		for !s.full() {
			select {
			case <-s.wake:
			case <-timer.C:
				break gather
			case <-s.stop:
				break gather
			}
		}
		timer.Stop()
		s.sendOne(ctx)
		select {
		case <-s.stop:
			s.drain(ctx)
			return
		default:
		}
	}
}

// drain sends everything left (Close), then drops what ctx cut short.
func (s *Sink) drain(ctx context.Context) {
	for s.length() > 0 && ctx.Err() == nil {
		s.sendOne(ctx)
	}
	s.mu.Lock()
	n := s.queue.Len()
	s.queue.Pop(n)
	s.queued, s.bytes = 0, 0
	s.mu.Unlock()
	s.dropped.Add(uint64(n))
	s.backlog.Add(-int64(n))
}

// length is the number of records and alerts queued (not in flight).
func (s *Sink) length() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queue.Len()
}

// full reports whether a body is ready: an alert first, BatchEvents
// records, or BatchBytes of them.
func (s *Sink) full() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queue.Len() >= s.cfg.BatchEvents || s.queued >= int64(s.cfg.BatchBytes) || s.alertFirst()
}

// alertFirst reports whether the queue starts with an alert (s.mu held).
func (s *Sink) alertFirst() bool {
	alert := false
	s.queue.Peek(1, func(rec []byte) bool { alert = rec[0] == kindAlert; return false })
	return alert
}

// take builds the next body: an alert alone, or records up to the batch
// bounds. They stay counted in bytes until sent or dropped.
func (s *Sink) take() (body []byte, n int, size int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queue.Len() == 0 {
		return nil, 0, 0
	}
	if s.alertFirst() {
		s.queue.Peek(1, func(rec []byte) bool { body = bytes.Clone(rec[1:]); return false })
		s.queue.Pop(1)
		size = int64(len(body))
		s.queued -= size
		return body, 1, size
	}
	body = append(make([]byte, 0, 64<<10), `{"Records":[`...)
	s.queue.Peek(s.cfg.BatchEvents, func(rec []byte) bool {
		data := rec[1:]
		if rec[0] == kindAlert || n > 0 && len(body)+len(data) > s.cfg.BatchBytes {
			return false
		}
		if n > 0 {
			body = append(body, ',')
		}
		body = append(body, data...)
		size += int64(len(data))
		n++
		return true
	})
	body = append(body, "]}"...)
	s.queue.Pop(n)
	s.queued -= size
	return body, n, size
}

// sendOne sends the next body, retrying until it is accepted, refused, or
// ctx ends (Close's deadline).
func (s *Sink) sendOne(ctx context.Context) {
	body, n, size := s.take()
	if n == 0 {
		return
	}
	defer func() {
		s.mu.Lock()
		s.bytes -= size
		s.mu.Unlock()
		s.backlog.Add(-int64(n))
	}()
	for attempt := 0; ; attempt++ {
		status, err := s.post(ctx, body)
		switch {
		case err == nil && status >= 200 && status < 300:
			s.sent.Add(uint64(n))
			if s.failing.Swap(false) {
				s.cfg.Log.Info("audit webhook: delivering again", "endpoint", s.target)
			}
			return
		case err == nil && status < 500 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout:
			// Another 4xx, or a redirect (not followed): refused.
			s.failures.Add(1)
			s.dropped.Add(uint64(n))
			s.cfg.Log.Error("audit webhook: the receiver refused a batch; dropped", "endpoint", s.target, "status", status, "records", n)
			return
		}
		s.failures.Add(1)
		if !s.failing.Swap(true) {
			s.cfg.Log.Warn("audit webhook: delivery failed; retrying", "endpoint", s.target, "status", status, "error", errString(err))
		}
		wait := s.backoff(attempt)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			s.dropped.Add(uint64(n))
			return
		}
	}
}

// backoff is attempt's wait: full jitter up to min(MaxBackoff,
// MinBackoff*2^attempt), at least MinBackoff/2.
func (s *Sink) backoff(attempt int) time.Duration {
	ceil := s.cfg.MaxBackoff
	if attempt < 30 {
		ceil = min(s.cfg.MaxBackoff, s.cfg.MinBackoff<<attempt)
	}
	lo := s.cfg.MinBackoff / 2
	return lo + rand.N(max(ceil-lo, 1))
}

func (s *Sink) post(ctx context.Context, body []byte) (int, error) {
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range s.cfg.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := s.cfg.Client.Do(req)
	s.latency.Store(int64(time.Since(start)))
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// errString is err for the log without the URL (which may carry a
// secret in its query string): url.Error's inner error only.
func errString(err error) string {
	if err == nil {
		return ""
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Sprintf("%s: %v", ue.Op, ue.Err)
	}
	return err.Error()
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r < 0x20 || r == 0x2028 || r == 0x2029:
			b = append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			b = append(b, string(r)...)
		}
	}
	return append(b, '"')
}
