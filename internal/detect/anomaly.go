package detect

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/cache"
)

// Baselines are learned per role (where it is assumed from, with which
// client) and per principal (what it calls, when, how often; a role
// session's principal is its role). A baseline judges nothing during its
// warm-up, which starts at its first event; after it, what it never saw
// fires a rule once and is learned.
type baselines struct {
	warmup   time.Duration
	subjects *table[*baseline]
	sessions *table[sessionSeen]
	// load, if set, reads a subject's stored baseline when it is first
	// seen; dirty are the subjects changed since the last flush.
	load  func(key string) *baseline
	dirty map[string]struct{}
	// evicted holds, encoded, the changed baselines the table dropped
	// before a flush wrote them: the flush writes them from here, and a
	// subject seen again is read from here before the shared state (it
	// is newer). Without it a working set larger than the table would
	// lose what it learned and start its warm-up over at every sighting.
	evicted map[string][]byte
	// full, if set, asks for a flush: evicted holds a table's worth.
	full func()
	// tier, if set, holds encoded the baselines the table dropped that
	// the shared state has as they are (unchanged since read, or written
	// by a flush), by tierKey: a subject seen again is read from there
	// rather than from the shared state. It is read only for a subject
	// the table does not hold, and a subject leaves the table only by
	// eviction, which replaces its record (unchanged since read, as the
	// shared state has it) or deletes it (changed: the record is behind),
	// so what it returns is never behind the table; it is behind the
	// shared state as much as the table is (other nodes' learning arrives
	// at flushes). A record read stays while the subject is in the table
	// (deleting it there cost a tier operation a sighting; the eviction
	// replaces or deletes it anyway).
	tier    *cache.Tier
	tierBuf []byte
	// dict numbers the strings of the baselines the tier holds, which
	// refer to them by number (see encode), and interns those read.
	dict dict
	// free are baselines the table dropped, once encoded, for reuse
	// (with their sets' arrays) by the next decoded.
	free []*baseline
	// first is prefetch's, reused batch to batch.
	first map[string]time.Time

	// Memos of derived strings, so that a repeated address, client or
	// action costs a map read, not an allocation (cleared when full).
	nets    map[string]string
	agents  map[string]string
	actions map[[2]string]string

	kbuf []byte // getFor's key, reused
	hbuf []byte // tierKey's, reused

	// fast, if set, judges most events without their subjects' baselines
	// (see fastTable). It is set only with shared state, which (with the
	// tier, when there is one) keeps a baseline the table drops: without it
	// a dropped baseline is forgotten, and a slot would outlive what it
	// vouches for.
	fast     *fastTable
	fastHits uint64 // subjects judged from their slots
}

const memoMax = 4096

func memo[K comparable](m *map[K]string, k K, f func() string) string {
	if v, ok := (*m)[k]; ok {
		return v
	}
	if *m == nil || len(*m) >= memoMax {
		*m = make(map[K]string)
	}
	v := f()
	(*m)[k] = v
	return v
}

func (b *baselines) network(ip string) string {
	return memo(&b.nets, ip, func() string { return network(ip) })
}

func (b *baselines) agent(ua string) string {
	return memo(&b.agents, ua, func() string { return agentFamily(ua) })
}

func (b *baselines) action(source, name string) string {
	return memo(&b.actions, [2]string{source, name}, func() string {
		return strings.TrimSuffix(source, ".amazonaws.com") + ":" + name
	})
}

const (
	maxNetworks = 256
	maxAgents   = 64
	maxActions  = 2048
	rateAlpha   = 0.1 // EWMA weight of the newest minute
	rateMinimum = 30  // calls in a minute below which no rate is a spike
	rateMinutes = 60  // minutes of history a rate baseline needs
	// rateSaveMinutes: a baseline's rate history is written back every
	// this many of its minutes (what it learned, at once).
	rateSaveMinutes = 10
)

type baseline struct {
	key   string   // its subject (the table's key)
	tk    [16]byte // tierKey(key), once tkSet
	tkSet bool
	// tierClean: read from the tier, with the sets, hours and first
	// sighting its record holds, and the rates tierRates.
	tierClean bool
	tierRates rates
	First     time.Time `json:"first"`
	Networks  strSet    `json:"networks,omitempty"`
	Agents    strSet    `json:"agents,omitempty"`
	Actions   strSet    `json:"actions,omitempty"`
	Hours     uint32    `json:"hours"`
	Minute    int64     `json:"minute"`  // the current minute (Unix minutes)
	Count     int       `json:"count"`   // calls in it
	Rate      float64   `json:"rate"`    // EWMA of calls per minute
	Minutes   int       `json:"minutes"` // completed minutes seen
}

type sessionSeen struct {
	network string
	at      time.Time
}

