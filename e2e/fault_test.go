package e2e

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/jackc/pgx/v5"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

// cutProxy is a TCP proxy between a node and PostgreSQL that the test can
// cut: cut closes every connection and refuses new ones (to the node, the
// database is gone), restore lets it connect again.
type cutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.down {
			// Cut while it dialled: registered after cut() closed the
			// others, it would have outlived the cut (a flake under load:
			// node B kept reading the feed through it).
			p.mu.Unlock()
			u.Close()
			c.Close()
			continue
		}
		p.conns[c], p.conns[u] = true, true
		p.mu.Unlock()
		go func() { _, _ = io.Copy(u, c); u.Close(); c.Close() }()
		go func() { _, _ = io.Copy(c, u); u.Close(); c.Close() }()
	}
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *cutProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestRevokeWhileNodeCutOff: node B loses its database (its connections are
// terminated by the server with pg_terminate_backend, and it cannot
// reconnect) while node A revokes a session B is serving. B keeps serving
// from what it holds, as the README states (the session still works on B,
// B's feed lag shows how stale it is, and what B does not hold fails with
// InternalFailure), and applies the revocation
// within its refresh interval once the database is back; nothing needs a
// restart.
func TestRevokeWhileNodeCutOff(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	viaProxy := *u
	viaProxy.Host = proxy.ln.Addr().String()
	q := viaProxy.Query()
	q.Set("application_name", "opensts-node-b")
	viaProxy.RawQuery = q.Encode()

	a := start(t, withPostgres(dsn))
	b := start(t, withPostgres(viaProxy.String()))
	akid, secret := a.user(t, "pg-user")
	roleARN := a.role(t, "pg-role", "", trustAccount)
	a.userPolicy(t, "pg-user", "assume", allow("sts:AssumeRole", roleARN))
	// B holds what it loads once it has read the feed to A's last write (a
	// change read later would make it forget the key or role it loaded,
	// and a miss during the outage is an InternalFailure: it serves only
	// what it holds).
	waitFeed(t, a, b)
	out := must[*sts.AssumeRoleOutput](t)(b.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("cut-off")}))
	c := credsOf(out.Credentials)
	if !b.works(t, c) {
		t.Fatal("fresh session refused on B")
	}
	if _, err := b.iam(testRootKeyID, testRootSecret, "").ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatal(err)
	}

	// The outage: B cannot reconnect, and the server drops B's sessions.
	proxy.cut()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'opensts-node-b'`); err != nil {
		t.Fatal(err)
	}
	a.revoke(t, map[string]any{"AccessKeyId": c.akid})
	if a.works(t, c) {
		t.Fatal("the revoking node accepts the session")
	}
	// During the outage B serves what it holds: the session it cannot
	// know is revoked still works there, and its feed lag grows past the
	// freshness bound (what an operator alerts on).
	time.Sleep(time.Second)
	if !b.works(t, c) {
		t.Fatal("B refused the session while cut off; the README says it serves from what it holds")
	}
	if lag := gaugeValue(t, b, "opensts_change_feed_lag_seconds"); lag < 0.5 {
		t.Fatalf("B's feed lag %.2fs during the outage, want it growing", lag)
	}
	// AssumeRole keeps working on B for what it holds (the user's key, the
	// role and its trust policy); an IAM write fails with a retryable
	// InternalFailure (HTTP 500) and leaves nothing behind.
	if _, err := b.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("during")}); err != nil {
		t.Fatalf("AssumeRole on B during the outage: %v", err)
	}
	_, err = b.iam(testRootKeyID, testRootSecret, "").CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("half-written")})
	wantCode(t, err, "InternalFailure")

	// The database is back: B catches up on its own.
	proxy.restore()
	back := time.Now()
	for b.works(t, c) {
		if time.Since(back) > 10*time.Second {
			t.Fatal("B still accepts the revoked session 10 s after its database came back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("B refused the session revoked during its outage %v after reconnecting (refresh interval 200 ms)", time.Since(back).Round(time.Millisecond))
	if _, err := a.iam(testRootKeyID, testRootSecret, "").GetUser(ctx, &iam.GetUserInput{UserName: aws.String("half-written")}); err == nil {
		t.Fatal("the user whose creation failed during the outage exists")
	} else {
		wantCode(t, err, "NoSuchEntity")
	}
	// And B writes again: a revocation made through B reaches A.
	out = must[*sts.AssumeRoleOutput](t)(a.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("after")}))
	c2 := credsOf(out.Credentials)
	b.revoke(t, map[string]any{"AccessKeyId": c2.akid})
	deadline := time.Now().Add(10 * time.Second)
	for a.works(t, c2) {
		if time.Now().After(deadline) {
			t.Fatal("a revocation made through B after the outage did not reach A")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFeed waits until b has applied the change feed as far as a has.
func waitFeed(t *testing.T, a, b *env) {
	t.Helper()
	want := gaugeValue(t, a, "opensts_change_feed_seq")
	deadline := time.Now().Add(10 * time.Second)
	for gaugeValue(t, b, "opensts_change_feed_seq") < want {
		if time.Now().After(deadline) {
			t.Fatal("node B did not catch up with node A's change feed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gaugeValue reads one unlabelled gauge from e's metrics.
func gaugeValue(t *testing.T, e *env, name string) float64 {
	t.Helper()
	_, fams := e.scrape(t)
	f := fams[name]
	if f == nil || len(f.GetMetric()) == 0 {
		t.Fatalf("no metric %s", name)
	}
	return f.GetMetric()[0].GetGauge().GetValue()
}

// TestRevocationPropagationDefault measures how long a revocation made on
// node A takes to be applied on node B with the default refresh interval
// (the bound the README states), over ten revocations made at random points of B's poll cycle.
func TestRevocationPropagationDefault(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	defaultInterval := func(c *config.Config, _ *server.Options) { c.RefreshInterval = config.Default().RefreshInterval }
	a := start(t, withPostgres(dsn), defaultInterval)
	b := start(t, withPostgres(dsn), defaultInterval)
	akid, secret := a.user(t, "pg-user")
	roleARN := a.role(t, "pg-role", "", trustAccount)
	a.userPolicy(t, "pg-user", "assume", allow("sts:AssumeRole", roleARN))
	waitFeed(t, a, b)
	var took []time.Duration
	for i := range 10 {
		out := must[*sts.AssumeRoleOutput](t)(b.sts(akid, secret, "").AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String(fmt.Sprintf("s%d", i))}))
		c := credsOf(out.Credentials)
		if !b.works(t, c) {
			t.Fatal("fresh session refused")
		}
		// At a random point of B's poll cycle (else each revocation would
		// follow the poll that ended the last wait, and measure the worst).
		time.Sleep(rand.N(time.Second))
		start := time.Now()
		a.revoke(t, map[string]any{"AccessKeyId": c.akid})
		for b.works(t, c) {
			if time.Since(start) > 10*time.Second {
				t.Fatal("node B still accepts the session 10 s after node A revoked it")
			}
			time.Sleep(10 * time.Millisecond)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("revocation on A applied on B: best %v, median %v, worst %v of %d (refresh interval %v)", took[0].Round(time.Millisecond),
		took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond), len(took), config.Default().RefreshInterval)
}
