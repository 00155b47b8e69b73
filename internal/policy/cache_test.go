package policy

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// jsonList is a JSON array of n values made by f.
func jsonList(n int, f func(i int) string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + f(i) + `"`)
	}
	b.WriteByte(']')
	return b.String()
}

// sizeShapes are documents of different shapes, each a function of a
// number that makes it distinct.
var sizeShapes = []struct {
	name string
	kind Kind
	doc  func(i int) string
}{
	{"typical", Identity, func(i int) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"S%d","Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::bucket-%d/${aws:username}/*"},{"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}]}`, i, i)
	}},
	{"star resources", Identity, func(i int) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"S%d","Effect":"Allow","Action":"s3:*","Resource":%s}}`, i, jsonList(500, func(int) string { return "*" }))
	}},
	{"short resources", Identity, func(i int) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"S%d","Effect":"Allow","Action":"s3:*","Resource":%s}}`, i, jsonList(400, func(j int) string { return fmt.Sprintf("arn:aws:s3:::b/%d", j) }))
	}},
	{"actions", Identity, func(i int) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"S%d","Effect":"Allow","Action":%s,"Resource":"*"}}`, i, jsonList(400, func(j int) string { return fmt.Sprintf("svc%d:Get*", j) }))
	}},
	{"condition values", Identity, func(i int) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"S%d","Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"aws:UserAgent":%s},"IpAddress":{"aws:SourceIp":%s}}}}`,
			i, jsonList(300, func(j int) string { return fmt.Sprintf("a%d*", j) }), jsonList(100, func(j int) string { return fmt.Sprintf("10.%d.0.0/16", j) }))
	}},
	{"principals", Resource, func(i int) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"S%d","Effect":"Allow","Principal":{"AWS":%s},"Action":"s3:*","Resource":"*"}}`, i, jsonList(300, func(j int) string { return fmt.Sprintf("%012d", j) }))
	}},
	{"many statements", Identity, func(i int) string {
		var st []string
		for j := range 100 {
			st = append(st, fmt.Sprintf(`{"Sid":"S%dx%d","Effect":"Allow","Action":"svc%d:Get*","Resource":"arn:aws:svc%d:::r/*"}`, i, j, j, j))
		}
		return `{"Version":"2012-10-17","Statement":[` + strings.Join(st, ",") + `]}`
	}},
	{"long strings", Identity, func(i int) string {
		return fmt.Sprintf(`{"Version":"2012-10-17","Statement":{"Sid":"S%d","Effect":"Allow","Action":"s3:*","Resource":%s}}`, i, jsonList(9, func(j int) string { return "arn:aws:s3:::" + strings.Repeat("k", 1000) + fmt.Sprint(j) }))
	}},
}

// retained returns the heap that n policies of the shape keep, per policy,
// and their mean estimated Size.
func retained(t *testing.T, kind Kind, doc func(int) string, n int) (heap, est float64) {
	docs := make([]string, n)
	for i := range docs {
		docs[i] = doc(i)
	}
	ps := make([]*Policy, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i, d := range docs {
		p, err := Parse(kind, d)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		ps[i] = p
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	sum := 0
	seen := map[any]bool{}
	for _, p := range ps {
		sum += p.Size()
		if sh := p.Shape(); !seen[sh] {
			seen[sh] = true
			sum += sh.Size()
		}
	}
	runtime.KeepAlive(ps)
	runtime.KeepAlive(docs)
	return float64(after.HeapAlloc-before.HeapAlloc) / float64(n), float64(sum) / float64(n)
}

// TestSizeEstimate checks Policy.Size against the heap compiled policies of
// very different shapes keep: not below it (by more than the measurement's
// noise, a few percent), at most twice it. (Not parallel: it measures the
// heap.)
func TestSizeEstimate(t *testing.T) {
	for _, sh := range sizeShapes {
		heap, est := retained(t, sh.kind, sh.doc, 100)
		docLen := len(sh.doc(0))
		t.Logf("%-16s document %6d B, retained %8.0f B, estimate %8.0f B (%.2f of retained, %.1f of document)", sh.name, docLen, heap, est, est/heap, est/float64(docLen))
		if est < 0.95*heap || est > 2*heap {
			t.Errorf("%s: estimate %.0f B for %.0f B retained, want between 1 and 2 times", sh.name, est, heap)
		}
	}
}

// TestCacheBytesBound drives a cache far past its byte bound with distinct
// documents and checks that its accounting stays within the bound, that it
// keeps the most recent ones, and that the heap it retains stays within the
// bound too.
func TestCacheBytesBound(t *testing.T) {
	const bound = 4 << 20
	c := NewCache(bound)
	doc := sizeShapes[2].doc
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var last *Policy
	for i := range 2000 { // about 100 KiB each: 50 times the bound
		p, err := c.Compile(Identity, doc(i))
		if err != nil {
			t.Fatal(err)
		}
		last = p
		if b := c.Bytes(); b > bound {
			t.Fatalf("after %d documents: %d bytes cached, bound %d", i+1, b, bound)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if c.Len() < 10 || c.Bytes() < bound/2 {
		t.Errorf("cache holds %d policies, %d bytes: not used up to its bound", c.Len(), c.Bytes())
	}
	if p, _ := c.Compile(Identity, doc(1999)); p != last {
		t.Error("the most recent policy was evicted")
	}
	if p, _ := c.Compile(Identity, doc(0)); p == nil {
		t.Error("an evicted policy does not compile again")
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > bound+bound/4 {
		t.Errorf("heap grew by %d bytes with a cache of %d", grown, bound)
	}
	t.Logf("%d policies, %d bytes estimated; heap grew by %d", c.Len(), c.Bytes(), int64(after.HeapAlloc)-int64(before.HeapAlloc))

	// A policy larger than the whole cache is compiled, not kept.
	small := NewCache(1000)
	if p, err := small.Compile(Identity, doc(0)); p == nil || err != nil || small.Len() != 0 || small.Bytes() != 0 {
		t.Errorf("oversized policy: %v, %v; cache holds %d, %d bytes", p, err, small.Len(), small.Bytes())
	}
}

func TestWork(t *testing.T) {
	t.Parallel()
	p := mustParse(t, Resource, `{"Version":"2012-10-17","Statement":[`+
		`{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:user/a"]},"Action":["s3:Get*","s3:List*"],"Resource":"arn:aws:s3:::b/*",`+
		`"Condition":{"StringLike":{"aws:UserAgent":["a*","b*"]},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}},`+
		`{"Effect":"Deny","Principal":"*","NotAction":"s3:*","NotResource":["*"]}]}`)
	want := Work{Statements: 2, Conditions: 2, Terms: 2 + 2 + 1 + 1 + 1, Values: 3,
		Bytes: len("111122223333") + len("arn:aws:iam::111122223333:user/a") + len("s3:get*s3:list*") + len("arn:aws:s3:::b/*") + len("a*b*10.0.0.0/8") + len("s3:*") + len("*")}
	if got := p.Work(); got != want {
		t.Errorf("Work = %+v, want %+v", got, want)
	}
}
