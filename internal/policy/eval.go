package policy

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/opensts/opensts/internal/arn"
)

// evalState is the per-request working state; it lives on the stack.
type evalState struct {
	princ    []*principalSet // the Principal elements of the policy being evaluated
	req      *Request
	ctx      *Context
	d        *Decision
	res      string    // req.Resource
	resPre   string    // res up to and including its fifth ':' (ARNs only)
	resSeg   [6]string // res's segments (ARNs only)
	resIsARN bool
	action   string // req.Action, ASCII-lowercased
	svc      string // the lowercased action's service prefix
	svcHash  uint64 // foldHash(svc)
	linear   bool   // test hook: evaluate every statement, without the index
	nowStr   string // aws:CurrentTime rendered lazily for string operators
}

// setResource records the request's resource and its ARN segments.
// It is arn.Segments finding the colons eight bytes at a time.
func (ev *evalState) setResource(res string) {
	const (
		lsb = 0x0101010101010101
		m7  = 0x7f7f7f7f7f7f7f7f
	)
	ev.res = res
	n, start := 0, 0
	for i := 0; i < len(res); i += 8 {
		var w uint64
		if len(res)-i >= 8 {
			w = load64(res[i:])
		} else {
			for j := len(res) - 1; j >= i; j-- {
				w = w<<8 | uint64(res[j])
			}
			w |= ^uint64(0) << (8 * (len(res) - i)) // no ':' past the end
		}
		x := w ^ (':' * lsb)
		for z := ^((x&m7 + m7) | x | m7); z != 0; z &= z - 1 { // 0x80 at each ':'
			j := i + bits.TrailingZeros64(z)/8
			ev.resSeg[n] = res[start:j]
			start = j + 1
			if n++; n == 5 {
				ev.resSeg[5] = res[start:]
				ev.resPre = res[:start]
				ev.resIsARN = true
				return
			}
		}
	}
}

// view is a read-only view of a key's values in the request. It holds the
// values rather than the context entry, so that escape analysis sees no
// pointer into the evaluation state flowing to the string parsers (which
// would move the caller's Request and Context to the heap).
type view struct {
	vals []string // nil: the value is one
	one  string
	n    int
	list bool
	now  byte // 'c' or 'e': the value is req.Now
}

func (v *view) at(i int) string {
	if v.vals != nil {
		return v.vals[i]
	}
	return v.one
}

var (
	hPrincipalArn     = foldHash("aws:PrincipalArn")
	hPrincipalAccount = foldHash("aws:PrincipalAccount")
	hUserID           = foldHash("aws:userid")
	hPrincipalType    = foldHash("aws:PrincipalType")
	hCurrentTime      = foldHash("aws:CurrentTime")
	hEpochTime        = foldHash("aws:EpochTime")
)

// lookup finds key in the request context, falling back to the keys every
// request carries: aws:CurrentTime and aws:EpochTime (from Now), and
// aws:PrincipalArn, aws:PrincipalAccount, aws:userid and aws:PrincipalType
// (from the principal) when the caller did not set them.
func (ev *evalState) lookup(key string, h uint64) (view, bool) {
	if e := ev.ctx.lookup(key, h); e != nil {
		n := e.count()
		if e.vals != nil && len(e.vals) == 0 {
			n = 0
		}
		return view{vals: e.vals, one: e.one[0], n: n, list: e.list || n > 1}, n > 0
	}
	pr := &ev.req.Principal
	switch {
	case h == hCurrentTime && equalFold(key, "aws:CurrentTime"):
		if !ev.req.Now.IsZero() {
			return view{n: 1, now: 'c'}, true
		}
	case h == hEpochTime && equalFold(key, "aws:EpochTime"):
		if !ev.req.Now.IsZero() {
			return view{n: 1, now: 'e'}, true
		}
	case h == hPrincipalArn && equalFold(key, "aws:PrincipalArn"):
		a := pr.ARN
		if pr.RoleARN != "" && pr.Type == AssumedRole {
			a = pr.RoleARN
		}
		if a != "" {
			return view{one: a, n: 1}, true
		}
	case h == hPrincipalAccount && equalFold(key, "aws:PrincipalAccount"):
		if pr.Account != "" {
			return view{one: pr.Account, n: 1}, true
		}
	case h == hUserID && equalFold(key, "aws:userid"):
		if pr.ID != "" {
			return view{one: pr.ID, n: 1}, true
		}
	case h == hPrincipalType && equalFold(key, "aws:PrincipalType"):
		if pr.ARN != "" || pr.Type != Anonymous {
			return view{one: pr.Type.String(), n: 1}, true
		}
	}
	return view{}, false
}

