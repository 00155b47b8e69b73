package detect

// Attacks on the fast table's hours (a principal's slot vouching for the
// hours its baseline knew): an event at an hour the principal was never
// seen at must fire new-hour as it does without the table, whatever the
// slot was last set from.

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestFastHoursNeverSeenHourFires: alice is seen at 09:00-12:00 on node A
// (her baseline evicted between her calls by other principals' calls, so
// that she is judged from her slot), at 14:00 on node B (shared state);
// after her warm-up she calls at 13:00 (never seen: new-hour), at 14:00
// (B's: none), at 13:00 again (none), at 15:00 (new-hour). Then a saved
// baseline that knows 09:00 alone replaces hers (LoadBaselines), and her
// next call at 10:00 fires new-hour as it does without the table. Every
// alert must be the same with and without the table, and the new-hour
// alerts those listed.
func TestFastHoursNeverSeenHourFires(t *testing.T) {
	noSavePhase(t)
	var got [2][]string
	for side := range 2 {
		sh := newMemShared()
		a, rec := newEngine(t, Config{Warmup: Duration(4 * time.Hour)}, func(o *Options) {
			o.Shared, o.MaxSubjects, o.Baselines, o.TierBytes, o.FastSlots = sh, 64, 4, 1<<20, 256
		})
		b, _ := newEngine(t, Config{Warmup: Duration(4 * time.Hour)}, func(o *Options) { o.Shared = sh })
		if side == 0 {
			a.base.fast = nil
		}
		ctx := context.Background()
		alice := func(d time.Duration, name string) Event {
			return ev(name, "sts", at(d))
		}
		other := func(i int, d time.Duration) Event {
			x := ev("GetCallerIdentity", "sts", at(d))
			x.ARN = fmt.Sprintf("arn:aws:iam::%s:user/o%d", acct, i)
			return x
		}
		// call alice, then enough others to push her baseline out of
		// the table, and flush.
		call := func(d time.Duration, name string) {
			run(a, alice(d, name))
			for i := range 8 {
				run(a, other(i, d+time.Duration(i+1)*time.Second))
			}
			a.Flush(ctx)
		}
		for h := range 4 { // 09:00 .. 12:00, twice each hour
			call(time.Duration(h)*time.Hour, "GetCallerIdentity")
			call(time.Duration(h)*time.Hour+20*time.Minute, "GetCallerIdentity")
		}
		// Node B sees her at 14:00 the day before... (within the warm-up
		// on B's side it fires nothing), and flushes.
		run(b, alice(5*time.Hour, "GetCallerIdentity"))
		b.Flush(ctx)
		a.Flush(ctx)
		// A day on, past the warm-up, on node A.
		day := 24 * time.Hour
		call(day, "GetCallerIdentity")                // 09:00: known
		call(day+30*time.Minute, "GetCallerIdentity") // 09:30: known, from the slot
		call(day+4*time.Hour, "GetCallerIdentity")    // 13:00: never seen
		call(day+5*time.Hour, "GetCallerIdentity")    // 14:00: B's
		call(day+4*time.Hour+40*time.Minute, "GetCallerIdentity")
		call(day+6*time.Hour, "GetCallerIdentity")     // 15:00: never seen
		call(day+6*time.Hour+time.Minute, "ListUsers") // new action at a known hour
		call(day+7*time.Hour, "GetCallerIdentity")     // 16:00 never seen, old action, slot combo older
		// A saved baseline replaces hers: it knows 09:00 only.
		var saved bytes.Buffer
		fmt.Fprintf(&saved, `{"key":"principal:arn:aws:iam::%s:user/alice","baseline":{"first":%q,"hours":%d,"actions":["sts:GetCallerIdentity"]}}`+"\n",
			acct, t0.Add(-day).Format(time.RFC3339Nano), 1<<9)
		if err := a.LoadBaselines(&saved); err != nil {
			t.Fatal(err)
		}
		run(a, alice(day+time.Hour+time.Minute, "GetCallerIdentity")) // 10:00: the saved baseline does not know it
		for _, x := range rec.alerts {
			if strings.Contains(x.PrincipalARN, "alice") || strings.Contains(x.Detail, "alice") {
				got[side] = append(got[side], x.Rule+" "+x.Detail)
			}
		}
		if side == 1 {
			t.Logf("judged from slots: %d", a.base.fastHits)
			if a.base.fastHits == 0 {
				t.Fatal("no event judged from a slot: the test does not reach the fast path")
			}
		}
	}
	t.Logf("without the table: %q", got[0])
	t.Logf("with the table:    %q", got[1])
	if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
		t.Fatalf("alerts differ:\nwithout the table %q\nwith it           %q", got[0], got[1])
	}
	hours := 0
	for _, g := range got[1] {
		if strings.HasPrefix(g, "new-hour") {
			hours++
		}
	}
	if hours != 4 { // 13:00, 15:00, 16:00, and 10:00 after the load
		t.Fatalf("%d new-hour alerts, want 4: %q", hours, got[1])
	}
}
