package detect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// These tests compare engines with and without the fast table around the
// call that completes a principal's rateSaveMinutes (its rates written
// back). They come from an attack review (2026-12-07) of a change that kept
// that call on the fast path and had the flush write the slot's rates into
// the stored baseline: each scenario here made the two engines' shared
// states (or alerts) differ under it, and the change was reverted (the tier
// reads it saved came back at the flush). They hold on the engine as it is,
// which takes that call on the slow path.

// writeBackSides are two engines, without (0) and with (1) the fast table, on
// shared states whose writes can be made to fail, fed the same events.
type writeBackSides struct {
	e   [2]*Engine
	rec [2]*recorder
	sh  [2]*failingShared
}

func newWriteBackSides(t *testing.T, held int, opts ...func(*Options)) *writeBackSides {
	t.Helper()
	d := &writeBackSides{}
	for i := range 2 {
		d.sh[i] = &failingShared{memShared: newMemShared()}
		d.e[i], d.rec[i] = newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) {
			o.Shared, o.Baselines, o.TierBytes = d.sh[i], held, 1<<20
			for _, f := range opts {
				f(o)
			}
		})
		if i == 0 {
			d.e[i].base.fast = nil
		}
	}
	return d
}

func (d *writeBackSides) call(m time.Duration, user, action string) {
	for _, e := range d.e {
		x := ev(action, "sts", at(m))
		x.ARN = fmt.Sprintf("arn:aws:iam::%s:user/%s", acct, user)
		run(e, x)
	}
}

func (d *writeBackSides) flush(fail bool) {
	for i, e := range d.e {
		d.sh[i].fail = fail
		e.Flush(context.Background())
		d.sh[i].fail = false
	}
}

func (d *writeBackSides) stored(i int, key string) *baseline {
	d.sh[i].mu.Lock()
	defer d.sh[i].mu.Unlock()
	bl, _ := decodeBaseline(d.sh[i].base[key])
	return bl
}

// storedBoth returns what each engine's shared state holds for user u,
// both there.
func (d *writeBackSides) storedBoth(t *testing.T, u string) [2]*baseline {
	t.Helper()
	var got [2]*baseline
	for i := range got {
		got[i] = d.stored(i, userKey(u))
	}
	if got[0] == nil || got[1] == nil {
		t.Fatalf("%s not stored: %+v %+v", u, got[0], got[1])
	}
	return got
}

func userKey(u string) string { return "principal:arn:aws:iam::" + acct + ":user/" + u }

// TestRateWriteBackEvictedFlushFails: a principal evicted with what it learned
// (kept encoded for the flush), then seen at the call that completes its
// rateSaveMinutes, whose flush then fails: the next flush must still write
// the newest rates (as the engine without the table writes the baseline it
// read back and marked), not the older ones of the evicted copy.
func TestRateWriteBackEvictedFlushFails(t *testing.T) {
	noSavePhase(t)
	for _, failRead := range []bool{false, true} {
		t.Run(fmt.Sprintf("failRead=%v", failRead), func(t *testing.T) {
			const held = 4
			d := newWriteBackSides(t, held)
			for m := range rateSaveMinutes - 1 {
				d.call(time.Duration(m)*time.Minute, "u0", "GetCallerIdentity")
				d.flush(false)
			}
			d.call((rateSaveMinutes-1)*time.Minute, "u0", "GetSessionToken")
			for i := range 2 * held {
				d.call((rateSaveMinutes-1)*time.Minute, fmt.Sprint("other", i), "GetCallerIdentity")
			}
			if _, ok := d.e[1].base.evicted[userKey("u0")]; !ok {
				t.Fatal("u0 was not evicted before the flush")
			}
			d.call(rateSaveMinutes*time.Minute, "u0", "GetCallerIdentity")
			if failRead {
				for i := range d.e {
					d.e[i].opt.Shared = &readFails{d.sh[i]}
					d.e[i].Flush(context.Background())
					d.e[i].opt.Shared = d.sh[i]
				}
			} else {
				d.flush(true)
			}
			d.flush(false)
			got := d.storedBoth(t, "u0")
			if !slices.Contains(got[1].Actions, "sts:GetSessionToken") {
				t.Fatalf("with the table, u0 lost the action it learned: %+v", got[1])
			}
			if got[0].Minutes != rateSaveMinutes || got[1].rates() != got[0].rates() {
				t.Fatalf("after a failed flush the shared state holds u0's rates %+v with the table, %+v without it", got[1].rates(), got[0].rates())
			}
		})
	}
}

