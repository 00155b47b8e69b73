package server

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/opensts/opensts/internal/store"
)

// The change feed is how a node learns that something it caches changed:
// every store write records what it changed (store.Change) in the same
// transaction, and this node
//   - applies its own writes before they return (store.SetChangeHook), so a
//     caller reads its writes on the node that made them;
//   - tails the feed every RefreshInterval for other nodes' writes.
//
// Each change goes to every consumer's forget function, here and only here,
// so no handler has to remember to invalidate anything. When the node has
// fallen behind what the store keeps (store.ErrChangesPruned), every cache is
// cleared instead.
//
// Freshness bound: a write made through another node is applied here at
// most FreshnessBound after it committed (one poll interval, plus the poll
// itself); opensts_change_feed_lag_seconds says how long ago this node last
// read the feed to its end, and opensts_change_feed_freshness_bound_seconds
// what it promises.

// changeRetention is how long the store keeps changes: a node that was away
// longer reloads everything when it comes back.
const changeRetention = time.Hour

// feedPage bounds the changes read at once.
const feedPage = 1000

type feed struct {
	store   store.Store
	log     *slog.Logger
	now     func() time.Time
	every   time.Duration
	forget  []func(store.Change)
	reload  []func()
	keyring func(ctx context.Context) error // refreshes the session keyring (asynchronously)

	mu       sync.Mutex // one sync at a time; guards last and lastSync
	last     int64
	lastSync time.Time
	keysDue  chan struct{} // a signing key changed: refresh the keyring

	lag, bound, seq prometheus.GaugeFunc
	applied         prometheus.Counter
	reloads         prometheus.Counter
}

func newFeed(st store.Store, log *slog.Logger, now func() time.Time, every time.Duration, reg prometheus.Registerer) *feed {
	f := &feed{store: st, log: log, now: now, every: every, keysDue: make(chan struct{}, 1)}
	f.lag = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "opensts_change_feed_lag_seconds",
		Help: "Seconds since this node last read the store's change feed to its end."}, func() float64 {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.lastSync.IsZero() {
			return 0
		}
		return f.now().Sub(f.lastSync).Seconds()
	})
	f.bound = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "opensts_change_feed_freshness_bound_seconds",
		Help: "The longest a write made through another node takes to reach this node's caches (the poll interval)."},
		func() float64 { return f.every.Seconds() })
	f.seq = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "opensts_change_feed_seq",
		Help: "The newest change sequence number this node has applied."}, func() float64 {
		f.mu.Lock()
		defer f.mu.Unlock()
		return float64(f.last)
	})
	f.applied = prometheus.NewCounter(prometheus.CounterOpts{Name: "opensts_change_feed_changes_total",
		Help: "Changes applied to this node's caches."})
	f.reloads = prometheus.NewCounter(prometheus.CounterOpts{Name: "opensts_change_feed_reloads_total",
		Help: "Times this node cleared every cache because it had fallen behind the feed."})
	reg.MustRegister(f.lag, f.bound, f.seq, f.applied, f.reloads)
	return f
}

// FreshnessBound is the longest a write made through another node takes to
// reach this node's caches.
func (f *feed) FreshnessBound() time.Duration { return f.every }

// start positions the feed at the store's newest change (the caches start
// empty, so nothing before it matters) and registers the write hook.
func (f *feed) start(ctx context.Context) error {
	last, err := f.store.LastChange(ctx)
	if err != nil {
		return err
	}
	f.mu.Lock()
	f.last, f.lastSync = last, f.now()
	f.mu.Unlock()
	f.store.SetChangeHook(func() {
		// The writing goroutine: its own request is still waiting, so it
		// gets a context of its own with a short limit.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.sync(ctx); err != nil {
			f.log.Warn("apply own write from the change feed", "error", err)
		}
	})
	return nil
}

// sync reads the feed to its end and applies every change.
func (f *feed) sync(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		changes, err := f.store.Changes(ctx, f.last, feedPage)
		if errors.Is(err, store.ErrChangesPruned) {
			last, lerr := f.store.LastChange(ctx)
			if lerr != nil {
				return lerr
			}
			f.log.Warn("fell behind the change feed; clearing every cache", "after", f.last, "newest", last)
			for _, r := range f.reload {
				r()
			}
			f.reloads.Inc()
			f.last = last
			f.signalKeys()
			continue
		}
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			f.lastSync = f.now()
			return nil
		}
		for _, ch := range changes {
			for _, forget := range f.forget {
				forget(ch)
			}
			if ch.Kind == store.ChangeSigningKey {
				f.signalKeys()
			}
		}
		f.applied.Add(float64(len(changes)))
		f.last = changes[len(changes)-1].Seq
	}
}

// signalKeys asks the run loop to refresh the keyring; the write that
// changed a key may hold the keyring's lock, so it is never done inline.
func (f *feed) signalKeys() {
	select {
	case f.keysDue <- struct{}{}:
	default:
	}
}

// run tails the feed every interval, refreshes the keyring when a signing
// key changed, and prunes changes older than changeRetention, until ctx
// ends.
func (f *feed) run(ctx context.Context) {
	t := time.NewTicker(f.every)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.keysDue:
			if f.keyring != nil {
				if err := f.keyring(ctx); err != nil && ctx.Err() == nil {
					f.log.Warn("refresh keyring after a change", "error", err)
				}
			}
		case <-t.C:
			if err := f.sync(ctx); err != nil && ctx.Err() == nil {
				f.log.Warn("read the change feed", "error", err)
			}
			if now := f.now(); now.Sub(lastPrune) >= changeRetention/4 {
				lastPrune = now
				if _, err := f.store.PruneChanges(ctx, now.Add(-changeRetention)); err != nil && ctx.Err() == nil {
					f.log.Warn("prune the change feed", "error", err)
				}
				// Expired SAML replay entries go with the same sweep.
				if _, err := f.store.PruneSAMLAssertions(ctx, now); err != nil && ctx.Err() == nil {
					f.log.Warn("prune the saml replay cache", "error", err)
				}
				// And failure counts whose window and lockout ended.
				if _, err := f.store.PruneThrottles(ctx, now); err != nil && ctx.Err() == nil {
					f.log.Warn("prune the throttles", "error", err)
				}
			}
		}
	}
}