// scalar resolves a policy variable: the key's single value.
func (ev *evalState) scalar(key string, h uint64) (string, bool) {
	if e := ev.ctx.lookup(key, h); e != nil && e.vals == nil {
		return e.one[0], !e.list
	}
	v, ok := ev.lookup(key, h)
	if !ok || v.n != 1 || v.list {
		return "", false
	}
	if v.now != 0 {
		return ev.nowString(v.now), true
	}
	return v.at(0), true
}

func (ev *evalState) nowString(kind byte) string {
	if kind == 'e' {
		return strconv.FormatInt(ev.req.Now.Unix(), 10)
	}
	if ev.nowStr == "" {
		ev.nowStr = ev.req.Now.UTC().Format(time.RFC3339)
	}
	return ev.nowStr
}

func (ev *evalState) missing(key string) {
	for _, k := range ev.d.Missing {
		if k == key {
			return
		}
	}
	ev.d.Missing = append(ev.d.Missing, key)
}

// clause evaluates one (operator, key, values) condition.
func (ev *evalState) clause(cl *clause) bool {
	if cl.one {
		// Fast path: a context key with exactly one value.
		if e := ev.ctx.lookup(cl.key, cl.hash); e != nil && e.vals == nil {
			if e.list {
				// A single-valued operator never matches a multivalued key
				// (the IAM simulator's answer even for a one-element list).
				return cl.neg
			}
			if cl.fam == 'i' {
				return matchIP(cl, e.one[0]) != cl.neg
			}
			return ev.matchText(cl, e.one[0]) != cl.neg
		}
	}
	v, found := ev.lookup(cl.key, cl.hash)
	if cl.op.base == opNull {
		for i := range cl.vals {
			if cl.vals[i].b != found {
				return true
			}
		}
		return false
	}
	neg := cl.neg
	if !found {
		if cl.op.ifExists {
			return true
		}
		ev.missing(cl.key)
		switch cl.op.qual {
		case forAllValues:
			return true
		case forAnyValue:
			return false
		}
		return neg
	}
	switch cl.op.qual {
	case forAnyValue:
		for i := 0; i < v.n; i++ {
			if ev.matchAny(cl, &v, i) != neg {
				return true
			}
		}
		return false
	case forAllValues:
		for i := 0; i < v.n; i++ {
			if ev.matchAny(cl, &v, i) == neg {
				return false
			}
		}
		return true
	}
	if v.list {
		return neg
	}
	return ev.matchAny(cl, &v, 0) != neg
}

// matchAny reports whether request value i matches any policy value under
// the clause's positive operator.
func (ev *evalState) matchAny(cl *clause, v *view, i int) bool {
	if v.now == 0 {
		return ev.matchStr(cl, v.at(i))
	}
	switch cl.fam {
	case 'n':
		x := float64(ev.req.Now.Unix())
		for j := range cl.vals {
			p := &cl.vals[j]
			if p.ok && compareNum(cl.pos, x, p.num) {
				return true
			}
		}
		return false
	case 'd':
		t := ev.req.Now
		for j := range cl.vals {
			p := &cl.vals[j]
			if p.ok && compareDate(cl.pos, t, p.date) {
				return true
			}
		}
		return false
	case 'i':
		return false // the time is no IP address
	}
	return ev.matchText(cl, ev.nowString(v.now))
}

