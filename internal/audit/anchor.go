package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Anchor keeps the trail's head as of its last signature (the seq and hash
// of its newest checkpoint or digest) somewhere that whoever can write the
// trail's files cannot rewrite: the server's store, which with PostgreSQL
// is another machine's. The files alone cannot show that a forger who
// changed a record also removed the checkpoints after it, nor that the file
// a crash left open was removed whole; the anchored head can, since the
// trail must still hold that record as it was signed. The writer stores it
// after each checkpoint and seal (from a goroutine of its own: the store
// never holds up the writer); Open checks it before it seals a file a
// crash left open, and `opensts audit verify` checks it by default.
type Anchor interface {
	// LoadHead returns the head anchored for node (Config.Node); seq 0
	// when none was stored.
	LoadHead(ctx context.Context, node string) (seq uint64, hash string, err error)
	StoreHead(ctx context.Context, node string, seq uint64, hash string) error
}

// anchorWait bounds one read or write of the anchor.
const anchorWait = 5 * time.Second

// AlertTrailChanged is the rule name of the alert the trail records when
// it finds, on opening, that its files no longer hold the anchored head.
const AlertTrailChanged = "AuditTrailChanged"

// AlertTrailNotChecked is the rule name of the alert the trail records
// when it could not check its files against an anchored head on opening.
const AlertTrailNotChecked = "AuditTrailNotChecked"

// AlertTrailNodeChanged is the rule name of the alert the trail records
// when its checkpoints say it was anchored as another node than this one.
const AlertTrailNodeChanged = "AuditTrailNodeChanged"

// loadAnchor reads the head anchored for node: nil when none is stored,
// loaded false when it could not be read (logged).
func (t *Trail) loadAnchor(node string) (head *chainStart, loaded bool) {
	if t.cfg.Anchor == nil {
		return nil, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), anchorWait)
	defer cancel()
	seq, hash, err := t.cfg.Anchor.LoadHead(ctx, node)
	if err != nil {
		t.cfg.Log.Error("audit: cannot read the trail's anchored head; the files are not checked against it, and no head is anchored until the next start", "error", err)
		return nil, false
	}
	if seq == 0 {
		return nil, true
	}
	return &chainStart{seq: seq, hash: hash}, true
}

// anchored is a head on its way to the anchor: the file that holds it is
// synced first, so that a crash of the machine never leaves the store
// ahead of the disk (a checkpoint is written without a sync).
type anchored struct {
	head chainStart
	file string // path
}

// anchorHead hands the current head to the anchor's goroutine, replacing
// one it has not stored yet (only the newest matters).
func (t *Trail) anchorHead() {
	if t.anchorCh == nil || t.holdAnchor {
		return
	}
	a := anchored{head: chainStart{seq: t.seq, hash: string(t.prevHash)}, file: filepath.Join(t.cfg.Dir, FileName(t.num))}
	for {
		select {
		case t.anchorCh <- a:
			return
		default:
		}
		select {
		case <-t.anchorCh:
		default:
		}
	}
}

// runAnchor syncs and stores the heads the writer hands it until anchorCh
// is closed (after the writer stopped, so that the head of the seal on
// close is stored before Close returns).
func (t *Trail) runAnchor() {
	defer close(t.anchorDone)
	failing := false
	for a := range t.anchorCh {
		err := syncFile(a.file)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), anchorWait)
			err = t.cfg.Anchor.StoreHead(ctx, t.cfg.Node, a.head.seq, a.head.hash)
			cancel()
		}
		switch {
		case err != nil && !failing:
			failing = true
			t.cfg.Log.Error("audit: cannot anchor the trail's head in the store (tried again at the next checkpoint)", "error", err)
		case err == nil && failing:
			failing = false
			t.cfg.Log.Info("audit: anchoring the trail's head again")
		}
	}
}

// stopAnchor ends runAnchor once it stored what it was handed (after the
// writer stopped: nothing is handed any more).
func (t *Trail) stopAnchor() {
	if t.anchorCh != nil {
		close(t.anchorCh)
		<-t.anchorDone
	}
}

// syncFile flushes the file at path to disk (through a descriptor of its
// own: the writer goes on meanwhile).
func syncFile(path string) error {
	f, err := openTrailFile(path, os.O_RDONLY)
	if err != nil {
		return err
	}
	err = f.Sync()
	if e := f.Close(); err == nil {
		err = e
	}
	return err
}

// checkAnchored returns nil when the trail's files in dir hold the record
// anchored as head as it was signed, and a *VerifyError saying how they do
// not otherwise. The record is found by position: the first line of the
// last file that starts at or before it, counted on from that line's seq
// (a file's records are numbered one after the other; one removed or
// inserted before it moves another record to its place, whose seq or
// hash then differs). It reads one file at most, up to the record.
func checkAnchored(dir string, files []string, head chainStart) error {
	for i := len(files) - 1; i >= 0; i-- {
		found, err := findInFile(filepath.Join(dir, files[i]), head)
		if err != nil || found {
			return err
		}
	}
	return &VerifyError{File: filepath.Base(dir), Reason: fmt.Sprintf("no file holds record %d, the head anchored in the store: files were removed", head.seq)}
}

// CheckAnchored returns nil when the trail in dir holds record seq with
// hash (a head anchored in the store), and a *VerifyError saying how it
// does not otherwise.
func CheckAnchored(dir string, seq uint64, hash string) error {
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	return checkAnchored(dir, files, chainStart{seq: seq, hash: hash})
}

