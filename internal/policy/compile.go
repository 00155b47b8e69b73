package policy

import (
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Policy is a parsed, validated, compiled policy. Immutable; safe for
// concurrent use.
//
// A policy holds its Principal elements, and shares the rest, its shape, with every live policy of the same kind whose
// document differs from its own only in Principal values (the trust policies
// of a thousand roles, each trusting its own user, have one shape): a
// compiled trust policy of one statement costs some 300 bytes of its own.
type Policy struct {
	*shape
	// princ holds each statement's compiled Principal or NotPrincipal
	// element (nil for statements without one); nil when none has one.
	princ []*principalSet
	spans []Span // where each statement sits in the document; nil: the shape's
	size  int    // Size
}

// shape is what compiled policies of one kind and structure share: their
// statements without their Principal values, the service index, and the
// statement positions of the document first compiled. Immutable.
type shape struct {
	kind      Kind
	version   string
	id        string
	stmts     []statement
	idx       svcIndex
	shapeSpan []Span
	size      int  // Size
	work      Work // Work, without the Principal terms
}

// Kind returns the kind the policy was parsed as.
func (p *Policy) Kind() Kind { return p.kind }

// Version returns the policy's Version element ("" when absent).
func (p *Policy) Version() string { return p.version }

// ID returns the policy's Id element.
func (p *Policy) ID() string { return p.id }

// Len returns the number of statements.
func (p *Policy) Len() int { return len(p.stmts) }

// statement is a compiled statement; the fields evaluation reads for every
// candidate come first, so that they share the first cache line.
type statement struct {
	notAction bool
	notRes    bool
	anyRes    bool // every resource matches: no Resource element (trust policies), or Resource holds "*"
	anyAction bool // every action matches: Action holds "*"
	notPrinc  bool
	effect    Effect
	actions   []actionPat
	resources []resPat
	conds     []clause
	hasPrinc  bool // a Principal or NotPrincipal element: Policy.princ[index]
	sid       string
	index     int
	services  []string // lowercase services of all Action patterns; nil when one has a wildcard service
}

type clause struct {
	one   bool // op is single-valued and not Null: the key's one value decides
	op    operator
	pos   base // op.base's positive form
	neg   bool // op.base is a negation of pos
	fam   byte // pos.family()
	key   string
	hash  uint64
	isNow byte // 'c' aws:CurrentTime, 'e' aws:EpochTime, 0 otherwise
	vals  []cvalue
	ip4   []ip4Prefix // IP operators: the IPv4 values (the others never hold an IPv4 address)
}

// ip4Prefix is an IPv4 CIDR as integers: an address a is in it when
// a&mask == net.
type ip4Prefix struct{ net, mask uint32 }

// cvalue is one policy value of a condition, pre-parsed for its family.
type cvalue struct {
	t    tmpl // strings and ARNs (may hold variables)
	lit  string
	num  float64
	date time.Time
	ok   bool // num/date/ip parsed
	ip   netip.Prefix
	b    bool
}

// Parse validates doc as a policy of the given kind and compiles it. It
// returns an *Error carrying AWS's MalformedPolicyDocument message when doc
// is invalid. Parse is safe for concurrent use.
func Parse(kind Kind, doc string) (*Policy, error) {
	if kind < Identity || kind > RCP {
		return nil, malformed("unknown policy kind")
	}
	if len(doc) > 131072 {
		return nil, &Error{Message: "Cannot exceed quota for PolicySize: " + strconv.Itoa(maxSize(kind)), Quota: maxSize(kind)}
	}
	for _, r := range doc {
		if r != '\t' && r != '\n' && r != '\r' && (r < 0x20 || r > 0xFF) {
			return nil, malformed(msgSyntax)
		}
	}
	root, err := decodeJSON(doc)
	if err != nil {
		return nil, malformed(msgSyntax)
	}
	stmts, verr := validate(kind, root)
	if verr != nil {
		return nil, verr
	}
	if n := nonSpaceLen(doc); n > maxSize(kind) {
		return nil, &Error{Message: "Cannot exceed quota for PolicySize: " + strconv.Itoa(maxSize(kind)), Quota: maxSize(kind)}
	}
	key := shapeKey(kind, root, stmts)
	if sh := shapes.lookup(key); sh != nil {
		// A document of this shape compiled before: its statements are
		// those but for their principals (compileStatement reads nothing
		// else of them), so only the principals are compiled. Many roles'
		// trust policies differ in their principals alone.
		p := &Policy{shape: sh}
		for i, sn := range stmts {
			if ps, _ := statementPrincipal(sn); ps != nil {
				if p.princ == nil {
					p.princ = make([]*principalSet, len(stmts))
				}
				p.princ[i] = ps
			}
		}
		if spans := statementSpans(doc, stmts); !slices.Equal(spans, sh.shapeSpan) {
			p.spans = spans
		}
		p.measure()
		return p, nil
	}
	sh := &shape{kind: kind}
	p := &Policy{}
	if v, ok := root.get("Version"); ok {
		sh.version = v.str
	}
	if v, ok := root.get("Id"); ok {
		sh.id = v.str
	}
	vars := sh.version == "2012-10-17"
	sh.stmts = make([]statement, 0, len(stmts))
	for i, sn := range stmts {
		st, ps, msg := compileStatement(i, sn, vars)
		if msg != "" {
			return nil, malformed(msg)
		}
		sh.stmts = append(sh.stmts, st)
		if ps != nil {
			if p.princ == nil {
				p.princ = make([]*principalSet, len(stmts))
			}
			p.princ[i] = ps
		}
	}
	sh.idx = buildIndex(sh.stmts)
	spans := statementSpans(doc, stmts)
	sh.shapeSpan = spans
	sh.measure()
	p.shape = shapes.intern(key, sh)
	if !slices.Equal(spans, p.shape.shapeSpan) {
		p.spans = spans
	}
	p.measure()
	return p, nil
}

// svcIndex maps an action's service prefix to the statements that can match
// it, so that evaluation skips statements naming only other services.
// Statements whose Action does not pin the service (NotAction, a wildcard
// in the service part, a pattern without ':') are candidates for every
// service and are listed in wild. A slot's list is its service's statements
// merged with wild, so that evaluation walks one list. All lists are in
// statement order.
type svcIndex struct {
	slots []svcSlot // open addressing by foldHash(service); len is a power of two, or 0
	wild  []int32
}

type svcSlot struct {
	svc   string // lowercase service prefix
	hash  uint64 // foldHash(svc)
	stmts []int32
}

func buildIndex(stmts []statement) svcIndex {
	var ix svcIndex
	var svcs []string
	for i := range stmts {
		st := &stmts[i]
		if st.services == nil {
			ix.wild = append(ix.wild, int32(i))
			continue
		}
		for _, s := range st.services {
			if !contains(svcs, s) {
				svcs = append(svcs, s)
			}
		}
	}
	if len(svcs) == 0 {
		return ix
	}
	n := 4
	for n < 2*len(svcs) {
		n *= 2
	}
	ix.slots = make([]svcSlot, n)
	for i := range stmts {
		if stmts[i].services == nil {
			// A candidate for every service: append it to each slot in
			// statement order (slots of services named later get it below).
			for j := range ix.slots {
				if sl := &ix.slots[j]; sl.stmts != nil {
					sl.stmts = append(sl.stmts, int32(i))
				}
			}
			continue
		}
		for _, s := range stmts[i].services {
			sl := ix.slot(s, foldHash(s))
			if sl.stmts == nil {
				// A service first named here: it starts with the
				// wildcard statements before i.
				sl.svc, sl.hash = s, foldHash(s)
				for _, w := range ix.wild {
					if int(w) < i {
						sl.stmts = append(sl.stmts, w)
					}
				}
			}
			sl.stmts = append(sl.stmts, int32(i))
		}
	}
	return ix
}

// slot returns the slot of svc (lowercase) with hash h: its own, or the
// empty one where it would go.
func (ix *svcIndex) slot(svc string, h uint64) *svcSlot {
	mask := uint64(len(ix.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &ix.slots[i]
		if sl.stmts == nil || (sl.hash == h && eqStr(sl.svc, svc)) {
			return sl
		}
	}
}

// lookup returns the candidate statements for svc (lowercase, with hash
// h): those naming it and the wildcard ones, in statement order.
func (ix *svcIndex) lookup(svc string, h uint64) []int32 {
	if len(ix.slots) == 0 {
		return ix.wild
	}
	if l := ix.slot(svc, h).stmts; l != nil {
		return l
	}
	return ix.wild
}

func nonSpaceLen(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func compileStatement(i int, sn *node, vars bool) (statement, *principalSet, string) {
	st := statement{index: i, effect: Allow}
	if s, ok := sn.get("Sid"); ok {
		st.sid = s.str
	}
	if e, _ := sn.get("Effect"); e.str == "Deny" {
		st.effect = ExplicitDeny
	}
	a, ok := sn.get("Action")
	if !ok {
		a, _ = sn.get("NotAction")
		st.notAction = true
	}
	filter := !st.notAction
	for _, s := range a.strs() {
		st.actions = append(st.actions, compileAction(s))
		if s == "*" && !st.notAction {
			st.anyAction = true
		}
		svc, _, ok := strings.Cut(strings.ToLower(s), ":")
		if !ok || strings.ContainsAny(svc, "*?") {
			filter = false
		} else if !contains(st.services, svc) {
			st.services = append(st.services, svc)
		}
	}
	if !filter {
		st.services = nil
	}
	r, ok := sn.get("Resource")
	if !ok {
		r, ok = sn.get("NotResource")
		st.notRes = ok
	}
	if !ok {
		st.anyRes = true
	} else {
		for _, s := range r.strs() {
			rp, ok := compileResource(s, vars)
			if !ok {
				return st, nil, msgSyntax
			}
			st.resources = append(st.resources, rp)
			if rp.all && !st.notRes {
				st.anyRes = true
			}
		}
	}
	ps, not := statementPrincipal(sn)
	st.hasPrinc, st.notPrinc = ps != nil, not
	if c, ok := sn.get("Condition"); ok {
		for j, opName := range c.keys {
			op, ok := parseOperator(opName)
			if !ok {
				continue // empty block of an unknown operator
			}
			block := c.vals[j]
			for k, key := range block.keys {
				cl, ok := compileClause(op, key, block.vals[k].strs(), vars)
				if !ok {
					return st, nil, msgSyntax
				}
				st.conds = append(st.conds, cl)
			}
		}
	}
	return st, ps, ""
}

// statementPrincipal compiles a statement's Principal or NotPrincipal (not
// set); nil when it has neither.
func statementPrincipal(sn *node) (ps *principalSet, not bool) {
	p, ok := sn.get("Principal")
	if !ok {
		p, ok = sn.get("NotPrincipal")
		not = ok
	}
	if !ok {
		return nil, false
	}
	return compilePrincipal(p), not
}

func compileClause(op operator, key string, values []string, vars bool) (clause, bool) {
	cl := clause{op: op, key: key, hash: foldHash(key)}
	switch {
	case equalFold(key, "aws:CurrentTime"):
		cl.isNow = 'c'
	case equalFold(key, "aws:EpochTime"):
		cl.isNow = 'e'
	}
	cl.one = op.qual == single && op.base != opNull
	pos, neg := op.base.positive()
	cl.pos, cl.neg, cl.fam = pos, neg, pos.family()
	for _, v := range values {
		cv := cvalue{lit: v}
		switch op.base.family() {
		case 's':
			// Variables are allowed in string values; wildcards only in Like.
			t, ok := compileTmpl(v, pos == opStringLike, vars)
			if !ok {
				return cl, false
			}
			cv.t = t
		case 'a':
			t, ok := compileTmpl(v, true, vars)
			if !ok {
				return cl, false
			}
			cv.t = t
		case 'n':
			f, err := strconv.ParseFloat(v, 64)
			cv.num, cv.ok = f, err == nil && !math.IsNaN(f)
		case 'd':
			cv.date, cv.ok = parseDate(v)
		case 'i':
			cv.ip, cv.ok = parseCIDR(v)
			if cv.ok && cv.ip.Addr().Is4() {
				a := cv.ip.Addr().As4()
				mask := ^uint32(0) << (32 - cv.ip.Bits())
				cl.ip4 = append(cl.ip4, ip4Prefix{net: binary.BigEndian.Uint32(a[:]) & mask, mask: mask})
			}
		case 'b', 'z':
			cv.b = strings.EqualFold(v, "true")
		}
		cl.vals = append(cl.vals, cv)
	}
	return cl, true
}