// matchStr reports whether the request value r matches any policy value
// under the clause's positive operator.
func (ev *evalState) matchStr(cl *clause, r string) bool {
	if cl.fam == 'i' {
		return matchIP(cl, r)
	}
	return ev.matchText(cl, r)
}

// matchIP is matchStr for the IP operators. It is apart because r escapes
// on its slow path (netip keeps its input in errors): the other operators'
// values, among them strings held by the evaluation state, must not.
func matchIP(cl *clause, r string) bool {
	if a, ok := parseIPv4(r); ok {
		for _, p := range cl.ip4 {
			if a&p.mask == p.net {
				return true
			}
		}
		return false
	}
	a, ok := parseAddr(r)
	if !ok {
		return false
	}
	for j := range cl.vals {
		if p := &cl.vals[j]; p.ok && p.ip.Contains(a) {
			return true
		}
	}
	return false
}

// matchText is matchStr for the operators other than the IP ones.
func (ev *evalState) matchText(cl *clause, r string) bool {
	pos := cl.pos
	switch cl.fam {
	case 'n':
		x, err := strconv.ParseFloat(r, 64)
		if err != nil {
			return false
		}
		for j := range cl.vals {
			p := &cl.vals[j]
			if p.ok && compareNum(pos, x, p.num) {
				return true
			}
		}
		return false
	case 'd':
		t, ok := parseDate(r)
		if !ok {
			return false
		}
		for j := range cl.vals {
			p := &cl.vals[j]
			if p.ok && compareDate(pos, t, p.date) {
				return true
			}
		}
		return false
	case 'b':
		isTrue := r == "true" || strings.EqualFold(r, "true")
		if !isTrue && r != "false" && !strings.EqualFold(r, "false") {
			return false
		}
		for j := range cl.vals {
			if cl.vals[j].b == isTrue {
				return true
			}
		}
		return false
	case 'x':
		for j := range cl.vals {
			if cl.vals[j].lit == r {
				return true
			}
		}
		return false
	}
	for j := range cl.vals {
		p := &cl.vals[j]
		if !p.t.hasVars() {
			switch pos {
			case opStringEquals:
				if p.lit == r {
					return true
				}
			case opStringEqualsIgnoreCase:
				if strings.EqualFold(p.lit, r) {
					return true
				}
			case opStringLike:
				if arn.Glob(p.lit, r) {
					return true
				}
			case opArnLike:
				if arn.Match(p.lit, r) {
					return true
				}
			}
			continue
		}
		vals, ok := p.t.resolve(ev)
		if !ok {
			continue // an unresolvable variable matches nothing
		}
		switch pos {
		case opArnLike:
			if arn.Match(p.t.render(&vals), r) {
				return true
			}
		case opStringEqualsIgnoreCase:
			if strings.EqualFold(p.t.render(&vals), r) {
				return true
			}
		default:
			if matchToks(p.t.toks, &vals, r) {
				return true
			}
		}
	}
	return false
}

// parseIPv4 parses a dotted-quad IPv4 address as netip.ParseAddr does
// (four decimal fields of at most 255, no leading zeros), without letting s
// escape. It reports false for anything else, which parseAddr then handles.
func parseIPv4(s string) (uint32, bool) {
	if len(s) < 7 || len(s) > 15 {
		return 0, false
	}
	var a uint32
	field, digits, dots := uint32(0), 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			if digits == 1 && field == 0 {
				return 0, false // leading zero
			}
			field = field*10 + uint32(c-'0')
			if field > 255 {
				return 0, false
			}
			digits++
		case c == '.' && digits > 0 && dots < 3:
			a = a<<8 | field
			field, digits = 0, 0
			dots++
		default:
			return 0, false
		}
	}
	if dots != 3 || digits == 0 {
		return 0, false
	}
	return a<<8 | field, true
}

func parseAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func compareNum(op base, x, p float64) bool {
	switch op {
	case opNumericEquals:
		return x == p
	case opNumericLessThan:
		return x < p
	case opNumericLessThanEquals:
		return x <= p
	case opNumericGreaterThan:
		return x > p
	case opNumericGreaterThanEquals:
		return x >= p
	}
	return false
}

func compareDate(op base, t, p time.Time) bool {
	c := t.Compare(p)
	switch op {
	case opDateEquals:
		return c == 0
	case opDateLessThan:
		return c < 0
	case opDateLessThanEquals:
		return c <= 0
	case opDateGreaterThan:
		return c > 0
	case opDateGreaterThanEquals:
		return c >= 0
	}
	return false
}

// statement reports whether st applies to the request, and for statements
// with a Principal element how it named the principal. The caller has
// checked the service prefix (st.services).
func (ev *evalState) statement(st *statement) (bool, NamedBy) {
	if !st.anyAction {
		am := false
		for i := range st.actions {
			if st.actions[i].match(ev.action) {
				am = true
				break
			}
		}
		if am == st.notAction {
			return false, NamedNone
		}
	}
	if !st.anyRes {
		rm := false
		for i := range st.resources {
			if st.resources[i].match(ev) {
				rm = true
				break
			}
		}
		if rm == st.notRes {
			return false, NamedNone
		}
	}
	named := NamedNone
	if st.hasPrinc {
		ps := ev.princ[st.index]
		if st.notPrinc {
			if ps.exempt(&ev.req.Principal) {
				return false, NamedNone
			}
			named = NamedEveryone
		} else {
			n, ok := ps.match(&ev.req.Principal)
			if !ok {
				return false, NamedNone
			}
			named = n
		}
	}
	for i := range st.conds {
		if !ev.clause(&st.conds[i]) {
			return false, NamedNone
		}
	}
	return true, named
}

type groupResult struct {
	said  Verdicts // saidAllow, saidDeny: what the group's statements said
	named uint16   // bit set of NamedBy values of matching Allow statements
}

// The bits of groupResult.said: those of one slot of Verdicts.
const (
	saidAllow Verdicts = 2
	saidDeny  Verdicts = 4
)

func (g groupResult) allow() bool { return g.said&saidAllow != 0 }
func (g groupResult) deny() bool  { return g.said&saidDeny != 0 }

func (g groupResult) has(n NamedBy) bool { return g.named&(1<<n) != 0 }

// verdictOf is the verdict of slot k of a Set: whether the slot has
// policies (present), and what they said.
func verdictOf(k Kind, present bool, g groupResult) Verdicts {
	return (bit(present) | g.said) << (3 * verdictSlot(k))
}

// group evaluates the policies of one kind. It is a wrapper so that the
// common absent kinds cost no call.
func (ev *evalState) group(list []Named, slot Kind) groupResult {
	if len(list) == 0 {
		return groupResult{}
	}
	return ev.groupOf(list, slot)
}

func (ev *evalState) groupOf(list []Named, slot Kind) groupResult {
	var r groupResult
	for i := range list {
		n := &list[i] // not a copy: a Named is wide
		p := n.Policy
		if p == nil {
			continue
		}
		kind := slot
		if slot == Resource && p.kind == Trust {
			kind = Trust
		}
		ev.princ = p.princ
		if ev.linear {
			for i := range p.stmts {
				if st := &p.stmts[i]; st.services == nil || contains(st.services, ev.svc) {
					ev.apply(&r, n.ID, kind, st)
				}
			}
			continue
		}
		// p.idx.lookup(ev.svc, ev.svcHash), with its first probe inline.
		ix := &p.idx
		cand := ix.wild
		if len(ix.slots) > 0 {
			sl := &ix.slots[ev.svcHash&uint64(len(ix.slots)-1)]
			switch {
			case sl.stmts == nil: // an empty slot: the service has none
			case sl.hash == ev.svcHash && eqStr(sl.svc, ev.svc):
				cand = sl.stmts
			default:
				cand = ix.lookup(ev.svc, ev.svcHash)
			}
		}
		for _, i := range cand {
			st := &p.stmts[i]
			ok, named := ev.statement(st)
			if !ok {
				continue
			}
			ev.addMatch(n.ID, kind, st)
			if st.effect == ExplicitDeny {
				r.said |= saidDeny
			} else {
				r.said |= saidAllow
				r.named |= 1 << named
			}
		}
	}
	return r
}

