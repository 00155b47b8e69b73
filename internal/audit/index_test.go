package audit

import (
	"slices"
	"testing"
)

// indexSeqs lists the seqs of x, newest first.
func indexSeqs(x *index) []uint64 {
	var out []uint64
	x.each(func(s *slot, _ []byte) bool {
		out = append(out, s.seq)
		return true
	})
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
// segment in the middle.
func TestIndexPrepend(t *testing.T) {
	byTen := func(seq uint64) int { return int(seq-1)/10 + 1 } // ten events a file
	old := newIndex(1000, 1<<30)
	old.segCap = 64
	addEvents(old, 1, 100, byTen) // segments of 64 and 36
	live := newIndex(1000, 1<<30)
	live.segCap = 64
	addEvents(live, 101, 150, byTen)
	defer live.dropAll()
	live.prepend(old)
	var want []uint64
	for seq := uint64(150); seq >= 1; seq-- {
		want = append(want, seq)
	}
	if got := indexSeqs(live); !slices.Equal(got, want) || live.count != 150 || old.count != 0 || len(old.segs) != 0 {
		t.Fatalf("after prepend: count %d, %v", live.count, got)
	}
	addEvents(live, 151, 160, byTen) // still added after the others
	if got := indexSeqs(live); got[0] != 160 || len(got) != 160 {
		t.Fatalf("added after prepend: %d events, newest %d", len(got), got[0])
	}
	// Retention removed files 1-11 (events 1-110): the first segment, the
	// partly filled one, and part of the live segments.
	live.dropFiles(12)
	if got := indexSeqs(live); len(got) != 50 || got[len(got)-1] != 111 || live.count != 50 {
		t.Fatalf("after retention: count %d, %v", live.count, got)
	}
	// Bounds: the oldest segments go first.
	live.maxCount = 20
	live.trim()
	got := indexSeqs(live)
	if live.count > 64+20 || got[0] != 160 || live.count != len(got) {
		t.Fatalf("after trim to 20: count %d, %v", live.count, got)
	}
}
