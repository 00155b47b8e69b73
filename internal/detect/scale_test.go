package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkManyRoles is the detection side of the scale benchmark
// (internal/tools/scale): AssumeRole across 100,000 distinct roles, each by
// its own user, in Run's batches, with the baselines kept in a shared
// state (in memory here; the store in the server) and flushed as Run does,
// with no tier and with the server's (16 MiB), in a random order. It reports the shared
// state's traffic an event besides the time: subjects read and written
// (a read is two subjects an event when neither table nor tier holds them).
//
//	go test ./internal/detect -run '^$' -bench ManyRoles -benchmem -cpu 1
func BenchmarkManyRoles(b *testing.B) {
	for _, tier := range []int{0, 16 << 20} {
		b.Run(fmt.Sprintf("tier=%dMiB", tier>>20), func(b *testing.B) { benchmarkManyRoles(b, tier, 0) })
	}
	// With the fast table sized for the 200,000 subjects, as the server
	// sizes it by the store's population.
	b.Run("tier=16MiB/fast", func(b *testing.B) { benchmarkManyRoles(b, 16<<20, MaxFastSlots) })
}

func benchmarkManyRoles(b *testing.B, tierBytes, fastSlots int) {
	const n = 100_000
	sh := newMemShared()
	e, _ := newEngine(b, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared, o.TierBytes, o.FastSlots = sh, tierBytes, fastSlots })
	evs := make([]Event, n)
	for i := range evs {
		// Named as the scale benchmark's.
		user := fmt.Sprintf("arn:aws:iam::%s:user/u%07d", acct, i)
		evs[i] = Event{Time: t0, ID: fmt.Sprint("ev-", i), Name: "AssumeRole", Source: "sts.amazonaws.com", Account: acct,
			Type: "IAMUser", ARN: user, UserName: fmt.Sprintf("u%07d", i), AccessKeyID: fmt.Sprintf("AKIA%016d", i),
			SourceIP: "127.0.0.1", UserAgent: "Go-http-client/1.1", Params: Params{RoleArn: fmt.Sprintf("arn:aws:iam::%s:role/r%07d", acct, i)}}
	}
	ctx := context.Background()
	// Two passes to learn (and store) every baseline, as a warmed-up
	// deployment has (the second, which finds nothing new, records the
	// fast table's fingerprints).
	for i := range 2 * n {
		ev := evs[i%n]
		ev.Time = t0.Add(time.Duration(i) * 100 * time.Microsecond)
		e.Observe(ev)
		if i%256 == 255 {
			e.runBatch(ctx)
		}
		select {
		case <-e.flushDue:
			e.Flush(ctx)
		default:
		}
	}
	e.runBatch(ctx)
	e.Flush(ctx)
	read, puts := sh.read, sh.puts
	b.ReportAllocs()
	b.ResetTimer()
	// In a random order, as the scale benchmark's wrk picks a role a
	// request: a subject seen twice in a row of the table's lifetime is
	// put in the tier twice, which in order never happens.
	rng := rand.New(rand.NewPCG(1, 2))
	i := 0
	for b.Loop() {
		ev := evs[rng.IntN(n)]
		ev.Time = t0.Add(time.Duration(2*n+i) * 100 * time.Microsecond) // 10,000 a second
		e.Observe(ev)
		if i%256 == 255 {
			e.runBatch(ctx)
		}
		select {
		case <-e.flushDue: // as Run does
			e.Flush(ctx)
		default:
			if i%100_000 == 99_999 { // every 10 s
				e.Flush(ctx)
			}
		}
		i++
	}
	e.runBatch(ctx)
	b.StopTimer()
	b.ReportMetric(float64(sh.read-read)/float64(b.N), "reads/op")
	b.ReportMetric(float64(sh.puts-puts)/float64(b.N), "writes/op")
	if e.base.tier != nil {
		n, bytes, _ := e.base.tier.Stats()
		b.ReportMetric(float64(bytes)/float64(n), "tier-B/subject")
	}
}