// addMatch appends st's Match to d.Matched, writing the fields in place
// rather than building the Match on the stack and copying it (the copy's
// wide loads can wait on the narrow stores of Kind and Effect).
func (ev *evalState) addMatch(id string, kind Kind, st *statement) {
	m := ev.d.Matched
	if len(m) < cap(m) {
		m = m[:len(m)+1]
	} else {
		m = append(m, Match{})
	}
	e := &m[len(m)-1]
	e.PolicyID, e.Kind, e.Sid, e.Index, e.Effect = id, kind, st.sid, st.index, st.effect
	ev.d.Matched = m
}

// apply evaluates st and records a match in d and r.
func (ev *evalState) apply(r *groupResult, id string, kind Kind, st *statement) {
	ok, named := ev.statement(st)
	if !ok {
		return
	}
	ev.addMatch(id, kind, st)
	if st.effect == ExplicitDeny {
		r.said |= saidDeny
	} else {
		r.said |= saidAllow
		r.named |= 1 << named
	}
}

// EvaluateInto is Evaluate writing into d, reusing d's Matched and Missing
// capacity, so that evaluating into a reused Decision does not allocate.
// It is safe for concurrent use with distinct d.
func (s *Set) EvaluateInto(req *Request, d *Decision) {
	s.evaluate(req, d, false)
}

// evaluateLinear is EvaluateInto without the service index: every statement
// is considered in order (the reference the index is tested against).
func (s *Set) evaluateLinear(req *Request, d *Decision) {
	s.evaluate(req, d, true)
}

