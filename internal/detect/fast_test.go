package detect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// fastStream is a random stream of events over a few roles and users, a
// minute at a time: mostly the usual network, client and action, now and
// then a new one, idle gaps (across hours and rateSaveMinutes), and
// bursts past the rate-spike rule's bound once the principals' rates have
// an hour of history.
func fastStream(seed uint64, minutes int) []Event {
	rng := rand.New(rand.NewPCG(seed, 7))
	roles, users := 8, 6
	nets := []string{"203.0.113.7", "203.0.113.9", "198.51.100.4", "192.0.2.33", "10.1.2.3"}
	agents := []string{"aws-cli/2.9.19 Python/3.11", "Boto3/1.34.0", "aws-sdk-go-v2/1.30.0", "curl/8.0"}
	actions := [][2]string{{"AssumeRole", "sts"}, {"GetCallerIdentity", "sts"}, {"ListUsers", "iam"}, {"GetRole", "iam"}}
	pick := func(n int) int {
		if rng.IntN(10) < 8 {
			return 0 // the usual one
		}
		return rng.IntN(n)
	}
	var out []Event
	m := 0
	for range minutes {
		if rng.IntN(40) == 0 {
			m += 11 + rng.IntN(50) // idle
		}
		m++
		for u := range users {
			if rng.IntN(3) == 0 {
				continue
			}
			calls := 1 + rng.IntN(2)
			if m > 80 && rng.IntN(60) == 0 {
				calls = 35 + rng.IntN(20) // a burst
			}
			for c := range calls {
				a := actions[pick(len(actions))]
				e := ev(a[0], a[1], at(time.Duration(m)*time.Minute+time.Duration(c*59/calls)*time.Second+time.Duration(rng.IntN(1e9))),
					from(nets[pick(len(nets))]), agent(agents[pick(len(agents))]))
				e.ARN, e.UserName = fmt.Sprintf("arn:aws:iam::%s:user/u%d", acct, u), fmt.Sprintf("u%d", u)
				if a[0] == "AssumeRole" {
					e.Params = params("roleArn", fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, (u+rng.IntN(3))%roles))
				}
				out = append(out, e)
			}
		}
	}
	return out
}

// TestFastTableSameJudgement runs random streams through two engines,
// with and without the fast table, on small tables (baselines evicted,
// read back from the tier and the shared state, flushed), with another
// node's learning arriving in the shared state: every alert must be the
// same, and so must what each subject's baseline learned and what the
// shared state was given.
func TestFastTableSameJudgement(t *testing.T) {
	fired := map[string]int{}
	for seed := range uint64(6) {
		evs := fastStream(seed, 400)
		sameJudgement(t, fmt.Sprint("seed ", seed), evs, fired, len(evs)/2)
	}
	// The streams exercise every rule the table could change.
	for _, r := range []string{"new-network", "new-user-agent", "new-action", "new-hour", "rate-spike"} {
		if fired[r] == 0 {
			t.Errorf("no %s alert in the streams: %v", r, fired)
		}
	}
}

// TestFastTableWarmupEdge: a slot keeps a first sighting in whole
// seconds, so an event within a second of the end of a warm-up is judged
// from the baseline: whatever the slot judges, it judges as the baseline's
// first sighting (to the nanosecond) would.
func TestFastTableWarmupEdge(t *testing.T) {
	const warmup = 90 * time.Minute
	b := newBaselines(5, 5, warmup)
	for _, frac := range []time.Duration{0, time.Nanosecond, 500 * time.Millisecond, time.Second - time.Nanosecond} {
		first := t0.Add(frac)
		var s fastSlot
		s.setFirst(first)
		s.minute = uint32(first.Unix()/60) + 89 // no rateSaveMinutes completed below
		s.minutes = 1
		judged := 0
		for d := -3 * time.Second; d <= 3*time.Second; d += 50 * time.Millisecond {
			at := first.Add(warmup + d)
			_, warm, ok := b.fastRates(&s, at, at.Unix()/60, 0)
			if !ok {
				continue
			}
			judged++
			if want := at.Sub(first) >= warmup; warm != want {
				t.Fatalf("first sighting %s, event %s after it: the slot judged warm %v, the baseline would %v", first.Format(time.RFC3339Nano), at.Sub(first), warm, want)
			}
		}
		if judged < 60 {
			t.Fatalf("first sighting %s: the slot judged %d of 121 events around the warm-up's end", first.Format(time.RFC3339Nano), judged)
		}
	}
}

