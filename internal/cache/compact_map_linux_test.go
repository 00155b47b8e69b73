package cache

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// mappingRss is the resident bytes of the mapping that starts at b's first
// byte (/proc/self/smaps).
func mappingRss(t *testing.T, b []byte) int64 {
	t.Helper()
	start := uintptr(unsafe.Pointer(&b[0]))
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '-'); i > 0 && !strings.Contains(line[:i], ":") && !strings.HasSuffix(line, "kB") {
			a, err := strconv.ParseUint(line[:i], 16, 64)
			in = err == nil && uintptr(a) == start
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("mapping not found in smaps")
	return 0
}

// TestAttackMappedRssPastWrap: once the file has wrapped (it grows no
// more), a few live records rewritten and read lap after lap must not map
// the whole file: the mapping's pages are dropped by bytes written, and
// what it holds resident stays near what MappedBytes says (found by a
// review as an attacker: before, 1.79 MB resident against 2 KB reported).
func TestAttackMappedRssPastWrap(t *testing.T) {
	rec := recordHeader + len("k00000") + 100
	// 60,000 records: almost four laps of 16,000.
	tr := rewriteMapped(t, 1000*rec, 40*rec, 6000, nil)
	if tr.mapped.b == nil {
		t.Fatal("left the mapping")
	}
	rss, claimed := mappingRss(t, tr.mapped.b), tr.MappedBytes()
	t.Logf("file %d bytes, live %d, MappedBytes %d, mapping RSS %d", tr.extent, tr.bytes, claimed, rss)
	// Fault-around maps up to 64 KiB about each read's page.
	if rss > claimed+64<<10 {
		t.Fatalf("mapping holds %d bytes resident, MappedBytes says at most %d", rss, claimed)
	}
}
