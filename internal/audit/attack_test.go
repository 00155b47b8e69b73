package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensts/opensts/internal/pipeline"
)

var testPub = testKey.Public().(ed25519.PublicKey)

// failingWriter writes half of what it is given and fails while fail is
// set, as a disk that fills up or breaks mid-write does.
type failingWriter struct {
	w    io.Writer
	fail *atomic.Bool
}

func (f failingWriter) Write(p []byte) (int, error) {
	if f.fail.Load() {
		n, _ := f.w.Write(p[:len(p)/2])
		return n, errors.New("input/output error")
	}
	return f.w.Write(p)
}

// TestWriteFailureResumesTheChain: writes fail (leaving half a line on
// disk), then succeed again: the trail goes on from the last whole record
// and verifies, holding exactly the events written while the disk worked.
func TestWriteFailureResumesTheChain(t *testing.T) {
	t.Parallel()
	for _, strict := range []bool{false, true} {
		dir := t.TempDir()
		var fail atomic.Bool
		tr, err := Open(Config{Dir: dir, Key: testKey, Strict: strict, StrictWait: time.Second, MaxBytes: 6 << 10,
			wrap: func(w io.Writer) io.Writer { return failingWriter{w, &fail} }})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		ok := 0
		for i := range 30 {
			fail.Store(i >= 5 && i < 12)
			err := tr.Record(ctx, exchange(i))
			if ferr := tr.Flush(ctx); ferr == nil && err == nil && !fail.Load() {
				ok++
			}
			if strict && fail.Load() && !errors.Is(err, ErrUnavailable) {
				t.Errorf("strict: write %d failed but Record = %v", i, err)
			}
		}
		fail.Store(false)
		if !strict && tr.Dropped() != 7 {
			t.Errorf("dropped %d, want 7", tr.Dropped())
		}
		tr.Close()
		sum, err := Verify(dir, testPub)
		if err != nil || sum.Records != ok || ok != 23 {
			t.Errorf("strict=%v: after failed writes: %+v %v (%d written)", strict, sum, err, ok)
		}
	}
}

