package policy

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

func userTrust(i int) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"AIDASHAPETEST%07d"},"Action":"sts:AssumeRole"}]}`, i)
}

// TestShapeShared checks that documents differing only in Principal values
// share one shape and still decide by their own principals, and that
// documents differing in anything else do not.
func TestShapeShared(t *testing.T) {
	const n = 50
	ps := make([]*Policy, n)
	for i := range ps {
		ps[i] = mustParse(t, Trust, userTrust(i))
	}
	for i, p := range ps {
		if p.Shape() != ps[0].Shape() {
			t.Fatalf("policy %d has a shape of its own", i)
		}
		for _, j := range []int{i, (i + 1) % n} {
			set := &Set{Resource: []Named{{ID: "trust", Policy: p}}}
			req := &Request{Principal: Principal{Type: User, Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/u", ID: fmt.Sprintf("AIDASHAPETEST%07d", j)},
				Action: "sts:AssumeRole", Resource: "arn:aws:iam::111122223333:role/r", Context: new(Context)}
			got, want := Evaluate(set, req).Effect, ImplicitDeny
			if i == j {
				want = Allow
			}
			if got != want {
				t.Errorf("trust of user %d, caller user %d: %v, want %v", i, j, got, want)
			}
		}
	}
	// The same structure with a principal of another form, and with other
	// spacing: one shape, their own principals and positions.
	acct := mustParse(t, Trust, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`)
	spaced := mustParse(t, Trust, "{\"Version\":\"2012-10-17\",\n  \"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"AIDASHAPETEST0000000\"},\"Action\":\"sts:AssumeRole\"}]}")
	for name, p := range map[string]*Policy{"account principal": acct, "spacing": spaced} {
		if p.Shape() != ps[0].Shape() {
			t.Errorf("%s: a shape of its own", name)
		}
	}
	if sp, _ := spaced.Span(0); sp.Start.Line != 2 {
		t.Errorf("spaced document's statement starts at %+v, want line 2", sp.Start)
	}
	if sp, _ := ps[0].Span(0); sp.Start.Line != 1 {
		t.Errorf("statement starts at %+v, want line 1", sp.Start)
	}
	for name, doc := range map[string]string{
		"action":  `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"AIDASHAPETEST0000000"},"Action":"sts:TagSession"}]}`,
		"effect":  `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"AIDASHAPETEST0000000"},"Action":"sts:AssumeRole"}]}`,
		"version": `{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"AIDASHAPETEST0000000"},"Action":"sts:AssumeRole"}]}`,
	} {
		if mustParse(t, Trust, doc).Shape() == ps[0].Shape() {
			t.Errorf("%s differs, yet the shape is shared", name)
		}
	}
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","%s":{"AWS":"AIDASHAPETEST0000000"},"Action":"sts:AssumeRole","Resource":"*"}]}`
	if mustParse(t, Resource, fmt.Sprintf(deny, "Principal")).Shape() == mustParse(t, Resource, fmt.Sprintf(deny, "NotPrincipal")).Shape() {
		t.Error("Principal and NotPrincipal share a shape")
	}
}

// TestShapeBytes checks what a trust policy naming one user costs of its
// own once its shape is shared, in heap and by Size: a generous bound, the
// figures are in the log.
func TestShapeBytes(t *testing.T) {
	heap, est := retained(t, Trust, userTrust, 2000)
	t.Logf("trust policy of one user: retained %.0f B, estimate %.0f B (with the shape counted once)", heap, est)
	if heap > 600 {
		t.Errorf("a trust policy of one user retains %.0f bytes, want at most 600", heap)
	}
}

// TestShapeTableForgets checks that the table of shapes holds no more than
// live policies use. (Not parallel: it counts the table.)
func TestShapeTableForgets(t *testing.T) {
	const n = 200
	before := shapes.len()
	func() {
		ps := make([]*Policy, n)
		for i := range ps {
			ps[i] = mustParse(t, Identity, allowDoc(fmt.Sprintf("s3:ShapeTableForgets%d", i), "*"))
		}
		if got := shapes.len(); got < before+n {
			t.Fatalf("%d shapes recorded after %d distinct ones were compiled, want at least %d", got, n, before+n)
		}
	}()
	for range 100 {
		runtime.GC()
		if shapes.len() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d shapes recorded after the policies were collected, want at most %d", shapes.len(), before)
}

// TestShapeKeyAllocs checks that digesting a document's shape allocates
// nothing: it runs for every trust policy a role's cached record is
// decoded with.
func TestShapeKeyAllocs(t *testing.T) {
	root, err := decodeJSON(userTrust(1))
	if err != nil {
		t.Fatal(err)
	}
	stmts, verr := validate(Trust, root)
	if verr != nil {
		t.Fatal(verr)
	}
	want := shapeKey(Trust, root, stmts)
	if n := testing.AllocsPerRun(100, func() {
		if shapeKey(Trust, root, stmts) != want {
			t.Fatal("shape key changed")
		}
	}); n != 0 {
		t.Errorf("shapeKey allocates %.0f times, want 0", n)
	}
}

// TestParseTrustAllocs bounds the allocations of parsing a trust policy of
// one user whose shape is live: it runs for every role record decoded from
// the authorizer's second tier.
func TestParseTrustAllocs(t *testing.T) {
	keep := mustParse(t, Trust, userTrust(0)) // the shape, live
	doc := userTrust(1)
	n := testing.AllocsPerRun(100, func() {
		if _, err := Parse(Trust, doc); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.0f allocations", n)
	if n > 20 {
		t.Errorf("parsing a trust policy allocates %.0f times, want at most 20", n)
	}
	runtime.KeepAlive(keep)
}
