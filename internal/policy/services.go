package policy

import (
	"slices"
	"strings"

	"github.com/opensts/opensts/internal/arn"
)

// pattern is the action pattern as written, lowercase.
func (p *actionPat) pattern() string {
	switch p.kind {
	case '*':
		return "*"
	case 'p':
		return p.s + "*"
	}
	return p.s
}

// grantsAll reports whether the pattern matches every action of service.
func (p *actionPat) grantsAll(service string) bool {
	svc, act, ok := strings.Cut(p.pattern(), ":")
	if !ok {
		return svc == "*"
	}
	return act == "*" && arn.Glob(svc, service)
}

// grantsSome reports whether the pattern can match an action of service.
func (p *actionPat) grantsSome(service string) bool {
	svc, _, ok := strings.Cut(p.pattern(), ":")
	return svc == "*" || ok && arn.Glob(svc, service)
}

// Grants reports whether an Allow statement of p can allow some action of
// service (a lowercase namespace): its Action has a pattern that matches
// one, or its NotAction does not exclude the whole service. Resources and
// conditions are not considered: this is "granted" as IAM's service last
// accessed data counts it, not a decision.
func (p *Policy) Grants(service string) bool {
	service = strings.ToLower(service)
	for i := range p.stmts {
		st := &p.stmts[i]
		if st.effect != Allow {
			continue
		}
		if st.notAction {
			if !slices.ContainsFunc(st.actions, func(a actionPat) bool { return a.grantsAll(service) }) {
				return true
			}
			continue
		}
		if slices.ContainsFunc(st.actions, func(a actionPat) bool { return a.grantsSome(service) }) {
			return true
		}
	}
	return false
}

// Services returns the service namespaces (lowercase, sorted, unique) that
// the Action patterns of p's Allow statements name without a wildcard in
// the service part.
func (p *Policy) Services() []string {
	var out []string
	for i := range p.stmts {
		st := &p.stmts[i]
		if st.effect != Allow || st.notAction {
			continue
		}
		for _, a := range st.actions {
			svc, _, ok := strings.Cut(a.pattern(), ":")
			if ok && !strings.ContainsAny(svc, "*?") && !slices.Contains(out, svc) {
				out = append(out, svc)
			}
		}
	}
	slices.Sort(out)
	return out
}
