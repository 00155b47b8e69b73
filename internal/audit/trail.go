package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/pipeline"
)

// Defaults of Config.
const (
	DefaultMaxBytes   = 64 << 20
	DefaultMaxAge     = time.Hour
	DefaultQueue      = 8192
	DefaultIndexMax   = 200_000
	DefaultIndexBytes = 24 << 20
	DefaultStrictWait = 2 * time.Second
	DefaultCheckpoint = 10 * time.Second
	// PublicKeyFile, beside the trail, holds the digest key's public half
	// (base64) for verifiers that do not hold the master key.
	PublicKeyFile = "audit.pub"
)

// ErrUnavailable answers a request whose event could not be recorded in
// strict mode (retryable).
var ErrUnavailable = apierr.New(apierr.ServiceUnavailable, "The audit trail could not record this request; retry later.")

// Config configures a Trail.
type Config struct {
	Dir string
	// MaxBytes and MaxAge close the current file (with a signed digest)
	// and start the next once it holds that many bytes or is that old.
	MaxBytes int64
	MaxAge   time.Duration
	// Retention removes closed files older than it (0 keeps every file).
	Retention time.Duration
	// Checkpoint is how often the writer signs the chain so far into the
	// file it writes (a checkpoint record), when events came since the
	// last; negative: never. Records after a file's last signature are
	// attested by nothing until it is sealed.
	Checkpoint time.Duration
	// Strict fails a request (ErrUnavailable) whose event is not written
	// to the file within StrictWait; otherwise a full queue drops the
	// event, counted by Dropped, and requests never wait.
	Strict     bool
	StrictWait time.Duration
	// Queue bounds the events waiting for the writer (default 8192). An
	// event is about 1-2 KiB, so some 16 MiB when ordinary; a line is at
	// most about twice MaxElementBytes. A record the writer encodes
	// (deferrable: a small STS call, while less than a quarter of the
	// queue waits) holds its request and response until then.
	Queue int
	// IndexMax and IndexBytes bound the events LookupEvents can find (the
	// newest): at most IndexMax events in at most IndexBytes bytes (208
	// bytes an event of ordinary attributes, without pointers for the
	// collector to scan: the default 24 MiB holds some 120,000).
	// Older events are still in the files, for `opensts audit query`.
	IndexMax   int
	IndexBytes int64
	Key        ed25519.PrivateKey
	Build      BuildConfig
	Now        func() time.Time
	Log        *slog.Logger

	// wrap, in tests, stands between the writer and the file (to fail
	// writes as a full or broken disk does).
	wrap func(io.Writer) io.Writer
	// indexGate, in tests, holds the building of the index until closed.
	indexGate chan struct{}
	// checkpointNow, in tests, asks the writer for a checkpoint now.
	checkpointNow chan struct{}
	// encoding, in tests, is called with each record the writer is
	// about to encode (to make it panic).
	encoding func(*Record)
	// Anchor, if set, keeps the head of each checkpoint and seal outside
	// the trail, and Open checks the files against it (see Anchor), under
	// Node: this node's name among those whose heads one store keeps
	// ("" when it keeps one), which checkpoints and digests sign.
	Anchor Anchor
	Node   string
	// Sink, if set, is handed each record line once it is written to the
	// file, with its lookup attributes packed (UnpackAttrs reads them), by
	// the writer goroutine: it must copy both and never block.
	Sink func(line, attrs []byte)
}

// item is one event on its way to the writer.
type item struct {
	// rec, from recordPool, is a request's record the writer encodes into
	// buf (encodeQueued) before it writes the batch: see Record.
	rec      *Record
	buf      *[]byte // from bufs: the record's JSON without the chain and the closing brace, then its packed lookup attributes
	lineLen  int
	time     int64
	readOnly bool
	attrs    [2]int     // where the writer put its packed attributes, with their time and readOnly in front (t.attrs)
	done     chan error // strict mode: the write's outcome
}

// bufs holds the buffers events are encoded into, returned by the writer.
var bufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func putBuf(b *[]byte) {
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		bufs.Put(b)
	}
}

// recordPool holds the records requests build and the writer encodes.
var recordPool = sync.Pool{New: func() any { return new(Record) }}

// release returns what it holds to the pools (an event that is not
// written).
func (it *item) release() {
	if it.buf != nil {
		putBuf(it.buf)
		it.buf = nil
	}
	if it.rec != nil {
		putRecord(it.rec)
		it.rec = nil
	}
}

func putRecord(r *Record) {
	*r = Record{} // nothing of the request stays reachable
	recordPool.Put(r)
}