// A working set larger than the table keeps what it learned: baselines
// evicted before a flush are written by it, and a subject seen again
// after its eviction keeps its first sighting (its warm-up does not start
// over) and what it learned.
func TestBaselinesEvictedBeforeFlushKept(t *testing.T) {
	sh := newMemShared()
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared = sh; o.MaxSubjects = 10 })
	role := func(i int) string { return fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i) }
	const n = 30 // three tables' worth: within what is kept evicted (four)
	for i := range n {
		run(e, ev("AssumeRole", "sts", with("roleArn", role(i))))
	}
	// Seen again before any flush, after its eviction: still the same
	// baseline (first sighting at t0, its network learned).
	run(e, ev("AssumeRole", "sts", with("roleArn", role(0)), at(time.Minute), from("198.51.100.7")))
	e.Flush(context.Background())
	for i := range n {
		data, ok := sh.base["role:"+role(i)]
		if !ok {
			t.Fatalf("role %d's baseline was not written", i)
		}
		bl, err := decodeBaseline(data)
		if err != nil || !bl.First.Equal(t0) || !slices.Contains(bl.Networks, "203.0.113.0/24") {
			t.Fatalf("role %d: %+v %v", i, bl, err)
		}
		if i == 0 && !slices.Contains(bl.Networks, "198.51.100.0/24") {
			t.Fatalf("role 0 lost what it learned after its eviction: %v", bl.Networks)
		}
	}
	if len(e.base.evicted) != 0 {
		t.Fatalf("%d evicted baselines left after the flush", len(e.base.evicted))
	}
}

// A table's worth of evicted, unwritten baselines asks Run for a flush
// before FlushEvery.
func TestEvictedBaselinesFlushEarly(t *testing.T) {
	sh := newMemShared()
	e, _ := newEngine(t, Config{}, func(o *Options) { o.Shared = sh; o.MaxSubjects = 10 })
	for i := range 30 {
		run(e, ev("AssumeRole", "sts", with("roleArn", fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i))))
	}
	select {
	case <-e.flushDue:
	default:
		t.Fatal("no early flush asked for")
	}
}

// The compact encoding round-trips, old JSON rows are still read, and a
// malformed row is refused, not half read.
func TestBaselineBinary(t *testing.T) {
	bl := &baseline{First: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Networks: strSet{"10.0.0.0/24", "192.0.2.0/24"},
		Agents: strSet{"aws-cli"}, Actions: strSet{"iam:GetUser", "sts:AssumeRole"}, Hours: 1<<3 | 1<<23, Minute: 29_000_000,
		Count: 17, Rate: 12.5, Minutes: 4321}
	data := bl.appendBinary(nil)
	js, _ := json.Marshal(bl)
	if len(data) >= len(js) {
		t.Errorf("binary %d bytes, JSON %d", len(data), len(js))
	}
	for _, in := range [][]byte{data, js} {
		got, err := decodeBaseline(in)
		if err != nil {
			t.Fatal(err)
		}
		if !got.First.Equal(bl.First) || !slices.Equal(got.Networks, bl.Networks) || !slices.Equal(got.Agents, bl.Agents) ||
			!slices.Equal(got.Actions, bl.Actions) || got.Hours != bl.Hours || got.Minute != bl.Minute || got.Count != bl.Count ||
			got.Rate != bl.Rate || got.Minutes != bl.Minutes {
			t.Fatalf("read %+v from %q, want %+v", got, in, bl)
		}
	}
	if got, err := decodeBaseline((&baseline{}).appendBinary(nil)); err != nil || !got.First.IsZero() {
		t.Fatalf("empty baseline: %+v %v", got, err)
	}
	for i := range len(data) {
		if _, err := decodeBaseline(data[:i]); err == nil {
			t.Fatalf("a baseline cut to %d bytes was read", i)
		}
	}
	if _, err := decodeBaseline(append(data, 0)); err == nil {
		t.Fatal("trailing bytes were read")
	}
}