func (s *Set) evaluate(req *Request, d *Decision, linear bool) {
	*d = Decision{Matched: d.Matched[:0], Missing: d.Missing[:0]}
	if s == nil || req == nil {
		d.DeniedBy = Identity
		return
	}
	var buf [actionBuf + 8]byte
	ev := evalState{req: req, ctx: req.Context, d: d, linear: linear}
	ev.setResource(req.Resource)
	ev.action, ev.svc, ev.svcHash = lowerAction(req.Action, &buf)
	pr := &req.Principal

	scpOK, scpDeny := true, false
	for _, level := range s.SCP {
		r := ev.group(level, SCP)
		scpDeny = scpDeny || r.deny()
		scpOK = scpOK && r.allow()
	}
	rcpOK, rcpDeny := true, false
	rcp := s.RCP != nil && rcpApplies(ev.action, ev.svc, pr)
	if rcp {
		for _, level := range s.RCP {
			r := ev.group(level, RCP)
			rcpDeny = rcpDeny || r.deny()
			rcpOK = rcpOK && r.allow()
		}
	}
	resKind := Resource
	for i := range s.Resource {
		if n := &s.Resource[i]; n.Policy != nil && n.Policy.kind == Trust {
			resKind = Trust
		}
	}
	res := ev.group(s.Resource, Resource)
	id := ev.group(s.Identity, Identity)
	bd := ev.group(s.Boundary, Boundary)
	se := ev.group(s.Session, Session)
	d.Verdicts = verdict(SCP, s.SCP != nil, scpOK, scpDeny) | verdictOf(Resource, s.Resource != nil, res) |
		verdictOf(Identity, s.Identity != nil, id) | verdictOf(Boundary, s.Boundary != nil, bd) | verdictOf(Session, s.Session != nil, se) |
		verdict(RCP, rcp, rcp && rcpOK, rcpDeny)

	if res.named != 0 {
		for n := NamedOther; n > NamedNone; n-- { // strongest naming
			if res.has(n) && rank(n) > rank(d.ResourceNamedBy) {
				d.ResourceNamedBy = n
			}
		}
	}
	d.CrossAccount = s.ResourceAccount != "" && pr.Account != "" && s.ResourceAccount != pr.Account

	deny := func(k Kind) { d.Effect, d.DeniedBy = ExplicitDeny, k }
	switch {
	case scpDeny:
		deny(SCP)
	case rcpDeny:
		deny(RCP)
	case res.deny():
		deny(resKind)
	case id.deny():
		deny(Identity)
	case bd.deny():
		deny(Boundary)
	case se.deny():
		deny(Session)
	}
	if d.Effect == ExplicitDeny {
		return
	}
	allow := func() { d.Effect, d.DeniedBy = Allow, 0 }
	implicit := func(k Kind) { d.Effect, d.DeniedBy = ImplicitDeny, k }
	if !scpOK {
		implicit(SCP)
		return
	}
	if !rcpOK {
		implicit(RCP)
		return
	}

	switch pr.Type {
	case Anonymous, Service, WebIdentity, SAMLUser, LDAPUser:
		// No identity-based policies: only the resource policy can allow.
		if res.allow() {
			allow()
		} else {
			implicit(resKind)
		}
		return
	case Root:
		if s.Session != nil && !se.allow() {
			// A root session scoped by session policies (AssumeRoot's
			// task policy) does only what they allow.
			implicit(Session)
		} else if !d.CrossAccount && resKind != Trust {
			allow()
		} else if res.allow() {
			allow()
		} else {
			implicit(resKind)
		}
		return
	}

	boundaryOK := s.Boundary == nil || bd.allow()
	sessionOK := se.allow() || (s.Session == nil && !s.SessionRequired)
	identityFail := Kind(0)
	switch {
	case !id.allow():
		identityFail = Identity
	case !boundaryOK:
		identityFail = Boundary
	case !sessionOK:
		identityFail = Session
	}
	direct := res.has(NamedUser) || res.has(NamedSession) || res.has(NamedFederated)
	viaRole := res.has(NamedRole) && boundaryOK && sessionOK

	switch {
	case resKind == Trust:
		// The trust policy must allow; naming the caller directly suffices in
		// its own account; naming its role also needs boundary and session
		// policy; naming the account (or any other account) delegates to the
		// caller's identity-based policies.
		if !res.allow() {
			implicit(Trust)
			return
		}
		if !d.CrossAccount && (direct || viaRole) {
			allow()
			return
		}
	case d.CrossAccount:
		if identityFail == 0 && !res.allow() {
			implicit(Resource)
			return
		}
	default:
		if res.allow() && (direct || viaRole || res.has(NamedEveryone) || res.has(NamedOther)) {
			allow()
			return
		}
	}
	if identityFail != 0 {
		implicit(identityFail)
		return
	}
	allow()
}

// rcpServices are the services whose actions resource control policies
// bound (AWS Organizations, "List of AWS services that support RCPs"); of
// STS, the actions on roles, OpenSTS's own federation to a role
// (AssumeRoleWithLDAPIdentity) with AWS's (an RCP that bounds
// sts:AssumeRole* or sts:* bounds it too).
var rcpServices = map[string]bool{"s3": true, "kms": true, "sqs": true, "secretsmanager": true, "cognito-identity": true,
	"logs": true, "dynamodb": true, "ecr": true, "aoss": true}

var rcpSTSActions = map[string]bool{"sts:assumerole": true, "sts:assumerolewithsaml": true, "sts:assumerolewithwebidentity": true,
	"sts:assumerolewithldapidentity": true, "sts:tagsession": true, "sts:setsourceidentity": true, "sts:setcontext": true}

