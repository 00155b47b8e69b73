package gateway

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"testing"
)

// decodeFramed decodes an aws-chunked body with one trailer, as a store
// does, and reports whether its checksum matches.
func decodeFramed(t *testing.T, b []byte) ([]byte, bool) {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(b))
	var data []byte
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("framing: %v", err)
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(line, "\r\n"), 16, 64)
		if err != nil {
			t.Fatalf("chunk size %q", line)
		}
		if n == 0 {
			break
		}
		chunk := make([]byte, n+2)
		if _, err := io.ReadFull(r, chunk); err != nil || !bytes.HasSuffix(chunk, []byte("\r\n")) {
			t.Fatalf("chunk: %v", err)
		}
		data = append(data, chunk[:n]...)
	}
	trailer, _ := r.ReadString('\n')
	end, _ := r.ReadString('\n')
	name, value, _ := strings.Cut(strings.TrimSuffix(trailer, "\r\n"), ":")
	if name != upstreamTrailer || end != "\r\n" {
		t.Fatalf("trailer %q %q", trailer, end)
	}
	sum := crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli))
	want := base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
	return data, value == want
}

// TestFramedBody: the upstream's body has the length announced, decodes
// to the client's data with a matching checksum when the client's body
// verified, and ends with a checksum that cannot match when it did not
// (too short, too long, or refused by its verification).
func TestFramedBody(t *testing.T) {
	bad := errors.New("chunk signature")
	for _, tc := range []struct {
		name    string
		size    int
		send    int
		finish  error
		wantOK  bool
		wantErr bool
	}{
		{"empty", 0, 0, nil, true, false},
		{"one byte", 1, 1, nil, true, false},
		{"one chunk", upstreamChunk, upstreamChunk, nil, true, false},
		{"chunks and a rest", 3*upstreamChunk + 17, 3*upstreamChunk + 17, nil, true, false},
		{"verification fails", 100000, 100000, bad, false, true},
		{"short", 100000, 99999, nil, false, true},
		{"long", 100000, 100001, nil, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Repeat([]byte("0123456789abcdef"), tc.send/16+1)[:tc.send]
			fb := newFramedBody(bytes.NewReader(data), int64(tc.size), func() error { return tc.finish })
			out, err := io.ReadAll(fb)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.wantErr && int64(len(out)) != framedLength(int64(tc.size)) {
				t.Fatalf("framed %d bytes, announced %d", len(out), framedLength(int64(tc.size)))
			}
			got, ok := decodeFramed(t, out)
			if ok != tc.wantOK || (fb.Err() != nil) != tc.wantErr {
				t.Fatalf("checksum ok %v, err %v", ok, fb.Err())
			}
			if tc.wantOK && !bytes.Equal(got, data) {
				t.Fatal("the data changed")
			}
		})
	}
}
