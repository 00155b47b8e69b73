package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Starting a trail reads as little as it can before the server answers:
// the chain goes on from the last record of the last file, which is all
// Open reads (the last line, found from the end of the file; the whole
// file only when a crash left it without its digest and Open seals it).
// The index of the events already on disk is built in the background
// (buildIndex), each file read once, while new events are written and
// indexed; once built it is put before them. Until then a lookup the
// events written since the start cannot answer whole waits for it
// (Lookup): it is never answered from part of the trail.

// readLastLine returns the last whole line of f (size bytes long), without
// its newline, and the size of f's whole lines (end < size when the file
// ends in a torn line). A file without a newline has no whole line.
func readLastLine(f *os.File, size int64) (line []byte, end int64, err error) {
	var buf []byte // f's bytes from pos to size
	pos := size
	chunk := int64(16 << 10)
	for {
		if nl := bytes.LastIndexByte(buf, '\n'); nl >= 0 {
			if start := bytes.LastIndexByte(buf[:nl], '\n'); start >= 0 || pos == 0 {
				return buf[start+1 : nl], pos + int64(nl) + 1, nil
			}
		}
		if pos == 0 {
			return nil, 0, nil
		}
		n := min(chunk, pos)
		chunk *= 2
		b := make([]byte, n, n+int64(len(buf)))
		if _, err := f.ReadAt(b, pos-n); err != nil {
			return nil, 0, err
		}
		buf = append(b, buf...)
		pos -= n
	}
}

// lastRecord reads the last record of a closed trail file.
func lastRecord(dir, name string) (Record, error) {
	line, err := lastLine(dir, name)
	if err != nil {
		return Record{}, err
	}
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return Record{}, fmt.Errorf("%s: last line: %w", name, err)
	}
	return r, nil
}

// lastLine reads the last whole line of trail file name of dir.
func lastLine(dir, name string) ([]byte, error) {
	f, err := openTrailFile(filepath.Join(dir, name), os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	line, _, err := readLastLine(f, fi.Size())
	return line, err
}

// openHead takes the chain's head from the last of files (the files
// before it are left to buildIndex): the seq and hash of its last record.
// A torn last line is cut off (it was never acknowledged in strict mode),
// an empty file (opened and never written: a crash before the first
// event) removed and the one before it taken, and a file a crash left
// without its digest sealed, marked recovered. It returns the files left.
// With head, the head anchored in the store, files that no longer hold it
// as it was signed were changed while the server was down: t.changed says
// how (Open records an alert), and a file a crash left open is then not
// sealed, so that verify names it.
func (t *Trail) openHead(files []string, head *chainStart) ([]string, error) {
	checkHead := func(all []string) {
		if head == nil {
			return
		}
		if err := checkAnchored(t.cfg.Dir, all, *head); err != nil {
			t.changed = err
		}
	}
	for len(files) > 0 {
		name := files[len(files)-1]
		path := filepath.Join(t.cfg.Dir, name)
		f, err := openTrailFile(path, os.O_RDWR)
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		fi, err := f.Stat()
		var line []byte
		var end int64
		if err == nil {
			line, end, err = readLastLine(f, fi.Size())
		}
		if err == nil && end < fi.Size() {
			t.cfg.Log.Warn("audit: cutting a torn last line", "file", name, "bytes", fi.Size()-end)
			err = f.Truncate(end)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("audit: %s: %w", name, err)
		}
		t.num = fileNumber(name)
		if end == 0 {
			f.Close()
			if err := os.Remove(path); err != nil {
				return nil, fmt.Errorf("audit: %w", err)
			}
			files = files[:len(files)-1]
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit: %s: last line: %w (run opensts audit verify)", name, err)
		}
		t.seq = r.Seq
		t.setPrevHash(line)
		if r.Digest != nil {
			f.Close()
			checkHead(files)
			if t.changed != nil {
				t.cfg.Log.Error("audit: the trail does not hold the head anchored in the store: it was changed while the server was down (run opensts audit verify)", "error", t.changed)
			}
			return files, nil
		}
		// A crash left it open: check that its records chain, from the
		// last record of the file before it, count them and find its
		// first, then seal it. A file that does not chain was changed
		// while the server was down: signing it would vouch for what
		// someone wrote, so it is left unsealed (audit verify names it)
		// and the trail goes on in the next file.
		var before *chainStart
		if len(files) > 1 {
			if before, err = lastLineOf(t.cfg.Dir, files[len(files)-2]); err != nil {
				f.Close()
				return nil, fmt.Errorf("audit: %w (run opensts audit verify)", err)
			}
		}
		first, records, err := countRecords(f, before)
		var broken *VerifyError
		if errors.As(err, &broken) {
			f.Close()
			t.cfg.Log.Error("audit: a file a crash left open does not chain: left unsealed, not signed (run opensts audit verify)",
				"file", name, "line", broken.Line, "reason", broken.Reason)
			t.changed = broken
			return files, nil
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("audit: %s: %w (run opensts audit verify)", name, err)
		}
		if checkHead(files); t.changed != nil {
			f.Close()
			t.cfg.Log.Error("audit: a file a crash left open does not hold the head anchored in the store: left unsealed, not signed (run opensts audit verify)",
				"file", name, "error", t.changed)
			return files, nil
		}
		if _, err := f.Seek(end, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("audit: %w", err)
		}
		t.setFile(f, end)
		t.first, t.records = first, records
		t.commit()
		t.cfg.Log.Warn("audit: sealing a file a crash left open (marked recovered)", "file", name)
		if err := t.seal(true); err != nil {
			return nil, err
		}
		return files, nil
	}
	if checkHead(files); t.changed != nil { // every file removed
		t.cfg.Log.Error("audit: the trail does not hold the head anchored in the store: it was changed while the server was down", "error", t.changed)
	}
	return files, nil
}

// chainStart is where a file's chain starts: the seq and hash of the last
// record of the file before it.
type chainStart struct {
	seq  uint64
	hash string
}

// lastLineOf returns the chain's state at the end of file name of dir.
func lastLineOf(dir, name string) (*chainStart, error) {
	line, err := lastLine(dir, name)
	if err != nil {
		return nil, err
	}
	seq, err := lineSeq(line)
	if err != nil {
		return nil, fmt.Errorf("%s: last line: %w", name, err)
	}
	return &chainStart{seq: seq, hash: hashLine(line)}, nil
}

// countRecords returns the seq of the first record in f and the number of
// lines, reading f once from its start, and checks that they chain: each
// record's seq one more than the one before and its prevHash the hash of
// the line before, the first's those of before (when there is a file
// before). A record that does not is a *VerifyError.
func countRecords(f *os.File, before *chainStart) (first uint64, records int, err error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, 0, err
	}
	br := bufio.NewReaderSize(f, 256<<10)
	var line []byte
	var prev chainStart // the record before the next, when have
	have := before != nil
	if have {
		prev = *before
	}
	for {
		line, err = readLine(br, line[:0])
		if err == io.EOF {
			return first, records, nil
		}
		if err != nil {
			return 0, 0, err
		}
		var r struct {
			Seq      uint64 `json:"seq"`
			PrevHash string `json:"prevHash"`
		}
		if seq, hash, ok := chainOf(line); ok && json.Valid(line) {
			r.Seq, r.PrevHash = seq, hash
		} else if err := json.Unmarshal(line, &r); err != nil {
			return 0, 0, &VerifyError{File: f.Name(), Line: records + 1, Reason: "not a record: " + err.Error()}
		}
		if have && (r.Seq != prev.seq+1 || r.PrevHash != prev.hash) {
			return 0, 0, &VerifyError{File: f.Name(), Line: records + 1, Reason: fmt.Sprintf("seq %d does not follow %d, or its prevHash is not the hash of the record before", r.Seq, prev.seq)}
		}
		if records == 0 {
			first = r.Seq
		}
		records++
		prev, have = chainStart{seq: r.Seq, hash: hashLine(line)}, true
	}
}