// findInFile checks head against the file at path: found false when the
// file starts after it, an error when its record at head's place is not
// head (or the file ends before it).
func findInFile(path string, head chainStart) (found bool, err error) {
	f, err := openTrailFile(path, os.O_RDONLY)
	if err != nil {
		return false, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	name := filepath.Base(path)
	var line []byte
	line, err = readLine(br, line)
	if err == io.EOF {
		return false, nil // empty: the one before is checked
	}
	if err != nil {
		return false, err
	}
	first, err := lineSeq(line)
	if err != nil {
		return false, &VerifyError{File: name, Line: 1, Reason: "not a record: " + err.Error()}
	}
	if first > head.seq {
		return false, nil
	}
	for n := head.seq - first; n > 0; n-- {
		if line, err = readLine(br, line[:0]); err == io.EOF {
			return true, &VerifyError{File: name, Reason: fmt.Sprintf("ends at seq %d or before, short of the head anchored in the store (seq %d): the newest records were removed", head.seq-n, head.seq)}
		} else if err != nil {
			return true, err
		}
	}
	at := int(head.seq-first) + 1
	seq, err := lineSeq(line)
	if err != nil {
		return true, &VerifyError{File: name, Line: at, Reason: "not a record: " + err.Error()}
	}
	if seq != head.seq || hashLine(line) != head.hash {
		return true, &VerifyError{File: name, Line: at, Reason: fmt.Sprintf("(seq %d) is not record %d as its head was anchored in the store (hash %s): records before it were removed, inserted or changed", seq, head.seq, head.hash)}
	}
	return true, nil
}

// openTrailFile opens the trail file at path with flag, refusing anything
// but a regular file: a FIFO or a device planted in the trail directory
// (by whoever can write it) would block the restart or feed it without
// end.
func openTrailFile(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|openFlags, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = &VerifyError{File: filepath.Base(path), Reason: "is not a regular file"}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// readTrailFile reads the trail file at path (openTrailFile), no more than
// the size it had when opened.
func readTrailFile(path string) ([]byte, error) {
	f, err := openTrailFile(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	b := make([]byte, fi.Size())
	n, err := io.ReadFull(f, b)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil // cut meanwhile: what was read
	}
	return b[:n], err
}

// readFirstLine reads the first line of the trail file at path
// (openTrailFile), without its newline (none when it has no whole line):
// what a pruned trail starts at.
// Only that line is read (a whole 64 MiB file read to find it was that
// much heap at each prune).
func readFirstLine(path string) ([]byte, error) {
	f, err := openTrailFile(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 16<<10).ReadBytes('\n')
	switch {
	case err == io.EOF:
		return nil, nil // no whole line
	case err != nil:
		return nil, err
	}
	return line[:len(line)-1], nil
}

// SignedNode returns the node the trail in dir was last anchored as: the
// Node of the checkpoint (or digest) among the first lines of its newest
// file that has one, whose signature pub verifies; "" when none says.
func SignedNode(dir string, pub ed25519.PublicKey) string {
	files, err := listFiles(dir)
	if err != nil {
		return ""
	}
	return signedNode(dir, files, pub)
}

// signedNode is SignedNode over files. Every file a node writes begins
// with a checkpoint naming it (Trail.startFile), after a prune mark at
// most: the first lines of each file, newest first, are read until one
// names a node, so that neither a cut tail nor empty files planted after
// it hide the name.
func signedNode(dir string, files []string, pub ed25519.PublicKey) string {
	for i := len(files) - 1; i >= 0; i-- {
		for _, line := range firstLines(filepath.Join(dir, files[i]), 3) {
			if node := nodeOf(line, pub); node != "" {
				return node
			}
		}
	}
	return ""
}

// firstLines returns up to n whole first lines of the trail file at path
// (nil when it cannot be read), reading at most 1 MiB.
func firstLines(path string, n int) [][]byte {
	f, err := openTrailFile(path, os.O_RDONLY)
	if err != nil {
		return nil
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.LimitReader(f, 1<<20), 64<<10)
	var out [][]byte
	for len(out) < n {
		line, err := readLine(br, nil)
		if err != nil {
			break
		}
		out = append(out, line)
	}
	return out
}

// nodeOf returns the Node of line, a checkpoint or digest whose signature
// pub verifies; "" otherwise.
func nodeOf(line []byte, pub ed25519.PublicKey) string {
	if !bytes.Contains(line, []byte(`"node":"`)) {
		return ""
	}
	var r Record
	if json.Unmarshal(line, &r) != nil {
		return ""
	}
	switch {
	case r.Checkpoint != nil && r.Checkpoint.Node != "" && signedBy(pub, checkpointMessage(*r.Checkpoint, r.Seq, r.PrevHash), r.Checkpoint.Signature):
		return r.Checkpoint.Node
	case r.Digest != nil && r.Digest.Node != "" && signedBy(pub, digestMessage(*r.Digest, r.Seq, r.PrevHash), r.Digest.Signature):
		return r.Digest.Node
	}
	return ""
}

// lineSeq returns the seq of a record's line.
func lineSeq(line []byte) (uint64, error) {
	var r struct {
		Seq uint64 `json:"seq"`
	}
	if err := json.Unmarshal(line, &r); err != nil {
		return 0, err
	}
	if r.Seq == 0 {
		return 0, errors.New("no seq")
	}
	return r.Seq, nil
}