// Trail is the audit trail: a pipeline.Recorder that writes every request's
// event. It is safe for concurrent use.
type Trail struct {
	cfg       Config
	ch        chan item
	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	dropped   atomic.Uint64
	failed    atomic.Bool

	// Owned by the writer goroutine.
	f        *os.File
	w        *bufio.Writer
	num      int       // current file number
	size     int64     // bytes in the current file
	opened   time.Time // when the current file was opened
	first    uint64    // seq of its first record
	records  int       // records in it
	seq      uint64    // seq of the last record written
	prevHash []byte    // hash of the last record written (hex), "" before the first
	hashBuf  [64]byte
	// The state as of the last write that reached the file whole: a
	// failed write is rolled back to it (the file cut back to okSize), so
	// that the chain goes on from the last record on disk.
	ok struct {
		size     int64
		seq      uint64
		first    uint64
		records  int
		prevHash []byte
	}
	// changed, set by Open, is how the files failed the anchored head;
	// nodeWas, the node the trail's checkpoints name when it is not
	// Config.Node.
	changed    error
	nodeWas    string
	holdAnchor bool // Open writes its alert: no head is anchored before it
	nodeSigned bool // the current file's node checkpoint is written (startFile)
	// anchorCh takes heads to store to runAnchor, which closes anchorDone
	// once anchorCh is closed; nil without an Anchor.
	anchorCh   chan anchored
	anchorDone chan struct{}

	dirty    bool          // a rollback could not cut the file back yet
	unsigned bool          // events were written since the last signature (checkpoint or digest)
	pending  []pendingSlot // of the batch being written
	attrs    []byte        // their attributes
	lines    [][]byte      // their lines (each ending in a newline), until flush writes them
	o        io.Writer     // what w and flush write f through (out)
	bw       *batchWriter  // writes lines to o

	mu  sync.RWMutex
	idx *index // guarded by mu
	// spill holds idx's segments but the newest (nil: they stay in memory).
	spill *spillFile
	// ready is set once the index holds the events of the files that
	// were on disk at Open (buildIndex, which closes indexed when it
	// ends); before, idx holds only those written since.
	ready   bool
	indexed chan struct{}
	closed  bool // guarded by mu
	// prunedBefore is the first file retention kept (guarded by mu), for
	// the index being built.
	prunedBefore int
}

type pendingSlot struct {
	slot
	from, to int // in attrs
}

// Open opens (or creates) the trail in cfg.Dir, seals a file a crash left
// open, builds the index from the files, and starts the writer.
func Open(cfg Config) (*Trail, error) {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.IndexMax <= 0 {
		cfg.IndexMax = DefaultIndexMax
	}
	if cfg.IndexBytes <= 0 {
		cfg.IndexBytes = DefaultIndexBytes
	}
	if cfg.StrictWait <= 0 {
		cfg.StrictWait = DefaultStrictWait
	}
	if cfg.Checkpoint == 0 {
		cfg.Checkpoint = DefaultCheckpoint
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Build.NewID == nil {
		cfg.Build.NewID = NewUUID
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: create %s: %w", cfg.Dir, err)
	}
	pub := base64.StdEncoding.EncodeToString(cfg.Key.Public().(ed25519.PublicKey)) + "\n"
	if err := os.WriteFile(filepath.Join(cfg.Dir, PublicKeyFile), []byte(pub), 0o644); err != nil {
		return nil, fmt.Errorf("audit: write public key: %w", err)
	}
	t := &Trail{cfg: cfg, ch: make(chan item, cfg.Queue), stop: make(chan struct{}), stopped: make(chan struct{}), idx: newIndex(cfg.IndexMax, cfg.IndexBytes)}
	t.indexed = make(chan struct{})
	files, err := listFiles(cfg.Dir)
	if err != nil {
		return nil, err
	}
	head, loaded := t.loadAnchor(cfg.Node)
	if cfg.Anchor != nil && loaded && head == nil && cfg.Node != "" && len(files) > 0 {
		// No head for this node, but the trail's checkpoints may say it
		// was anchored as another (its node id changed beside it): the
		// files are checked against that one's.
		if prev := signedNode(cfg.Dir, files, cfg.Key.Public().(ed25519.PublicKey)); prev != "" && prev != cfg.Node {
			t.nodeWas = prev
			head, loaded = t.loadAnchor(prev)
		}
	}
	if cfg.Anchor != nil && loaded {
		// A head that could not be read is not overwritten by this run's:
		// the trail was not checked against it, and verify still can.
		t.anchorCh, t.anchorDone = make(chan anchored, 1), make(chan struct{})
		go t.runAnchor()
	}
	// Only the last record is read before the trail takes events (the
	// chain's head); the index of what is on disk is built meanwhile.
	if files, err = t.openHead(files, head); err != nil {
		t.stopAnchor()
		return nil, err
	}
	if err := t.openNext(); err != nil {
		t.stopAnchor()
		return nil, err
	}
	if a, ok := t.anchorAlert(cfg.Anchor != nil, loaded, head, files); ok {
		// Written, and signed by a checkpoint, before the trail takes any
		// event, and before any head of this run is anchored (the
		// checkpoint a file begins with included): a queued alert whose
		// write failed (a full disk) was lost, and the next checkpoint
		// anchored the changed trail.
		t.holdAnchor = true
		err := t.writeAlertNow(a)
		t.holdAnchor = false
		if err != nil {
			t.stopAnchor()
			return nil, fmt.Errorf("audit: %s, and the alert saying so cannot be written: %w", a.Summary, err)
		}
		t.anchorHead()
	}
	t.spill = openSpill(cfg.Dir)
	t.idx.sp = t.spill
	go t.run()
	go t.buildIndex(files)
	return t, nil
}

// anchorAlert is the alert Open records about the anchored head, if any:
// the files do not hold it (critical); it could not be read, so the files
// were not checked (high); or none is stored for a trail that has records
// (low: the first start with anchoring, or the store's head was lost or
// the trail moved).
func (t *Trail) anchorAlert(anchoring, loaded bool, head *chainStart, files []string) (AlertRecord, bool) {
	a := AlertRecord{Time: t.cfg.Now()}
	switch {
	case t.changed != nil:
		a.Rule, a.Severity, a.Detail = AlertTrailChanged, "critical", t.changed.Error()
		a.Summary = "The audit trail was changed while the server was down: its files do not hold the head anchored in the store."
		if t.nodeWas != "" {
			a.Detail += " (the trail was anchored as node " + t.nodeWas + ", this node is " + t.cfg.Node + ")"
		}
	case t.nodeWas != "":
		a.Rule, a.Severity = AlertTrailNodeChanged, "high"
		a.Summary = "The audit trail's checkpoints say it was anchored as node " + t.nodeWas + ", and this node is " + t.cfg.Node +
			" (its node id changed): the files were checked against " + t.nodeWas + "'s head, and are anchored as " + t.cfg.Node + " from now on."
	case !anchoring:
		return a, false
	case !loaded:
		a.Rule, a.Severity = AlertTrailNotChecked, "high"
		a.Summary = "The audit trail's anchored head could not be read at the start: the files were not checked, and no head is anchored until the next start."
	case head == nil && len(files) > 0:
		a.Rule, a.Severity = AlertTrailNotChecked, "low"
		a.Summary = "The store holds no anchored head for this audit trail, which has files: they were not checked (the first start with anchoring, or the head was lost)."
	default:
		return a, false
	}
	return a, true
}

// writeAlertNow writes a's record and a checkpoint after it, from Open
// (before the writer runs), and returns the error that kept either out of
// the file.
func (t *Trail) writeAlertNow(a AlertRecord) error {
	r := BuildAlert(t.cfg.Build, a)
	done := make(chan error, 1)
	t.write([]item{encode(&r, r.Resources, a.Time.Unix(), done)})
	if err := <-done; err != nil {
		return err
	}
	return t.checkpoint()
}

// FileName is the name of trail file n.
func FileName(n int) string { return fmt.Sprintf("audit-%08d.jsonl", n) }

func fileNumber(name string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "audit-"), ".jsonl"))
	return n
}