// newBaselines holds at most held baselines decoded; max bounds the
// sessions it remembers (they have no tier: one dropped is forgotten) and
// the evicted baselines waiting for a flush.
func newBaselines(held, max int, warmup time.Duration) *baselines {
	b := &baselines{warmup: warmup, subjects: newTable[*baseline](held), sessions: newTable[sessionSeen](max), dirty: map[string]struct{}{},
		evicted: map[string][]byte{}, first: map[string]time.Time{}}
	b.subjects.evicted = func(key string, bl *baseline) {
		defer b.recycle(bl)
		if _, ok := b.dirty[key]; !ok {
			if bl.tierClean && b.tier != nil && b.ratesKept(key, bl) {
				return // its record holds it, but for rates its slot holds
			}
			if b.tier != nil {
				if !bl.tkSet {
					bl.tk, bl.tkSet = b.tierKey(key), true
				}
				b.tierBuf = bl.encode(b.tierBuf[:0], &b.dict)
				b.tier.Put(bl.tk[:], b.tierBuf)
			}
			return
		}
		delete(b.dirty, key)
		if b.tier != nil {
			// Changed since read: a record read from the tier is behind.
			if !bl.tkSet {
				bl.tk, bl.tkSet = b.tierKey(key), true
			}
			b.tier.Delete(bl.tk[:])
		}
		if len(b.evicted) < 4*max {
			b.evicted[key] = bl.appendBinary(nil)
		} else if b.fast != nil {
			// Dropped with what it learned: its slot must not vouch for
			// that (found by a review as an attacker).
			b.fast.forget(b.fast.tagString(key))
		}
		if len(b.evicted) >= max && b.full != nil {
			b.full() // flush early rather than drop what was learned
		}
	}
	return b
}

// maxFree bounds the baselines kept for reuse.
const maxFree = 64

// recycle keeps bl, which the table dropped and nothing refers to any
// more, for reuse by the next decoded baseline.
func (b *baselines) recycle(bl *baseline) {
	if len(b.free) < maxFree {
		*bl = baseline{Networks: bl.Networks[:0], Agents: bl.Agents[:0], Actions: bl.Actions[:0]}
		b.free = append(b.free, bl)
	}
}

// decode reads a baseline stored in the shared state (tier false) or
// kept in the tier (tier true) into a recycled one, interning its
// strings, and reports whether it is in the JSON written before the
// compact encoding (and so worth writing back in it).
func (b *baselines) decode(data []byte, tier bool) (bl *baseline, old bool, err error) {
	if len(data) > 0 && data[0] == '{' && !tier {
		bl, err = decodeBaseline(data)
		return bl, true, err
	}
	var into *baseline
	if n := len(b.free); n > 0 {
		into, b.free = b.free[n-1], b.free[:n-1]
	}
	bl, err = decodeInto(into, data, &b.dict, tier)
	return bl, false, err
}

// tierKey is what the tier keeps a subject under: the first 16 bytes of
// its SHA-256 (subject keys run to 60 bytes and more; two subjects of
// one key is a chance of 2^-128 a pair).
func tierKey(key string) [16]byte {
	sum := sha256.Sum256([]byte(key))
	return [16]byte(sum[:16])
}

// tierKey is tierKey with no allocation.
func (b *baselines) tierKey(key string) [16]byte {
	b.hbuf = append(b.hbuf[:0], key...)
	sum := sha256.Sum256(b.hbuf)
	return [16]byte(sum[:16])
}

// toTier keeps bl, the baseline of key as the shared state has it, in
// the tier (if any).
func (b *baselines) toTier(key string, bl *baseline) {
	if b.tier == nil {
		return
	}
	k := b.tierKey(key)
	b.tierBuf = bl.encode(b.tierBuf[:0], &b.dict)
	b.tier.Put(k[:], b.tierBuf)
}

// fromTier returns the baseline of key the tier holds (the caller puts
// it in the table; the record stays until its eviction), or nil.
func (b *baselines) fromTier(key string) *baseline {
	if b.tier == nil {
		return nil
	}
	k := b.tierKey(key)
	data, ok := b.tier.Get(b.tierBuf[:0], k[:])
	if !ok {
		return nil
	}
	b.tierBuf = data[:0]
	bl, _, err := b.decode(data, true)
	if err != nil {
		return nil // cannot happen: encode wrote it
	}
	bl.tk, bl.tkSet = k, true
	bl.tierClean, bl.tierRates = true, bl.rates()
	return bl
}

// ratesKept reports whether bl's rates need no writing back: they are
// those its tier record holds, or those its subject's slot holds.
func (b *baselines) ratesKept(key string, bl *baseline) bool {
	r := bl.rates()
	if r == bl.tierRates {
		return true
	}
	if b.fast == nil {
		return false
	}
	s := b.fast.find(b.fast.tagString(key))
	return s != nil && s.holds(r)
}

// held reports whether the table holds the baseline of key.
func (b *baselines) held(key []byte) bool {
	_, ok := b.subjects.m[string(key)]
	return ok
}

// pending returns the evicted, unwritten baseline of key (then in memory
// again, and changed), or nil.
func (b *baselines) pending(key string) *baseline {
	data, ok := b.evicted[key]
	if !ok {
		return nil
	}
	delete(b.evicted, key)
	bl, _, err := b.decode(data, false)
	if err != nil {
		return nil // cannot happen: appendBinary wrote it
	}
	b.mark(key)
	return bl
}

