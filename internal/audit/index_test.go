package audit

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// indexSeqs lists the seqs of x, newest first.
func indexSeqs(t *testing.T, x *index) []uint64 {
	t.Helper()
	var out []uint64
	if err := x.each(func(s *slot, _ []byte) bool {
		out = append(out, s.seq)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func addEvents(x *index, from, to uint64, file func(seq uint64) int) {
	for seq := from; seq <= to; seq++ {
		e := entry{account: "123456789012", id: "id", name: "CreateUser"}
		x.add(slot{seq: seq, file: int32(file(seq))}, appendAttrs(nil, &e))
	}
}

// The index built in the background (events 1-100, its last segment
// partly filled) goes before the events written meanwhile (101-150): they
// are found newest first, counted once, trimmed to the bounds oldest
// first, and retention drops a file's events even past the partly filled
// segment in the middle. So in memory, and with the segments but the
// newest in a spill file, where then only the newest stays resident.
func TestIndexPrepend(t *testing.T) {
	for _, spilled := range []bool{false, true} {
		t.Run(fmt.Sprintf("spill=%v", spilled), func(t *testing.T) {
			var sp *spillFile
			if spilled {
				if sp = openSpill(t.TempDir()); sp == nil {
					t.Fatal("no spill file")
				}
				defer sp.close()
			}
			testIndexPrepend(t, sp)
		})
	}
}

func testIndexPrepend(t *testing.T, sp *spillFile) {
	byTen := func(seq uint64) int { return int(seq-1)/10 + 1 } // ten events a file
	old := newIndex(1000, 1<<30)
	old.segCap, old.sp = 64, sp
	addEvents(old, 1, 100, byTen) // segments of 64 and 36
	live := newIndex(1000, 1<<30)
	live.segCap, live.sp = 64, sp
	addEvents(live, 101, 150, byTen)
	defer live.dropAll()
	live.prepend(old)
	var want []uint64
	for seq := uint64(150); seq >= 1; seq-- {
		want = append(want, seq)
	}
	if got := indexSeqs(t, live); !slices.Equal(got, want) || live.count != 150 || old.count != 0 || len(old.segs) != 0 {
		t.Fatalf("after prepend: count %d, %v", live.count, got)
	}
	addEvents(live, 151, 160, byTen) // still added after the others
	if got := indexSeqs(t, live); got[0] != 160 || len(got) != 160 {
		t.Fatalf("added after prepend: %d events, newest %d", len(got), got[0])
	}
	if sp != nil {
		if r := resident(live); r != 1 {
			t.Fatalf("%d segments of %d resident, want the newest only", r, len(live.segs))
		}
	}
	// Retention removed files 1-11 (events 1-110): the first segment, the
	// partly filled one, and part of the live segments.
	live.dropFiles(12)
	if got := indexSeqs(t, live); len(got) != 50 || got[len(got)-1] != 111 || live.count != 50 {
		t.Fatalf("after retention: count %d, %v", live.count, got)
	}
	addEvents(live, 161, 400, byTen) // some more segments, spilled
	if got := indexSeqs(t, live); len(got) != 290 || got[0] != 400 || got[len(got)-1] != 111 {
		t.Fatalf("after more: count %d, %v", live.count, got)
	}
	// Bounds: the oldest segments go first.
	live.maxCount = 20
	live.trim()
	got := indexSeqs(t, live)
	if live.count > 64+20 || got[0] != 400 || live.count != len(got) {
		t.Fatalf("after trim to 20: count %d, %v", live.count, got)
	}
	if sp != nil {
		if r := resident(live); r != 1 {
			t.Fatalf("%d segments of %d resident", r, len(live.segs))
		}
		// The places the dropped segments had are used again: the file
		// holds no more than the most segments ever spilled at once.
		sp.mu.Lock()
		end := sp.end
		sp.mu.Unlock()
		if seg := int64(len(live.segs[len(live.segs)-1].mem)); end > 8*seg {
			t.Fatalf("spill file of %d bytes, segments of %d", end, seg)
		}
	}
}

// resident counts x's segments in memory.
func resident(x *index) int {
	n := 0
	for _, s := range x.segs {
		if !s.spilled {
			n++
		}
	}
	return n
}

// assumeRoleEntry is an AssumeRole's lookup attributes, as the scale run
// records them.
func assumeRoleEntry(i int) entry {
	return entry{account: "123456789012", id: NewUUID(), name: "AssumeRole", source: "sts.amazonaws.com",
		user: fmt.Sprintf("u%07d", i), accessKey: fmt.Sprintf("AKIA%016d", i),
		resources: []Resource{{Type: "AWS::IAM::Role", ARN: fmt.Sprintf("arn:aws:iam::123456789012:role/r%07d", i)},
			{Type: "AWS::IAM::AccessKey", ARN: fmt.Sprintf("ASIA%016d", i)}}}
}

// Packed attributes read back as they were written, whichever way each was
// packed: an event id as a UUID or as bytes, values by the dictionary or
// as bytes (too long for it), and the filters select on each.
func TestAttrsRoundTrip(t *testing.T) {
	long := strings.Repeat("n", maxDictString+1)
	for _, e := range []entry{
		assumeRoleEntry(7),
		{account: "123456789012", id: "03012816-7999-4BCB-8598-E7348EEA0B40", name: long, source: "iam.amazonaws.com", user: "root"},
		{account: "", id: "", name: "CreateUser", resources: []Resource{{Type: long, ARN: ""}}},
		{account: "210987654321", id: "not-a-uuid-but-36-characters-long-xx", name: "GetCallerIdentity", source: "sts.amazonaws.com"},
		{id: "0301281g-7999-4bcb-8598-e7348eea0b40", name: "ListRoles"},
	} {
		b := appendAttrs(nil, &e)
		got := decode(&slot{}, b)
		if e.resources == nil {
			got.resources = nil
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("decoded\n%+v\nwant\n%+v", got, e)
		}
		for attr, v := range map[string]string{"EventId": e.id, "EventName": e.name, "EventSource": e.source, "Username": e.user, "AccessKeyId": e.accessKey} {
			f := Filter{Account: e.account, Attribute: attr, Value: v}
			if !f.matchSlot(&slot{}, b) {
				t.Errorf("%s %q: not matched in %+v", attr, v, e)
			}
			if f.Value += "x"; f.matchSlot(&slot{}, b) {
				t.Errorf("%s %q: matched in %+v", attr, f.Value, e)
			}
		}
		if (&Filter{Account: e.account + "1"}).matchSlot(&slot{}, b) {
			t.Errorf("another account's filter matched %+v", e)
		}
	}
	e := assumeRoleEntry(8)
	b := appendAttrs(nil, &e)
	if len(b) > blobPerSlot-30 {
		t.Errorf("an AssumeRole's attributes take %d bytes", len(b))
	}
	f := Filter{Account: e.account, Attribute: "EventId", Value: e.id}
	if n := testing.AllocsPerRun(100, func() { f.matchSlot(&slot{}, b) }); n != 0 {
		t.Errorf("matchSlot allocates %.0f times", n)
	}
}

// The dictionary numbers values until it is full, then declines; a value
// numbered keeps its number.
func TestDictionaryBound(t *testing.T) {
	var d dictionary
	for i := range maxDict {
		if id, ok := d.id(fmt.Sprint(i)); !ok || id != uint32(i) {
			t.Fatalf("value %d: id %d %v", i, id, ok)
		}
	}
	if _, ok := d.id("one more"); ok {
		t.Fatal("a full dictionary numbered another value")
	}
	if id, ok := d.id("17"); !ok || id != 17 || d.str(17) != "17" || d.str(maxDict) != "" {
		t.Fatalf("value 17: %d %v %q", id, ok, d.str(17))
	}
	if _, ok := (&dictionary{}).id(strings.Repeat("x", maxDictString+1)); ok {
		t.Fatal("a value over maxDictString numbered")
	}
}

// The default index holds more AssumeRole events than it did with their
// attributes as text in segments of 256 bytes a slot (110,000 in 32 MiB):
// some 120,000 in 24 MiB.
func TestIndexHoldsMoreEvents(t *testing.T) {
	x := newIndex(DefaultIndexMax, DefaultIndexBytes)
	defer x.dropAll()
	var attrs []byte
	for i := range DefaultIndexMax {
		e := assumeRoleEntry(i)
		attrs = appendAttrs(attrs[:0], &e)
		x.add(slot{seq: uint64(i + 1)}, attrs)
	}
	if x.count < 115_000 || x.bytes > DefaultIndexBytes {
		t.Fatalf("%d events in %d bytes", x.count, x.bytes)
	}
	t.Logf("%d AssumeRole events in %d MiB", x.count, x.bytes>>20)
}

// FuzzAttrs: any entry's attributes read back as written, and no bytes
// make a reader panic or read past them.
func FuzzAttrs(f *testing.F) {
	e := assumeRoleEntry(1)
	f.Add(e.account, e.id, e.name, e.source, e.user, e.accessKey, "AWS::IAM::Role", e.resources[0].ARN, []byte{})
	f.Add("", "", "", "", "", "", "", "", []byte{2, 1, 2, 3})
	f.Add("1", "03012816-7999-4bcb-8598-e7348eea0b4", "x", "y", "z", "w", "t", "a", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, account, id, name, source, user, accessKey, typ, arn string, junk []byte) {
		cut := func(s string) string { return cutRunes(validUTF8(s), maxAttrString) } // as the line holds it, cut at a character
		e := entry{account: account, id: id, name: name, source: source, user: user, accessKey: accessKey,
			resources: []Resource{{Type: typ, ARN: arn}}}
		got := decode(&slot{}, appendAttrs(nil, &e))
		want := entry{account: cut(account), id: cut(id), name: cut(name), source: cut(source), user: cut(user), accessKey: cut(accessKey),
			resources: []Resource{{Type: cut(typ), ARN: cut(arn)}}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %+v, want %+v", got, want)
		}
		// Bytes no writer made: read without a panic, whatever comes out.
		decode(&slot{}, junk)
		for _, attr := range []string{"", "EventId", "EventName", "Username", "AccessKeyId", "ResourceName"} {
			(&Filter{Account: account, Attribute: attr, Value: id}).matchSlot(&slot{}, junk)
		}
	})
}

// A segment the spill file cannot take (its write fails: a full disk)
// stays in memory, and its events are found as before; the index goes on
// spilling once the file takes writes again.
func TestIndexSpillWriteFails(t *testing.T) {
	dir := t.TempDir()
	sp := openSpill(dir)
	if sp == nil {
		t.Fatal("no spill file")
	}
	good := sp.f
	defer good.Close()
	ro, err := os.Open(os.DevNull) // read-only: every WriteAt fails
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	sp.f = ro
	x := newIndex(1000, 1<<30)
	x.segCap, x.sp = 64, sp
	defer x.dropAll()
	ten := func(seq uint64) int { return int(seq-1)/10 + 1 }
	addEvents(x, 1, 200, ten) // four segments, the first three full
	if r := resident(x); r != len(x.segs) || r != 4 {
		t.Fatalf("%d of %d segments resident, want all 4 (the spill file refused them)", r, len(x.segs))
	}
	sp.f = good
	addEvents(x, 201, 300, ten)
	if got := indexSeqs(t, x); len(got) != 300 || got[0] != 300 || got[299] != 1 {
		t.Fatalf("%d events, newest %d", len(got), got[0])
	}
	if r := resident(x); r != 4 || len(x.segs) != 5 || !x.segs[3].spilled {
		t.Fatalf("%d of %d segments resident, want the 3 refused and the newest (the fourth spilled)", r, len(x.segs))
	}
}
