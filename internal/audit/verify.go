package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DeriveKey derives the trail's digest signing key from the master key, so
// that nothing more needs to be kept secret and every node of a cluster
// signs with the same key.
func DeriveKey(masterKey []byte) (ed25519.PrivateKey, error) {
	seed, err := hkdf.Key(sha256.New, masterKey, nil, "opensts audit digest signing key v1", ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("audit: derive key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ReadPublicKey reads the public key file beside a trail.
func ReadPublicKey(dir string) (ed25519.PublicKey, error) {
	b, err := readTrailFile(filepath.Join(dir, PublicKeyFile))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("audit: %s is not a base64 Ed25519 public key", PublicKeyFile)
	}
	return k, nil
}

// VerifyError names the first record of a trail that is not as written.
type VerifyError struct {
	File   string
	Line   int // 1-based; 0 for the file as a whole
	Reason string
}

// Error names the file quoted (%q), so that a crafted file name cannot
// inject control characters into a terminal or a log.
func (e *VerifyError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%q: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("%q:%d: %s", e.File, e.Line, e.Reason)
}

// Summary describes a trail that verified.
type Summary struct {
	Files, Records, Sealed int
	// Open is the last file when it has no digest yet (the file a running
	// server writes to): its records chain, but nothing signs them yet.
	Open string
	// Recovered are the files sealed on restart after a crash.
	Recovered []string
	// Unattested counts the events no signature made when they were
	// written covers: those after the last checkpoint of the open file and
	// of each file sealed after a crash (whose digest signs what the file
	// held at the restart). Someone able to write the trail could have
	// changed them and rechained the rest; a head recorded elsewhere
	// (--head) or a sink's copy is what shows it.
	Unattested int
	// PrunedThrough is the last file retention removed (0: none).
	PrunedThrough int
	// HeadSeq and HeadHash are the last record's (for --head later).
	HeadSeq  uint64
	HeadHash string
}

// Options are Verify's checks beyond the files themselves.
type Options struct {
	// HeadSeq and HeadHash, when HeadSeq > 0, are a head recorded
	// earlier (`opensts audit head`): the record with that seq must have
	// that hash, and the trail must reach it, so that dropping the newest
	// records or files is detected.
	HeadSeq  uint64
	HeadHash string
}

// ParseHead parses SEQ:HASH.
func ParseHead(s string) (uint64, string, error) {
	a, h, ok := strings.Cut(s, ":")
	seq, err := strconv.ParseUint(a, 10, 64)
	if !ok || err != nil || seq == 0 || len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		return 0, "", fmt.Errorf("head %q: want SEQ:HASH (a positive seq and 64 lowercase hex digits), as `opensts audit head` prints", s)
	}
	return seq, h, nil
}

// Verify checks the trail in dir against pub: file numbers are
// consecutive, every record's seq is one more than the one before and its
// prevHash is the hash of the record before it (across files), and every
// file but the last ends with a digest whose signature verifies. The first
// file's first record is taken as the start (retention may have removed
// files before it). The error is a *VerifyError naming the first bad record.
func Verify(dir string, pub ed25519.PublicKey) (Summary, error) {
	return VerifyWith(dir, pub, Options{})
}

// VerifyWith is Verify with opts. The trail must start at the first
// record ever written (file 1, seq 1, no prevHash) unless a signed prune
// record in it says retention removed the files before its first one.
func VerifyWith(dir string, pub ed25519.PublicKey, opts Options) (Summary, error) {
	var sum Summary
	files, err := listFiles(dir)
	if err != nil {
		return sum, err
	}
	if des, err := os.ReadDir(dir); err == nil {
		for _, d := range des {
			if n := d.Name(); strings.HasPrefix(n, "audit-") && !isTrailFile(n) {
				return sum, &VerifyError{File: n, Reason: "is not a trail file name (" + FileName(1) + ", ...): a file was renamed or planted"}
			}
		}
	}
	var prevHash string
	var seq uint64
	started := false
	// The trail's first record, and whether a prune record explains it.
	var startSeq uint64
	var startPrev string
	explained := false
	headSeen := false
	var lastFile string
	lastLine := 0
	for i, name := range files {
		if i > 0 && fileNumber(name) != fileNumber(files[i-1])+1 {
			return sum, &VerifyError{File: name, Reason: fmt.Sprintf("file %s is missing before it", FileName(fileNumber(files[i-1])+1))}
		}
		data, err := readTrailFile(filepath.Join(dir, name))
		if err != nil {
			return sum, err
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			return sum, &VerifyError{File: name, Line: strings.Count(string(data), "\n") + 1, Reason: "torn last line (file truncated)"}
		}
		lines := splitLines(data)
		sum.Files++
		sealed := false
		var first uint64
		since := 0 // events after the file's last checkpoint
		for j, line := range lines {
			at := func(reason string, args ...any) error {
				return &VerifyError{File: name, Line: j + 1, Reason: fmt.Sprintf(reason, args...)}
			}
			if sealed {
				return sum, at("record after the file's digest (inserted)")
			}
			var r Record
			if err := json.Unmarshal(line, &r); err != nil {
				if zeros := len(line) - len(bytes.TrimLeft(line, "\x00")); zeros > 0 {
					// What it says is what zero bytes can be: the writer
					// appends at its own offset, so a file cut under it
					// gets its next batch at the old end.
					return sum, at("not a JSON record: it starts with %d zero bytes (a hole: bytes were zeroed, or the file was cut while the server wrote it and its next write landed past the cut)", zeros)
				}
				return sum, at("not a JSON record: %v", err)
			}
			if started && r.Seq != seq+1 {
				return sum, at("seq %d where %d was due (a record was removed, inserted or reordered here)", r.Seq, seq+1)
			}
			if started && r.PrevHash != prevHash {
				if j == 0 {
					return sum, at("does not chain to the last record of the file before (changed, or a file was replaced)")
				}
				return sum, &VerifyError{File: name, Line: j, Reason: "record changed (its hash is not the prevHash of the record after it)"}
			}
			if j == 0 {
				first = r.Seq
			}
			if !started {
				startSeq, startPrev = r.Seq, r.PrevHash
				explained = fileNumber(name) == 1 && r.Seq == 1 && r.PrevHash == ""
			}
			if opts.HeadSeq > 0 && r.Seq == opts.HeadSeq {
				if hashLine(line) != opts.HeadHash {
					return sum, at("is not the recorded head %d:%s (changed, or the trail was rewritten after the head was recorded)", opts.HeadSeq, opts.HeadHash)
				}
				headSeen = true
			}
			if p := r.Prune; p != nil {
				if r.EventType != PruneType || !signedBy(pub, pruneMessage(*p, r.Seq, r.PrevHash), p.Signature) {
					return sum, at("retention (prune) record's signature does not verify with key %s", KeyID(pub))
				}
				if p.NextFile == files[0] && p.NextSeq == startSeq && p.NextPrevHash == startPrev {
					explained = true
					sum.PrunedThrough = p.RemovedThrough
				}
			}
			if c := r.Checkpoint; c != nil {
				if r.EventType != CheckpointType || c.File != name || !signedBy(pub, checkpointMessage(*c, r.Seq, r.PrevHash), c.Signature) {
					// The chain up to here held: the records before it are
					// not the ones the server signed (removed, changed or
					// rechained), or the key is wrong.
					return sum, at("checkpoint signature does not verify with key %s (the records before it are not those the server signed)", KeyID(pub))
				}
				since = 0
			}
			if d := r.Digest; d != nil {
				if r.EventType != DigestType || d.File != name || d.FirstSeq != first || d.Records != j {
					return sum, at("digest does not describe this file (file %s, first seq %d, %d records)", d.File, d.FirstSeq, d.Records)
				}
				if !signedBy(pub, digestMessage(*d, r.Seq, r.PrevHash), d.Signature) {
					// The chain up to here held, so the digest itself is
					// not the one the server signed (or the key is wrong).
					return sum, at("digest signature does not verify with key %s", KeyID(pub))
				}
				sealed = true
				sum.Sealed++
				if d.Recovered {
					sum.Recovered = append(sum.Recovered, name)
					sum.Unattested += since
				}
			} else if r.Checkpoint == nil {
				sum.Records++
				if r.Prune == nil {
					since++
				}
			}
			started, seq, prevHash = true, r.Seq, hashLine(line)
			lastFile, lastLine = name, j+1
		}
		if !sealed {
			if i != len(files)-1 {
				return sum, &VerifyError{File: name, Line: len(lines), Reason: "file ends without its signed digest (truncated)"}
			}
			sum.Open = name
			sum.Unattested += since
		}
	}
	if len(files) == 0 {
		return sum, errors.New("audit: no trail files in " + dir)
	}
	if started && !explained {
		return sum, &VerifyError{File: files[0], Line: 1, Reason: fmt.Sprintf("the trail starts at seq %d, not at %s seq 1, and no signed retention record covers the files before it (the first files were removed)", startSeq, FileName(1))}
	}
	if opts.HeadSeq > 0 && !headSeen && seq < opts.HeadSeq {
		return sum, &VerifyError{File: lastFile, Line: lastLine, Reason: fmt.Sprintf("the trail ends at seq %d but the recorded head is seq %d: the newest records were removed (tail truncated)", seq, opts.HeadSeq)}
	}
	sum.HeadSeq, sum.HeadHash = seq, prevHash
	return sum, nil
}

// signedBy reports whether sig, base64, is pub's signature of msg.
func signedBy(pub ed25519.PublicKey, msg []byte, sig string) bool {
	s, err := base64.StdEncoding.DecodeString(sig)
	return err == nil && ed25519.Verify(pub, msg, s)
}
