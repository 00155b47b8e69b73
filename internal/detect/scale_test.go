package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkManyRoles is the detection side of the scale benchmark
// (internal/tools/scale): AssumeRole across 100,000 distinct roles, each by
// its own user, in Run's batches, with the baselines kept in a shared
// state (in memory here; the store in the server) and flushed as Run does,
// with no tier and with the server's (16 MiB). It reports the shared
// state's traffic an event besides the time: subjects read and written
// (a read is two subjects an event when neither table nor tier holds them).
//
//	go test ./internal/detect -run '^$' -bench ManyRoles -benchmem -cpu 1
func BenchmarkManyRoles(b *testing.B) {
	for _, tier := range []int{0, 16 << 20} {
		b.Run(fmt.Sprintf("tier=%dMiB", tier>>20), func(b *testing.B) { benchmarkManyRoles(b, tier) })
	}
}

func benchmarkManyRoles(b *testing.B, tierBytes int) {
	const n = 100_000
	sh := newMemShared()
	e, _ := newEngine(b, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared, o.TierBytes = sh, tierBytes })
	evs := make([]Event, n)
	for i := range evs {
		// Named as the scale benchmark's.
		user := fmt.Sprintf("arn:aws:iam::%s:user/u%07d", acct, i)
		evs[i] = Event{Time: t0, ID: fmt.Sprint("ev-", i), Name: "AssumeRole", Source: "sts.amazonaws.com", Account: acct,
			Type: "IAMUser", ARN: user, UserName: fmt.Sprintf("u%07d", i), AccessKeyID: fmt.Sprintf("AKIA%016d", i),
			SourceIP: "127.0.0.1", UserAgent: "Go-http-client/1.1", Params: Params{RoleArn: fmt.Sprintf("arn:aws:iam::%s:role/r%07d", acct, i)}}
	}
	ctx := context.Background()
	// One pass to learn (and store) every baseline, as a warmed-up
	// deployment has.
	for i := range n {
		ev := evs[i]
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
	i := 0
	for b.Loop() {
		ev := evs[i%n]
		ev.Time = t0.Add(time.Duration(n+i) * 100 * time.Microsecond) // 10,000 a second
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
	f.Fuzz(func(t *testing.T, data []byte) {
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
	for _, tier := range []bool{false, true} {
		sh := newMemShared()
		e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) {
			o.Shared, o.MaxSubjects = sh, 10
			if tier {
				o.TierBytes = 64 << 10
			}
		})
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
	bl, _ := decodeBaseline(data)
	return bl
}