// isTrailFile reports whether name is exactly FileName(n) for some n > 0.
func isTrailFile(name string) bool {
	n := fileNumber(name)
	return n > 0 && name == FileName(n)
}

// listFiles returns the trail's files in order.
func listFiles(dir string) ([]string, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit: read %s: %w", dir, err)
	}
	var out []string
	for _, d := range des {
		if n := d.Name(); isTrailFile(n) {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return fileNumber(out[i]) < fileNumber(out[j]) })
	return out, nil
}

// out is what the writer writes f through.
func (t *Trail) out(f *os.File) io.Writer {
	if t.cfg.wrap != nil {
		return t.cfg.wrap(f)
	}
	return f
}

// commit takes the current state as written.
func (t *Trail) commit() {
	t.ok.size, t.ok.seq, t.ok.first, t.ok.records = t.size, t.seq, t.first, t.records
	t.ok.prevHash = append(t.ok.prevHash[:0], t.prevHash...)
	if t.prevHash == nil {
		t.ok.prevHash = nil
	}
}

// rollback undoes what was written since the last commit: what is
// buffered is dropped and the file cut back, so that no half line is left
// and the next record chains to the last one on disk.
func (t *Trail) rollback() {
	t.size, t.seq, t.first, t.records = t.ok.size, t.ok.seq, t.ok.first, t.ok.records
	if t.ok.prevHash == nil {
		t.prevHash = nil
	} else {
		copy(t.hashBuf[:], t.ok.prevHash)
		t.prevHash = t.hashBuf[:]
	}
	if t.f == nil {
		return
	}
	t.w.Reset(t.o)
	t.lines = t.lines[:0]
	t.dirty = t.repairFile() != nil
}

// repairFile cuts the file back to size and writes on from there.
func (t *Trail) repairFile() error {
	if err := t.f.Truncate(t.size); err != nil {
		return err
	}
	_, err := t.f.Seek(t.size, io.SeekStart)
	return err
}

// repair cuts the file back after a rollback that could not.
func (t *Trail) repair() error {
	if !t.dirty || t.f == nil {
		return nil
	}
	if err := t.repairFile(); err != nil {
		return fmt.Errorf("audit: cut back after a failed write: %w", err)
	}
	t.dirty = false
	return nil
}

// Head returns the seq and hash of the last record in the trail's files in
// dir: recorded by an operator (`opensts audit head`), it lets `audit
// verify --head` prove that nothing after it was removed.
func Head(dir string) (uint64, string, error) {
	files, err := listFiles(dir)
	if err != nil {
		return 0, "", err
	}
	for i := len(files) - 1; i >= 0; i-- {
		data, err := readTrailFile(filepath.Join(dir, files[i]))
		if err != nil {
			return 0, "", fmt.Errorf("audit: %w", err)
		}
		ls := splitLines(bytes.TrimSuffix(data, []byte("\n")))
		if len(ls) == 0 {
			continue
		}
		line := ls[len(ls)-1]
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return 0, "", fmt.Errorf("audit: %q: last line is not a record: %w", files[i], err)
		}
		return r.Seq, hashLine(line), nil
	}
	return 0, "", errors.New("audit: no records in " + dir)
}

