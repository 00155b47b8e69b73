package detect

import (
	"hash/maphash"
	"math"
	"math/bits"
	"runtime"
	"time"
	"unsafe"

	"github.com/opensts/opensts/internal/offheap"
)

// rates is a principal's calls a minute: the current minute (Unix
// minutes), its calls, the EWMA of the calls a minute before it, and the
// completed minutes seen.
type rates struct {
	minute  int64
	count   int
	rate    float64
	minutes int
}

func (bl *baseline) rates() rates {
	return rates{minute: bl.Minute, count: bl.Count, rate: bl.Rate, minutes: bl.Minutes}
}

func (bl *baseline) setRates(r rates) {
	bl.Minute, bl.Count, bl.Rate, bl.Minutes = r.minute, r.count, r.rate, r.minutes
}

// call counts a call in minute, rolling the minutes before it (idle ones
// as zero calls) into the rate. It reports whether the history grew past
// a multiple of rateSaveMinutes less phase, the subject's (savePhase):
// what it learned is then written back.
//
// A call stamped with a minute before the current one (a request that
// began then and ended now) counts in the current minute: resetting the
// count to it let a client that slipped such calls into a burst keep the
// count under rateMinimum (found by a review as an attacker).
func (r *rates) call(minute, phase int64) (save bool) {
	if minute != r.minute && (r.minute == 0 || minute > r.minute) {
		if r.minute != 0 {
			r.rate = (1-rateAlpha)*r.rate + rateAlpha*float64(r.count)
			gap := minute - r.minute - 1 // idle minutes count as zero calls
			r.rate *= math.Pow(1-rateAlpha, float64(min(gap, 1000)))
			r.rate = float64(float32(r.rate)) // as a fast slot keeps it
			before := r.minutes
			r.minutes += int(min(gap, 1_000_000)) + 1
			save = (int64(r.minutes)+phase)/rateSaveMinutes != (int64(before)+phase)/rateSaveMinutes
		}
		r.minute, r.count = minute, 0
	}
	r.count++
	return save
}

// savePhase is where in its rateSaveMinutes a subject's rates are written
// back, from its key (as subjectKey builds it): principals first seen
// together (created together, or first called in one sweep) have their
// histories grow in step, and written back at the same multiple they made
// waves: across 100,000 of them, every ten minutes each one's next call
// read and wrote its baseline (internal/tools/scale: some 3 more reads and
// 0.2 more writes a request, and about twice the CPU, for the whole run
// a wave fell in). Spread over the ten phases, a tenth of them write at
// each minute's turn.
// (A variable: the tests that count write-backs at given minutes set it
// to none.)
var savePhase = func(key []byte) int64 { return int64(maphash.Bytes(phaseSeed, key) % rateSaveMinutes) }

var phaseSeed = maphash.MakeSeed()

// newer returns what a and b, two copies of one subject's rates, know
// together: the later minute's count (the larger count in the same
// minute), and the longer history's rate, as baselines merge.
func newer(a, b rates) rates {
	out := a
	if b.minute > a.minute || b.minute == a.minute && b.count > a.count {
		out.minute, out.count = b.minute, b.count
	}
	if b.minutes > a.minutes {
		out.rate, out.minutes = b.rate, b.minutes
	}
	return out
}

// fastTable lets the engine judge most events without the subject's
// baseline: per subject, a slot holds a fingerprint of the features
// (network and client of a role; action of a principal) of its last
// event that found nothing new, its first sighting, and a principal's
// rates and the hours its baseline knew then. An event with the same
// features (and, a principal's, at one of those hours) finds nothing new
// either (a baseline's sets only grow), so only its rates change, and
// those the slot holds: the baseline is not read from the tier, decoded,
// encoded and written back (BenchmarkManyRoles: 4.1 µs an event across
// 100,000 roles and their users, 1.8 µs with the table, and no allocation).
// Every other event takes the slow path, which reads the baseline, merges
// the slot's rates into it (the slot's are the newer), and records the
// result back in the slot. Tags and fingerprints are keyed hashes under a
// seed of the process's (64 and 32 bits): a client cannot choose a value
// whose fingerprint matches one its subject has seen, except by chance
// (2^-32 an event with something new).
//
// A baseline the table drops that changed only its rates is then not
// written back to the tier: the slot holds them. A slot is never taken
// from a subject seen within fastIdle (a new subject whose slots are all
// taken goes without, and its baseline carries its rates, as before the
// table); one idle longer may be, and then the subject's rates are those
// its baseline last wrote back (at most rateSaveMinutes old, as when the
// tier drops a record).
//
// It is used under the engine's lock. Its slots are mapped outside the Go
// heap: the collector neither scans nor counts them. A bucket's tags are
// one cache line, apart from the slots' data, so that finding a subject
// reads two lines and its slot a third.
type fastTable struct {
	seed    maphash.Seed
	mem     []byte
	tags    []uint64   // a bucket's fastWays, then the next bucket's
	slots   []fastSlot // the data of the slot tags[i] names
	buckets uint64
}