// TestFastTableRateSpike: a principal judged from its slot (its baseline
// out of the table between its calls, which new subjects' calls fill)
// fires rate-spike at the same call as from its baseline.
func TestFastTableRateSpike(t *testing.T) {
	var evs []Event
	others := 0
	call := func(d time.Duration, fill int) {
		evs = append(evs, ev("GetCallerIdentity", "sts", at(d)))
		for range fill {
			e := ev("GetCallerIdentity", "sts", at(d))
			e.ARN = fmt.Sprintf("arn:aws:iam::%s:user/n%d", acct, others)
			others++
			evs = append(evs, e)
		}
	}
	for m := range 100 {
		call(time.Duration(m)*time.Minute+time.Second, 0)
		call(time.Duration(m)*time.Minute+2*time.Second, 6)
	}
	for i := range 40 {
		call(100*time.Minute+time.Duration(i)*time.Second, 6)
	}
	fired := map[string]int{}
	sameJudgement(t, "spike", evs, fired, 200) // alice's calls, but for the first few
	if fired["rate-spike"] != 1 {
		t.Fatalf("want one spike: %v", fired)
	}
}

// sameJudgement runs evs through an engine without the fast table and one
// with it, and compares what they fired and learned; fired counts the
// alerts by rule. At least minHits subjects must have been judged from the
// table.
func sameJudgement(t *testing.T, name string, evs []Event, fired map[string]int, minHits int) {
	t.Helper()
	type side struct {
		e   *Engine
		rec *recorder
		sh  *memShared
	}
	var sides [2]side
	for i := range sides {
		sh := newMemShared()
		e, rec := newEngine(t, Config{Warmup: Duration(90 * time.Minute)}, func(o *Options) {
			o.Shared, o.MaxSubjects, o.TierBytes = sh, 5, 256<<10
		})
		if i == 0 {
			e.base.fast = nil
		}
		sides[i] = side{e, rec, sh}
	}
	ctx := context.Background()
	for i, x := range evs {
		for _, s := range sides {
			if n := len(evs) / 4; i%n == n-1 {
				// Another node's learning, in the shared state: merged
				// at the next flush.
				s.sh.mu.Lock()
				for _, key := range []string{"principal:arn:aws:iam::" + acct + ":user/u1", "role:arn:aws:iam::" + acct + ":role/r2", "principal:arn:aws:iam::" + acct + ":user/alice"} {
					bl, _ := decodeBaseline(s.sh.base[key])
					if bl == nil {
						bl = &baseline{}
					}
					bl.First = t0.Add(-time.Hour)
					bl.Networks = append(bl.Networks[:len(bl.Networks):len(bl.Networks)], "100.64.0.0/24")
					slices.Sort(bl.Networks)
					bl.Minutes, bl.Rate = 1000*(i+1)/(len(evs)/4), 0.25 // the same for both engines
					s.sh.base[key] = bl.appendBinary(nil)
				}
				s.sh.mu.Unlock()
			}
			s.e.Observe(x)
			if i%7 == 6 {
				s.e.runBatch(ctx)
			}
		}
		// Both flush when either asks (its evicted, changed baselines
		// fill a table's worth: the engine with the table keeps more
		// there, unread), so that other nodes' learning is merged at the
		// same points in both.
		due := i%97 == 96
		for _, s := range sides {
			select {
			case <-s.e.flushDue:
				due = true
			default:
			}
		}
		if due {
			for _, s := range sides {
				s.e.runBatch(ctx)
				s.e.Flush(ctx)
			}
		}
	}
	for _, s := range sides {
		s.e.runBatch(ctx)
		s.e.Flush(ctx)
	}
	for _, a := range sameAlerts(t, name, sides[0].rec.alerts, sides[1].rec.alerts) {
		fired[a.Rule]++
	}
	sameLearned(t, name, [2]*Engine{sides[0].e, sides[1].e}, [2]*memShared{sides[0].sh, sides[1].sh}, true)
	t.Logf("%s: %d events, %d subjects judged from the fast table", name, len(evs), sides[1].e.base.fastHits)
	if hits := sides[1].e.base.fastHits; hits < uint64(minHits) {
		t.Fatalf("%s: %d of %d events judged from the fast table", name, hits, len(evs))
	}
}