// readLine appends the next line of br (without its newline) to buf; at
// the end it returns io.EOF (a last line without a newline is a line).
func readLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		b, err := br.ReadSlice('\n')
		buf = append(buf, b...)
		switch {
		case err == nil:
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF && len(buf) > 0:
			return buf, nil
		default:
			return buf, err
		}
	}
}

// indexFrom returns the position in files of the oldest file whose events
// the index holds: counting records from the newest file back, by each
// file's digest (its last line), the first that brings the count to max.
func indexFrom(dir string, files []string, max int) int {
	n := 0
	for i := len(files) - 1; i > 0; i-- {
		r, err := lastRecord(dir, files[i])
		if err != nil || r.Digest == nil {
			return i // damaged: verify names it; index from the next one
		}
		if n += r.Digest.Records; n >= max {
			return i
		}
	}
	return 0
}

// indexRecord is what the index reads of a record line.
type indexRecord struct {
	EventTime          string `json:"eventTime"`
	EventSource        string `json:"eventSource"`
	EventName          string `json:"eventName"`
	EventID            string `json:"eventID"`
	RecipientAccountID string `json:"recipientAccountId"`
	ReadOnly           bool   `json:"readOnly"`
	UserIdentity       struct {
		Type        string `json:"type"`
		ARN         string `json:"arn"`
		AccessKeyID string `json:"accessKeyId"`
		UserName    string `json:"userName"`
	} `json:"userIdentity"`
	Resources  []Resource `json:"resources"`
	Digest     *struct{}  `json:"digest"`
	Prune      *struct{}  `json:"prune"`
	Checkpoint *struct{}  `json:"checkpoint"`
	Seq        uint64     `json:"seq"`
}

