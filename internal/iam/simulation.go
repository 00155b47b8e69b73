package iam

import (
	"context"
	"math"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/arn"
	"github.com/opensts/opensts/internal/policy"
)

// Simulation is what Simulate decides: each action on each resource, for
// one principal, with one set of policies and one request context.
type Simulation struct {
	// Set holds the policies. Its ResourceAccount is not used: each
	// resource's account comes from ResourceOwner and OwnerFromARN.
	Set       *policy.Set
	Principal policy.Principal
	Context   *policy.Context // may be nil
	// Now is the time of the requests. Zero leaves aws:CurrentTime and
	// aws:EpochTime to Context (missing when it lacks them), as in IAM's
	// simulator.
	Now       time.Time
	Actions   []string
	Resources []string // ARNs, or "*"
	// ResourceOwner is the account that owns the resources; "" is the
	// principal's. With OwnerFromARN, a resource whose ARN names an
	// account belongs to that account instead.
	ResourceOwner string
	OwnerFromARN  bool
}

// Simulate decides each action of sim on each of its resources: the
// answer's [i][j] is the decision for Actions[i] on Resources[j]. It is the
// simulator of IAM's SimulateCustomPolicy and SimulatePrincipalPolicy and
// of "opensts policy simulate". Before any evaluation it estimates the work
// and the size of the answer, and refuses a simulation over the bounds with
// InvalidInput; it stops with ctx's error as soon as ctx ends.
func Simulate(ctx context.Context, sim *Simulation) ([][]policy.Decision, error) {
	if err := sim.checkSize(); err != nil {
		return nil, err
	}
	accounts := make([]string, len(sim.Resources))
	for j, r := range sim.Resources {
		accounts[j] = sim.ResourceOwner
		if a, err := arn.Parse(r); sim.OwnerFromARN && err == nil && a.Account != "" {
			accounts[j] = a.Account
		}
	}
	set := *sim.Set
	out := make([][]policy.Decision, len(sim.Actions))
	for i, action := range sim.Actions {
		out[i] = make([]policy.Decision, len(sim.Resources))
		for j, r := range sim.Resources {
			// Stop when the client is gone (the request's context ends):
			// the error is the context's, which the server does not
			// report as a decision.
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			set.ResourceAccount = accounts[j]
			out[i][j] = policy.Evaluate(&set, &policy.Request{Principal: sim.Principal, Action: action, Resource: r, Context: sim.Context, Now: sim.Now})
		}
	}
	return out, nil
}

// The size of one simulation. AWS limits the length of each input (action
// names 3 to 128 characters, resource ARNs 1 to 2048, policy documents 1 to
// 131072) but not how many a request holds, nor the work they make; OpenSTS
// bounds both for each page of results (MaxItems actions), estimated before
// any evaluation from the inputs and the compiled policies' policy.Work. A
// page over either bound fails with InvalidInput, before any work: a caller
// simulates fewer actions a page, fewer resources or smaller policies.
const (
	// maxSimulationWork bounds the matching work of a page: for each
	// action and resource, every policy's bytes, each of its terms against
	// the longest request value, and each condition value against all the
	// context's values (policy.Work), in bytes. The costliest byte is a
	// wildcard run with '?' scanned across a value (arn.Glob), at 1 to 2
	// ns: a page at the bound costs about half a second of CPU at worst.
	maxSimulationWork = 1 << 28
	// maxSimulationAnswer bounds the estimated size of a page's answer:
	// for each action and resource, the resource's ARN twice and 256 bytes,
	// plus 256 bytes for each statement and condition of the policies (a
	// matched statement, a missing context key).
	maxSimulationAnswer = 32 << 20
)

// checkSize estimates the work and the answer of the simulation and
// refuses one over the bounds.
func (sim *Simulation) checkSize() error {
	var w policy.Work
	for _, n := range sim.Set.All() {
		if n.Policy == nil {
			continue
		}
		pw := n.Policy.Work()
		w.Statements += pw.Statements
		w.Conditions += pw.Conditions
		w.Terms += pw.Terms
		w.Values += pw.Values
		w.Bytes += pw.Bytes
	}
	// The longest value a term meets: an action name (at most 128), a
	// resource ARN, the principal's ARNs; and all the context's values,
	// with the keys every request has.
	longest, resLongest := 128, 0
	for _, r := range sim.Resources {
		resLongest = max(resLongest, len(r))
	}
	longest = max(longest, resLongest, len(sim.Principal.ARN), len(sim.Principal.RoleARN))
	ctxBytes := 1024
	for _, k := range sim.Context.Keys() {
		vals, _ := sim.Context.Get(k)
		for _, v := range vals {
			ctxBytes += len(v) + 16
		}
	}
	n := len(sim.Actions)
	pairs := n * len(sim.Resources)
	work := mulSat(pairs, addSat(w.Bytes, mulSat(w.Terms, longest), mulSat(w.Values, ctxBytes+longest)))
	answer := mulSat(pairs, addSat(256, 2*resLongest, mulSat(256, w.Statements+w.Conditions)))
	if work > maxSimulationWork || answer > maxSimulationAnswer {
		return apierr.New(apierr.InvalidInput, "The simulation is too large: %d actions on %d resources with these policies and context would take about %d units of work (at most %d) and %d bytes of results (at most %d). Simulate fewer actions at a time (MaxItems), fewer resources, or smaller policies.",
			n, len(sim.Resources), work, maxSimulationWork, answer, maxSimulationAnswer)
	}
	return nil
}

// addSat and mulSat add and multiply non-negative ints, saturating at the
// largest int instead of overflowing.
func addSat(xs ...int) int {
	s := 0
	for _, x := range xs {
		if s > math.MaxInt-x {
			return math.MaxInt
		}
		s += x
	}
	return s
}

func mulSat(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}