// learned returns the baseline of key as the engine would judge with it
// next: from the table, the tier or the shared state, with its slot's
// rates (tests).
func (e *Engine) learned(key string) *baseline {
	bl := e.peekBaseline(key)
	if bl == nil {
		e.mu.Lock()
		data, ok := e.base.evicted[key]
		e.mu.Unlock()
		if !ok {
			got, _ := e.opt.Shared.GetBaselines(context.Background(), []string{key})
			data = got[key]
		}
		bl, _ = decodeBaseline(data)
	}
	if bl == nil {
		return nil
	}
	cp := *bl
	if f := e.base.fast; f != nil && strings.HasPrefix(key, "principal:") { // a role's slot has no rates
		if s := f.find(f.tagString(key)); s != nil {
			cp.setRates(newer(cp.rates(), s.rates()))
		}
	}
	return &cp
}

// keys returns the subjects whose baselines m holds, sorted.
func (m *memShared) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.base))
	for k := range m.base {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestFastTableMergedInTable: a flush that merges another node's longer
// rate history into a baseline the table holds gives it to the slot too,
// which judges the subject's next call once the table dropped it.
func TestFastTableMergedInTable(t *testing.T) {
	noSavePhase(t)
	alice := "principal:arn:aws:iam::" + acct + ":user/alice"
	var rates [2]rates
	for i := range rates {
		sh := newMemShared()
		e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared, o.MaxSubjects, o.TierBytes = sh, 5, 64<<10 })
		if i == 0 {
			e.base.fast = nil
		}
		ctx := context.Background()
		others := 0
		fill := func(d time.Duration) { // new subjects: alice out of the table
			for range 6 {
				x := ev("GetCallerIdentity", "sts", at(d))
				x.ARN = fmt.Sprintf("arn:aws:iam::%s:user/n%d", acct, others)
				others++
				run(e, x)
			}
		}
		for m := range 3 {
			run(e, ev("GetCallerIdentity", "sts", at(time.Duration(m)*time.Minute)))
		}
		e.Flush(ctx)
		sh.mu.Lock()
		bl, _ := decodeBaseline(sh.base[alice])
		bl.Minutes, bl.Rate = 700, 2.5 // another node's
		sh.base[alice] = bl.appendBinary(nil)
		sh.mu.Unlock()
		run(e, ev("ListUsers", "iam", at(3*time.Minute))) // learns: in the table, changed
		e.Flush(ctx)                                      // merged in the table
		fill(3 * time.Minute)
		if e.base.held([]byte(alice)) {
			t.Fatal("alice still in the table")
		}
		hits := e.base.fastHits
		run(e, ev("GetCallerIdentity", "sts", at(4*time.Minute)))
		if i == 1 && e.base.fastHits != hits+1 {
			t.Fatal("alice's call was not judged from her slot")
		}
		rates[i] = e.learned(alice).rates()
	}
	if rates[0] != rates[1] || rates[0].minutes < 700 {
		t.Fatalf("alice's rates: without the fast table %+v, with it %+v", rates[0], rates[1])
	}
}