// buildIndex indexes the events of files (the trail's files at Open, whose
// last is sealed), reading each once, and puts them before the events
// written since. It ends early when the trail closes.
func (t *Trail) buildIndex(files []string) {
	defer close(t.indexed)
	if t.cfg.indexGate != nil {
		select {
		case <-t.cfg.indexGate:
		case <-t.stop:
			return
		}
	}
	start := time.Now()
	old := newIndex(t.cfg.IndexMax, t.cfg.IndexBytes)
	old.sp = t.spill
	from := indexFrom(t.cfg.Dir, files, t.cfg.IndexMax)
	var attrs []byte
	for _, name := range files[from:] {
		var err error
		if attrs, err = t.indexFile(old, name, attrs); err != nil {
			if errors.Is(err, errClosed) {
				old.dropAll()
				return
			}
			t.cfg.Log.Error("audit: indexing the trail", "error", err)
		}
	}
	events := old.count
	t.mu.Lock()
	if t.closed {
		old.dropAll()
	} else {
		old.dropFiles(t.prunedBefore)
		t.idx.prepend(old)
		t.ready = true
	}
	t.mu.Unlock()
	if len(files) == 0 {
		return
	}
	t.cfg.Log.Info("audit: trail indexed", "events", events, "files", len(files)-from, "duration", time.Since(start).Round(time.Millisecond))
}

var errClosed = errors.New("audit: trail closed")

// Indexed is closed once the index holds the events of the files that
// were on disk at Open (or the trail closed first).
func (t *Trail) Indexed() <-chan struct{} { return t.indexed }

// indexFile adds the events of one file to x. A line that is not a
// record is skipped (and reported once the file is read): verify names it.
func (t *Trail) indexFile(x *index, name string, attrs []byte) ([]byte, error) {
	f, err := openTrailFile(filepath.Join(t.cfg.Dir, name), os.O_RDONLY)
	if errors.Is(err, os.ErrNotExist) {
		return attrs, nil // removed by retention since
	}
	if err != nil {
		return attrs, err
	}
	defer f.Close()
	num := fileNumber(name)
	br := bufio.NewReaderSize(f, 256<<10)
	var line []byte
	var off int64
	var bad error
	for i := 0; ; i++ {
		if i%1024 == 0 {
			select {
			case <-t.stop:
				return attrs, errClosed
			default:
			}
		}
		line, err = readLine(br, line[:0])
		if err == io.EOF {
			break
		}
		if err != nil {
			return attrs, fmt.Errorf("%s: %w", name, err)
		}
		n := int64(len(line) + 1)
		var r indexRecord
		if err := json.Unmarshal(line, &r); err != nil {
			if bad == nil {
				bad = fmt.Errorf("%s at byte %d: %w (run opensts audit verify)", name, off, err)
			}
			off += n
			continue
		}
		if r.Digest == nil && r.Prune == nil && r.Checkpoint == nil {
			tm, _ := time.Parse(time.RFC3339, r.EventTime)
			u := UserIdentity{Type: r.UserIdentity.Type, ARN: r.UserIdentity.ARN, UserName: r.UserIdentity.UserName}
			e := entry{account: r.RecipientAccountID, id: r.EventID, name: r.EventName, source: r.EventSource,
				user: username(&u), accessKey: r.UserIdentity.AccessKeyID, resources: r.Resources}
			attrs = appendAttrs(attrs[:0], &e)
			x.add(slot{seq: r.Seq, time: tm.Unix(), file: int32(num), off: off, n: uint32(len(line)), readOnly: r.ReadOnly}, attrs)
		}
		off += n
	}
	return attrs, bad
}

// chainOf returns the seq and prevHash that a line the writer appended
// ends with (`,"seq":N,"prevHash":"<64 hex>"}`, see Trail.write), without
// decoding the rest of it; ok is false for any other line (the trail's
// first record, whose prevHash is empty, and whatever someone else wrote),
// which the caller decodes. On a line that is valid JSON it finds what
// json.Unmarshal does (FuzzChainOf): the suffix can only be the last
// members of the outermost object. Recovery reads every record of a file
// a crash left open with it and json.Valid: decoding each with
// encoding/json took some 11 µs a record, 0.5-0.8 s of the restart after a
// crash with a full file. A line that is not JSON still leaves the file
// unsealed, with an alert, as before (a review found that chainOf alone
// sealed such a file: verify still failed it, but the restart no longer
// said so).
func chainOf(line []byte) (seq uint64, prevHash string, ok bool) {
	const (
		hashLen = 64
		seqKey  = `,"seq":`
		hashKey = `,"prevHash":"`
		end     = `"}`
	)
	n := len(line)
	if n < 1+len(seqKey)+1+len(hashKey)+hashLen+len(end) || line[0] != '{' || string(line[n-len(end):]) != end {
		return 0, "", false
	}
	h := line[n-len(end)-hashLen : n-len(end)]
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return 0, "", false
		}
	}
	rest, found := bytes.CutSuffix(line[:n-len(end)-hashLen], []byte(hashKey))
	if !found {
		return 0, "", false
	}
	i := len(rest)
	for i > 0 && rest[i-1] >= '0' && rest[i-1] <= '9' {
		i--
	}
	digits := rest[i:]
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' || !bytes.HasSuffix(rest[:i], []byte(seqKey)) {
		return 0, "", false
	}
	seq, err := strconv.ParseUint(string(digits), 10, 64)
	if err != nil {
		return 0, "", false
	}
	return seq, string(h), true
}