// fastSlot is a slot's data, 28 bytes (its tag apart: the subject's hash,
// its low bit set; 0 for an empty slot).
//
// A principal's hours are a set of their own, not part of its
// fingerprint: with the hour in the fingerprint, every principal's first
// call of each hour took the slow path, at once across all of them. Across
// 100,000 principals the first minutes of each hour read and decoded
// every baseline from the tier (internal/tools/scale: 5.6 read system
// calls a request instead of 2.7, p99 from 8 to 18 ms, peak RSS 162 MiB
// instead of 148).
type fastSlot struct {
	combo   uint32  // the features' fingerprint, its low bit set; 0: none
	hours   uint32  // a principal's: the hours (bits, UTC) its baseline knew
	first   uint32  // first sighting, Unix seconds (0: not known)
	minute  uint32  // rates.minute; a role's: the minute it was last seen
	count   uint32  // rates.count
	minutes uint32  // rates.minutes
	rate    float32 // rates.rate (rates round it so, see call)
}

// fastWays is a bucket's slots; a subject has two buckets (two choices).
const fastWays = 8

// fastIdle is how long a subject keeps its slot without being seen.
const fastIdle = time.Hour

// MaxFastSlots bounds the slots a fastTable grows to (9 MiB, 36 bytes a
// slot): a deployment with more principals and roles than that does
// without it, since a table holding a fraction of a rotation's subjects
// would save that fraction of the work for its memory (see grow).
const MaxFastSlots = 1 << 18

// newFastTable returns a table of at least slots slots (whole buckets).
func newFastTable(slots int) *fastTable {
	buckets := max((slots+fastWays-1)/fastWays, 2)
	n := buckets * fastWays
	tagBytes := n * 8
	mem := offheap.Bytes(tagBytes + n*int(unsafe.Sizeof(fastSlot{})))
	t := &fastTable{seed: maphash.MakeSeed(), mem: mem, buckets: uint64(buckets),
		tags:  unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(mem))), n),
		slots: unsafe.Slice((*fastSlot)(unsafe.Pointer(&mem[tagBytes])), n)}
	runtime.AddCleanup(t, offheap.Free, mem)
	return t
}

// tag is the hash of a subject's key (tagString: the same, of a string).
func (t *fastTable) tag(key []byte) uint64       { return maphash.Bytes(t.seed, key) | 1 }
func (t *fastTable) tagString(key string) uint64 { return maphash.String(t.seed, key) | 1 }

// combo is the fingerprint of an event's features: a and b, two strings
// (a role's network and client), or a and the hour n (a principal's
// action).
func (t *fastTable) combo(a, b string, n int) uint32 {
	var h maphash.Hash
	h.SetSeed(t.seed)
	h.WriteString(a)
	h.WriteByte(0)
	h.WriteString(b)
	h.WriteByte(byte(n))
	return uint32(h.Sum64()) | 1
}

// roleCombo and principalCombo are the fingerprints of a role's event
// (its network and client) and of a principal's (its action), the one
// anomalies records and the one skips tests.
func (t *fastTable) roleCombo(network, agent string) uint32 { return t.combo(network, agent, 0) }
func (t *fastTable) principalCombo(action string) uint32    { return t.combo(action, "", 1) }

// knows reports whether a principal's slot s vouches for an event's
// features: its action (combo) at an hour its baseline knew.
func (s *fastSlot) knows(combo uint32, hour int) bool {
	return s.combo == combo && s.hours&(1<<uint(hour)) != 0
}