// getFor returns the baseline of the subject kind+":"+name (stored, or
// new), with no string made when it is in memory. A new one is marked
// changed; the caller marks one it changes with mark.
func (b *baselines) getFor(kind, name string, t time.Time) *baseline {
	bl, key, ok := b.subjects.find(b.subjectKey(kind, name))
	if !ok {
		key = string(b.kbuf)
	}
	return b.got(key, bl, ok, t)
}

// subjectKey builds kind+":"+name in kbuf, reused, and returns it.
func (b *baselines) subjectKey(kind, name string) []byte {
	b.kbuf = append(append(append(b.kbuf[:0], kind...), ':'), name...)
	return b.kbuf
}

func (b *baselines) got(key string, bl *baseline, ok bool, t time.Time) *baseline {
	if ok {
		return bl
	}
	if bl = b.pending(key); bl == nil {
		bl = b.fromTier(key)
	}
	if bl == nil && b.load != nil {
		bl = b.load(key)
	}
	if bl == nil {
		bl = &baseline{First: t}
		b.mark(key)
	}
	bl.key = key
	b.subjects.put(key, bl)
	return bl
}

// mark records that the baseline of key changed, to be written back: it
// learned a value, an hour or its first sighting, or its rate history
// grew by rateSaveMinutes. Counting calls alone does not mark it, so an
// active subject costs the shared state a write when it learns something,
// not every flush.
func (b *baselines) mark(key string) {
	if b.load == nil {
		return // no shared state to write back to
	}
	if _, ok := b.dirty[key]; !ok && len(b.dirty) < 1<<20 {
		b.dirty[key] = struct{}{}
	}
}

// merge adds what o learned to bl: the union of the sets and hours, the
// earlier first sighting, the larger rate history.
func (bl *baseline) merge(o *baseline) {
	bl.tierClean = false
	if !o.First.IsZero() && (bl.First.IsZero() || o.First.Before(bl.First)) {
		bl.First = o.First
	}
	for _, v := range o.Networks {
		learn(&bl.Networks, v, maxNetworks)
	}
	for _, v := range o.Agents {
		learn(&bl.Agents, v, maxAgents)
	}
	for _, v := range o.Actions {
		learn(&bl.Actions, v, maxActions)
	}
	bl.Hours |= o.Hours
	if o.Minutes > bl.Minutes {
		bl.Minutes, bl.Rate = o.Minutes, o.Rate
	}
}

func (bl *baseline) warm(t time.Time, warmup time.Duration) bool { return t.Sub(bl.First) >= warmup }

// learn adds v to set (bounded) and reports whether it was new.
func learn(set *strSet, v string, max int) bool {
	i, found := slices.BinarySearch(*set, v)
	if found {
		return false
	}
	if len(*set) < max {
		*set = slices.Insert(*set, i, v)
	}
	return true
}

// has reports whether v is in the set.
func (s strSet) has(v string) bool {
	_, found := slices.BinarySearch(s, v)
	return found
}

// strSet is a set of strings as a sorted slice: a baseline's sets hold a
// value or a few, each a string shared through the memos, so a slice
// costs a tenth of a map. It is written as a JSON array and read from an
// array or from the object the sets were written as before.
type strSet []string

func (s *strSet) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err != nil {
		var obj map[string]struct{}
		if json.Unmarshal(b, &obj) != nil {
			return err
		}
		for v := range obj {
			list = append(list, v)
		}
	}
	slices.Sort(list)
	*s = slices.Compact(list)
	return nil
}

// learn is learn for a set of bl that marks bl when v is new to it.
func (b *baselines) learn(bl *baseline, set *strSet, v string, max int) bool {
	if !learn(set, v, max) {
		return false
	}
	bl.tierClean = false
	b.mark(bl.key)
	return true
}

// subjects are the names of the baselines an event updates: the role it
// assumes ("" for none) and the principal that calls (a role session's
// role; "" for an unknown caller).
func subjects(ev *Event) (role, principal string) {
	if strings.HasPrefix(ev.Name, "AssumeRole") {
		role = assumedRole(ev.AssumedRoleARN)
		if role == "" {
			role = ev.Params.RoleArn
		}
	}
	principal = ev.ARN
	if ev.IssuerARN != "" {
		principal = ev.IssuerARN
	}
	return role, principal
}

// assumedRole is the role of an assumed-role session ARN, as IAM spells
// its name, "" for anything else: each spelling of the request's RoleArn
// (another case, any path) started a baseline of its own, with its own
// warm-up (found by a review as an attacker). The session ARN has no path,
// so neither has the role's.
func assumedRole(sessionARN string) string {
	rest, ok := strings.CutPrefix(sessionARN, "arn:aws:sts::")
	if !ok {
		return ""
	}
	account, rest, ok := strings.Cut(rest, ":assumed-role/")
	name, _, named := strings.Cut(rest, "/")
	if !ok || !named || name == "" || account == "" {
		return ""
	}
	return "arn:aws:iam::" + account + ":role/" + name
}

