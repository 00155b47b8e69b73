package iam_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/iam"
)

// TestSimulateSizeLimit drives the simulator past its bounds on work and
// answer size: the pages over them are refused before any evaluation, a
// page under them is answered.
func TestSimulateSizeLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var actions, resources []string
	for i := range 40 {
		actions = append(actions, fmt.Sprintf("s3:Action%d", i))
	}
	for i := range 400 {
		tail := fmt.Sprint(i)
		resources = append(resources, "arn:aws:s3:::"+strings.Repeat("a", 2048-13-len(tail))+tail)
	}
	pathological := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::*` + strings.Repeat("a", 40) + `?b"}}`
	// Many terms (2,000 in five policies): each is matched against every
	// resource.
	var manyTerms []string
	for j := range 5 {
		var terms []string
		for i := range 400 {
			terms = append(terms, fmt.Sprintf(`"arn:aws:s3:::*%d?b"`, j*400+i))
		}
		manyTerms = append(manyTerms, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":[`+strings.Join(terms, ",")+`]}}`)
	}

	tests := []struct {
		name      string
		in        *iam.SimulateCustomPolicyInput
		refused   bool
		truncated bool
	}{
		// 16,000 results with 2 KiB resource names: about 70 MiB of answer.
		{"the review's request", &iam.SimulateCustomPolicyInput{PolicyInputList: []string{pathological}, ActionNames: actions, ResourceARNs: resources, MaxItems: ptr[int32](1000)}, true, false},
		// Pages of 5 actions (2,000 results) fit.
		{"the same in pages", &iam.SimulateCustomPolicyInput{PolicyInputList: []string{pathological}, ActionNames: actions, ResourceARNs: resources, MaxItems: ptr[int32](5)}, false, true},
		// 2,000 terms against 2 KiB resources for 40 resources: about 2^32 units.
		{"many terms", &iam.SimulateCustomPolicyInput{PolicyInputList: manyTerms, ActionNames: actions[:20], ResourceARNs: resources[:40]}, true, false},
		{"many terms, few resources", &iam.SimulateCustomPolicyInput{PolicyInputList: manyTerms, ActionNames: actions[:20], ResourceARNs: resources[:2]}, false, false},
		// Context values count against every condition value.
		{"large context", &iam.SimulateCustomPolicyInput{
			PolicyInputList: []string{condDoc("ForAnyValue:StringLike", "my:k", `[`+strings.Repeat(`"*a?b",`, 1000)+`"x"]`)},
			ActionNames:     actions, ResourceARNs: resources[:10],
			ContextEntries: []iam.ContextEntry{entry("my:k", "stringList", strings.Split(strings.Repeat(strings.Repeat("a", 100)+",", 1000), ",")...)},
		}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := e.svc.SimulateCustomPolicy(e.ctx, e.rootA, tt.in)
			if tt.refused {
				wantErr(t, err, apierr.InvalidInput)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.IsTruncated != tt.truncated {
				t.Errorf("IsTruncated = %v, want %v", out.IsTruncated, tt.truncated)
			}
		})
	}
}

func TestSimulateDocumentLength(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}` + strings.Repeat(" ", 131072)
	for _, in := range []*iam.SimulateCustomPolicyInput{
		{PolicyInputList: []string{long}, ActionNames: []string{"s3:GetObject"}},
		{PolicyInputList: []string{""}, ActionNames: []string{"s3:GetObject"}},
		{PolicyInputList: []string{allowS3}, PermissionsBoundaryPolicyInputList: []string{long}, ActionNames: []string{"s3:GetObject"}},
	} {
		_, err := e.svc.SimulateCustomPolicy(e.ctx, e.rootA, in)
		wantErr(t, err, apierr.ValidationError)
	}
	e.createRole("app")
	_, err := e.svc.SimulatePrincipalPolicy(e.ctx, e.rootA, &iam.SimulatePrincipalPolicyInput{
		PolicySourceARN: "arn:aws:sts::111122223333:assumed-role/app/s", SessionPolicyInputList: []string{long}, ActionNames: []string{"s3:GetObject"},
	})
	wantErr(t, err, apierr.ValidationError)
}

// countingCtx is a context whose Err counts its calls and reports
// context.Canceled from call number cancelAt on (never when cancelAt is 0).
type countingCtx struct {
	context.Context
	cancelAt int64
	n        atomic.Int64
}

func (c *countingCtx) Err() error {
	if n := c.n.Add(1); c.cancelAt > 0 && n >= c.cancelAt {
		return context.Canceled
	}
	return nil
}

// TestSimulateStopsWhenCanceled checks that a simulation whose request
// context ends part way returns the context's error, not a partial answer.
func TestSimulateStopsWhenCanceled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var resources []string
	for i := range 200 {
		resources = append(resources, fmt.Sprintf("arn:aws:s3:::b/%d", i))
	}
	in := &iam.SimulateCustomPolicyInput{PolicyInputList: []string{allowS3}, ActionNames: []string{"s3:GetObject", "s3:PutObject"}, ResourceARNs: resources}
	full := &countingCtx{Context: context.Background()}
	must[*iam.SimulatePolicyOutput](t)(e.svc.SimulateCustomPolicy(full, e.rootA, in))
	calls := full.n.Load()
	if calls < 400 {
		t.Fatalf("the simulation looked at its context %d times for 400 evaluations", calls)
	}
	for _, at := range []int64{1, calls / 2, calls - 1} {
		ctx := &countingCtx{Context: context.Background(), cancelAt: at}
		out, err := e.svc.SimulateCustomPolicy(ctx, e.rootA, in)
		if !errors.Is(err, context.Canceled) || out != nil {
			t.Errorf("canceled at call %d of %d: %v, %v; want context.Canceled", at, calls, out, err)
		}
	}
}
