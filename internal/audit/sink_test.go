package audit

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// The attributes the trail hands its sink with each line are the line's:
// what ParseAttrs reads from it, so that the database sink stores the same
// columns without parsing the JSON.
func TestSinkAttrsAreTheLines(t *testing.T) {
	var mu sync.Mutex
	type sunk struct{ line, attrs []byte }
	var got []sunk
	tr, err := Open(Config{Dir: t.TempDir(), Key: testKey, Build: BuildConfig{Region: "us-east-1", Account: "123456789012"},
		Sink: func(line, attrs []byte) {
			mu.Lock()
			got = append(got, sunk{append([]byte(nil), line...), append([]byte(nil), attrs...)})
			mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if err := tr.Record(ctx, exchange(i)); err != nil {
			t.Fatal(err)
		}
		if err := tr.Record(ctx, benchExchange()); err != nil {
			t.Fatal(err)
		}
	}
	// What a caller controls, with bytes that are not UTF-8 (an attack
	// review's): an unsigned request's action, one cut in the middle of a
	// character, an access key id, a NUL.
	for _, action := range []string{"Get\xffCallerIdentity", strings.Repeat("A", 127) + "é", "Get\x00Caller"} {
		x := exchange(0)
		x.Action = action
		if err := tr.Record(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	x := benchExchange()
	x.Caller.AccessKeyID, x.Caller.UserName = "AKIA\xfe", "b\xc3"
	if err := tr.Record(ctx, x); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("the sink got %d records, want 10", len(got))
	}
	readOnly := 0
	for _, s := range got {
		want, err := ParseAttrs(s.line)
		if err != nil {
			t.Fatal(err)
		}
		a, err := UnpackAttrs(s.attrs)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, want) {
			t.Fatalf("unpacked %+v\nparsed   %+v\nfrom %s", a, want, s.line)
		}
		if a.ReadOnly {
			readOnly++
		}
	}
	if readOnly != 6 {
		t.Fatalf("%d read-only records, want 6 (the 4 AssumeRoles, the 2 actions named Get...)", readOnly)
	}
	for _, bad := range [][]byte{nil, {1, 2}, append(make([]byte, 8), 7)} {
		if _, err := UnpackAttrs(bad); err == nil {
			t.Errorf("UnpackAttrs(%v) took it", bad)
		}
	}
}