// TestFastTableSlots: a subject keeps its slot; a new one takes an empty
// or idle slot of its two buckets, never one seen within fastIdle (it
// goes without); growing keeps the slots; forget empties one.
func TestFastTableSlots(t *testing.T) {
	now := t0.Unix()
	tb := newFastTable(100) // 13 buckets: not a power of two
	if len(tb.slots) != 104 || tb.buckets != 13 {
		t.Fatalf("%d slots in %d buckets", len(tb.slots), tb.buckets)
	}
	const n = 200 // more subjects than slots
	held := map[uint64]bool{}
	for i := range n {
		tag := tb.tagString(fmt.Sprint("principal:", i))
		for _, b := range tb.bucketsOf(tag) {
			if b < 0 || b+fastWays > len(tb.slots) || b%fastWays != 0 {
				t.Fatalf("bucket at %d of %d slots", b, len(tb.slots))
			}
		}
		if s := tb.take(tag, now); s != nil {
			s.minute, s.count = uint32(now/60), uint32(i)
			held[tag] = true
		}
	}
	if len(held) < 90 || len(held) > 104 {
		t.Fatalf("%d of %d subjects hold a slot of 104", len(held), n)
	}
	for tag := range held {
		if s := tb.find(tag); s == nil || tb.take(tag, now) != s {
			t.Fatal("a subject lost its slot to another seen within fastIdle")
		}
	}
	// An hour on, the slots are idle: new subjects take them.
	later := now + int64(fastIdle/time.Second) + 120
	taken := 0
	for i := range n {
		if tb.take(tb.tagString(fmt.Sprint("role:", i)), later) != nil {
			taken++
		}
	}
	if taken < 90 {
		t.Fatalf("%d new subjects took idle slots", taken)
	}
	// Growing keeps every slot.
	g := newFastTable(100)
	g.seed = tb.seed
	var tags []uint64
	for i := range 80 {
		tag := g.tagString(fmt.Sprint("u", i))
		if s := g.take(tag, now); s != nil {
			s.minute, s.count = uint32(now/60), uint32(i+1)
			tags = append(tags, tag)
		}
	}
	g2 := g.grow(1000, now)
	if len(g2.slots) < 1000 {
		t.Fatalf("grown to %d slots", len(g2.slots))
	}
	for _, tag := range tags {
		s := g2.find(tag)
		if s == nil || s.count == 0 {
			t.Fatal("growing lost a slot")
		}
		if g2.forget(tag); g2.find(tag) != nil {
			t.Fatal("forget kept the slot")
		}
	}
	if g.grow(MaxFastSlots+1, now) != g {
		t.Fatal("grew past MaxFastSlots")
	}
}

// sameAlert reports whether a and b are one alert: rule, detail, events.
func sameAlert(a, b Alert) bool {
	return a.Rule == b.Rule && a.Detail == b.Detail && slices.Equal(a.EventIDs, b.EventIDs)
}

// sameAlerts fails t unless ref, the alerts of the engine without the fast
// table, and got, those of the engine with it, are the same; it returns
// ref.
func sameAlerts(t *testing.T, name string, ref, got []Alert) []Alert {
	t.Helper()
	for i := range min(len(ref), len(got)) {
		if a, b := ref[i], got[i]; !sameAlert(a, b) {
			t.Fatalf("%s: alert %d: without the fast table %s %q %v, with it %s %q %v", name, i, a.Rule, a.Detail, a.EventIDs, b.Rule, b.Detail, b.EventIDs)
		}
	}
	if len(ref) != len(got) {
		t.Fatalf("%s: %d alerts without the fast table, %d with it", name, len(ref), len(got))
	}
	return ref
}