// hashLine is the chain's hash of a record: SHA-256 of its line without
// the newline, in hex.
func hashLine(line []byte) string {
	h := sha256.Sum256(line)
	return hex.EncodeToString(h[:])
}

// setPrevHash makes line the chain's head.
func (t *Trail) setPrevHash(line []byte) {
	h := sha256.Sum256(line)
	hex.Encode(t.hashBuf[:], h[:])
	t.prevHash = t.hashBuf[:]
}

// Record builds the request's event and queues it for the writer, which
// encodes it (pipeline.Recorder). In strict mode it waits for the write and
// fails with ErrUnavailable if the event could not be written within
// StrictWait.
func (t *Trail) Record(ctx context.Context, x *pipeline.Exchange) error {
	r := recordPool.Get().(*Record)
	other := build(t.cfg.Build, x, r)
	x.EventID = r.EventID
	tm := x.Time.Unix()
	var its [2]item
	n := 1
	if other == "" && t.deferrable(x, r) {
		// The writer encodes it, with the rest of its batch: one
		// goroutine runs the encoder over a few hundred records, with
		// its code and its buffers warm in the caches, where a request
		// encoding its own found them cold (the buffer last written by
		// the writer, often on the other core). Under perf an
		// AssumeRole's encoding took 4.7 µs on the request and 3.5 on
		// the writer. What the record holds of the request is
		// immutable once it is answered: strings, and x.Input and
		// x.Output, which each request allocates and nothing changes
		// after.
		its[0] = item{rec: r, time: tm, readOnly: r.ReadOnly}
	} else {
		// A record the writer is not to encode (deferrable), or a
		// cross-account AssumeRole's: one record for each account (the
		// second differs from the first in its ids).
		var buf [4]Resource // the usual one to three resources cost no allocation
		res := resources(buf[:0], r.params, r.response)
		if other != "" {
			n = 2
			r.SharedEventID = t.cfg.Build.NewID()
		}
		its[0] = encode(r, res, tm, nil)
		if other != "" {
			r.EventID, r.RecipientAccountID = t.cfg.Build.NewID(), other
			its[1] = encode(r, res, tm, nil)
		}
		putRecord(r)
	}
	if !t.cfg.Strict {
		for i := range n {
			select {
			case t.ch <- its[i]:
			default:
				its[i].release()
				t.dropped.Add(1)
			}
		}
		return nil
	}
	w := waiters.Get().(*waiter)
	w.timer.Reset(t.cfg.StrictWait)
	defer w.release()
	for i := range n {
		its[i].done = w.done
		select {
		case t.ch <- its[i]:
			w.pending++
		case <-w.timer.C:
			for j := i; j < n; j++ {
				its[j].release()
			}
			return ErrUnavailable
		case <-t.stop:
			for j := i; j < n; j++ {
				its[j].release()
			}
			return ErrUnavailable
		}
	}
	for w.pending > 0 {
		select {
		case err := <-w.done:
			w.pending--
			if err != nil {
				return ErrUnavailable
			}
		case <-w.timer.C:
			return ErrUnavailable
		}
	}
	return nil
}

// deferrable reports whether the writer is to encode r, x's record: an
// STS call (whose response is its credentials and what the request
// sent), of at most deferMax bytes with its user agent, while the writer
// keeps up (less than a quarter of the queue waiting). The writer encodes
// the deferred records one after another, at a cost that grows with what
// they hold, and the requests, freed of it, could queue that work faster
// than the one writer does it (attack reviews): a 1 MB string of '<' is 6
// MB of \u003c, 15 ms, before it is cut to the omitted marker; 4 KiB of
// them, unsigned, rejected and recorded, 41 KB written three times over
// (parameters, resources, index); an Authorize of 626 bytes whose
// matched statements made a 604 KB response, 30 ms. Each drove the queue
// full, dropping other requests' events. Past these bounds a request
// encodes its own record, as every request did before.
func (t *Trail) deferrable(x *pipeline.Exchange, r *Record) bool {
	return r.EventSource == stsSource && boundedResponse[r.EventName] && x.Size+len(r.UserAgent) <= deferMax && len(t.ch) < cap(t.ch)/4
}

// boundedResponse are the STS actions whose recorded response is bounded
// by what the request sent (and the caller's and role's names, at most a
// few KiB). Not the federation actions: their response holds what the
// identity provider said (an LDAP entry's DN of 1 MiB, from a 220-byte
// request, was 47 ms of the writer's time: attack review), and a bind or a
// token's verification costs far more than the encoding saved.
var boundedResponse = map[string]bool{
	"AssumeRole": true, "GetCallerIdentity": true, "GetSessionToken": true, "GetFederationToken": true,
	"AssumeRoot": true, "GetAccessKeyInfo": true, "GetWebIdentityToken": true,
}

// deferMax bounds the request whose record the writer may encode (its
// body, query string and user agent, in bytes): an AssumeRole is a few
// hundred.
const deferMax = 1 << 10

