package devserver

import (
	"bufio"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// AnonSplit reads /proc/PID/smaps and splits the process's anonymous
// resident memory (KiB) into what lies in the Go heap's arenas (spans and
// stacks: the runtime maps them at addresses it picks, below the area the
// kernel hands out mappings from, which starts under 0x7f0000000000 on
// x86-64) and the rest (the runtime's own metadata, and memory mapped
// outside the Go heap), with the resident KiB of the largest mappings of
// the rest.
func AnonSplit(pid int) (heap, rest int64, largest []int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return 0, 0, nil, err
	}
	defer f.Close()
	const mmapArea = 0x7f0000000000
	var start uint64
	var anon bool
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if lo, _, ok := strings.Cut(fields[0], "-"); ok && !strings.HasSuffix(fields[0], ":") {
			start, _ = strconv.ParseUint(lo, 16, 64)
			anon = len(fields) < 6 // no path: anonymous
			continue
		}
		if fields[0] != "Rss:" || !anon || len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		if start < mmapArea {
			heap += kb
		} else {
			rest += kb
			largest = append(largest, kb)
		}
	}
	slices.Sort(largest)
	slices.Reverse(largest)
	return heap, rest, largest[:min(len(largest), 8)], sc.Err()
}