// prefetch reads, in one query, the stored baselines of the subjects of
// batch that are not in memory, so that Process finds every one of them
// there instead of reading them one at a time.
func (e *Engine) prefetch(ctx context.Context, batch []*chunk) {
	if e.base.load == nil {
		return
	}
	var keys []string
	e.mu.Lock()
	first := e.base.first // when the batch first names each
	clear(first)
	for _, ev := range events(batch) {
		role, principal := subjects(ev)
		for _, k := range [2][2]string{{"role", role}, {"principal", principal}} {
			if k[1] == "" {
				continue
			}
			e.base.subjectKey(k[0], k[1])
			if _, ok := e.base.subjects.m[string(e.base.kbuf)]; ok {
				continue
			}
			if !ev.Time.IsZero() && e.base.skips(ev, k[0], e.base.kbuf) {
				continue // judged from its slot
			}
			if _, ok := e.base.evicted[string(e.base.kbuf)]; ok {
				continue // read from there when seen
			}
			if _, ok := first[string(e.base.kbuf)]; ok {
				continue
			}
			key := string(e.base.kbuf)
			if bl := e.base.fromTier(key); bl != nil {
				bl.key = key
				e.base.subjects.put(key, bl)
				continue
			}
			t := ev.Time
			if t.IsZero() {
				t = e.opt.Now()
			}
			first[key] = t
			keys = append(keys, key)
		}
	}
	e.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	got, err := e.opt.Shared.GetBaselines(rctx, keys)
	cancel()
	if err != nil {
		e.opt.Log("detect: read baselines", err)
		return // each is read on its own when first seen
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, key := range keys {
		if _, ok := e.base.subjects.m[key]; ok {
			continue
		}
		var bl *baseline
		if data, ok := got[key]; ok {
			var old bool
			if bl, old, _ = e.base.decode(data, false); old {
				e.base.mark(key) // written back in the compact encoding
			}
		}
		if bl == nil {
			// Not stored: new, first seen by the batch's first event
			// that names it.
			bl = &baseline{First: first[key]}
			e.base.mark(key)
		}
		bl.key = key
		e.base.subjects.put(key, bl)
	}
}

func (e *Engine) anomalies(ev *Event, fired *[]Alert) {
	b := e.base
	role, p := subjects(ev)
	minute := ev.Time.Unix() / 60
	if role != "" {
		e.roleAnomalies(ev, role, minute, fired)
	}
	// One session from two networks.
	if strings.HasPrefix(ev.AccessKeyID, "ASIA") {
		if n := b.network(ev.SourceIP); n != "" {
			r := e.rules["session-two-networks"]
			if prev, ok := b.sessions.get(ev.AccessKeyID); ok && prev.network != n && ev.Time.Sub(prev.at) <= r.window {
				e.fire(ev, "session-two-networks", "key:"+ev.AccessKeyID+"|"+n,
					"session "+ev.AccessKeyID+" used from "+prev.network+" and, within "+r.window.String()+", from "+n, fired)
			}
			b.sessions.put(ev.AccessKeyID, sessionSeen{network: n, at: ev.Time})
		}
	}
	// What a principal does, when, and how often.
	if p == "" {
		return
	}
	action := b.action(ev.Source, ev.Name)
	hourOf := ev.Time.UTC().Hour()
	var s *fastSlot
	var tag uint64
	var combo uint32
	if b.fast != nil {
		key := b.subjectKey("principal", p)
		tag, combo = b.fast.tag(key), b.fast.principalCombo(action)
		if s = b.fast.find(tag); s != nil && s.knows(combo, hourOf) && !b.held(key) {
			if r, warm, ok := b.fastRates(s, ev.Time, minute, savePhase(key)); ok {
				// Seen with this action at this hour before: only its
				// rates change, and those the slot holds.
				s.set(r)
				b.fastHits++
				e.rateSpike(ev, p, r, warm, fired)
				return
			}
		}
	}
	bl := b.getFor("principal", p, ev.Time)
	if s != nil {
		bl.setRates(newer(bl.rates(), s.rates())) // the slot's are the newer
	}
	warm := bl.warm(ev.Time, b.warmup)
	newAction := b.learn(bl, &bl.Actions, action, maxActions)
	if newAction && warm {
		e.fire(ev, "new-action", "principal:"+p+"|"+action, p+" called "+action+" for the first time", fired)
	}
	hour := uint32(1) << uint(hourOf)
	newHour := bl.Hours&hour == 0
	if newHour {
		bl.Hours |= hour
		bl.tierClean = false
		b.mark(bl.key)
		if warm {
			e.fire(ev, "new-hour", "principal:"+p+"|"+itoa(hourOf), p+" active at "+itoa(hourOf)+":00 UTC for the first time", fired)
		}
	}
	r := bl.rates()
	if r.call(minute, savePhase(b.subjectKey("principal", p))) {
		b.mark(bl.key)
	}
	bl.setRates(r)
	if b.fast != nil {
		if s == nil {
			s = b.fast.take(tag, ev.Time.Unix())
		}
		if s != nil {
			s.set(r)
			s.setFirst(bl.First)
			s.hours = bl.Hours
			// A slot with no features yet (its subject's first sighting)
			// takes what the baseline learned, as does roleAnomalies.
			if !newAction || s.combo == 0 && bl.Actions.has(action) {
				s.combo = combo
			}
		}
	}
	e.rateSpike(ev, p, r, warm, fired)
}

// roleAnomalies judges where and with what role is assumed from.
func (e *Engine) roleAnomalies(ev *Event, role string, minute int64, fired *[]Alert) {
	b := e.base
	n, a := b.network(ev.SourceIP), b.agent(ev.UserAgent)
	var s *fastSlot
	var tag uint64
	var combo uint32
	if b.fast != nil {
		key := b.subjectKey("role", role)
		tag, combo = b.fast.tag(key), b.fast.roleCombo(n, a)
		if s = b.fast.find(tag); s != nil && s.combo == combo && !b.held(key) {
			s.minute = uint32(minute) // seen with these before: nothing new
			b.fastHits++
			return
		}
	}
	bl := b.getFor("role", role, ev.Time)
	warm := bl.warm(ev.Time, b.warmup)
	newNetwork := n != "" && b.learn(bl, &bl.Networks, n, maxNetworks)
	if newNetwork && warm {
		e.fire(ev, "new-network", "role:"+role+"|"+n, "role "+role+" assumed from "+n+", never seen for it", fired)
	}
	newAgent := a != "" && b.learn(bl, &bl.Agents, a, maxAgents)
	if newAgent && warm {
		e.fire(ev, "new-user-agent", "role:"+role+"|"+a, "role "+role+" assumed with "+a+", never seen for it", fired)
	}
	if b.fast == nil {
		return
	}
	if s == nil {
		s = b.fast.take(tag, ev.Time.Unix())
	}
	if s != nil {
		// Features that found nothing new go in the slot; so do those a
		// slot with none yet (its subject's first sighting) learned, which
		// the baseline knows now, unless a full set could not take one (it
		// is new again each time: see learn). A subject's second event
		// after its first sighting read its baseline from the tier
		// (internal/tools/scale on a new database: most events of the
		// first run after the warm-up). A slot that has features keeps
		// them over ones just learned: a subject's usual ones come back
		// more often.
		known := (!newNetwork || bl.Networks.has(n)) && (!newAgent || bl.Agents.has(a))
		if !newNetwork && !newAgent || s.combo == 0 && known {
			s.combo = combo
		}
		s.minute = uint32(minute) // a role's slot has no rates
	}
}

// skips reports whether anomalies will judge ev's subject of kind, whose
// key is key, from its slot, without its baseline (as when it is judged
// now: an event before it in a batch may change that).
func (b *baselines) skips(ev *Event, kind string, key []byte) bool {
	if b.fast == nil || b.held(key) {
		return false
	}
	var combo uint32
	if kind == "role" {
		combo = b.fast.roleCombo(b.network(ev.SourceIP), b.agent(ev.UserAgent))
	} else {
		combo = b.fast.principalCombo(b.action(ev.Source, ev.Name))
	}
	s := b.fast.find(b.fast.tag(key))
	if s == nil {
		return false
	}
	if kind == "role" {
		return s.combo == combo
	}
	if !s.knows(combo, ev.Time.UTC().Hour()) {
		return false
	}
	_, _, ok := b.fastRates(s, ev.Time, ev.Time.Unix()/60, savePhase(key))
	return ok
}

// fastRates returns the rates of the slot s after a call at t (in
// minute), and whether its subject is past its warm-up then; ok is false
// when the event needs its baseline: the call completes a rateSaveMinutes
// of history (written back), the slot's first sighting is not known, or t
// is within the second the slot's first sighting (whole seconds) leaves
// in doubt of the warm-up's end.
func (b *baselines) fastRates(s *fastSlot, t time.Time, minute, phase int64) (r rates, warm, ok bool) {
	if s.first == 0 {
		return r, false, false
	}
	since := t.Sub(s.firstTime())
	if since >= b.warmup-time.Second && since < b.warmup+time.Second {
		return r, false, false
	}
	r = s.rates()
	if r.call(minute, phase) {
		return r, false, false
	}
	return r, since >= b.warmup, true
}

// rateSpike fires rate-spike when p, past its warm-up, made many times
// more calls this minute than its rates' history.
func (e *Engine) rateSpike(ev *Event, p string, r rates, warm bool, fired *[]Alert) {
	if rule := e.rules["rate-spike"]; rule.enabled && warm && r.minutes >= rateMinutes && r.count >= rateMinimum && float64(r.count) > rule.factor*math.Max(r.rate, 1) {
		var unattributed string
		if ev.IssuerARN != "" {
			// The calls of every session of the role: which one made
			// the spike, the count does not say.
			unattributed = "not carried out: the rule counted the calls of every session of the role, not one principal"
		}
		e.fireWith(ev, rule, "rate-spike|principal:"+p, p+" made "+itoa(r.count)+" calls this minute against a baseline of "+
			strconv.FormatFloat(math.Round(r.rate*10)/10, 'f', -1, 64)+" a minute", []string{ev.ID}, unattributed, fired)
	}
}

// loadBaseline reads a subject's stored baseline (called with e.mu held,
// from the engine's goroutine, once per subject it has not in memory).
func (e *Engine) loadBaseline(key string) *baseline {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := e.opt.Shared.GetBaselines(ctx, []string{key})
	if err != nil {
		e.opt.Log("detect: read baseline", err)
		return nil
	}
	if data, ok := got[key]; ok {
		if bl, old, err := e.base.decode(data, false); err == nil {
			if old {
				e.base.mark(key) // written back in the compact encoding
			}
			return bl
		}
	}
	return nil
}

// Flush merges the baselines changed since the last flush with what the
// shared state holds (other nodes' learning), writes the result back and
// keeps it: the nodes converge on the union of what each saw. The merge
// is the shared state's (MergeBaselines: read, merged and written in one
// transaction), so that two nodes flushing one subject at once both keep
// what they learned: a read and a write of their own let the later
// writer replace the other's learning. It is merged there from copies,
// not under the engine's lock: the store's transaction must not wait for
// the lock, which an event's judgement holds while it waits for the store
// (an alert's claim).
func (e *Engine) Flush(ctx context.Context) {
	sh := e.opt.Shared
	if sh == nil {
		return
	}
	if p, ok := sh.(pruner); ok && e.flushes.Add(1)%60 == 0 {
		if err := p.Prune(ctx, e.opt.Now().Add(-time.Hour)); err != nil {
			e.opt.Log("detect: prune alert claims", err)
		}
	}
	e.mu.Lock()
	keys := make([]string, 0, len(e.base.dirty)+len(e.base.evicted))
	for k := range e.base.dirty {
		keys = append(keys, k)
	}
	clear(e.base.dirty)
	evicted := e.base.evicted
	for k := range evicted {
		keys = append(keys, k)
	}
	e.base.evicted = make(map[string][]byte)
	// What this node knows of each, encoded: the table's copy (with what
	// it learned before an eviction the flush takes), else the evicted one.
	local := make(map[string][]byte, len(keys))
	var buf []byte
	for _, k := range keys {
		x, inTable := e.base.subjects.m[k]
		if !inTable {
			if data, ok := evicted[k]; ok {
				local[k] = data
			}
			continue
		}
		if data, ok := evicted[k]; ok {
			mergeEvicted(x.val, data)
		}
		buf = x.val.appendBinary(buf)
		local[k], buf = buf[:len(buf):len(buf)], buf[len(buf):]
	}
	e.mu.Unlock()
	if len(local) == 0 {
		return
	}
	subjects := make([]string, 0, len(local))
	for k := range local {
		subjects = append(subjects, k)
	}
	// In transactions of a bounded number of subjects (a subject's merge
	// is atomic on its own), each with a deadline: a flush of many holds
	// no store writer or row lock for long, and a peer that holds a row's
	// lock and stops answering fails the flush from that part on (written
	// by the next) rather than stall the engine.
	for i := 0; i < len(subjects); i += maxMergeSubjects {
		part := subjects[i:min(len(subjects), i+maxMergeSubjects)]
		mctx, cancel := context.WithTimeout(ctx, mergeTimeout)
		out, err := mergeShared(mctx, sh, part, local, e.opt.Now())
		cancel()
		if err != nil {
			// The rest too: a shared state that fails (or stalls) one
			// merge would most likely fail the next, a deadline each.
			e.opt.Log("detect: write baselines", err)
			e.remark(subjects[i:], local)
			return
		}
		e.keepMerged(out)
	}
}

const (
	// maxMergeSubjects bounds the subjects of one of a flush's merges:
	// some 0.25 s of a store's writer. Each is a commit, which writes the
	// pages above the rows again: with 1,000, a flush's merges across
	// 1,000,000 principals made some 0.7 more write system calls a
	// request of the scale run (SQLite's log) than one merge did.
	maxMergeSubjects = 10_000
	// mergeTimeout bounds one of a flush's merges.
	mergeTimeout = 30 * time.Second
)

// mergeShared merges the baselines of subjects, local's encoded copies,
// with what the shared state holds, and returns what it wrote.
func mergeShared(ctx context.Context, sh Shared, subjects []string, local map[string][]byte, now time.Time) (map[string][]byte, error) {
	var out map[string][]byte
	err := sh.MergeBaselines(ctx, subjects, now, func(st map[string][]byte) (map[string][]byte, error) {
		out = make(map[string][]byte, len(subjects))
		for _, k := range subjects {
			if o, ok := st[k]; ok {
				out[k] = mergedBinary(local[k], o)
			} else {
				out[k] = local[k]
			}
		}
		return out, nil
	})
	return out, err
}

// keepMerged keeps what a flush's merge wrote (out): merged into the
// table's copy (which may also have been read again from the shared state,
// before the merge committed, while the flush ran); else, unless changed
// and evicted anew (the next flush merges it), into the tier's record,
// which a subject the table dropped while the flush ran has with what it
// counted since, or as its record.
func (e *Engine) keepMerged(out map[string][]byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, data := range out {
		if x, ok := e.base.subjects.m[k]; ok {
			mergeEvicted(x.val, data)
			e.base.synced(k, x.val)
			continue
		}
		if _, again := e.base.evicted[k]; again {
			continue
		}
		bl, _, err := e.base.decode(data, false)
		if err != nil {
			continue // cannot happen: appendBinary wrote it
		}
		e.base.synced(k, bl)
		if held := e.base.fromTier(k); held != nil {
			held.merge(bl)
			e.base.recycle(bl)
			bl = held
		}
		e.base.toTier(k, bl)
		e.base.recycle(bl)
	}
}

// synced records in the slot of key (if it has one) what a merge changed
// of bl, its baseline: the longer rate history (another node's) and the
// earlier first sighting. The slot's own rates are those of a baseline the
// table holds, or newer (counted since the table dropped it).
func (b *baselines) synced(key string, bl *baseline) {
	if b.fast == nil {
		return
	}
	s := b.fast.find(b.fast.tagString(key))
	if s == nil {
		return
	}
	s.set(newer(s.rates(), bl.rates()))
	if !bl.First.IsZero() && (s.first == 0 || bl.First.Before(s.firstTime())) {
		s.setFirst(bl.First)
	}
}

// mergeEvicted merges into bl, a subject's baseline in the table, data,
// its copy evicted before a flush took it: a subject evicted with what it
// learned and read again while the flush ran unlocked was read from the
// shared state, which lacks that, so it is in data alone (merging is a
// union: a table copy that has it loses nothing).
func mergeEvicted(bl *baseline, data []byte) {
	if o, err := decodeBaseline(data); err == nil {
		bl.merge(o)
	}
}

// pruner is a Shared that can delete ended alert claims.
type pruner interface {
	Prune(ctx context.Context, now time.Time) error
}

// remark marks keys changed again after a failed flush, with what the
// flush took of them (local): merged into the table's copy (which may have
// been read again from the shared state meanwhile), or into the copy
// evicted anew since, or, for one the table dropped unchanged while the
// flush ran, kept as evicted, so that the next flush writes it.
func (e *Engine) remark(keys []string, local map[string][]byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, k := range keys {
		data, ok := local[k]
		if !ok {
			continue
		}
		if x, ok := e.base.subjects.m[k]; ok {
			mergeEvicted(x.val, data)
			e.base.synced(k, x.val)
			e.base.dirty[k] = struct{}{}
		} else if cur, again := e.base.evicted[k]; again {
			e.base.evicted[k] = mergedBinary(cur, data)
		} else {
			e.base.evicted[k] = data
		}
	}
}

// mergedBinary is what the baselines a (appendBinary's) and b (either
// encoding) learned together; a when b does not decode, b when a does not.
func mergedBinary(a, b []byte) []byte {
	x, err := decodeBaseline(a)
	if err != nil {
		return b
	}
	if y, err := decodeBaseline(b); err == nil {
		x.merge(y)
	}
	return x.appendBinary(nil)
}

// SaveBaselines writes the learned baselines (JSON lines) so that they
// outlive a restart; LoadBaselines reads them back.
func (e *Engine) SaveBaselines(w io.Writer) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	enc := json.NewEncoder(w)
	var err error
	e.base.subjects.each(func(key string, bl *baseline) {
		if err == nil {
			err = enc.Encode(struct {
				Key string    `json:"key"`
				B   *baseline `json:"baseline"`
			}{key, bl})
		}
	})
	return err
}