func FuzzDecodeBaseline(f *testing.F) {
	f.Add((&baseline{First: t0, Networks: strSet{"10.0.0.0/24"}, Actions: strSet{"a", "b"}}).appendBinary(nil))
	f.Add([]byte(`{"first":"2020-01-01T00:00:00Z","actions":["x"]}`))
	var d dict
	for _, v := range []string{"10.0.0.0/24", "aws-cli", "sts:AssumeRole"} {
		d.id(v)
	}
	f.Add((&baseline{First: t0, Networks: strSet{"10.0.0.0/24", "192.0.2.0/24"}, Actions: strSet{"sts:AssumeRole"}}).encode(nil, &d))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The tier's encoding, with a dictionary of three strings: no
		// panic, and the same bounds.
		if bl, err := decodeInto(nil, data, &d, true); err == nil {
			if len(bl.Networks) > maxNetworks || len(bl.Agents) > maxAgents || len(bl.Actions) > maxActions {
				t.Fatal("a set past its bound")
			}
		}
		bl, err := decodeBaseline(data)
		if err != nil || data[0] != baselineBinary {
			return
		}
		if len(bl.Networks) > maxNetworks || len(bl.Agents) > maxAgents || len(bl.Actions) > maxActions {
			t.Fatal("a set past its bound")
		}
		for _, s := range []strSet{bl.Networks, bl.Agents, bl.Actions} {
			if !slices.IsSorted(s) || len(slices.Compact(slices.Clone(s))) != len(s) {
				t.Fatalf("set not sorted and unique: %q", s)
			}
		}
	})
}

// With a tier, a working set larger than the table is read from the shared
// state once: the baselines the table drops are kept encoded in the tier,
// and a subject seen again is read from there with what it learned, the
// ones changed since read after the flush that writes them.
func TestBaselinesTier(t *testing.T) {
	role := func(i int) string { return fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i) }
	const n = 30 // three tables' worth
	// The third case bounds the baselines alone (Options.Baselines, as
	// the server does): the other tables keep their larger bound.
	for c, tier := range []bool{false, true, true} {
		sh := newMemShared()
		e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) {
			o.Shared, o.MaxSubjects = sh, 10
			if c == 2 {
				o.MaxSubjects, o.Baselines = 100, 10
			}
			if tier {
				o.TierBytes = 64 << 10
			}
		})
		if got := e.base.subjects.max; got != 10 {
			t.Fatalf("case %d: the baselines' table holds %d, want 10", c, got)
		}
		// The tier's part: the fast table, which judges a subject seen
		// again with the features of its first sighting from its slot,
		// would read nothing either way.
		e.base.fast = nil
		ctx := context.Background()
		for i := range n {
			run(e, ev("AssumeRole", "sts", with("roleArn", role(i))))
		}
		e.Flush(ctx)
		// Seen again: the roles evicted unchanged since the flush, and
		// one learning a network. Reads as subjects are seen are counted,
		// not the flushes' (a flush reads what it merges with).
		reads := 0
		for pass := range 2 {
			gets := sh.gets
			for i := range n {
				opts := []func(*Event){with("roleArn", role(i)), at(time.Minute)}
				if i == 0 && pass == 1 {
					opts = append(opts, from("198.51.100.7"))
				}
				run(e, ev("AssumeRole", "sts", opts...))
			}
			reads += sh.gets - gets
			e.Flush(ctx)
		}
		if !tier {
			if reads < n {
				t.Fatalf("without a tier: %d reads of the shared state for %d roles seen again, want one each", reads, n)
			}
			continue
		}
		if reads != 0 {
			t.Errorf("with a tier: %d reads of the shared state for roles it holds, want none", reads)
		}
		for i := range n {
			bl := e.peekBaseline("role:" + role(i))
			if bl == nil || !bl.First.Equal(t0) || !slices.Contains(bl.Networks, "203.0.113.0/24") {
				t.Fatalf("role %d: %+v", i, bl)
			}
			if i == 0 && !slices.Contains(bl.Networks, "198.51.100.0/24") {
				t.Fatalf("role 0 lost what it learned: %v", bl.Networks)
			}
		}
		data, _ := decodeBaseline(sh.base["role:"+role(0)])
		if data == nil || !slices.Contains(data.Networks, "198.51.100.0/24") {
			t.Fatalf("role 0's new network was not written: %+v", data)
		}
	}
}