// TestRecoveredMark: a file a crash left unsealed is sealed on restart
// with a signed recovered mark that verify reports; the mark cannot be
// taken off, and a file left unsealed without a restart is still flagged.
func TestRecoveredMark(t *testing.T) {
	t.Parallel()
	dir := writeTrail(t, 5, 1<<20)
	p := filepath.Join(dir, FileName(1))
	ls := lines(t, p)
	writeLines(t, p, ls[:len(ls)-1]) // the crash: no digest
	tr, err := Open(Config{Dir: dir, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Record(context.Background(), exchange(7)); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	sum, err := Verify(dir, testPub)
	if err != nil || len(sum.Recovered) != 1 || sum.Recovered[0] != FileName(1) || sum.Sealed != 2 {
		t.Fatalf("recovered: %+v %v", sum, err)
	}
	// Taking the mark off breaks the signature.
	ls = lines(t, p)
	ls[len(ls)-1] = strings.Replace(ls[len(ls)-1], `"recovered":true,`, "", 1)
	writeLines(t, p, ls)
	if _, err := Verify(dir, testPub); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Errorf("mark removed: %v", err)
	}
	// A digest removed from a file that is not the last (no restart).
	dir = writeTrail(t, 30, 8<<10)
	p = filepath.Join(dir, FileName(1))
	ls = lines(t, p)
	writeLines(t, p, ls[:len(ls)-1])
	if _, err := Verify(dir, testPub); err == nil || !strings.Contains(err.Error(), "without its signed digest") {
		t.Errorf("digest removed: %v", err)
	}
}

// TestVerifyHead: dropping the newest file, or the newest records and a
// forged-free digest, passes a plain verify but not one given the head
// recorded before.
func TestVerifyHead(t *testing.T) {
	t.Parallel()
	clean := writeTrail(t, 30, 8<<10)
	seq, hash, err := Head(clean)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := VerifyWith(clean, testPub, Options{HeadSeq: seq, HeadHash: hash})
	if err != nil || sum.HeadSeq != seq || sum.HeadHash != hash {
		t.Fatalf("intact with head: %+v %v", sum, err)
	}
	files, _ := listFiles(clean)
	dir := t.TempDir()
	copyDir(t, clean, dir)
	last := files[len(files)-1]
	os.Remove(filepath.Join(dir, last))
	if _, err := Verify(dir, testPub); err != nil {
		t.Fatalf("without --head the dropped tail is not seen (the reason for --head): %v", err)
	}
	_, err = VerifyWith(dir, testPub, Options{HeadSeq: seq, HeadHash: hash})
	prev := files[len(files)-2]
	if err == nil || !strings.Contains(err.Error(), "tail truncated") || !strings.HasPrefix(err.Error(), `"`+prev+`":`) {
		t.Errorf("tail dropped: %v", err)
	}
	// A head whose hash is not the record's.
	bad := strings.Repeat("0", 64)
	if _, err := VerifyWith(clean, testPub, Options{HeadSeq: seq, HeadHash: bad}); err == nil || !strings.Contains(err.Error(), "recorded head") {
		t.Errorf("wrong head hash: %v", err)
	}
	if _, _, err := ParseHead("12:" + bad); err != nil {
		t.Error(err)
	}
	for _, s := range []string{"", "12", "0:" + bad, "x:" + bad, "12:" + bad[:10], "12:" + strings.ToUpper(strings.Repeat("a", 64))} {
		if _, _, err := ParseHead(s); err == nil {
			t.Errorf("ParseHead(%q) accepted", s)
		}
	}
}

// TestFirstFilesRemoved: removing the oldest files is detected, unless
// retention removed them and said so in a signed record.
func TestFirstFilesRemoved(t *testing.T) {
	t.Parallel()
	clean := writeTrail(t, 30, 8<<10)
	for _, k := range []int{1, 2} {
		dir := t.TempDir()
		copyDir(t, clean, dir)
		for i := 1; i <= k; i++ {
			os.Remove(filepath.Join(dir, FileName(i)))
		}
		_, err := Verify(dir, testPub)
		if err == nil || !strings.HasPrefix(err.Error(), `"`+FileName(k+1)+`":1:`) || !strings.Contains(err.Error(), "first files were removed") {
			t.Errorf("first %d files removed: %v", k, err)
		}
	}

	// Retention: files older than an hour go at the next rotation.
	dir := pastRetention(t, "")
	sum, err := Verify(dir, testPub)
	if err != nil || sum.PrunedThrough < 1 {
		t.Fatalf("after retention: %+v %v", sum, err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName(1))); !os.IsNotExist(err) {
		t.Fatalf("retention kept %s: %v", FileName(1), err)
	}
	// Removing one more file than retention did is still detected.
	first := FileName(sum.PrunedThrough + 1)
	os.Remove(filepath.Join(dir, first))
	if _, err := Verify(dir, testPub); err == nil || !strings.Contains(err.Error(), "first files were removed") {
		t.Errorf("one more removed after retention: %v", err)
	}
}

// TestVerifyQuotesFileNames: a planted file whose name carries terminal
// escapes is named quoted.
func TestVerifyQuotesFileNames(t *testing.T) {
	t.Parallel()
	dir := writeTrail(t, 3, 1<<20)
	evil := "audit-\x1b[2J\x1b]0;pwned\x07\n1.jsonl"
	if err := os.WriteFile(filepath.Join(dir, evil), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Verify(dir, testPub)
	if err == nil || strings.ContainsAny(err.Error(), "\x1b\x07\n") || !strings.Contains(err.Error(), `\x1b[2J`) {
		t.Errorf("planted name: %q", err)
	}
}

func buildLine(t *testing.T, x *pipeline.Exchange) map[string]any {
	t.Helper()
	recs := Build(BuildConfig{Account: "123456789012", NewID: NewUUID}, x)
	b := append(appendRecord(nil, &recs[0]), `,"seq":1,"prevHash":""}`...)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	m["_len"] = len(b)
	return m
}

// TestDecodeAuthorizationMessageIsNotRecorded: the decoded message (policy
// details) is not written; responseElements is null, as in AWS.
func TestDecodeAuthorizationMessageIsNotRecorded(t *testing.T) {
	type out struct{ DecodedMessage string }
	x := &pipeline.Exchange{RequestID: "r", Time: time.Now(), HTTP: httptest.NewRequest("POST", "/", nil), API: &pipeline.API{Name: "sts"},
		Action: "DecodeAuthorizationMessage", Input: &struct{ EncodedMessage string }{"enc"}, Output: &out{`{"allowed":false,"context":{"secretPolicy":"x"}}`}}
	m := buildLine(t, x)
	if m["responseElements"] != nil {
		t.Errorf("responseElements = %v, want null", m["responseElements"])
	}
	// Other STS answers are kept (the minted key joins later calls back).
	x.Action = "GetCallerIdentity"
	if m := buildLine(t, x); m["responseElements"] == nil {
		t.Error("GetCallerIdentity's responseElements dropped")
	}
}

// TestLargeElementsAreOmitted: request parameters over 100 KiB are
// replaced by a marker with their size.
func TestLargeElementsAreOmitted(t *testing.T) {
	big := strings.Repeat("a", 150<<10)
	x := &pipeline.Exchange{RequestID: "r", Time: time.Now(), HTTP: httptest.NewRequest("POST", "/", nil), API: &pipeline.API{Name: "iam"},
		Action: "CreatePolicy", Input: &struct{ PolicyName, PolicyDocument string }{"p", big}}
	m := buildLine(t, x)
	rp, _ := m["requestParameters"].(map[string]any)
	if rp["omitted"] != true || rp["originalSize"].(float64) < 150<<10 || m["_len"].(int) > 8<<10 {
		t.Errorf("requestParameters %v, line %d bytes", rp, m["_len"])
	}
	x.Input = &struct{ PolicyName, PolicyDocument string }{"p", strings.Repeat("a", 90<<10)}
	if rp, _ := buildLine(t, x)["requestParameters"].(map[string]any); rp["policyName"] != "p" {
		t.Errorf("a 90 KiB document was omitted: %v", rp["omitted"])
	}
}

// TestRecoveryDoesNotSignAChangedFile: while the server is down after a
// crash, someone with write access to the trail drops a record from the
// file left open. Restarting sealed it, signing the change, and verify
// called the trail intact (found by a review as an attacker). The file's
// chain is now checked from the file before it: one that does not chain is
// left unsealed, verify names it, and the trail goes on in the next file.
// (A forger who also renumbers and rechains every later record of the open
// file is not caught by this: nothing signs a file before it is sealed, so
// only a head recorded elsewhere, audit verify --head, or a copy the sinks
// sent away shows it; see README.)
func TestRecoveryDoesNotSignAChangedFile(t *testing.T) {
	t.Parallel()
	for _, change := range []struct {
		name string
		do   func([]string) []string
	}{
		{"a record dropped", func(ls []string) []string { return append([]string{ls[0]}, ls[2:]...) }},
		{"a record edited", func(ls []string) []string {
			return append(append([]string{ls[0]}, strings.Replace(ls[1], `"eventName":"`, `"eventName":"X`, 1)), ls[2:]...)
		}},
		{"the first record replaced", func(ls []string) []string { return append([]string{ls[1]}, ls[1:]...) }},
		// Found by a review of the fast read of the chain (chainOf): a
		// record replaced by what is not JSON, with the chain's suffix
		// and every later record rechained, was sealed; the restart
		// checks each record is JSON, as it did when it decoded them.
		{"a record replaced by text that is not JSON, the rest rechained", func(ls []string) []string {
			ls = slices.Clone(ls)
			ls[1] = "{NOT JSON <script>\x01" + ls[1][strings.LastIndex(ls[1], `,"seq":`):]
			for j := 2; j < len(ls); j++ {
				i := strings.LastIndex(ls[j], `,"prevHash":"`)
				ls[j] = ls[j][:i] + `,"prevHash":"` + hashLine([]byte(strings.TrimSuffix(ls[j-1], "\n"))) + "\"}\n"
			}
			return ls
		}},
	} {
		dir := writeTrail(t, 30, 8<<10)
		files, err := listFiles(dir)
		if err != nil || len(files) < 3 {
			t.Fatalf("%v %v", files, err)
		}
		last := filepath.Join(dir, files[len(files)-1])
		ls := lines(t, last)
		changed := change.do(ls[:len(ls)-1]) // the crash: no digest
		writeLines(t, last, changed)
		tr, err := Open(Config{Dir: dir, Key: testKey, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Record(context.Background(), exchange(99)); err != nil {
			t.Fatal(err)
		}
		tr.Close()
		if got := lines(t, last); len(got) != len(changed) {
			t.Fatalf("%s: the changed file was sealed (%d lines, %d before)", change.name, len(got), len(changed))
		}
		if _, err := Verify(dir, testPub); err == nil || !strings.Contains(err.Error(), files[len(files)-1]) {
			t.Fatalf("%s: verify after the changed file was left unsealed: %v", change.name, err)
		}
	}
}

// TestCheckpointsAttestTheOpenFile: the writer signs the chain into the
// file it writes every Config.Checkpoint. A forger who, while the server is
// down after a crash, drops a record of the open file and renumbers and
// rechains every later one passes the restart's chain check, and the file
// is sealed (as recovered) — but a checkpoint after the dropped record no
// longer verifies, and verify names it. A change after the last checkpoint
// is not caught that way: verify counts those records as unattested. (The
// test asks for checkpoints at set places; the server's come every
// Config.Checkpoint, ten seconds by default.)
func TestCheckpointsAttestTheOpenFile(t *testing.T) {
	t.Parallel()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	write := func(t *testing.T) (string, []string) {
		dir := t.TempDir()
		now := make(chan struct{})
		tr, err := Open(Config{Dir: dir, Key: testKey, Checkpoint: -1, Strict: true, Log: quiet, checkpointNow: now})
		if err != nil {
			t.Fatal(err)
		}
		for i := range 12 {
			if err := tr.Record(context.Background(), exchange(i)); err != nil {
				t.Fatal(err)
			}
			if i%4 == 3 && i < 11 {
				now <- struct{}{} // a checkpoint after the fourth and the eighth event
			}
		}
		tr.Close()
		sum, err := Verify(dir, testPub)
		if err != nil || sum.Records != 12 || sum.Unattested != 0 {
			t.Fatalf("an intact trail with checkpoints: %+v %v", sum, err)
		}
		p := filepath.Join(dir, FileName(1))
		ls := lines(t, p)
		n := 0
		for _, l := range ls {
			if strings.Contains(l, `"eventType":"`+CheckpointType+`"`) {
				n++
			}
		}
		if n != 2 {
			t.Fatalf("%d checkpoints in %d lines, want 2", n, len(ls))
		}
		return dir, ls[:len(ls)-1] // the crash: no digest
	}
	restart := func(t *testing.T, dir string) {
		tr, err := Open(Config{Dir: dir, Key: testKey, Log: quiet})
		if err != nil {
			t.Fatal(err)
		}
		tr.Close()
	}

	dir, ls := write(t)
	writeLines(t, filepath.Join(dir, FileName(1)), rechainWithout(t, ls, 1)) // the second event, before both checkpoints
	restart(t, dir)
	if _, err := Verify(dir, testPub); err == nil || !strings.Contains(err.Error(), "checkpoint signature does not verify") {
		t.Fatalf("a record dropped before a checkpoint, the rest rechained: %v", err)
	}

	dir, ls = write(t)
	writeLines(t, filepath.Join(dir, FileName(1)), rechainWithout(t, ls, len(ls)-1)) // the last event, after the last checkpoint
	restart(t, dir)
	sum, err := Verify(dir, testPub)
	if err != nil || len(sum.Recovered) != 1 || sum.Unattested != 3 {
		t.Fatalf("a record dropped after the last checkpoint: %+v %v (want it verified, recovered, with unattested records)", sum, err)
	}
}

// TestCheckpointTicker: the writer signs a checkpoint once events came
// since its last signature, and none while nothing comes.
func TestCheckpointTicker(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr, err := Open(Config{Dir: dir, Key: testKey, Checkpoint: 10 * time.Millisecond, Strict: true, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Record(context.Background(), exchange(1)); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		b, err := os.ReadFile(filepath.Join(dir, FileName(1)))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(b), `"eventType":"`+CheckpointType+`"`)
	}
	for deadline := time.Now().Add(5 * time.Second); count() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint within 5 s of an event")
		}
	}
	time.Sleep(100 * time.Millisecond) // ten ticks with nothing new
	if n := count(); n != 1 {
		t.Fatalf("%d checkpoints for one event", n)
	}
}

// pastRetention writes a trail of small files (6 KiB) with a retention of
// an hour, ages all but the last file two hours and writes on, so that
// the next rotations prune them; node is Config.Node.
func pastRetention(t *testing.T, node string) string {
	t.Helper()
	dir := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	tr, err := Open(Config{Dir: dir, Key: testKey, Strict: true, MaxBytes: 6 << 10, Retention: time.Hour, Node: node,
		Now: func() time.Time { return time.Unix(0, clock.Load()) }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 12 {
		if err := tr.Record(ctx, exchange(i)); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := listFiles(dir)
	for _, f := range files[:len(files)-1] {
		if err := os.Chtimes(filepath.Join(dir, f), now, now); err != nil {
			t.Fatal(err)
		}
	}
	clock.Store(now.Add(2 * time.Hour).UnixNano())
	for i := range 12 {
		if err := tr.Record(ctx, exchange(20+i)); err != nil {
			t.Fatal(err)
		}
	}
	tr.Close()
	return dir
}

// writeCheckpointed writes n events into a new trail of cfg (Dir and Log
// set; strict, checkpoints only when asked), asking for a checkpoint after
// event at, and closes it.
func writeCheckpointed(t *testing.T, cfg Config, n, at int) {
	t.Helper()
	now := make(chan struct{})
	cfg.Key, cfg.Checkpoint, cfg.Strict, cfg.checkpointNow = testKey, -1, true, now
	tr, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := tr.Record(context.Background(), exchange(i)); err != nil {
			t.Fatal(err)
		}
		if i == at {
			now <- struct{}{}
		}
	}
	tr.Close()
}

// withoutACheckpointedRecord is the forgery the files alone cannot show:
// the second line of ls dropped, then the first checkpoint, each time the
// rest renumbered and rechained.
func withoutACheckpointedRecord(t *testing.T, ls []string) []string {
	t.Helper()
	forged := rechainWithout(t, ls, 1)
	for i, l := range forged {
		if strings.Contains(l, `"eventType":"`+CheckpointType+`"`) {
			return rechainWithout(t, forged, i)
		}
	}
	t.Fatal("no checkpoint")
	return nil
}

// rechainWithout drops line i of ls (a file's lines, each ending in a
// newline) and renumbers and rechains the lines after it, as someone who can
// write the trail, but holds no key, would.
func rechainWithout(t *testing.T, ls []string, i int) []string {
	t.Helper()
	out := append([]string(nil), ls[:i]...)
	for _, l := range ls[i+1:] {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		before := strings.TrimSuffix(out[len(out)-1], "\n")
		var prev struct {
			Seq float64 `json:"seq"`
		}
		if err := json.Unmarshal([]byte(before), &prev); err != nil {
			t.Fatal(err)
		}
		r["seq"], r["prevHash"] = prev.Seq+1, hashLine([]byte(before))
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b)+"\n")
	}
	return out
}

// TestLoggedCheckpointHeadCatchesRemovedCheckpoints: a forger who changes a
// record of the open file and removes every checkpoint after it, then
// rechains, leaves files that verify (found by a review of the checkpoints
// as an attacker): nothing in them says a checkpoint was there. The head
// each checkpoint logs, kept by whatever collects the logs, is what shows
// it: verify --head with it fails.
func TestLoggedCheckpointHeadCatchesRemovedCheckpoints(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var logged strings.Builder
	writeCheckpointed(t, Config{Dir: dir, Log: slog.New(slog.NewTextHandler(&logged, nil))}, 8, 5)
	m := regexp.MustCompile(`msg="audit: checkpoint" file=\S+ head=(\d+:[0-9a-f]{64})`).FindStringSubmatch(logged.String())
	if m == nil {
		t.Fatalf("no checkpoint head logged: %s", logged.String())
	}
	headSeq, headHash, err := ParseHead(m[1])
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, FileName(1))
	ls := lines(t, p)
	ls = ls[:len(ls)-1] // the crash: no digest
	writeLines(t, p, withoutACheckpointedRecord(t, ls))
	tr, err := Open(Config{Dir: dir, Key: testKey, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if _, err := Verify(dir, testPub); err != nil {
		t.Fatalf("without a head the forgery is not seen, as the README says; but verify failed: %v", err)
	}
	if _, err := VerifyWith(dir, testPub, Options{HeadSeq: headSeq, HeadHash: headHash}); err == nil {
		t.Fatal("verify --head with the logged checkpoint head passed a trail whose checkpoint was removed")
	}
}

// TestVerifyZeroBytesAfterTheDigest: zero bytes appended to a sealed file
// are named as inserted after its digest, not as a cut (a review found the
// zero bytes' message hid it).
func TestVerifyZeroBytesAfterTheDigest(t *testing.T) {
	t.Parallel()
	dir := writeTrail(t, 5, 0)
	files, _ := listFiles(dir)
	path := filepath.Join(dir, files[len(files)-1])
	n := len(lines(t, path))
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("\x00\x00\x00\n")); err != nil {
		t.Fatal(err)
	}
	f.Close()
	_, err = Verify(dir, testPub)
	if want := fmt.Sprintf("%q:%d: record after the file's digest (inserted)", files[len(files)-1], n+1); err == nil || err.Error() != want {
		t.Errorf("verify: %v, want %s", err, want)
	}
}

// TestVerifyNamesACutUnderTheWriter: a file cut while the server still
// writes it gets its next batch at its old end, behind zero bytes where
// the cut records were; verify names that line and says what happened,
// not only that it is not JSON.
func TestVerifyNamesACutUnderTheWriter(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tr, err := Open(Config{Dir: dir, Key: testKey, Build: BuildConfig{Region: "us-east-1", Account: "123456789012"}, Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := tr.Record(context.Background(), exchange(i)); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := listFiles(dir)
	path := filepath.Join(dir, files[len(files)-1])
	ls := lines(t, path)
	kept := len(strings.Join(ls[:len(ls)-2], ""))
	if err := os.Truncate(path, int64(kept)); err != nil {
		t.Fatal(err)
	}
	for i := 5; i < 7; i++ {
		if err := tr.Record(context.Background(), exchange(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Verify(dir, testPub)
	want := fmt.Sprintf("%q:%d: ", files[len(files)-1], len(ls)-1)
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "zero bytes") {
		t.Errorf("verify: %v, want %s... zero bytes", err, want)
	}
}

// FuzzVerifyDetectsChange: verify reads files an attacker may have
// written. Whatever replaces a sealed file that another file follows, it
// never panics, and it passes only when the file is as the trail wrote it:
// the file's records chain into the next file's and its digest is signed.
func FuzzVerifyDetectsChange(f *testing.F) {
	clean := writeTrail(f, 12, 2<<10)
	files, err := listFiles(clean)
	if err != nil || len(files) < 2 {
		f.Fatalf("want two files or more: %v %v", files, err)
	}
	orig, err := os.ReadFile(filepath.Join(clean, files[0]))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(orig)
	ls := bytes.SplitAfter(orig, []byte("\n"))
	f.Add(bytes.Join(ls[1:], nil))                                     // first record removed
	f.Add(bytes.Join(ls[:len(ls)-2], nil))                             // digest removed
	f.Add(append(bytes.Join(ls[:2], nil), bytes.Join(ls[1:], nil)...)) // a record twice
	f.Add(bytes.Replace(orig, []byte(`"user1"`), []byte(`"user7"`), 1))
	f.Add(bytes.Replace(orig, []byte("\n"), []byte("\r\n"), 1))
	f.Add(append(bytes.Clone(orig), '\n'))
	f.Add(append(make([]byte, 40), orig...))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		copyDir(t, clean, dir)
		if err := os.WriteFile(filepath.Join(dir, files[0]), data, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Verify(dir, testPub)
		if same := bytes.Equal(data, orig); same != (err == nil) {
			t.Fatalf("file as written %v, verify: %v", same, err)
		}
	})
}

// FuzzChainOf: on a line that is valid JSON, chainOf finds the seq and
// prevHash json.Unmarshal does (recovery reads a crash's file with it),
// or leaves the line to json.Unmarshal.
func FuzzChainOf(f *testing.F) {
	h := strings.Repeat("ab12", 16)
	for _, s := range []string{
		`{"eventName":"X","seq":7,"prevHash":"` + h + `"}`,
		`{"a":{"seq":7,"prevHash":"` + h + `"}}`,
		`{"seq":1,"a":"x","seq":7,"prevHash":"` + h + `"}`,
		`{"a":"\",\"seq\":7,\"prevHash\":\"` + h + `\"}"}`,
		`{"a":"x","seq":07,"prevHash":"` + h + `"}`,
		`{"a":"x","seq":18446744073709551616,"prevHash":"` + h + `"}`,
		`{"a":"x","seq":-7,"prevHash":"` + h + `"}`,
		`{"a":"x","prevHash":"` + h + `","seq":7}`,
		`{"a":"x" ,"seq":7,"prevHash":"` + h + `"}`,
		`{"seq":"x","seq":7,"prevHash":"` + h + `"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		seq, hash, ok := chainOf(line)
		if !ok || !json.Valid(line) {
			return
		}
		var r struct {
			Seq      uint64 `json:"seq"`
			PrevHash string `json:"prevHash"`
		}
		err := json.Unmarshal(line, &r)
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			// An earlier "seq" or "prevHash" of another type: chainOf
			// reads the last, as json.Unmarshal does, which also
			// reports the other; recovery then seals what verify
			// names (TestChainOf).
			return
		}
		if err != nil || r.Seq != seq || r.PrevHash != hash {
			t.Fatalf("chainOf %d %q, json.Unmarshal %d %q (%v)", seq, hash, r.Seq, r.PrevHash, err)
		}
	})
}

func TestChainOf(t *testing.T) {
	h := strings.Repeat("ab12", 16)
	for _, c := range []struct {
		line string
		seq  uint64 // 0: left to json.Unmarshal
	}{
		{`{"eventName":"X","seq":7,"prevHash":"` + h + `"}`, 7},
		{`{"seq":1,"a":"x","seq":18446744073709551615,"prevHash":"` + h + `"}`, 18446744073709551615},
		{`{"a":{"seq":7,"prevHash":"` + h + `"}}`, 0},
		{`{"a":"x","seq":07,"prevHash":"` + h + `"}`, 0},
		{`{"a":"x","seq":18446744073709551616,"prevHash":"` + h + `"}`, 0},
		{`{"a":"x","seq":7,"prevHash":"` + strings.ToUpper(h) + `"}`, 0},
		{`{"a":"x","seq":7,"prevHash":"` + h[1:] + `"}`, 0},
		{`{"a":"x","seq":7,"prevHash":""}`, 0},
		{`{"a":"x","seq":,"prevHash":"` + h + `"}`, 0},
		{`["x","seq":7,"prevHash":"` + h + `"}`, 0},
		// Valid JSON whose first "seq" is not a number: json.Unmarshal
		// reads 7 and reports the string; chainOf reads 7.
		{`{"seq":"x","seq":7,"prevHash":"` + h + `"}`, 7},
	} {
		seq, hash, ok := chainOf([]byte(c.line))
		if ok != (c.seq != 0) || ok && (seq != c.seq || hash != h) {
			t.Errorf("chainOf(%s) = %d %q %v, want %d", c.line, seq, hash, ok, c.seq)
		}
	}
}