// LoadBaselines merges saved baselines into the engine's.
func (e *Engine) LoadBaselines(r io.Reader) error {
	dec := json.NewDecoder(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		var rec struct {
			Key string    `json:"key"`
			B   *baseline `json:"baseline"`
		}
		if err := dec.Decode(&rec); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if rec.B != nil && rec.Key != "" {
			e.base.subjects.put(rec.Key, rec.B)
			if e.base.fast != nil {
				// What the slot vouched for, the loaded baseline replaced.
				e.base.fast.forget(e.base.fast.tagString(rec.Key))
			}
		}
	}
}

// baselineBinary is the first byte of a baseline in the compact encoding
// appendBinary writes; a stored baseline that starts with '{' is the JSON
// written before it, still read. baselineTier is the first byte of one in
// the tier's encoding, which the shared state never holds.
const (
	baselineBinary = 1
	baselineTier   = 2
)

// appendBinary appends bl in the compact encoding the shared state keeps:
// a version byte, then varints and length-prefixed strings. It is some
// third of the JSON and costs no reflection either way.
func (bl *baseline) appendBinary(b []byte) []byte { return bl.encode(b, nil) }

// encode appends bl in the compact encoding, with d nil; with d, in the
// tier's, where a string d numbers is its number plus one (0: the string
// follows). The strings of the sets were most of a baseline (a network,
// a client, an action: 12-20 bytes each), and are few and the same for
// many subjects: numbered, the 200,000 baselines of 100,000 roles and
// their users take some 10 MiB of the tier rather than 14.
func (bl *baseline) encode(b []byte, d *dict) []byte {
	if d == nil {
		b = append(b, baselineBinary)
	} else {
		b = append(b, baselineTier)
	}
	var sec, nsec int64
	if !bl.First.IsZero() {
		sec, nsec = bl.First.Unix(), int64(bl.First.Nanosecond())+1 // 0: no time
	}
	b = binary.AppendVarint(b, sec)
	b = binary.AppendUvarint(b, uint64(nsec))
	for _, set := range [3]strSet{bl.Networks, bl.Agents, bl.Actions} {
		b = binary.AppendUvarint(b, uint64(len(set)))
		for _, v := range set {
			if d != nil {
				if id, ok := d.id(v); ok {
					b = binary.AppendUvarint(b, uint64(id)+1)
					continue
				}
				b = append(b, 0)
			}
			b = binary.AppendUvarint(b, uint64(len(v)))
			b = append(b, v...)
		}
	}
	b = binary.AppendUvarint(b, uint64(bl.Hours))
	b = binary.AppendVarint(b, bl.Minute)
	b = binary.AppendVarint(b, int64(bl.Count))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(bl.Rate))
	return binary.AppendVarint(b, int64(bl.Minutes))
}