// encodeQueued encodes the batch's records that requests queued
// unencoded (Record), on the writer's goroutine. A record whose encoding
// panics (none is known: the codecs read only values of the types they
// were compiled for) is written without its request parameters and
// response, and the panic logged: nothing on the writer's goroutine would
// recover it, and the process would end.
func (t *Trail) encodeQueued(batch []item) {
	for i := range batch {
		it := &batch[i]
		if it.rec == nil {
			continue
		}
		r := it.rec
		e, err := t.tryEncode(r, it.time, it.done)
		if err != nil {
			t.cfg.Log.Error("audit: a record could not be encoded; it is written without its request parameters and response",
				"eventId", r.EventID, "eventName", r.EventName, "error", err)
			r.params, r.response = nil, nil
			e, err = t.tryEncode(r, it.time, it.done)
		}
		putRecord(r)
		it.rec = nil
		if err != nil {
			// Lost (the rest of the record is strings: not seen);
			// counted outside strict mode, failed in it.
			if it.done == nil {
				t.dropped.Add(1)
			} else {
				it.done <- err
				it.done = nil
			}
			continue
		}
		it.buf, it.lineLen = e.buf, e.lineLen
	}
}

// tryEncode is encode with its resources, a panic returned as an error.
func (t *Trail) tryEncode(r *Record, tm int64, done chan error) (it item, err error) {
	defer func() {
		if v := recover(); v != nil {
			it, err = item{}, fmt.Errorf("panic: %v", v)
		}
	}()
	if t.cfg.encoding != nil {
		t.cfg.encoding(r)
	}
	var buf [4]Resource
	res := resources(buf[:0], r.params, r.response)
	return encode(r, res, tm, done), nil
}

// waiter is what a request waits for its writes with in strict mode.
type waiter struct {
	done    chan error // the writer's outcomes
	timer   *time.Timer
	pending int // writes queued whose outcome was not received
}

var waiters = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &waiter{done: make(chan error, 2), timer: t}
}}

// release stops w's timer and pools w again unless a write it queued can
// still answer on done (a request that gave up waiting).
func (w *waiter) release() {
	w.timer.Stop() // no stale tick is received after Stop (Go 1.23 timers)
	if w.pending == 0 && len(w.done) == 0 {
		waiters.Put(w)
	}
}

// encode writes r's line (without the chain) and its packed lookup
// attributes into a pooled buffer, the writer's item.
func encode(r *Record, res []Resource, tm int64, done chan error) item {
	buf := bufs.Get().(*[]byte)
	b := appendRecordWith((*buf)[:0], r, res)
	n := len(b)
	e := entry{account: r.RecipientAccountID, id: r.EventID, name: r.EventName, source: r.EventSource,
		user: username(&r.UserIdentity), accessKey: r.UserIdentity.AccessKeyID, resources: res}
	*buf = appendAttrs(b, &e)
	return item{buf: buf, lineLen: n, time: tm, readOnly: r.ReadOnly, done: done}
}

// Dropped is the number of events lost (queue full, or a write failed)
// outside strict mode.
func (t *Trail) Dropped() uint64 { return t.dropped.Load() }

// Backlog is the number of events queued for the writer.
func (t *Trail) Backlog() int { return len(t.ch) }

