package gateway

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestTrailerReader(t *testing.T) {
	t.Parallel()
	sum := sha256.Sum256([]byte("hello world"))
	good := base64.StdEncoding.EncodeToString(sum[:])
	for _, tc := range []struct {
		name, body, code string
	}{
		{"good", "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nx-amz-checksum-sha256:" + good + "\r\n\r\n", ""},
		{"wrong sum", "5\r\nhello\r\n6\r\n worle\r\n0\r\nx-amz-checksum-sha256:" + good + "\r\n\r\n", "BadDigest"},
		{"other trailer", "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", "IncompleteBody"},
		{"no trailer", "b\r\nhello world\r\n0\r\n", "IncompleteBody"},
		{"data after", "b\r\nhello world\r\n0\r\nx-amz-checksum-sha256:" + good + "\r\n\r\nmore", "IncompleteBody"},
		{"short chunk", "c\r\nhello world\r\n0\r\n", "IncompleteBody"},
		{"bad size", "zz\r\nhello\r\n", "IncompleteBody"},
		{"huge size", "fffffffffff\r\n", "IncompleteBody"},
		{"no crlf", "b\nhello world", "IncompleteBody"},
		{"long line", strings.Repeat("1", 5000), "IncompleteBody"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, e := newTrailerReader(strings.NewReader(tc.body), "X-Amz-Checksum-Sha256")
			if e != nil {
				t.Fatal(e)
			}
			got, err := io.ReadAll(tr)
			if tc.code == "" {
				if err != nil || string(got) != "hello world" {
					t.Fatalf("%q %v", got, err)
				}
				return
			}
			var ge *Error
			if !errors.As(err, &ge) || ge.Code != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
		})
	}
	if _, e := newTrailerReader(strings.NewReader(""), "x-amz-checksum-md5"); e == nil {
		t.Fatal("an unknown trailer was accepted")
	}
}