var errBaseline = errors.New("detect: malformed baseline")

// decodeBaseline reads a stored baseline, in either encoding. A set's
// values are checked and bounded as learn bounds them, so that a bad row
// cannot make a baseline larger than one the engine builds.
func decodeBaseline(data []byte) (*baseline, error) {
	if len(data) > 0 && data[0] == '{' {
		bl := new(baseline)
		if err := json.Unmarshal(data, bl); err != nil {
			return nil, err
		}
		return bl, nil
	}
	return decodeInto(nil, data, nil, false)
}

// decodeInto reads a baseline in the compact encoding (tier false) or
// the tier's (tier true, d its dictionary) into bl, a recycled one (nil:
// a new one), reusing its sets' arrays; with d, the strings read are
// interned in it.
func decodeInto(bl *baseline, data []byte, d *dict, tier bool) (*baseline, error) {
	version := byte(baselineBinary)
	if tier {
		version = baselineTier
	}
	if len(data) == 0 || data[0] != version || (tier && d == nil) {
		return nil, errBaseline
	}
	if bl == nil {
		bl = new(baseline)
	}
	r := data[1:]
	bad := false
	varint := func() int64 {
		v, n := binary.Varint(r)
		if n <= 0 {
			bad = true
			return 0
		}
		r = r[n:]
		return v
	}
	uvarint := func() uint64 {
		v, n := binary.Uvarint(r)
		if n <= 0 {
			bad = true
			return 0
		}
		r = r[n:]
		return v
	}
	sec := varint()
	if nsec := uvarint(); nsec > 0 && nsec <= 1e9 {
		bl.First = time.Unix(sec, int64(nsec-1)).UTC()
	}
	for i, set := range [3]*strSet{&bl.Networks, &bl.Agents, &bl.Actions} {
		n := uvarint()
		if n > uint64(len(r)) {
			return nil, errBaseline
		}
		list := (*set)[:0]
		if list == nil {
			list = make(strSet, 0, min(n, 64))
		}
		for range n {
			if tier {
				if ref := uvarint(); ref > 0 {
					if bad || ref > uint64(len(d.strs)) {
						return nil, errBaseline
					}
					list = append(list, d.strs[ref-1])
					continue
				}
			}
			l := uvarint()
			if bad || l > uint64(len(r)) {
				return nil, errBaseline
			}
			if d != nil {
				list = append(list, d.intern(r[:l]))
			} else {
				list = append(list, string(r[:l]))
			}
			r = r[l:]
		}
		// Written sorted and bounded; a row that is not is made so.
		if !strictlySorted(list) {
			slices.Sort(list)
			list = slices.Compact(list)
		}
		if limit := [3]int{maxNetworks, maxAgents, maxActions}[i]; len(list) > limit {
			list = list[:limit]
		}
		if len(list) > 0 {
			*set = list
		}
	}
	bl.Hours = uint32(uvarint())
	bl.Minute = varint()
	bl.Count = int(varint())
	if bad || len(r) < 8 {
		return nil, errBaseline
	}
	bl.Rate = math.Float64frombits(binary.LittleEndian.Uint64(r))
	r = r[8:]
	bl.Minutes = int(varint())
	if bad || len(r) != 0 {
		return nil, errBaseline
	}
	return bl, nil
}

func strictlySorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// dict numbers strings, up to dictMax of them, for the tier's encoding;
// the numbers stand as long as the engine (the tier is its own).
type dict struct {
	ids  map[string]uint32
	strs []string
}

// dictMax bounds a dictionary: the values of networks, clients and
// actions a deployment's baselines hold are some hundreds; past it (a
// flood of networks) values are written out in full.
const dictMax = 1 << 14

// id returns the number of s, numbering it if it is new and there is
// room.
func (d *dict) id(s string) (uint32, bool) {
	if id, ok := d.ids[s]; ok {
		return id, true
	}
	if len(d.strs) >= dictMax {
		return 0, false
	}
	if d.ids == nil {
		d.ids = make(map[string]uint32)
	}
	id := uint32(len(d.strs))
	d.ids[s] = id
	d.strs = append(d.strs, s)
	return id, true
}

// intern returns b as a string: d's, if it holds it (no allocation).
func (d *dict) intern(b []byte) string {
	if id, ok := d.ids[string(b)]; ok {
		return d.strs[id]
	}
	s := string(b)
	d.id(s)
	return s
}