// Flush returns once every event queued before it is written to the file
// (not synced to disk), or ctx ends.
func (t *Trail) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case t.ch <- item{done: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes what is queued, seals the current file and stops the
// writer. It may be called more than once.
func (t *Trail) Close() error {
	t.closeOnce.Do(func() {
		close(t.stop)
		<-t.stopped
		t.stopAnchor()
		<-t.indexed
		t.mu.Lock()
		t.closed = true
		t.idx.dropAll()
		t.spill.close()
		t.mu.Unlock()
	})
	<-t.stopped
	return nil
}

// The writer's pacing outside strict mode: after a batch smaller than its
// largest it lets events gather for writePause; under sustained load (a
// batch of at least busyBatch events) for as long as it takes the rate
// just seen to bring writeTarget bytes, up to maxWritePause. The kernel's
// cost of appending to the page cache falls with the size of the write
// (larger page-cache folios; on ext4 and Linux 6.18, about 2 µs a record
// of 1.4 KB in writes of 60 records against 0.8 µs in writes of 700), and
// requests never wait for the writer; what the pause costs is how late an
// event reaches the file and LookupEvents (and what a killed process
// loses of the queue): at most writePause at a light load, at most
// maxWritePause under load. maxBatch bounds a batch (a full one is
// written at once, without a pause).
const (
	writePause    = 2 * time.Millisecond
	maxWritePause = 16 * time.Millisecond
	writeTarget   = 512 << 10
	busyBatch     = 16
	maxBatch      = 1024
)

// nextPause is the pause after a batch of n events and size bytes that
// gathered for gathered (since the batch before was taken), with a queue
// of queue events: at the rate just seen, a pause fills at most half of it.
func nextPause(n, size, queue int, gathered time.Duration) time.Duration {
	if n < busyBatch || size <= 0 || gathered <= 0 {
		return writePause
	}
	want := time.Duration(float64(gathered) * min(writeTarget/float64(size), float64(queue/2)/float64(n)))
	return min(max(want, writePause), maxWritePause)
}

// run is the writer: it takes what is queued at once, writes it with one
// system call (no fsync per event), and rotates by size and age.
func (t *Trail) run() {
	defer close(t.stopped)
	tick := time.NewTicker(min(t.cfg.MaxAge, time.Minute) / 2)
	defer tick.Stop()
	batch := make([]item, 0, maxBatch)
	var taken time.Time // when the batch before was taken
	pace := time.NewTimer(time.Hour)
	pace.Stop()
	defer pace.Stop()
	var sign <-chan time.Time
	if t.cfg.Checkpoint > 0 {
		cp := time.NewTicker(t.cfg.Checkpoint)
		defer cp.Stop()
		sign = cp.C
	}
	for {
		select {
		case <-sign:
			t.checkpointIfUnsigned()
		case <-t.cfg.checkpointNow:
			t.checkpointIfUnsigned()
		case it := <-t.ch:
			batch = append(batch[:0], it)
		drain:
			for len(batch) < cap(batch) {
				select {
				case it := <-t.ch:
					batch = append(batch, it)
				default:
					break drain
				}
			}
			t.encodeQueued(batch)
			now := time.Now()
			gathered := now.Sub(taken)
			taken = now
			size := 0
			for i := range batch {
				size += batch[i].lineLen
			}
			t.write(batch)
			if !t.cfg.Strict && len(batch) < cap(batch) {
				// Let events gather: one write (and one wake-up of this
				// goroutine) per batch, not per event. Requests never wait
				// for the writer outside strict mode; the queue holds a
				// pause's events many times over.
				pace.Reset(nextPause(len(batch), size, cap(t.ch), gathered))
				select {
				case <-pace.C:
				case <-t.stop:
					pace.Stop()
				}
			}
		case <-tick.C:
			if t.records > 0 && t.cfg.Now().Sub(t.opened) >= t.cfg.MaxAge {
				t.rotate()
			}
		case <-t.stop:
			for {
				select {
				case it := <-t.ch:
					t.write([]item{it})
					continue
				default:
				}
				break
			}
			if t.records > 0 {
				if err := t.seal(false); err != nil {
					t.cfg.Log.Error("audit: seal on close", "error", err)
				}
			} else if t.f != nil {
				t.f.Close()
				os.Remove(t.f.Name())
			}
			return
		}
	}
}

// write appends a batch to the current file and reports each outcome.
func (t *Trail) write(batch []item) {
	t.encodeQueued(batch)
	err := t.repair()
	if t.f == nil && err == nil {
		err = t.openNext()
	}
	if err == nil {
		err = t.startFile()
	}
	t.pending, t.attrs = t.pending[:0], t.attrs[:0]
	// A rotation in the batch first writes what comes before it:
	// batch[:written] are then in a sealed file whatever happens to the
	// rest, and t.pending[:kept] are their slots.
	written, kept := 0, 0
	for i := range batch {
		if err != nil {
			break
		}
		it := &batch[i]
		if it.buf == nil {
			continue // Flush
		}
		buf := *it.buf
		if t.records > 0 && (t.size+int64(it.lineLen)+100 > t.cfg.MaxBytes || t.cfg.Now().Sub(t.opened) >= t.cfg.MaxAge) {
			if err = t.flush(); err == nil {
				t.commit()
				written, kept = i, len(t.pending)
				t.rotate()
				if t.f == nil {
					err = errors.New("audit: no open file")
					break
				}
				if err = t.startFile(); err != nil {
					break
				}
			}
		}
		t.seq++
		head := len(t.attrs)
		t.attrs = binary.LittleEndian.AppendUint64(t.attrs, uint64(it.time))
		t.attrs = append(t.attrs, boolByte(it.readOnly))
		from := len(t.attrs)
		t.attrs = append(t.attrs, buf[it.lineLen:]...)
		it.attrs = [2]int{head, len(t.attrs)}
		line := append(buf[:it.lineLen], `,"seq":`...)
		line = strconv.AppendUint(line, t.seq, 10)
		line = append(line, `,"prevHash":"`...)
		line = append(line, t.prevHash...)
		line = append(line, "\"}\n"...)
		*it.buf = line
		if t.records == 0 {
			t.first = t.seq
		}
		n := len(line) - 1 // without the newline
		t.pending = append(t.pending, pendingSlot{slot: slot{seq: t.seq, time: it.time, file: int32(t.num), off: t.size, n: uint32(n), readOnly: it.readOnly}, from: from, to: len(t.attrs)})
		t.setPrevHash(line[:n])
		// Written by flush, straight from the event's buffer.
		t.lines = append(t.lines, line)
		t.size += int64(len(line))
		t.records++
		t.unsigned = true
	}
	if err == nil {
		err = t.flush()
	}
	if err == nil {
		t.commit()
	} else {
		t.rollback()
	}
	if err != nil {
		if !t.failed.Swap(true) {
			t.cfg.Log.Error("audit: write failed; events are being lost", "error", err)
		}
		if !t.cfg.Strict {
			for i := written; i < len(batch); i++ {
				if batch[i].buf != nil {
					t.dropped.Add(1)
				}
			}
		}
	} else if t.failed.Swap(false) {
		t.cfg.Log.Info("audit: writing again")
	}
	indexed := t.pending
	if err != nil {
		indexed = t.pending[:kept]
	}
	if len(indexed) > 0 {
		t.mu.Lock()
		for _, p := range indexed {
			t.idx.add(p.slot, t.attrs[p.from:p.to])
		}
		t.mu.Unlock()
	}
	for i := range batch {
		it := &batch[i]
		e := err
		if i < written {
			e = nil // written before the rotation
		}
		if e == nil && it.buf != nil && t.cfg.Sink != nil {
			line := *it.buf
			t.cfg.Sink(line[:len(line)-1], t.attrs[it.attrs[0]:it.attrs[1]])
		}
		if it.buf != nil {
			putBuf(it.buf)
			it.buf = nil
		}
		if it.done != nil {
			it.done <- e
		}
	}
	if cap(t.attrs) > 1<<20 {
		t.attrs = nil
	}
	clear(t.lines)
	t.lines = t.lines[:0]
}

// flush writes what is buffered and the lines of the batch (with one
// writev: no copy into a buffer).
func (t *Trail) flush() error {
	if t.w == nil {
		return errors.New("audit: no open file")
	}
	if err := t.w.Flush(); err != nil {
		return err
	}
	if len(t.lines) == 0 {
		return nil
	}
	err := t.bw.write(t.lines)
	clear(t.lines)
	t.lines = t.lines[:0]
	return err
}

// setFile makes f the file the writer appends to, from offset size.
func (t *Trail) setFile(f *os.File, size int64) {
	t.o = t.out(f)
	t.bw = newBatchWriter(t.o)
	t.f, t.w, t.size = f, bufio.NewWriterSize(t.o, 64<<10), size
}

// rotate seals the current file, opens the next and applies retention.
func (t *Trail) rotate() {
	if err := t.seal(false); err != nil {
		// Rolled back: the file stays open; the next write retries.
		t.cfg.Log.Error("audit: seal file", "error", err)
		return
	}
	if err := t.openNext(); err != nil {
		t.cfg.Log.Error("audit: open next file", "error", err)
	}
	t.prune()
}

// seal appends the signed digest to the current file and closes it; a
// file a crash left open is sealed on restart with recovered set. On a
// failed write it rolls back and leaves the file open.
func (t *Trail) seal(recovered bool) error {
	if t.f == nil {
		return nil
	}
	if err := t.repair(); err != nil {
		return err
	}
	name := FileName(t.num)
	d := Digest{File: name, FirstSeq: t.first, Records: t.records, Recovered: recovered, Node: t.cfg.Node}
	d.KeyID = KeyID(t.cfg.Key.Public().(ed25519.PublicKey))
	d.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(t.cfg.Key, digestMessage(d, t.seq+1, string(t.prevHash))))
	if err := t.writeControl(&Record{EventType: DigestType, Digest: &d}); err != nil {
		return err
	}
	err := t.f.Sync()
	if e := t.f.Close(); err == nil {
		err = e
	}
	t.f, t.w, t.o, t.bw, t.records = nil, nil, nil, nil, 0
	t.unsigned = false
	t.commit()
	t.cfg.Log.Info("audit: file sealed", "file", name, "head", fmt.Sprintf("%d:%s", t.seq, t.prevHash))
	if err == nil {
		t.anchorHead()
	}
	return err
}