// peekBaseline returns the baseline of key from the table or the tier
// (leaving it there), or nil (tests).
func (e *Engine) peekBaseline(key string) *baseline {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.base.subjects.m[key]; ok {
		return x.val
	}
	if e.base.tier == nil {
		return nil
	}
	k := tierKey(key)
	data, ok := e.base.tier.Get(nil, k[:])
	if !ok {
		return nil
	}
	bl, _ := decodeInto(nil, data, &e.base.dict, true)
	return bl
}

// The tier's encoding numbers the sets' strings: it round-trips, is
// smaller than the shared state's, writes a string out in full once the
// dictionary is full, and a malformed record (cut, or naming a number the
// dictionary has not) is refused. The shared state's reader refuses it:
// its numbers mean nothing to another node.
func TestBaselineTierEncoding(t *testing.T) {
	bl := &baseline{First: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), Networks: strSet{"10.0.0.0/24", "192.0.2.0/24"},
		Agents: strSet{"aws-cli"}, Actions: strSet{"iam:GetUser", "sts:AssumeRole"}, Hours: 1<<3 | 1<<23, Minute: 29_000_000,
		Count: 17, Rate: 12.5, Minutes: 4321}
	same := func(got *baseline) bool {
		return got.First.Equal(bl.First) && slices.Equal(got.Networks, bl.Networks) && slices.Equal(got.Agents, bl.Agents) &&
			slices.Equal(got.Actions, bl.Actions) && got.Hours == bl.Hours && got.Minute == bl.Minute && got.Count == bl.Count &&
			got.Rate == bl.Rate && got.Minutes == bl.Minutes
	}
	var d dict
	data := bl.encode(nil, &d)
	if bin := bl.appendBinary(nil); len(data) >= len(bin)-20 {
		t.Errorf("tier encoding %d bytes, shared state's %d", len(data), len(bin))
	}
	got, err := decodeInto(nil, data, &d, true)
	if err != nil || !same(got) {
		t.Fatalf("read %+v, %v; want %+v", got, err, bl)
	}
	if _, err := decodeBaseline(data); err == nil {
		t.Fatal("the shared state's reader read the tier's encoding")
	}
	if _, err := decodeInto(nil, bl.appendBinary(nil), &d, true); err == nil {
		t.Fatal("the tier's reader read the shared state's encoding")
	}
	for i := range len(data) {
		if _, err := decodeInto(nil, data[:i], &d, true); err == nil {
			t.Fatalf("a record cut to %d bytes was read", i)
		}
	}
	// A number past the dictionary (another engine's, or none).
	var small dict
	small.id("x")
	if _, err := decodeInto(nil, data, &small, true); err == nil {
		t.Fatal("a record naming numbers the dictionary has not was read")
	}
	// A full dictionary: new strings are written out, and still read.
	var full dict
	for i := range dictMax {
		full.id(itoa(i))
	}
	data = bl.encode(nil, &full)
	if got, err := decodeInto(nil, data, &full, true); err != nil || !same(got) {
		t.Fatalf("with a full dictionary: read %+v, %v", got, err)
	}
	if len(full.strs) != dictMax {
		t.Fatalf("dictionary grew to %d past %d", len(full.strs), dictMax)
	}
	// Decoded into a recycled baseline: nothing of the old one is left.
	old := &baseline{Networks: strSet{"a", "b", "c"}, Agents: strSet{"z"}, Actions: strSet{"q"}, Count: 9}
	rec := &baseline{Networks: old.Networks[:0], Agents: old.Agents[:0], Actions: old.Actions[:0]}
	empty := (&baseline{First: t0}).encode(nil, &d)
	if got, err := decodeInto(rec, empty, &d, true); err != nil || len(got.Networks)+len(got.Agents)+len(got.Actions) != 0 || got.Count != 0 {
		t.Fatalf("recycled: %+v, %v", got, err)
	}
}