// bucketsOf returns the first slots of the two buckets of tag: the high
// and the low half of its bits, each mapped onto the buckets by a
// multiply (any number of buckets, not only powers of two).
func (t *fastTable) bucketsOf(tag uint64) [2]int {
	b1, _ := bits.Mul64(tag, t.buckets)
	b2, _ := bits.Mul64(tag<<32|tag>>32, t.buckets)
	return [2]int{int(b1) * fastWays, int(b2) * fastWays}
}

// find returns the slot of tag, or nil.
func (t *fastTable) find(tag uint64) *fastSlot {
	for _, b := range t.bucketsOf(tag) {
		for i := b; i < b+fastWays; i++ {
			if t.tags[i] == tag {
				return &t.slots[i]
			}
		}
	}
	return nil
}

// take returns the slot of tag, a new one if it has none and one of its
// buckets has a slot that is empty or idle since before now-fastIdle (in
// the bucket with more of them), or nil.
func (t *fastTable) take(tag uint64, now int64) *fastSlot {
	if s := t.find(tag); s != nil {
		return s
	}
	idle := uint32(max(now/60-int64(fastIdle/time.Minute), 0))
	best, bestFree := -1, 0
	for _, b := range t.bucketsOf(tag) {
		free, first := 0, -1
		for i := b; i < b+fastWays; i++ {
			if t.tags[i] == 0 || t.slots[i].minute < idle {
				free++
				if first < 0 {
					first = i
				}
			}
		}
		if free > bestFree {
			best, bestFree = first, free
		}
	}
	if best < 0 {
		return nil
	}
	t.tags[best], t.slots[best] = tag, fastSlot{}
	return &t.slots[best]
}

// forget empties the slot of tag.
func (t *fastTable) forget(tag uint64) {
	for _, b := range t.bucketsOf(tag) {
		for i := b; i < b+fastWays; i++ {
			if t.tags[i] == tag {
				t.tags[i], t.slots[i] = 0, fastSlot{}
			}
		}
	}
}

func (s *fastSlot) rates() rates {
	return rates{minute: int64(s.minute), count: int(s.count), rate: float64(s.rate), minutes: int(s.minutes)}
}

// set records r, clamped to the slot's 32 bits (a clamped count or
// history only ever understates a spike's size).
func (s *fastSlot) set(r rates) {
	s.minute = uint32(min(max(r.minute, 0), math.MaxUint32))
	s.count = uint32(min(max(r.count, 0), math.MaxUint32))
	s.minutes = uint32(min(max(r.minutes, 0), math.MaxUint32))
	s.rate = float32(r.rate)
}

// holds reports whether the slot holds r exactly.
func (s *fastSlot) holds(r rates) bool { return s.rates() == r }

// firstTime is the slot's first sighting.
func (s *fastSlot) firstTime() time.Time {
	if s.first == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s.first), 0).UTC()
}

func (s *fastSlot) setFirst(t time.Time) {
	if t.IsZero() || t.Unix() <= 0 || t.Unix() > math.MaxUint32 {
		s.first = 0
		return
	}
	s.first = uint32(t.Unix())
}

// grow moves the slots to a table of at least slots slots (and a quarter
// more than now, so that a population creeping up does not move them every
// minute), if that is larger and within MaxFastSlots. It loses no slot of
// a subject seen within fastIdle: where one finds no room in the new
// table, a larger one is tried, and past MaxFastSlots the table stays as
// it is (a slot lost would lose the calls it counted, which its subject's
// baseline, dropped with only rates changed, does not hold). An idle slot
// that finds no room is dropped.
func (t *fastTable) grow(slots int, now int64) *fastTable {
	if slots > MaxFastSlots || slots <= len(t.slots) {
		return t
	}
	slots = min(max(slots, len(t.slots)*5/4), MaxFastSlots)
	idle := uint32(max(now/60-int64(fastIdle/time.Minute), 0))
	for {
		n := newFastTable(slots)
		n.seed = t.seed // the tags and fingerprints are the seed's
		ok := true
		for i, tag := range t.tags {
			if tag == 0 {
				continue
			}
			if d := n.take(tag, now); d != nil {
				*d = t.slots[i]
			} else if t.slots[i].minute >= idle {
				ok = false
				break
			}
		}
		if ok {
			return n
		}
		if slots >= MaxFastSlots {
			return t
		}
		slots = min(slots*2, MaxFastSlots)
	}
}