// serviceLinkedRoleResource starts the resource of every service-linked
// role's ARN: its path starts with /aws-service-role/, which CreateRole
// refuses to any other role.
const serviceLinkedRoleResource = "role/aws-service-role/"

// isServiceLinkedRole reports whether roleARN is an IAM role's ARN whose
// path starts with /aws-service-role/. Its resource part (after the fifth
// colon) is what is looked at, never a substring of the whole: a role's
// path may hold ':', so /x:role/aws-service-role/ is an ordinary role's
// path that CreateRole accepts, and its ARN contains
// ":role/aws-service-role/" without being a service-linked role's.
func isServiceLinkedRole(roleARN string) bool {
	rest := roleARN
	for i := range 5 {
		c := strings.IndexByte(rest, ':')
		if c < 0 {
			return false
		}
		switch i {
		case 0:
			if rest[:c] != "arn" {
				return false
			}
		case 2:
			if rest[:c] != "iam" {
				return false
			}
		}
		rest = rest[c+1:]
	}
	return strings.HasPrefix(rest, serviceLinkedRoleResource)
}

// RCPApplies reports whether resource control policies bound action (any
// case) requested by pr: an action of a service RCPs cover, by a principal
// other than a service-linked role's session (which RCPs do not restrict).
func RCPApplies(action string, pr *Principal) bool {
	var buf [actionBuf + 8]byte
	lower, svc, _ := lowerAction(action, &buf)
	return rcpApplies(lower, svc, pr)
}

func rcpApplies(action, svc string, pr *Principal) bool {
	if svc == "sts" {
		if !rcpSTSActions[action] {
			return false
		}
	} else if !rcpServices[svc] {
		return false
	}
	return pr.Type != AssumedRole || !isServiceLinkedRole(pr.RoleARN)
}

// actionBuf is the size of the stack buffer an action is lowercased into;
// longer actions are lowercased on the heap.
const actionBuf = 128

// lowerAction returns action with ASCII letters lowercased (in buf when it
// fits), its service prefix (up to the first ':', or all of it) and the
// prefix's foldHash. It works eight bytes at a time.
func lowerAction(action string, buf *[actionBuf + 8]byte) (lower, svc string, h uint64) {
	const (
		lsb = 0x0101010101010101
		m7  = 0x7f7f7f7f7f7f7f7f
	)
	n := len(action)
	if n == 0 {
		return "", "", foldHash("")
	}
	var b []byte
	if n <= actionBuf {
		b = buf[:n+8] // room for the last word
	} else {
		b = make([]byte, n+8)
	}
	colon := -1
	var w0 uint64 // the first lowercased word
	for i := 0; i < n; i += 8 {
		// Load from action, not from b: a wide load of bytes just copied
		// stalls on store forwarding.
		var w uint64
		if n-i >= 8 {
			w = load64(action[i:])
		} else {
			for j := n - 1; j >= i; j-- {
				w = w<<8 | uint64(action[j])
			}
		}
		w = foldWord(w)
		if i == 0 {
			w0 = w
		}
		binary.LittleEndian.PutUint64(b[i:], w)
		if colon < 0 {
			// Exact per-byte test for ':' (no false positives); the bytes
			// past the end are zero.
			x := w ^ (':' * lsb)
			z := ^((x&m7 + m7) | x | m7) // 0x80 exactly where x's byte is zero
			if z != 0 {
				colon = i + bits.TrailingZeros64(z)/8
			}
		}
	}
	lower = unsafe.String(&b[0], n)
	svc = lower
	if colon >= 0 && colon < n {
		svc = lower[:colon]
		if colon < 8 {
			// foldHash of a short service from the lowercased first word
			// (foldWord leaves lowercase bytes alone).
			w := w0 & (1<<(8*colon) - 1)
			h = uint64(colon) * hashPrime
			h = (h ^ w) * hashPrime
			return lower, svc, h ^ h>>32
		}
	}
	return lower, svc, foldHash(svc)
}