// readFails is a Shared whose reads of baselines fail.
type readFails struct{ *failingShared }

func (r *readFails) GetBaselines(context.Context, []string) (map[string][]byte, error) {
	return nil, fmt.Errorf("the shared state is unreachable")
}

func (r *readFails) MergeBaselines(context.Context, []string, time.Time, func(map[string][]byte) (map[string][]byte, error)) error {
	return fmt.Errorf("the shared state is unreachable")
}

// TestRateWriteBackTableCopyFromFailedCall: a principal seen at the call
// completing its rateSaveMinutes, then named by a failed call (no anomaly
// judged: only prefetch reads its baseline, from the tier, with the rates
// of the tier's record, not the slot's), has its newest rates written by
// the next flush, as the engine without the table does. The principal
// chooses both calls: it must not be able to keep its rates out of the
// shared state (other nodes, and its own once the slot is taken).
func TestRateWriteBackTableCopyFromFailedCall(t *testing.T) {
	noSavePhase(t)
	const held = 4
	d := newWriteBackSides(t, held)
	ctx := context.Background()
	step := func(m int, extra ...Event) {
		for _, e := range d.e {
			x := ev("GetCallerIdentity", "sts", at(time.Duration(m)*time.Minute))
			x.ARN = fmt.Sprintf("arn:aws:iam::%s:user/u0", acct)
			e.Observe(x)
			for i := range 2 * held {
				y := ev("GetCallerIdentity", "sts", at(time.Duration(m)*time.Minute+time.Second))
				y.ARN = fmt.Sprintf("arn:aws:iam::%s:user/other%d", acct, i)
				e.Observe(y)
			}
			e.runBatch(ctx)
			for _, y := range extra {
				e.Observe(y)
			}
			e.runBatch(ctx)
		}
	}
	for m := range rateSaveMinutes {
		step(m)
		d.flush(false)
	}
	// Minute 10 completes u0's ten minutes; then it calls an action it
	// never called, refused.
	denied := ev("ListUsers", "iam", at(rateSaveMinutes*time.Minute+2*time.Second), fails("AccessDenied", "no"))
	denied.ARN = fmt.Sprintf("arn:aws:iam::%s:user/u0", acct)
	step(rateSaveMinutes, denied)
	d.flush(false)
	got := d.storedBoth(t, "u0")
	if got[0].Minutes != rateSaveMinutes || !sameSave(got[0].Minutes, got[1].Minutes, 0) {
		t.Fatalf("the shared state holds u0's rates %+v with the table, %+v without it", got[1].rates(), got[0].rates())
	}
}

// TestRateWriteBackKeepsWhatTheTierLearned: the shared state lacks an action a
// principal learned on this node (another node read the principal's
// baseline before this node's flush wrote the action, and wrote its own
// after: PutBaselines replaces, so the action is lost there). The node's
// own copy, in its tier, still has it. The flush that writes the rates of
// the principal's save minute must not replace that copy with the shared
// state's: the node would forget the action and fire new-action for it
// again (the engine reads the tier's copy at the save minute, merges the
// shared state into it and writes both back).
func TestRateWriteBackKeepsWhatTheTierLearned(t *testing.T) {
	noSavePhase(t)
	const held = 4
	d := newWriteBackSides(t, held)
	for i := range d.e {
		d.e[i].opt.Config.Warmup = Duration(5 * time.Minute)
		d.e[i].base.warmup = 5 * time.Minute
	}
	minute := func(m int, action string) {
		d.call(time.Duration(m)*time.Minute, "u0", action)
		for i := range 2 * held {
			d.call(time.Duration(m)*time.Minute+time.Second, fmt.Sprint("n", m, "-", i), "GetCallerIdentity") // new: evicts u0
		}
	}
	for m := range 7 {
		minute(m, "GetCallerIdentity")
		d.flush(false)
	}
	// The other node read u0's baseline now (without ListUsers)...
	var other [2][]byte
	for i := range d.sh {
		bl := d.stored(i, userKey("u0"))
		learn(&bl.Actions, "iam:GetRole", maxActions)
		other[i] = bl.appendBinary(nil)
	}
	// ...this node learns ListUsers (warm: alerted) and writes it...
	minute(7, "ListUsers")
	d.flush(false)
	for i := range d.rec {
		if n := count(d.rec[i], "new-action"); n != 1 {
			t.Fatalf("engine %d: %d new-action alerts for ListUsers, want 1", i, n)
		}
	}
	// ...and the other node's write replaces it.
	for i := range d.sh {
		d.sh[i].mu.Lock()
		d.sh[i].base[userKey("u0")] = other[i]
		d.sh[i].mu.Unlock()
	}
	for m := 8; m <= rateSaveMinutes; m++ {
		minute(m, "GetCallerIdentity") // minute 10: u0's rates are written back
		d.flush(false)
	}
	for i := range d.e {
		t.Logf("engine %d after minute 10: learned %+v", i, d.e[i].learned(userKey("u0")))
	}
	// Past the cool-down, u0 calls ListUsers again: learned long ago.
	minute(40, "ListUsers")
	d.flush(false)
	for i, name := range []string{"without", "with"} {
		if n := count(d.rec[i], "new-action"); n != 1 {
			t.Errorf("%s the fast table: %d new-action alerts for u0's ListUsers, want 1 (the second call's is forged by a lost write of another node)", name, n)
		}
		if bl := d.stored(i, userKey("u0")); bl == nil || !slices.Contains(bl.Actions, "sts:ListUsers") || !slices.Contains(bl.Actions, "iam:GetRole") {
			t.Errorf("%s the fast table: the shared state holds u0 as %+v, want ListUsers and GetRole", name, bl)
		}
	}
}

