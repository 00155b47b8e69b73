package lastaccess

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/opensts/opensts/internal/store"
)

// memWriter keeps what it is given, newest use per key wins, as the store
// does; fail makes the next write fail.
type memWriter struct {
	mu      sync.Mutex
	batches int
	uses    map[Key]store.ServiceAccess
	fail    bool
}

func (w *memWriter) RecordServiceAccess(_ context.Context, uses []store.ServiceAccess) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail {
		w.fail = false
		return errors.New("database is gone")
	}
	w.batches++
	if w.uses == nil {
		w.uses = make(map[Key]store.ServiceAccess)
	}
	for _, u := range uses {
		k := Key{u.PrincipalID, u.Service, u.Action}
		if old, ok := w.uses[k]; !ok || u.At.After(old.At) {
			w.uses[k] = u
		}
	}
	return nil
}

func (w *memWriter) snapshot() (int, map[Key]store.ServiceAccess) {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[Key]store.ServiceAccess, len(w.uses))
	for k, v := range w.uses {
		m[k] = v
	}
	return w.batches, m
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newRecorder(t *testing.T, w Writer, maxKeys int) *Recorder {
	// A long interval: the tests flush themselves. No window: every use
	// reaches the recorder (TestWindow tests the window).
	r := New(Config{Writer: w, Interval: time.Hour, MaxKeys: maxKeys, Window: -1})
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

func TestRecordNewestWins(t *testing.T) {
	t.Parallel()
	w := &memWriter{}
	r := newRecorder(t, w, 0)
	ctx := context.Background()
	k := Key{"AROAEXAMPLE", "iam", "ListUsers"}
	r.Record(k, "111111111111", t0.Add(2*time.Second), "eu-west-1")
	r.Record(k, "111111111111", t0.Add(time.Second), "us-west-2") // older: ignored
	r.Record(Key{"AIDAEXAMPLE", "sts", "GetCallerIdentity"}, "111111111111", t0, "us-east-1")
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	n, got := w.snapshot()
	want := map[Key]store.ServiceAccess{
		k: {PrincipalID: "AROAEXAMPLE", Account: "111111111111", Service: "iam", Action: "ListUsers", At: t0.Add(2 * time.Second), Region: "eu-west-1"},
		{"AIDAEXAMPLE", "sts", "GetCallerIdentity"}: {PrincipalID: "AIDAEXAMPLE", Account: "111111111111", Service: "sts", Action: "GetCallerIdentity", At: t0, Region: "us-east-1"},
	}
	if d := cmp.Diff(want, got); d != "" || n != 1 {
		t.Fatalf("after one flush: %d batches, (-want +got):\n%s", n, d)
	}
	// Nothing new: no write.
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := w.snapshot(); n != 1 {
		t.Fatalf("a flush with nothing new wrote: %d batches", n)
	}
	// A newer use is written with its region.
	r.Record(k, "111111111111", t0.Add(time.Minute), "ap-south-1")
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	n, got = w.snapshot()
	if u := got[k]; n != 2 || !u.At.Equal(t0.Add(time.Minute)) || u.Region != "ap-south-1" {
		t.Fatalf("after a newer use: %d batches, %+v", n, u)
	}
}

// A use within the window of the last one recorded for the same key and
// region is not written; past it, or from another region, it is.
func TestWindow(t *testing.T) {
	t.Parallel()
	w := &memWriter{}
	r := New(Config{Writer: w, Interval: time.Hour, MaxKeys: 2, Window: time.Minute})
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	ctx := context.Background()
	k := Key{"AROAEXAMPLE", "iam", "ListUsers"}
	use := func(d time.Duration, region string) store.ServiceAccess {
		t.Helper()
		r.Record(k, "111111111111", t0.Add(d), region)
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		_, got := w.snapshot()
		return got[k]
	}
	if u := use(0, "eu-west-1"); !u.At.Equal(t0) {
		t.Fatalf("first use: %+v", u)
	}
	if u := use(30*time.Second, "eu-west-1"); !u.At.Equal(t0) {
		t.Fatalf("use within the window written: %+v", u)
	}
	if u := use(40*time.Second, "us-east-1"); !u.At.Equal(t0.Add(40*time.Second)) || u.Region != "us-east-1" {
		t.Fatalf("use from another region: %+v", u)
	}
	if u := use(61*time.Second, "eu-west-1"); !u.At.Equal(t0.Add(61*time.Second)) || u.Region != "eu-west-1" {
		t.Fatalf("use past the window: %+v", u)
	}
	// A use dropped at the memory bound is not remembered by the window.
	r.Record(Key{"AIDA1", "iam", "GetUser"}, "111111111111", t0, "us-east-1")
	r.Record(Key{"AIDA2", "iam", "GetUser"}, "111111111111", t0, "us-east-1")
	if r.Dropped() != 1 {
		t.Fatalf("Dropped %d, want 1", r.Dropped())
	}
	for range IdleFlushes + 1 {
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	r.Record(Key{"AIDA2", "iam", "GetUser"}, "111111111111", t0.Add(time.Second), "us-east-1")
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, got := w.snapshot(); !got[Key{"AIDA2", "iam", "GetUser"}].At.Equal(t0.Add(time.Second)) {
		t.Fatalf("a use dropped at the bound kept the next one out: %+v", got[Key{"AIDA2", "iam", "GetUser"}])
	}
}

func TestFailedWriteIsRetried(t *testing.T) {
	t.Parallel()
	w := &memWriter{fail: true}
	r := newRecorder(t, w, 0)
	k := Key{"AIDARETRY", "iam", "GetUser"}
	r.Record(k, "111111111111", t0, "us-east-1")
	if err := r.Flush(context.Background()); err == nil {
		t.Fatal("the failing write's error was not returned")
	}
	if r.Failed() != 1 {
		t.Fatalf("Failed() = %d, want 1", r.Failed())
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, got := w.snapshot(); !got[k].At.Equal(t0) {
		t.Fatalf("the use was lost after a failed write: %v", got)
	}
}

func TestMemoryBound(t *testing.T) {
	t.Parallel()
	w := &memWriter{}
	r := newRecorder(t, w, 10)
	for i := range 15 {
		r.Record(Key{fmt.Sprintf("AIDA%02d", i), "iam", "GetUser"}, "111111111111", t0, "us-east-1")
	}
	// A key already kept is still updated at the bound.
	r.Record(Key{"AIDA00", "iam", "GetUser"}, "111111111111", t0.Add(time.Second), "us-east-1")
	if r.Keys() != 10 || r.Dropped() != 5 {
		t.Fatalf("Keys %d, Dropped %d; want 10, 5", r.Keys(), r.Dropped())
	}
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, got := w.snapshot(); len(got) != 10 || !got[Key{"AIDA00", "iam", "GetUser"}].At.Equal(t0.Add(time.Second)) {
		t.Fatalf("written: %v", got)
	}
	// Idle keys leave memory once written, and make room.
	for range IdleFlushes {
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if r.Keys() != 0 {
		t.Fatalf("%d idle keys still in memory", r.Keys())
	}
	r.Record(Key{"AIDA14", "iam", "GetUser"}, "111111111111", t0, "us-east-1")
	if r.Keys() != 1 || r.Dropped() != 5 {
		t.Fatalf("after eviction: Keys %d, Dropped %d", r.Keys(), r.Dropped())
	}
}

func TestCloseWritesPending(t *testing.T) {
	t.Parallel()
	w := &memWriter{}
	r := New(Config{Writer: w, Interval: time.Hour})
	r.Record(Key{"AIDACLOSE", "sts", "AssumeRole"}, "111111111111", t0, "us-east-1")
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, got := w.snapshot(); len(got) != 1 {
		t.Fatalf("Close wrote %v", got)
	}
}

func TestBackgroundFlush(t *testing.T) {
	t.Parallel()
	w := &memWriter{}
	r := New(Config{Writer: w, Interval: 10 * time.Millisecond})
	defer r.Close(context.Background())
	r.Record(Key{"AIDATICK", "sts", "GetCallerIdentity"}, "111111111111", t0, "us-east-1")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, got := w.snapshot(); len(got) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the background writer never wrote the use")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrentRecord(t *testing.T) {
	t.Parallel()
	w := &memWriter{}
	r := newRecorder(t, w, 0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				r.Record(Key{fmt.Sprintf("AIDA%d", i%7), "iam", "GetUser"}, "111111111111", t0.Add(time.Duration(g*500+i)*time.Millisecond), "us-east-1")
				if i%100 == 0 {
					_ = r.Flush(context.Background())
				}
			}
		})
	}
	wg.Wait()
	if err := r.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, got := w.snapshot()
	// The newest use of AIDA(i%7) is the last goroutine's largest i.
	for p := range 7 {
		k := Key{fmt.Sprintf("AIDA%d", p), "iam", "GetUser"}
		last := 0
		for i := range 500 {
			if i%7 == p {
				last = i
			}
		}
		if want := t0.Add(time.Duration(7*500+last) * time.Millisecond); !got[k].At.Equal(want) {
			t.Errorf("%v: %v, want %v", k, got[k].At, want)
		}
	}
}

func TestRecordRepeatedKeyAllocatesNothing(t *testing.T) {
	w := &memWriter{}
	r := newRecorder(t, w, 0)
	k := Key{"AROAHOT", "sts", "AssumeRole"}
	r.Record(k, "111111111111", t0, "us-east-1")
	at := t0
	if n := testing.AllocsPerRun(1000, func() {
		at = at.Add(time.Millisecond)
		r.Record(k, "111111111111", at, "us-east-1")
	}); n != 0 {
		t.Fatalf("Record of a known key allocates %v times", n)
	}
}

// BenchmarkRecord is the request path's cost: a known key, from every core.
func BenchmarkRecord(b *testing.B) {
	r := New(Config{Writer: &memWriter{}, Interval: 50 * time.Millisecond})
	defer r.Close(context.Background())
	keys := make([]Key, 64)
	for i := range keys {
		keys[i] = Key{fmt.Sprintf("AROA%017d", i), "sts", "AssumeRole"}
	}
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			r.Record(keys[i&63], "111111111111", now.Add(time.Duration(i)), "us-east-1")
		}
	})
}