// Baselines the table drops are reused for the ones it reads back: with
// many more subjects than the table holds, each learning something of
// its own, every subject keeps exactly what it learned, through the tier
// and through the shared state.
func TestBaselinesRecycled(t *testing.T) {
	role := func(i int) string { return fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i) }
	net := func(i int) string { return fmt.Sprintf("10.%d.%d.1", i/256, i%256) }
	const n = 50
	for _, tier := range []int{0, 64 << 10} {
		sh := newMemShared()
		e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared, o.MaxSubjects, o.TierBytes = sh, 7, tier })
		ctx := context.Background()
		for pass := range 4 {
			for i := range n {
				// Subject i learns network i, then on later passes
				// network i+n once, and the same again.
				ip := net(i)
				if pass == 2 {
					ip = net(i + n)
				}
				e.Observe(ev("AssumeRole", "sts", with("roleArn", role(i)), from(ip), at(time.Duration(pass)*time.Minute)))
				if i%5 == 4 {
					e.runBatch(ctx)
				}
				select {
				case <-e.flushDue: // as Run does
					e.Flush(ctx)
				default:
				}
			}
			e.runBatch(ctx)
			if pass%2 == 1 {
				e.Flush(ctx)
			}
		}
		e.Flush(ctx)
		for i := range n {
			want := strSet{network(net(i)), network(net(i + n))}
			slices.Sort(want)
			bl := e.peekBaseline("role:" + role(i))
			if bl == nil {
				stored, err := decodeBaseline(sh.base["role:"+role(i)])
				if err != nil {
					t.Fatalf("tier %d: role %d: %v", tier, i, err)
				}
				bl = stored
			}
			if !slices.Equal(bl.Networks, want) || !bl.First.Equal(t0) {
				t.Fatalf("tier %d: role %d: networks %v first %v, want %v", tier, i, bl.Networks, bl.First, want)
			}
		}
	}
}

// A baseline stored as JSON (before the compact encoding) is written
// back in the compact encoding once read, with what it held.
func TestOldJSONBaselineRewritten(t *testing.T) {
	sh := newMemShared()
	role := "arn:aws:iam::" + acct + ":role/app"
	sh.base["role:"+role] = []byte(`{"first":"2026-12-01T00:00:00Z","networks":["203.0.113.0/24"],"agents":["aws-cli"]}`)
	e, r := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared = sh })
	ctx := context.Background()
	e.Observe(ev("AssumeRole", "sts", with("roleArn", role)))
	e.runBatch(ctx)
	e.Flush(ctx)
	data := sh.base["role:"+role]
	if len(data) == 0 || data[0] != baselineBinary {
		t.Fatalf("stored %q, want the compact encoding", data)
	}
	bl, err := decodeBaseline(data)
	if err != nil || !bl.First.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || !slices.Equal(bl.Networks, strSet{"203.0.113.0/24"}) ||
		!slices.Equal(bl.Agents, strSet{"aws-cli"}) {
		t.Fatalf("rewritten as %+v, %v", bl, err)
	}
	if len(r.alerts) != 0 {
		t.Fatalf("alerts for what the stored baseline knew: %v", r.rules())
	}
}

