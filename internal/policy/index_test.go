package policy

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/sharedtest"
)

// TestIndexMatchesLinear checks that evaluation through the per-policy
// service index decides exactly like the linear reference (every statement
// in order), diagnostics included, for random requests over the politest
// suite's policies, the benchmarks' typical role and the fuzz seeds.
func TestIndexMatchesLinear(t *testing.T) {
	t.Parallel()
	dir := sharedtest.Dir(t, "iam-eval-politest")
	files, err := filepath.Glob(filepath.Join(dir, "scenarios", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var (
		sets      []*Set
		actions   []string
		resources []string
		ctxs      []*Context
	)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var sc politestScenario
		if err := json.Unmarshal(raw, &sc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		set := &Set{}
		for i, doc := range sc.IdentityPolicies {
			p := mustParse(t, Identity, politestTemplateVars.Replace(string(doc)))
			set.Identity = append(set.Identity, Named{ID: "identity-" + string(rune('0'+i)), Policy: p})
		}
		if len(sc.PermissionsBoundary) > 0 && string(sc.PermissionsBoundary) != "null" {
			set.Boundary = []Named{{ID: "boundary", Policy: mustParse(t, Boundary, string(sc.PermissionsBoundary))}}
		}
		sets = append(sets, set)
		for _, c := range sc.Cases {
			actions = append(actions, c.Request.Action)
			resources = append(resources, c.Request.Resources...)
			ctx := &Context{}
			for k, v := range c.Request.Context {
				if strings.HasSuffix(strings.ToLower(v.Type), "list") {
					ctx.SetList(k, v.Values...)
				} else {
					ctx.Set(k, v.Values...)
				}
			}
			ctxs = append(ctxs, ctx)
			if len(c.ResourcePolicy) > 0 && string(c.ResourcePolicy) != "null" {
				with := *set
				with.Resource = []Named{{ID: "resource", Policy: mustParse(t, Resource, string(c.ResourcePolicy))}}
				sets = append(sets, &with)
			}
		}
	}
	sets = append(sets, typicalRole(t))
	for _, doc := range fuzzSeeds {
		if p, err := Parse(Identity, doc); err == nil {
			sets = append(sets, &Set{Identity: []Named{{ID: "seed", Policy: p}}, Session: []Named{{ID: "seed", Policy: p}}})
		}
	}
	typical := &Context{}
	typicalContext(typical)
	ctxs = append(ctxs, typical, nil)
	resources = append(resources, "*", "arn:aws:s3:::data/home/alice/report.csv", "not-an-arn")
	// Request actions made from the policies' own patterns: wildcards
	// filled in, random letter case, and other services.
	for _, set := range sets {
		for _, list := range [][]Named{set.Identity, set.Boundary, set.Resource} {
			for _, n := range list {
				for _, st := range n.Policy.stmts {
					for _, a := range st.actions {
						actions = append(actions, a.s)
					}
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	mutate := func(a string) string {
		var b strings.Builder
		for i := 0; i < len(a); i++ {
			c := a[i]
			switch {
			case c == '*':
				b.WriteString([]string{"", "x", "Object", "get"}[rng.IntN(4)])
				continue
			case c == '?':
				c = 'e'
			case 'a' <= c && c <= 'z' && rng.IntN(3) == 0:
				c -= 'a' - 'A'
			}
			b.WriteByte(c)
		}
		switch rng.IntN(8) {
		case 0:
			return "other" + b.String()
		case 1:
			return strings.ToUpper(b.String())
		case 2:
			return b.String() + strings.Repeat("X", 130) // longer than the stack buffer
		}
		return b.String()
	}
	principals := []Principal{alice, sess, root, fedUser, bobB, ec2Svc, oidc, {}}
	var indexed, linear Decision
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := 0; i < n; i++ {
		set := sets[rng.IntN(len(sets))]
		req := &Request{
			Principal: principals[rng.IntN(len(principals))],
			Action:    mutate(actions[rng.IntN(len(actions))]),
			Resource:  resources[rng.IntN(len(resources))],
			Context:   ctxs[rng.IntN(len(ctxs))],
			Now:       time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		}
		set.EvaluateInto(req, &indexed)
		set.evaluateLinear(req, &linear)
		if diff := cmp.Diff(linear, indexed, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("request %+v: indexed evaluation differs from linear (-linear +indexed):\n%s", req, diff)
		}
	}
}

func TestFoldHash(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := "aAzZ@[`{:/ \x80\xc3\xa9kK09_-"
	for i := 0; i < 20000; i++ {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		s := string(b)
		lower := []byte(s)
		for j, c := range lower {
			if 'A' <= c && c <= 'Z' {
				lower[j] = c + 'a' - 'A'
			}
		}
		if foldHash(s) != foldHash(string(lower)) {
			t.Fatalf("foldHash(%q) != foldHash(%q)", s, lower)
		}
	}
	if foldHash("aws:username") == foldHash("aws:usernamf") || foldHash("a") == foldHash("b") || foldHash("") == foldHash("\x00") {
		t.Fatal("foldHash ignores a difference")
	}
}

// TestFastGlobs checks the compiled glob fast paths against arn.Glob.
func TestFastGlobs(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	gen := func(alphabet string, n int) string {
		b := make([]byte, rng.IntN(n))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for i := 0; i < 50000; i++ {
		pat, s := gen("ab*/?", 8), gen("ab/", 10)
		g := compileSeg(pat)
		if got, want := g.match(s), arn.Glob(pat, s); got != want {
			t.Fatalf("segPat(%q).match(%q) = %v, want %v (kind %c)", pat, s, got, want, g.kind)
		}
		if pat == "" {
			continue
		}
		a := compileAction(pat)
		if got, want := a.match(s), arn.Glob(pat, s); got != want {
			t.Fatalf("actionPat(%q).match(%q) = %v, want %v (kind %c)", pat, s, got, want, a.kind)
		}
	}
}

// TestResourceTemplates checks the simple-template fast path against the
// general matcher.
func TestResourceTemplates(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	parts := []string{"a", "b/", "${aws:username}", "${x:y, 'ab'}", "*", "?", "${*}"}
	vals := []string{"a", "ab", "b/a", ""}
	for i := 0; i < 20000; i++ {
		var pat strings.Builder
		for j := rng.IntN(5); j >= 0; j-- {
			pat.WriteString(parts[rng.IntN(len(parts))])
		}
		p, ok := compileResource("arn:aws:s3:::"+pat.String(), true)
		if !ok || !p.rest.hasVars() {
			continue
		}
		ctx := ctxOf(one("aws:username", vals[rng.IntN(len(vals))]))
		var res strings.Builder
		for j := rng.IntN(6); j >= 0; j-- {
			res.WriteString([]string{"a", "b", "/", "*"}[rng.IntN(4)])
		}
		req := &Request{Resource: "arn:aws:s3:::" + res.String(), Context: ctx}
		ev := evalState{req: req, ctx: ctx}
		ev.setResource(req.Resource)
		got := p.match(&ev)
		rv, ok := p.rest.resolve(&ev)
		want := ok && matchToks(p.rest.toks, &rv, ev.resSeg[5])
		if got != want {
			t.Fatalf("pattern %q resource %q: got %v, want %v", pat.String(), req.Resource, got, want)
		}
	}
}

// TestWordHelpers checks the eight-bytes-at-a-time helpers against their
// byte-wise references: lowerAction, setResource (arn.Segments), equalFold
// and parseIPv4 (netip.ParseAddr).
func TestWordHelpers(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	gen := func(alphabet string, n int) string {
		b := make([]byte, rng.IntN(n))
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	asciiLower := func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	for i := 0; i < 50000; i++ {
		s := gen("aAzZ@[`{:/ \x80\xc3\xba:9", 40)
		if i%50 == 0 {
			s += strings.Repeat("Q:", 70) // past the stack buffer
		}
		var buf [actionBuf + 8]byte
		lower, svc, h := lowerAction(s, &buf)
		wantSvc, _, _ := strings.Cut(asciiLower(s), ":")
		if lower != asciiLower(s) || svc != wantSvc || h != foldHash(wantSvc) {
			t.Fatalf("lowerAction(%q) = %q, %q", s, lower, svc)
		}

		var ev evalState
		ev.setResource(s)
		seg, ok := arn.Segments(s)
		if ev.resIsARN != ok || ev.res != s || ok && (ev.resSeg != seg || ev.resPre+seg[5] != s) {
			t.Fatalf("setResource(%q) = %q %v, want %q %v", s, ev.resSeg, ev.resIsARN, seg, ok)
		}

		u := gen("aAzZ@[`{:/ \x80\xc3\xba:9", 40)
		if i%2 == 0 {
			u = []string{asciiLower(s), strings.ToUpper(s), s}[rng.IntN(3)]
		}
		if got, want := equalFold(s, u), len(s) == len(u) && asciiLower(s) == asciiLower(u); got != want {
			t.Fatalf("equalFold(%q, %q) = %v", s, u, got)
		}

		ip := gen("0123456789.", 17)
		if i%3 == 0 {
			ip = fmt.Sprintf("%d.%d.%d.%d", rng.IntN(300), rng.IntN(256), rng.IntN(256), rng.IntN(256))
		}
		a, ok := parseIPv4(ip)
		want, err := netip.ParseAddr(ip)
		if ok && (err != nil || !want.Is4() || want.As4() != [4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}) {
			t.Fatalf("parseIPv4(%q) = %x, netip: %v %v", ip, a, want, err)
		}
		if !ok && err == nil && want.Is4() {
			t.Fatalf("parseIPv4(%q) rejects what netip accepts", ip)
		}
	}
}

// TestResourcePatterns checks compiled Resource patterns without variables
// (leading literal segments compared at once, "*" segments skipped) against
// arn.Match.
func TestResourcePatterns(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 12))
	pick := func(alts ...string) string { return alts[rng.IntN(len(alts))] }
	for i := 0; i < 50000; i++ {
		var pat, res []string
		for j := 0; j < 6; j++ {
			pat = append(pat, pick("", "a", "ab", "*", "a*", "?", "*b*", "b"))
			res = append(res, pick("", "a", "ab", "b", "ba"))
		}
		p, r := strings.Join(pat[:rng.IntN(7)], ":"), strings.Join(res[:rng.IntN(7)], ":")
		if rng.IntN(4) == 0 {
			r += ":x:y"
		}
		if p == "" || strings.Contains(p, "${") {
			continue
		}
		rp, ok := compileResource(p, true)
		if !ok {
			t.Fatalf("compileResource(%q) failed", p)
		}
		var ev evalState
		ev.setResource(r)
		if got, want := rp.match(&ev), arn.Match(p, r); got != want {
			t.Fatalf("resource pattern %q vs %q: got %v, want %v", p, r, got, want)
		}
	}
}