// TestIdleKeysGiveTheirRoomBack: after a burst of principals leaves, the
// maps that held them are made anew at the size of what is left (a Go map
// keeps the room of its largest size: 100,000 keys gone left some 4 MiB).
func TestIdleKeysGiveTheirRoomBack(t *testing.T) {
	w := &memWriter{}
	r := newRecorder(t, w, 1<<20)
	live := func() uint64 {
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	before := live()
	for i := range 100_000 {
		r.Record(Key{fmt.Sprintf("AIDA%06d", i), "sts", "AssumeRole"}, "111111111111", t0, "us-east-1")
	}
	for range IdleFlushes + 1 {
		if err := r.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	w.mu.Lock()
	w.uses = nil // the writer's copy is not the recorder's
	w.mu.Unlock()
	if r.Keys() != 0 {
		t.Fatalf("%d idle keys still in memory", r.Keys())
	}
	if after := live(); after > before+512<<10 {
		t.Errorf("100,000 keys gone, the recorder still holds %d KiB more than before them", (after-before)>>10)
	}
	for i := range r.shards {
		if p := r.shards[i].peak; p != 0 {
			t.Fatalf("shard %d: peak %d after its map was made anew", i, p)
		}
	}
}

// Config.Population sizes the table of recent uses when New returns; a
// population that cannot be read leaves the default.
func TestRecorderPopulation(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		err  error
		want int
	}{{0, errors.New("database is gone"), recentSlots}, {10, nil, recentSlots}, {1_000_000, nil, 1 << 20}} {
		r := New(Config{Writer: &memWriter{}, Population: func(context.Context) (int64, error) { return tc.n, tc.err }})
		if got := r.recent.Slots(); got != tc.want {
			t.Errorf("population %d (%v): table of %d slots, want %d", tc.n, tc.err, got, tc.want)
		}
		_ = r.Close(t.Context())
	}
}