// sameLearned fails t unless the engines e, without (0) and with (1) the
// fast table, whose shared states are sh, have the same subjects there,
// each having learned the same; with rates, the same rates too, and the
// shared states given the same features and the rates of the same
// rateSaveMinutes (not the current minutes', which are written back with
// what is learned and every rateSaveMinutes of history).
func sameLearned(t *testing.T, name string, e [2]*Engine, sh [2]*memShared, rates bool) {
	t.Helper()
	keys := sh[0].keys()
	if !slices.Equal(keys, sh[1].keys()) {
		t.Fatalf("%s: the shared state holds %v without the fast table, %v with it", name, keys, sh[1].keys())
	}
	for _, key := range keys {
		// What each subject learned, as the engine would read it back.
		a, b := e[0].learned(key), e[1].learned(key)
		if a == nil || b == nil {
			t.Fatalf("%s: %s: %v, %v", name, key, a, b)
		}
		if !sameFeatures(a, b) || rates && a.rates() != b.rates() {
			t.Fatalf("%s: %s: without the fast table %+v, with it %+v", name, key, a, b)
		}
		if !rates {
			continue
		}
		a, _ = decodeBaseline(sh[0].base[key])
		b, _ = decodeBaseline(sh[1].base[key])
		if !sameFeatures(a, b) || !sameSave(a.Minutes, b.Minutes, savePhase([]byte(key))) {
			t.Fatalf("%s: %s: the shared state holds %+v without the fast table, %+v with it", name, key, a, b)
		}
	}
}

// sameFeatures reports whether a and b learned the same: first sighting,
// networks, clients, actions and hours (not rates).
func sameFeatures(a, b *baseline) bool {
	return a.First.Equal(b.First) && slices.Equal(a.Networks, b.Networks) && slices.Equal(a.Agents, b.Agents) &&
		slices.Equal(a.Actions, b.Actions) && a.Hours == b.Hours
}

// sameSave reports whether histories of a and b minutes were last written
// back at the same multiple of rateSaveMinutes, for a subject of phase.
func sameSave(a, b int, phase int64) bool {
	return (int64(a)+phase)/rateSaveMinutes == (int64(b)+phase)/rateSaveMinutes
}

// noSavePhase makes every subject's rates written back at the multiples of
// rateSaveMinutes themselves, for t.
func noSavePhase(t *testing.T) {
	was := savePhase
	savePhase = func([]byte) int64 { return 0 }
	t.Cleanup(func() { savePhase = was })
}

// TestRateWriteBackSpread: principals first seen together, and then each
// calling once a minute, have their rates written back every
// rateSaveMinutes, each once in any rateSaveMinutes, but not all at the
// same minute: across 100,000 of them (internal/tools/scale) such a wave
// made each one's next call read and write its baseline, some 3 more
// reads a request for a whole run.
func TestRateWriteBackSpread(t *testing.T) {
	const n = 1000
	sh := newMemShared()
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared = sh })
	ctx := context.Background()
	call := func(m int) {
		for i := range n {
			x := ev("GetCallerIdentity", "sts", at(time.Duration(m)*time.Minute+time.Second))
			x.ARN = fmt.Sprintf("arn:aws:iam::%s:user/u%d", acct, i)
			run(e, x)
		}
		e.Flush(ctx)
	}
	call(0) // first seen: each written once
	var writes []int
	for m := 1; m <= 2*rateSaveMinutes; m++ {
		before := sh.puts
		call(m)
		writes = append(writes, sh.puts-before)
	}
	total := 0
	for m, w := range writes {
		total += w
		if w > n/4 {
			t.Errorf("minute %d wrote back %d of %d principals' rates at once: %v", m+1, w, n, writes)
		}
	}
	if total != 2*n {
		t.Errorf("%d minutes wrote back %d baselines, want each of %d principals twice: %v", 2*rateSaveMinutes, total, n, writes)
	}
}