// TestRateWriteBackConcurrentFlush: Run (batches and its flushes, every
// millisecond) while events are observed from two goroutines and
// processed directly from a third (Process during a flush's unlocked read
// and write), on small tables: no race (run with -race) or panic, and once
// all is flushed each principal's shared baseline has every action it
// called and its rates as last written back at the multiple its history
// reached.
func TestRateWriteBackConcurrentFlush(t *testing.T) {
	noSavePhase(t)
	sh := newMemShared()
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) {
		o.Shared, o.MaxSubjects, o.Baselines, o.TierBytes, o.FlushEvery = sh, 16, 4, 256<<10, time.Millisecond
	})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { e.Run(ctx); close(ran) }()
	const users, minutes = 24, 40
	actions := []string{"GetCallerIdentity", "GetSessionToken", "GetAccessKeyInfo"}
	// Built before the goroutines start (ev numbers events from a global).
	var streams [3][][]Event
	for g := range streams {
		for m := range minutes {
			var evs []Event
			for u := g; u < users; u += 3 {
				for c := range 3 {
					x := ev(actions[(u+c*m)%len(actions)%(1+m%3)], "sts", at(time.Duration(m)*time.Minute+time.Duration(g*10+c)*time.Second))
					x.ARN = fmt.Sprintf("arn:aws:iam::%s:user/u%d", acct, u)
					evs = append(evs, x)
				}
			}
			streams[g] = append(streams[g], evs)
		}
	}
	send := func(g int, deliver func(Event)) {
		for _, evs := range streams[g] {
			for _, x := range evs {
				deliver(x)
			}
			time.Sleep(time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { send(0, e.Observe) })
	wg.Go(func() { send(1, e.Observe) })
	wg.Go(func() { send(2, func(x Event) { e.Process(context.Background(), x) }) })
	wg.Wait()
	for {
		e.qmu.Lock()
		n := e.queued
		e.qmu.Unlock()
		if n == 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-ran
	e.Flush(context.Background())
	t.Logf("%d of %d events judged from slots", e.base.fastHits, 3*users*minutes)
	if e.base.fastHits < users*minutes/2 {
		t.Fatalf("only %d events judged from slots", e.base.fastHits)
	}
	for u := range users {
		key := userKey(fmt.Sprint("u", u))
		stored := sh.base[key]
		bl, err := decodeBaseline(stored)
		if err != nil {
			t.Fatalf("u%d: %v", u, err)
		}
		l := e.learned(key)
		if !sameFeatures(bl, l) {
			t.Errorf("u%d: stored %+v, learned %+v", u, bl, l)
		}
		if !sameSave(bl.Minutes, l.Minutes, 0) || l.Minutes < minutes-1 {
			t.Errorf("u%d: stored rates %+v, learned %+v", u, bl.rates(), l.rates())
		}
	}
}

// TestRateWriteBackSlotTakenDuringOutage: a principal's rates are to be
// written back, and the shared state is down for over fastIdle: the
// flushes fail, the principal goes idle, and new principals take its slot.
// When the shared state is back, the rates must still be written (as the
// engine without the table writes the baseline it marked, which it keeps
// until then), and the principal must not come back with its rates of
// before.
func TestRateWriteBackSlotTakenDuringOutage(t *testing.T) {
	noSavePhase(t)
	const held = 4
	d := newWriteBackSides(t, held, func(o *Options) { o.FastSlots = 16 })
	fresh := 0
	minute := func(m int, users ...string) {
		for _, u := range users {
			d.call(time.Duration(m)*time.Minute, u, "GetCallerIdentity")
		}
		for range 2 * held {
			d.call(time.Duration(m)*time.Minute+time.Second, fmt.Sprint("n", fresh), "GetCallerIdentity")
			fresh++
		}
	}
	for m := range rateSaveMinutes {
		minute(m, "u0")
		d.flush(false)
	}
	d.call(rateSaveMinutes*time.Minute, "u0", "GetCallerIdentity")
	// The outage: every flush fails; past fastIdle, others take slots.
	for m := rateSaveMinutes + 1; m < rateSaveMinutes+fastIdleMinutes()+20; m++ {
		minute(m)
		d.flush(true)
	}
	f := d.e[1].base.fast
	if f.find(f.tagString(userKey("u0"))) != nil {
		t.Skip("u0's slot was not taken (hash placement): nothing to test")
	}
	d.flush(false)
	got := d.storedBoth(t, "u0")
	if got[0].Minutes != rateSaveMinutes || got[1].rates() != got[0].rates() {
		t.Fatalf("after the outage the shared state holds u0's rates %+v with the table, %+v without it", got[1].rates(), got[0].rates())
	}
}

func fastIdleMinutes() int { return int(fastIdle / time.Minute) }

// writeBackStream is fastStream with what rate write-backs have to
// survive: refused calls (no anomaly judged; prefetch reads their
// principals' baselines), some of actions never called, calls stamped in
// an earlier minute, and many principals for a small table (evictions
// between a principal's calls, so that most calls are judged from slots,
// the save minute's among them).
func writeBackStream(seed uint64, minutes int) []Event {
	rng := rand.New(rand.NewPCG(seed, 0xd0e))
	users := 12
	nets := []string{"203.0.113.7", "203.0.113.9", "198.51.100.4"}
	actions := [][2]string{{"GetCallerIdentity", "sts"}, {"ListUsers", "iam"}, {"GetRole", "iam"}, {"DeleteUser", "iam"}}
	var out []Event
	m := 0
	for range minutes {
		if rng.IntN(50) == 0 {
			m += 5 + rng.IntN(40)
		}
		m++
		for u := range users {
			if rng.IntN(4) == 0 {
				continue
			}
			calls := 1 + rng.IntN(3)
			if m > 80 && rng.IntN(80) == 0 {
				calls = 35 + rng.IntN(20)
			}
			for c := range calls {
				a := actions[0]
				if rng.IntN(12) == 0 {
					a = actions[rng.IntN(len(actions))]
				}
				d := time.Duration(m)*time.Minute + time.Duration(c*59/calls)*time.Second + time.Duration(rng.IntN(1e9))
				if rng.IntN(15) == 0 {
					d -= time.Duration(1+rng.IntN(90)) * time.Second // began in an earlier minute
				}
				x := ev(a[0], a[1], at(d), from(nets[rng.IntN(4)%len(nets)]))
				x.ARN, x.UserName = fmt.Sprintf("arn:aws:iam::%s:user/u%d", acct, u), fmt.Sprintf("u%d", u)
				if rng.IntN(10) == 0 {
					x.Name = fmt.Sprintf("Never%d", rng.IntN(3))
					x.ErrorCode, x.ErrorMessage = "AccessDenied", "not authorized"
				}
				out = append(out, x)
			}
		}
	}
	return out
}

// flakyShared fails a read or a write when told to.
type flakyShared struct {
	*memShared
	failGet, failPut bool
	// beforeMerge, if set, runs once before the next merge (another
	// node's write landing before a flush's).
	beforeMerge func(m *memShared)
}

func (f *flakyShared) GetBaselines(ctx context.Context, keys []string) (map[string][]byte, error) {
	if f.failGet {
		return nil, fmt.Errorf("unreachable")
	}
	return f.memShared.GetBaselines(ctx, keys)
}

// MergeBaselines fails before its read (failGet) or after its merge
// (failPut: the transaction did not commit).
func (f *flakyShared) MergeBaselines(ctx context.Context, keys []string, now time.Time, merge func(map[string][]byte) (map[string][]byte, error)) error {
	if f.failGet {
		return fmt.Errorf("unreachable")
	}
	if f.beforeMerge != nil {
		f.beforeMerge(f.memShared)
		f.beforeMerge = nil
	}
	if f.failPut {
		if _, err := merge(f.memShared.snapshot(keys)); err != nil {
			return err
		}
		return fmt.Errorf("unreachable")
	}
	return f.memShared.MergeBaselines(ctx, keys, now, merge)
}

// TestRateWriteBackSameJudgement runs writeBackStream through engines with and
// without the fast table, with flushes that fail now and then (the read or
// the write), and compares every alert, what each subject learned (rates
// too), and what the shared state was given.
func TestRateWriteBackSameJudgement(t *testing.T) {
	fired := map[string]int{}
	for seed := range uint64(8) {
		rateWriteBackSameJudgement(t, fmt.Sprint("seed ", seed), writeBackStream(seed, 300), seed, fired)
	}
	for _, r := range []string{"new-action", "rate-spike"} {
		if fired[r] == 0 {
			t.Errorf("no %s alert in the streams: %v", r, fired)
		}
	}
}

func rateWriteBackSameJudgement(t *testing.T, name string, evs []Event, seed uint64, fired map[string]int) {
	t.Helper()
	type side struct {
		e   *Engine
		rec *recorder
		sh  *flakyShared
	}
	var sides [2]side
	for i := range sides {
		sh := &flakyShared{memShared: newMemShared()}
		e, rec := newEngine(t, Config{Warmup: Duration(90 * time.Minute)}, func(o *Options) {
			o.Shared, o.MaxSubjects, o.Baselines, o.TierBytes = sh, 8, 3, 256<<10
		})
		if i == 0 {
			e.base.fast = nil
		}
		sides[i] = side{e, rec, sh}
	}
	rng := rand.New(rand.NewPCG(seed, 5))
	ctx := context.Background()
	for i, x := range evs {
		for _, s := range sides {
			s.e.Observe(x)
			if i%6 == 5 {
				s.e.runBatch(ctx)
			}
		}
		due := i%23 == 22
		for _, s := range sides {
			select {
			case <-s.e.flushDue:
				due = true
			default:
			}
		}
		if due {
			fg, fp := rng.IntN(6) == 0, rng.IntN(6) == 0
			stale := rng.IntN(4) == 0
			victim := fmt.Sprintf("principal:arn:aws:iam::%s:user/u%d", acct, rng.IntN(12))
			for _, s := range sides {
				if stale {
					// Another node read victim's baseline a while ago and
					// wrote it back just now, with what it learned, as a
					// node that replaces did: what this node wrote since
					// is lost there.
					s.sh.mu.Lock()
					old := s.sh.base[victim]
					s.sh.mu.Unlock()
					s.sh.beforeMerge = func(m *memShared) {
						m.mu.Lock()
						defer m.mu.Unlock()
						bl, _ := decodeBaseline(old)
						if bl == nil {
							return
						}
						learn(&bl.Networks, "100.64.0.0/24", maxNetworks)
						m.base[victim] = bl.appendBinary(nil)
					}
				}
			}
			for _, s := range sides {
				s.e.runBatch(ctx)
				s.sh.failGet, s.sh.failPut = fg, fp
				s.e.Flush(ctx)
				s.sh.failGet, s.sh.failPut = false, false
			}
		}
	}
	for _, s := range sides {
		s.e.runBatch(ctx)
		s.e.Flush(ctx)
	}
	ref := sameAlerts(t, name, sides[0].rec.alerts, sides[1].rec.alerts)
	for _, a := range ref {
		fired[a.Rule]++
	}
	sameLearned(t, name, [2]*Engine{sides[0].e, sides[1].e}, [2]*memShared{sides[0].sh.memShared, sides[1].sh.memShared}, true)
	t.Logf("%s: %d events, %d alerts, %d judged from slots", name, len(evs), len(ref), sides[1].e.base.fastHits)
	if sides[1].e.base.fastHits < uint64(len(evs)/3) {
		t.Fatalf("%s: only %d of %d events judged from slots", name, sides[1].e.base.fastHits, len(evs))
	}
}

// failingShared is a memShared whose writes fail while fail is set.
type failingShared struct {
	*memShared
	fail bool
}

func (f *failingShared) MergeBaselines(ctx context.Context, keys []string, now time.Time, merge func(map[string][]byte) (map[string][]byte, error)) error {
	if f.fail {
		return fmt.Errorf("the shared state is down")
	}
	return f.memShared.MergeBaselines(ctx, keys, now, merge)
}
