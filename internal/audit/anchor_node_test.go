//go:build unix

package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// nodeAnchor keeps one head per node, as the PostgreSQL store does.
type nodeAnchor struct {
	mu    sync.Mutex
	heads map[string]chainStart
}

func (a *nodeAnchor) LoadHead(_ context.Context, node string) (uint64, string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.heads[node]
	return h.seq, h.hash, nil
}

func (a *nodeAnchor) StoreHead(_ context.Context, node string, seq uint64, hash string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.heads == nil {
		a.heads = map[string]chainStart{}
	}
	a.heads[node] = chainStart{seq: seq, hash: hash}
	return nil
}

func (a *nodeAnchor) get(node string) chainStart {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.heads[node]
}

func alertRules(t *testing.T, dir string) []string {
	t.Helper()
	var rules []string
	if err := Query(dir, Filter{}, func(line []byte) error {
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return err
		}
		if r.EventType == AlertEventType {
			rules = append(rules, r.EventName)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rules
}

func twoSealedRunsAs(t *testing.T, node string, quiet *slog.Logger) (string, *nodeAnchor) {
	a := &nodeAnchor{}
	return sealTwice(t, a, node, quiet), a
}

// TestEmptyFilesDoNotHideTheSignedNode (found by a second review as an
// attacker; the first lines of every file are now read, newest first, after
// the attack as it was): the forger cuts node A's trail
// (removes its newest sealed file), changes DATA_DIR/node-id, and plants
// two empty trail files after the last one. signedNode looks in the last
// two files only, finds no node there, and returns ""; openHead then
// removes the empty files. The restart takes it for a first start (a low
// AuditTrailNotChecked), not AuditTrailChanged / AuditTrailNodeChanged.
func TestEmptyFilesDoNotHideTheSignedNode(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, a := twoSealedRunsAs(t, "nodeA", quiet)
	if err := os.Remove(filepath.Join(dir, FileName(2))); err != nil { // the cut
		t.Fatal(err)
	}
	for _, n := range []int{2, 3}[:emptyFiles()] { // two empty files
		if err := os.WriteFile(filepath.Join(dir, FileName(n)), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := Open(Config{Dir: dir, Key: testKey, Anchor: a, Node: "nodeB", Log: quiet}) // node-id changed
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	rules := alertRules(t, dir)
	for _, r := range rules {
		if r == AlertTrailChanged || r == AlertTrailNodeChanged {
			return
		}
	}
	t.Fatalf("cut trail + node-id change + two empty files: alerts %v (a first start), no %s/%s", rules, AlertTrailChanged, AlertTrailNodeChanged)
}

// alertFails fails (after writing half) every write that carries the
// AuditTrailChanged alert: the volume fills, or errs, between the file's
// first checkpoint and the alert.
type alertFails struct{ w io.Writer }

func (f alertFails) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(AlertTrailChanged)) {
		n, _ := f.w.Write(p[:len(p)/2])
		return n, io.ErrShortWrite
	}
	return f.w.Write(p)
}

// TestNothingIsAnchoredBeforeTheAlert (found by a second review as an
// attacker; anchoring is now held while Open writes its alert): 4fd0db5 wrote the
// AuditTrailChanged alert "before any head of this run is anchored". With
// a Node, write() now first writes startFile's checkpoint, which anchors
// the head of the forged trail, and only then the alert. When the alert
// cannot be written Open fails, but the store already holds the forged
// trail's head: the next restart finds the trail consistent, no alert.
func TestNothingIsAnchoredBeforeTheAlert(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir, a := twoSealedRunsAs(t, "nodeA", quiet)
	old := a.get("nodeA")
	if err := os.Remove(filepath.Join(dir, FileName(2))); err != nil { // the cut
		t.Fatal(err)
	}
	_, err := Open(Config{Dir: dir, Key: testKey, Anchor: a, Node: "nodeA", Log: quiet,
		wrap: func(w io.Writer) io.Writer { return alertFails{w} }})
	if err == nil || !strings.Contains(err.Error(), "cannot be written") {
		t.Fatalf("Open: %v", err)
	}
	moved := a.get("nodeA") != old
	tr, err := Open(Config{Dir: dir, Key: testKey, Anchor: a, Node: "nodeA", Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if !alertedIn(t, dir) {
		t.Fatalf("anchor moved to the forged trail: %v; after the failed start, the restart raised no %s (alerts %v)", moved, AlertTrailChanged, alertRules(t, dir))
	}
}

// emptyFiles is how many empty files the forger plants after the cut.
func emptyFiles() int { return 2 }

// TestEveryFileNamesItsNode: with retention, a file opened by a rotation
// begins with a prune mark; the node's checkpoint comes right after it, so
// that every file of the trail names the node in its first lines (found by
// a review as an attacker: it was skipped after a prune mark).
func TestEveryFileNamesItsNode(t *testing.T) {
	dir := pastRetention(t, "node-7")
	sum, err := Verify(dir, testPub)
	if err != nil || sum.PrunedThrough < 1 {
		t.Fatalf("after retention: %+v %v", sum, err)
	}
	files, _ := listFiles(dir)
	pruneFirst := 0
	for _, f := range files {
		ls := firstLines(filepath.Join(dir, f), 3)
		if len(ls) > 0 && strings.Contains(string(ls[0]), `"prune"`) {
			pruneFirst++
		}
		if got := signedNode(dir, []string{f}, testPub); got != "node-7" {
			t.Errorf("%s names node %q in its first lines", f, got)
		}
	}
	if pruneFirst == 0 {
		t.Fatal("no file began with a prune mark: the case is not tested")
	}
}