// A record read from the tier stays there while its subject is in the
// table; a subject that changes and is then dropped unwritten (more
// evicted, changed baselines than are kept between flushes) has its
// record deleted, so that it is read back from the shared state (what the
// last flush wrote), not from the record it was first read from.
func TestTierRecordBehindDeleted(t *testing.T) {
	sh := newMemShared()
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared, o.MaxSubjects, o.TierBytes = sh, 3, 64<<10 })
	ctx := context.Background()
	r := "arn:aws:iam::" + acct + ":role/r"
	x := func(i int) Event {
		return ev("AssumeRole", "sts", with("roleArn", fmt.Sprintf("arn:aws:iam::%s:role/x%d", acct, i)))
	}
	run(e, ev("AssumeRole", "sts", with("roleArn", r)))
	e.Flush(ctx)
	run(e, x(0), x(1)) // r evicted unchanged: into the tier
	e.Flush(ctx)
	run(e, ev("AssumeRole", "sts", with("roleArn", r), from("198.51.100.7"))) // read from the tier; learns a network
	e.Flush(ctx)                                                              // written: the tier's record is behind
	// Fill what is kept of evicted, changed baselines, r kept in the
	// table meanwhile; then r learns again and is dropped unwritten.
	i := 2
	for ; len(e.base.evicted) < 4*3; i++ {
		run(e, x(i), ev("AssumeRole", "sts", with("roleArn", r)))
	}
	run(e, ev("AssumeRole", "sts", with("roleArn", r), from("192.0.2.9")))
	run(e, x(i), x(i+1))
	if e.peekBaseline("role:"+r) != nil {
		t.Fatal("r still in the table or the tier")
	}
	// With a client never seen for r: an event seen before is judged
	// from r's slot, without its baseline.
	run(e, ev("AssumeRole", "sts", with("roleArn", r), at(time.Minute), agent("curl/8.0")))
	bl := e.peekBaseline("role:" + r)
	if bl == nil || !slices.Contains(bl.Networks, "198.51.100.0/24") {
		t.Fatalf("r read back without what the flush wrote: %+v", bl)
	}
}

// flushWhile runs a flush of e whose merge sh holds (hold) until during
// has run: during runs while the flush, which took what it writes, is
// under way without the engine's lock.
func flushWhile(e *Engine, sh *heldShared, during func()) {
	sh.hold.Store(true)
	flushed := make(chan struct{})
	go func() { e.Flush(context.Background()); close(flushed) }()
	<-sh.held
	defer func() { close(sh.release); <-flushed }() // also when during fails the test
	during()
}

// heldShared is memShared whose next MergeBaselines, once hold is set,
// waits for release before it reads (a flush under way, without the
// engine's lock), and then fails when fail is set.
type heldShared struct {
	*memShared
	hold          atomic.Bool
	held, release chan struct{}
	fail          bool // the held merge fails
}

func (h *heldShared) MergeBaselines(ctx context.Context, keys []string, now time.Time, merge func(map[string][]byte) (map[string][]byte, error)) error {
	if h.hold.CompareAndSwap(true, false) {
		close(h.held)
		<-h.release
		if h.fail {
			return errors.New("the shared state is unreachable")
		}
	}
	return h.memShared.MergeBaselines(ctx, keys, now, merge)
}

// A baseline evicted with what it learned, then seen again while a flush
// runs (the flush reads the shared state without the engine's lock, and
// the subject is then read from the shared state, which lacks what it
// learned), keeps what it learned: the flush writes both. Likewise when
// that flush fails and the next writes it.
func TestBaselineSeenDuringFlushKeepsWhatItLearned(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) { testBaselineSeenDuringFlush(t, fail) })
	}
}

func testBaselineSeenDuringFlush(t *testing.T, fail bool) {
	sh := &heldShared{memShared: newMemShared(), held: make(chan struct{}), release: make(chan struct{}), fail: fail}
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared = sh; o.MaxSubjects = 10 })
	role := func(i int) string { return fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i) }
	ctx := context.Background()
	run(e, ev("AssumeRole", "sts", with("roleArn", role(0))))
	e.Flush(ctx) // role 0 as first seen, in the shared state
	// Role 0 learns a network, then is evicted by others with it unwritten.
	run(e, ev("AssumeRole", "sts", with("roleArn", role(0)), at(time.Minute), from("198.51.100.7")))
	for i := 1; i <= 20; i++ {
		run(e, ev("AssumeRole", "sts", with("roleArn", role(i)), at(time.Minute)))
	}
	if _, ok := e.base.evicted["role:"+role(0)]; !ok {
		t.Fatal("role 0 is not among the evicted baselines")
	}
	flushWhile(e, sh, func() {
		run(e, ev("AssumeRole", "sts", with("roleArn", role(0)), at(2*time.Minute)))
	})
	e.Flush(ctx)
	sh.mu.Lock()
	data := sh.base["role:"+role(0)]
	sh.mu.Unlock()
	bl, err := decodeBaseline(data)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(bl.Networks, "198.51.100.0/24") {
		t.Fatalf("role 0 lost the network it learned before the flush: %v", bl.Networks)
	}
}