// writeControl appends a record of the trail's own (a digest, a prune
// mark) to the chain and flushes it; on failure it rolls back.
func (t *Trail) writeControl(r *Record) error {
	r.EventVersion, r.EventTime = EventVersion, t.cfg.Now().UTC().Format(time.RFC3339)
	r.Seq, r.PrevHash = t.seq+1, string(t.prevHash)
	line, err := json.Marshal(r)
	if err != nil {
		return err
	}
	// A bufio.Writer's error sticks: Flush reports a failed Write.
	_, _ = t.w.Write(line)
	_ = t.w.WriteByte('\n')
	if err := t.w.Flush(); err != nil {
		t.rollback()
		return err
	}
	t.seq = r.Seq
	t.setPrevHash(line)
	t.size += int64(len(line) + 1)
	if t.records == 0 {
		t.first = t.seq
	}
	t.records++
	t.commit()
	return nil
}

// checkpoint signs the chain so far into the current file: a checkpoint
// record, flushed (no fsync). On failure it rolls back, as writeControl does.
func (t *Trail) checkpoint() error {
	if err := t.repair(); err != nil {
		return err
	}
	c := Checkpoint{File: FileName(t.num), Node: t.cfg.Node, KeyID: KeyID(t.cfg.Key.Public().(ed25519.PublicKey))}
	c.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(t.cfg.Key, checkpointMessage(c, t.seq+1, string(t.prevHash))))
	if err := t.writeControl(&Record{EventType: CheckpointType, Checkpoint: &c}); err != nil {
		return err
	}
	t.unsigned = false
	// Logged, as each seal's head is: someone able to write the trail can
	// remove checkpoints as well as records, and a head kept elsewhere
	// (audit verify --head) is what shows it.
	t.cfg.Log.Info("audit: checkpoint", "file", c.File, "head", fmt.Sprintf("%d:%s", t.seq, t.prevHash))
	t.anchorHead()
	return nil
}

