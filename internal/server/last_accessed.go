package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensts/opensts/internal/lastaccess"
	"github.com/opensts/opensts/internal/pipeline"
	"github.com/opensts/opensts/internal/policy"
)

// LastAccessInterval is how often the service last accessed uses recorded
// in memory are written to the store: the bound on how stale another node's
// view is, and on what a crash loses.
const LastAccessInterval = time.Second

// observeAccess records, for every successful authenticated request, that
// its user or role used the action (IAM's service last accessed data). A
// role session counts for its role, a GetSessionToken or
// GetFederationToken session for its user; the account root is not an IAM
// entity and is not recorded. It does no I/O: the recorder writes in
// batches.
func observeAccess(r *lastaccess.Recorder, region string) pipeline.Observer {
	return pipeline.ObserverFunc(func(_ context.Context, x *pipeline.Exchange) {
		c := x.Caller
		if x.Err != nil || c == nil || x.API == nil || c.Gone || c.Type == policy.Root {
			return
		}
		id := ""
		switch s := c.Session; {
		case s == nil:
			if c.Type == policy.User {
				id = c.UserID
			}
		case s.RoleID != "":
			id = s.RoleID
		case s.UserName != "":
			id = s.UserID
		}
		if id == "" {
			return
		}
		reg := c.Region
		if reg == "" {
			reg = region
		}
		r.Record(lastaccess.Key{PrincipalID: id, Service: x.API.Name, Action: x.Action}, c.Account, x.Time, reg)
	})
}

// registerAccessMetrics exports the recorder's memory and losses.
func (s *Server) registerAccessMetrics() {
	s.metrics.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "opensts_last_accessed_keys",
		Help: "Service last accessed keys (principal, service, action) held in memory.",
	}, func() float64 { return float64(s.access.Keys()) }), prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "opensts_last_accessed_dropped_total",
		Help: "Service last accessed uses not recorded because the in-memory bound was reached.",
	}, func() float64 { return float64(s.access.Dropped()) }), prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "opensts_last_accessed_write_failures_total",
		Help: "Batch writes of service last accessed data that failed (retried on the next interval).",
	}, func() float64 { return float64(s.access.Failed()) }))
}