// A principal the table held when a flush took it, and dropped into the
// tier while the flush merged it with the shared state, keeps in its tier
// record the rates it counted meanwhile: the flush merges its result into
// that record rather than replace it (without the fast table, where no
// slot holds them).
func TestBaselineDroppedDuringFlushKeepsItsRates(t *testing.T) {
	noSavePhase(t)
	sh := &heldShared{memShared: newMemShared(), held: make(chan struct{}), release: make(chan struct{})}
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) {
		o.Shared, o.MaxSubjects, o.Baselines, o.TierBytes = sh, 16, 4, 256<<10
	})
	e.base.fast = nil
	call := func(m time.Duration, user string) {
		x := ev("GetCallerIdentity", "sts", at(m))
		x.ARN = fmt.Sprintf("arn:aws:iam::%s:user/%s", acct, user)
		run(e, x)
	}
	call(0, "u0")
	flushWhile(e, sh, func() {
		for m := 1; m <= 3; m++ {
			call(time.Duration(m)*time.Minute, "u0")
		}
		for i := range 8 {
			call(3*time.Minute, fmt.Sprint("other", i)) // u0 is dropped into the tier
		}
		e.mu.Lock()
		_, inTable := e.base.subjects.m[userKey("u0")]
		_, evicted := e.base.evicted[userKey("u0")]
		e.mu.Unlock()
		if inTable || evicted {
			t.Fatalf("u0 in the table %v, evicted for the next flush %v: want it in the tier", inTable, evicted)
		}
	})
	bl := e.peekBaseline(userKey("u0"))
	if bl == nil || bl.Minutes != 3 {
		t.Fatalf("u0 after the flush: %+v, want its 3 minutes of history", bl)
	}
}

// A subject never stored, evicted with what it learned before its first
// flush, then seen again while that flush merges (read from the shared
// state, which lacks it: a new baseline, its warm-up started over), is
// judged after the flush with what it learned and its first sighting:
// the flush merges what it wrote into the table's copy whether or not
// the shared state had the subject (found by a review as an attacker).
func TestNewSubjectSeenDuringFlush(t *testing.T) {
	sh := &heldShared{memShared: newMemShared(), held: make(chan struct{}), release: make(chan struct{})}
	e, rec := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared = sh; o.MaxSubjects = 10 })
	role := func(i int) string { return fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i) }
	run(e, ev("AssumeRole", "sts", with("roleArn", role(0)), from("198.51.100.7"))) // new, never flushed
	for i := 1; i <= 20; i++ {
		run(e, ev("AssumeRole", "sts", with("roleArn", role(i))))
	}
	if _, ok := e.base.evicted["role:"+role(0)]; !ok {
		t.Fatal("role 0 is not among the evicted baselines")
	}
	flushWhile(e, sh, func() {
		run(e, ev("AssumeRole", "sts", with("roleArn", role(0)), at(2*time.Minute)))
	})
	bl := e.peekBaseline("role:" + role(0))
	if bl == nil || !slices.Contains(bl.Networks, "198.51.100.0/24") || !bl.First.Equal(t0) {
		t.Fatalf("role 0's table copy lacks what it learned before the flush: %+v", bl)
	}
	// Past its warm-up (from its first sighting), a new network fires.
	run(e, ev("AssumeRole", "sts", with("roleArn", role(0)), at(61*time.Minute), from("192.0.2.9")))
	if count(rec, "new-network") == 0 {
		t.Errorf("no new-network alert for role 0 past its warm-up")
	}
}