// TestFastTableNextHour: a principal whose baseline knows the next hour
// is judged from its slot at that hour's first call, and one whose
// baseline does not is judged from the baseline (and fires new-hour).
// With the hour in the slot's fingerprint, every principal's first call of
// each hour read its baseline, all at once: across 100,000 principals
// (internal/tools/scale) the first minutes of each hour did twice the
// read system calls a request, and raised peak RSS by 14 MiB.
func TestFastTableNextHour(t *testing.T) {
	noSavePhase(t) // no rates written back at 09:00 (1,441 minutes of history)
	const n, held = 200, 16
	e, rec := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared, o.Baselines, o.FastSlots = newMemShared(), held, 4*n })
	call := func(d time.Duration, users ...int) {
		for _, i := range users {
			x := ev("GetCallerIdentity", "sts", at(d))
			x.ARN = fmt.Sprintf("arn:aws:iam::%s:user/u%d", acct, i)
			run(e, x)
		}
		e.Flush(context.Background())
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	// A day before (t0 is 09:00): every principal calls at 08:59, the
	// first half also at 09:00.
	call(-24*time.Hour-time.Minute, all...)
	call(-24*time.Hour+10*time.Second, all[:n/2]...)
	// Today at 08:59:30 each one's slot takes its action, at the hours its
	// baseline knows; at 09:00:10 the first half's are judged from it.
	call(-30*time.Second, all...)
	hits, alerts := e.base.fastHits, count(rec, "new-hour")
	call(10*time.Second, all...)
	if got := e.base.fastHits - hits; got < n/2-held || got > n/2 {
		t.Errorf("%d of %d principals judged from their slots at the first call of 09:00, want the %d whose baselines know it", got, n, n/2)
	}
	if got := count(rec, "new-hour") - alerts; got != n/2 {
		t.Errorf("%d new-hour alerts at 09:00, want %d (the principals that had not called then)", got, n/2)
	}
	// The others learned it: their next call is judged from their slots.
	hits = e.base.fastHits
	call(50*time.Second, all[n/2:]...)
	if got := e.base.fastHits - hits; got < n/2-held {
		t.Errorf("%d of %d principals judged from their slots after learning the hour", got, n/2)
	}
}

// TestFastTableFirstSighting: a subject's slot takes the features its
// first sighting learned, so its second event with them is judged from
// the slot, not from its baseline read back; but not a feature a full set
// could not take, which stays new (and is judged from the baseline) each
// time, as without the table.
func TestFastTableFirstSighting(t *testing.T) {
	const n, held = 100, 8
	sh := newMemShared()
	opts := func(o *Options) { o.Shared, o.Baselines, o.FastSlots = sh, held, 4*n }
	e, _ := newEngine(t, Config{Warmup: Duration(time.Hour)}, opts)
	role := func(i int) string { return fmt.Sprintf("arn:aws:iam::%s:role/r%d", acct, i) }
	for i := range n {
		run(e, ev("AssumeRole", "sts", with("roleArn", role(i)), at(time.Second)))
	}
	e.Flush(context.Background())
	hits := e.base.fastHits
	for i := range n {
		run(e, ev("AssumeRole", "sts", with("roleArn", role(i)), at(30*time.Second)))
	}
	// Each event has two subjects: the role, and alice (in the table).
	if got := e.base.fastHits - hits; got < n-held {
		t.Errorf("%d of %d roles' second events judged from their slots", got, n)
	}

	// A role whose networks are full (learned by this engine, then read by
	// a new one from the shared state: its slot is new).
	for i := range maxNetworks {
		run(e, ev("AssumeRole", "sts", with("roleArn", role(0)), from(fmt.Sprintf("10.%d.%d.1", i/250, i%250)), at(time.Minute)))
	}
	e.Flush(context.Background())
	e2, rec := newEngine(t, Config{Warmup: Duration(time.Hour)}, opts)
	late := at(2 * time.Hour) // past the warm-up
	for round := range 2 {
		run(e2, ev("AssumeRole", "sts", with("roleArn", role(0)), from("192.0.2.1"), late))
		for i := 1; i <= 2*held; i++ { // role 0 out of the table
			run(e2, ev("AssumeRole", "sts", with("roleArn", role(i)), late))
		}
		x := ev("AssumeRole", "sts", with("roleArn", role(0)), from("192.0.2.1"), late)
		run(e2, x)
		b := e2.base
		if sl := b.fast.find(b.fast.tag(b.subjectKey("role", role(0)))); sl == nil || sl.combo == b.fast.roleCombo(b.network(x.SourceIP), b.agent(x.UserAgent)) {
			t.Errorf("round %d: the slot %+v vouches for a network the full set could not take", round, sl)
		}
	}
	if count(rec, "new-network") == 0 {
		t.Error("no new-network alert for the network the full set could not take")
	}
}