// startFile begins a file with a checkpoint when the trail has a Node, so
// that every file names, signed, the node its head is anchored as: cutting
// the newest records (and the checkpoints among them) off leaves it, and a
// node id changed beside the trail is seen (found by a review as an
// attacker).
func (t *Trail) startFile() error {
	if t.cfg.Node == "" || t.nodeSigned || t.f == nil {
		return nil
	}
	// After a prune mark at most (retention writes one first).
	if err := t.checkpoint(); err != nil {
		return err
	}
	t.nodeSigned = true
	return nil
}

// checkpointIfUnsigned signs a checkpoint when events came since the last
// signature, logging a failure (the next tick tries again).
func (t *Trail) checkpointIfUnsigned() {
	if !t.unsigned || t.f == nil {
		return
	}
	if err := t.checkpoint(); err != nil {
		t.cfg.Log.Error("audit: checkpoint", "error", err)
	}
}

// checkpointMessage is what a checkpoint's signature covers.
func checkpointMessage(c Checkpoint, seq uint64, prevHash string) []byte {
	b := fmt.Appendf(nil, "opensts-audit-checkpoint-v1\n%s\n%d\n%s", c.File, seq, prevHash)
	if c.Node != "" {
		b = append(append(b, "\nnode="...), c.Node...)
	}
	return b
}

// digestMessage is what a digest's signature covers.
func digestMessage(d Digest, seq uint64, prevHash string) []byte {
	b := fmt.Appendf(nil, "opensts-audit-digest-v1\n%s\n%d\n%d\n%d\n%s", d.File, d.FirstSeq, d.Records, seq, prevHash)
	if d.Recovered {
		b = append(b, "\nrecovered"...)
	}
	if d.Node != "" {
		b = append(append(b, "\nnode="...), d.Node...)
	}
	return b
}

// pruneMessage is what a prune record's signature covers.
func pruneMessage(p Prune, seq uint64, prevHash string) []byte {
	return fmt.Appendf(nil, "opensts-audit-prune-v1\n%d\n%s\n%d\n%s\n%d\n%s", p.RemovedThrough, p.NextFile, p.NextSeq, p.NextPrevHash, seq, prevHash)
}

// KeyID names a digest public key: the first 8 bytes of its SHA-256, hex.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

func (t *Trail) openNext() error {
	t.num++
	f, err := os.OpenFile(filepath.Join(t.cfg.Dir, FileName(t.num)), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	t.setFile(f, 0)
	t.records, t.opened, t.nodeSigned = 0, t.cfg.Now(), false
	t.commit()
	return nil
}

// prune removes closed files older than the retention, and their events
// from the index.
func (t *Trail) prune() {
	if t.cfg.Retention <= 0 {
		return
	}
	files, err := listFiles(t.cfg.Dir)
	if err != nil {
		return
	}
	cutoff := t.cfg.Now().Add(-t.cfg.Retention)
	keep := 0
	for _, name := range files {
		if fileNumber(name) >= t.num {
			break
		}
		fi, err := os.Stat(filepath.Join(t.cfg.Dir, name))
		if err != nil || fi.ModTime().After(cutoff) {
			break
		}
		if err := os.Remove(filepath.Join(t.cfg.Dir, name)); err != nil {
			break
		}
		keep = fileNumber(name) + 1
	}
	if keep == 0 {
		return
	}
	t.mu.Lock()
	t.idx.dropFiles(keep)
	t.prunedBefore = keep
	t.mu.Unlock()
	if err := t.markPruned(keep); err != nil {
		t.cfg.Log.Error("audit: record the files retention removed", "error", err)
	}
}

// markPruned appends the signed record that files before keep were removed
// by retention, naming the record the trail now starts at.
func (t *Trail) markPruned(keep int) error {
	if t.f == nil {
		return errors.New("audit: no open file")
	}
	p := Prune{RemovedThrough: keep - 1, NextFile: FileName(keep), NextSeq: t.seq + 1, NextPrevHash: string(t.prevHash)}
	if keep != t.num || t.records > 0 {
		// The trail starts at a file already written: its first record.
		if err := t.flush(); err != nil {
			t.rollback()
			return err
		}
		line, err := readFirstLine(filepath.Join(t.cfg.Dir, FileName(keep)))
		if err != nil {
			return err
		}
		var r Record
		if len(line) == 0 || json.Unmarshal(line, &r) != nil {
			return fmt.Errorf("audit: %s: no first record", FileName(keep))
		}
		p.NextSeq, p.NextPrevHash = r.Seq, r.PrevHash
	}
	p.KeyID = KeyID(t.cfg.Key.Public().(ed25519.PublicKey))
	p.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(t.cfg.Key, pruneMessage(p, t.seq+1, string(t.prevHash))))
	return t.writeControl(&Record{EventType: PruneType, Prune: &p})
}

// NewUUID returns a random (version 4) UUID. Its bits come from the
// runtime's generator (ChaCha8, seeded by the system for each thread):
// unique without a lock shared by every request. An event id names an
// event; it grants nothing, so it needs no more than that.
func NewUUID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], mrand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], mrand.Uint64())
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// writeEach writes lines, in order, with one Write each.
func writeEach(w io.Writer, lines [][]byte) error {
	for _, l := range lines {
		if _, err := w.Write(l); err != nil {
			return err
		}
	}
	return nil
}
