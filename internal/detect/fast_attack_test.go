package detect

// Attacks on the fast table found by a review as an attacker; each failed
// before its fix.

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestFastTableGrowKeepsActiveSlots: a grow of a busy table (sizeFast, when
// the store's population grows by a few) re-inserts every slot into a
// table barely larger; subjects seen within the minute find no room and
// lose their slots, and with them the calls counted this minute (their
// baselines, dropped with only rates changed, were not written back). A
// burst split by the grow then goes unalerted; without the table it fires.
func TestFastTableGrowKeepsActiveSlots(t *testing.T) {
	const k = 560 // principals, more than the table's 512 slots
	var spikes [2]int
	var lostSlots int
	for side := range 2 {
		sh := newMemShared()
		pop := int64(0)
		e, rec := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) {
			o.Shared, o.MaxSubjects, o.TierBytes, o.FastSlots = sh, 64, 4<<20, 512
			o.Population = func(context.Context) (int64, error) { return pop, nil }
		})
		if side == 0 {
			e.base.fast = nil
		}
		ctx := context.Background()
		call := func(i int, d time.Duration) {
			x := ev("GetCallerIdentity", "sts", at(d))
			x.ARN = fmt.Sprintf("arn:aws:iam::%s:user/p%d", acct, i)
			e.Observe(x)
			if i%32 == 31 {
				e.runBatch(ctx)
				select {
				case <-e.flushDue:
					e.Flush(ctx)
				default:
				}
			}
		}
		for m := range 66 { // an hour of history, a call a minute each
			for i := range k {
				call(i, time.Duration(m)*time.Minute+time.Duration(i)*time.Millisecond)
			}
			e.runBatch(ctx)
			e.Flush(ctx)
		}
		burst := func(from time.Duration) {
			for c := range 20 {
				for i := range k {
					call(i, 66*time.Minute+from+time.Duration(c)*time.Second+time.Duration(i)*time.Microsecond)
				}
				e.runBatch(ctx)
			}
		}
		burst(0) // 20 calls each: under rateMinimum
		if e.base.fast != nil {
			before := e.base.fast
			pop = 462 // a few more users: 462*9/8 = 519 slots
			e.sizeFast(ctx)
			if e.base.fast == before {
				t.Fatal("did not grow")
			}
			for i := range k {
				tag := before.tagString(fmt.Sprintf("principal:arn:aws:iam::%s:user/p%d", acct, i))
				if before.find(tag) != nil && e.base.fast.find(tag) == nil {
					lostSlots++
				}
			}
		}
		burst(30 * time.Second) // 20 more in the same minute: 40, a spike
		spikes[side] = count(rec, "rate-spike")
	}
	t.Logf("rate-spike alerts: without the table %d, with it %d; %d active subjects lost their slots in the grow", spikes[0], spikes[1], lostSlots)
	if spikes[0] != spikes[1] {
		t.Fatalf("rate-spike alerts: without the fast table %d, with it %d (%d active subjects lost their slots in the grow)", spikes[0], spikes[1], lostSlots)
	}
}

// TestFastTableForgetsDroppedBaseline: a changed baseline evicted when
// evicted already holds 4*max is dropped unwritten (the shared state keeps
// the version before it learned). Its slot still vouches for what it
// learned: the role's next assumption from that network is judged from
// the slot, neither alerted (as without the table) nor learned again, so
// the shared state never gets it.
func TestFastTableForgetsDroppedBaseline(t *testing.T) {
	var alerts [2]int
	var learned [2]bool
	for side := range 2 {
		sh := newMemShared()
		e, rec := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared, o.MaxSubjects, o.TierBytes = sh, 3, 64<<10 })
		if side == 0 {
			e.base.fast = nil
		}
		ctx := context.Background()
		r := "arn:aws:iam::" + acct + ":role/r"
		x := func(i int, d time.Duration) Event {
			return ev("AssumeRole", "sts", with("roleArn", fmt.Sprintf("arn:aws:iam::%s:role/x%d", acct, i)), at(d))
		}
		run(e, ev("AssumeRole", "sts", with("roleArn", r)))
		e.Flush(ctx)
		// Warm: a new network, alerted and learned; seen again (the slot
		// records it).
		run(e, ev("AssumeRole", "sts", with("roleArn", r), from("192.0.2.9"), at(2*time.Hour)))
		run(e, ev("AssumeRole", "sts", with("roleArn", r), from("192.0.2.9"), at(2*time.Hour+time.Second)))
		// r, changed and unflushed, stays in the table while evicted
		// fills; then it is dropped unwritten.
		i := 0
		for ; len(e.base.evicted) < 4*3; i++ {
			run(e, x(i, 2*time.Hour+time.Second), ev("AssumeRole", "sts", with("roleArn", r), from("192.0.2.9"), at(2*time.Hour+time.Second)))
		}
		run(e, x(i, 2*time.Hour+time.Second), x(i+1, 2*time.Hour+time.Second))
		if e.peekBaseline("role:"+r) != nil {
			t.Fatal("r still in the table or the tier")
		}
		e.Flush(ctx)
		before := count(rec, "new-network")
		// A day on, from that network again.
		run(e, ev("AssumeRole", "sts", with("roleArn", r), from("192.0.2.9"), at(26*time.Hour)))
		e.Flush(ctx)
		alerts[side] = count(rec, "new-network") - before
		bl, _ := decodeBaseline(sh.base["role:"+r])
		for _, n := range bl.Networks {
			learned[side] = learned[side] || n == "192.0.2.0/24"
		}
	}
	t.Logf("new-network alerts on the last event: without the table %d, with it %d; shared state has the network: %v", alerts[0], alerts[1], learned)
	if alerts[0] != alerts[1] || learned[0] != learned[1] {
		t.Fatalf("without the fast table: %d alerts, network stored %v; with it: %d alerts, network stored %v", alerts[0], learned[0], alerts[1], learned[1])
	}
}

// TestOlderMinuteCountsInCurrent (pre-existing, with and without the
// table): an event of an older minute (a request whose headers arrived at
// :59.9 and whose body the client trickled; x.Time is read before the
// body) resets the current minute's count, so a burst interleaved with
// such events never reaches rateMinimum.
func TestOlderMinuteCountsInCurrent(t *testing.T) {
	for side := range 2 {
		sh := newMemShared()
		e, rec := newEngine(t, Config{Warmup: Duration(time.Hour)}, func(o *Options) { o.Shared, o.TierBytes = sh, 1<<20 })
		if side == 0 {
			e.base.fast = nil
		}
		for m := range 62 {
			run(e, ev("GetCallerIdentity", "sts", at(time.Duration(m)*time.Minute)))
		}
		e.Flush(context.Background())
		for i := range 60 {
			run(e, ev("GetCallerIdentity", "sts", at(62*time.Minute+time.Duration(i)*500*time.Millisecond)))
			if i%20 == 19 {
				run(e, ev("GetCallerIdentity", "sts", at(62*time.Minute-100*time.Millisecond))) // started in minute 61
			}
		}
		if n := count(rec, "rate-spike"); n != 1 {
			t.Errorf("fast table %v: 63 calls in a minute against a rate of 1, %d rate-spike alerts", side == 1, n)
		}
	}
}