// The same for a subject in the table when the flush took it, dropped
// unchanged (with no tier: nothing kept of it) and read again while the
// flush merges.
func TestSubjectDroppedAndSeenDuringFlush(t *testing.T) {
	sh := &heldShared{memShared: newMemShared(), held: make(chan struct{}), release: make(chan struct{})}
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared = sh; o.MaxSubjects = 10 })
	role := func(i int) string { return fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i) }
	run(e, ev("AssumeRole", "sts", with("roleArn", role(0)), from("198.51.100.7"))) // new, in the table
	flushWhile(e, sh, func() {
		for i := 1; i <= 20; i++ {
			run(e, ev("AssumeRole", "sts", with("roleArn", role(i)), at(time.Minute)))
		}
		if e.peekBaseline("role:"+role(0)) != nil {
			t.Fatal("role 0 still held")
		}
		run(e, ev("AssumeRole", "sts", with("roleArn", role(0)), at(2*time.Minute)))
	})
	bl := e.peekBaseline("role:" + role(0))
	if bl == nil || !slices.Contains(bl.Networks, "198.51.100.0/24") || !bl.First.Equal(t0) {
		t.Fatalf("role 0's table copy lacks what it learned before the flush: %+v", bl)
	}
}

// A subject in the table when a flush took it, dropped unchanged (with no
// tier) while that flush's merge ran, which then failed: the next flush
// writes what the failed one took of it.
func TestSubjectDroppedDuringFailedFlushIsWrittenNext(t *testing.T) {
	sh := &heldShared{memShared: newMemShared(), held: make(chan struct{}), release: make(chan struct{}), fail: true}
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared = sh; o.MaxSubjects = 10 })
	role := func(i int) string { return fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i) }
	ctx := context.Background()
	run(e, ev("AssumeRole", "sts", with("roleArn", role(0)), from("198.51.100.7")))
	flushWhile(e, sh, func() {
		for i := 1; i <= 20; i++ {
			run(e, ev("AssumeRole", "sts", with("roleArn", role(i)), at(time.Minute)))
		}
		if e.peekBaseline("role:"+role(0)) != nil {
			t.Fatal("role 0 still held")
		}
	})
	e.Flush(ctx)
	got := sh.snapshot([]string{"role:" + role(0)})["role:"+role(0)]
	bl, err := decodeBaseline(got)
	if err != nil || !slices.Contains(bl.Networks, "198.51.100.0/24") {
		t.Fatalf("role 0 in the shared state after the next flush: %+v (%v)", bl, err)
	}
}

// countingShared is a failingShared that records the subjects of each
// MergeBaselines (failed ones too).
type countingShared struct {
	*failingShared
	merges []int
}

func (c *countingShared) MergeBaselines(ctx context.Context, keys []string, now time.Time, merge func(map[string][]byte) (map[string][]byte, error)) error {
	c.merges = append(c.merges, len(keys))
	return c.failingShared.MergeBaselines(ctx, keys, now, merge)
}

// A flush of many subjects merges them in transactions of at most
// maxMergeSubjects; when one fails it stops (a failing shared state would
// fail each, after its deadline), and the next flush writes them all.
func TestFlushMergesInBoundedParts(t *testing.T) {
	sh := &countingShared{failingShared: &failingShared{memShared: newMemShared()}}
	const n = 2*maxMergeSubjects + 400 // roles, and the principal that assumes them
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared = sh; o.MaxSubjects = 2 * n })
	for i := range n {
		run(e, ev("AssumeRole", "sts", with("roleArn", fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i))))
	}
	sh.fail = true
	e.Flush(context.Background())
	if !slices.Equal(sh.merges, []int{maxMergeSubjects}) {
		t.Fatalf("a failing flush made merges of %v subjects, want one of %d", sh.merges, maxMergeSubjects)
	}
	sh.fail, sh.merges = false, nil
	e.Flush(context.Background())
	if !slices.Equal(sh.merges, []int{maxMergeSubjects, maxMergeSubjects, n + 1 - 2*maxMergeSubjects}) {
		t.Fatalf("the next flush made merges of %v subjects", sh.merges)
	}
	got := sh.snapshot([]string{"role:arn:aws:iam::" + acct + ":role/r0", "role:arn:aws:iam::" + acct + fmt.Sprintf(":role/r%d", n-1)})
	if len(got) != 2 || len(sh.base) != n+1 {
		t.Fatalf("%d subjects in the shared state after the flushes, want %d", len(sh.base), n+1)
	}
}
