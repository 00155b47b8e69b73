package policy

import (
	"slices"
	"strings"
)

// ContextKeys returns the condition keys the policy's Condition elements
// name, and the keys of the policy variables in their values, each once:
// keys compare case-insensitively, and the first spelling in the document
// is kept. They are sorted case-insensitively. It costs the policy's
// conditions, which Parse bounds by the document's size.
func (p *Policy) ContextKeys() []string {
	seen := map[string]bool{}
	var out []string
	add := func(k string) {
		f := strings.ToLower(k)
		if k == "" || seen[f] {
			return
		}
		seen[f] = true
		out = append(out, k)
	}
	for i := range p.stmts {
		for _, cl := range p.stmts[i].conds {
			add(cl.key)
			for _, v := range cl.vals {
				for _, t := range v.t.toks {
					if t.kind == 'v' {
						add(t.s)
					}
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out
}
