package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestMFASharedAcrossNodes runs two nodes on one PostgreSQL database: a
// code used on node A is refused on node B (replay), and wrong codes on A
// and on B add up to one lockout, which both nodes then apply, until an
// administrator's resync through one node lifts it on both.
func TestMFASharedAcrossNodes(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	clk := &clock{now: time.Now().UTC().Truncate(time.Second)}
	a := &mfaEnv{env: start(t, withPostgres(dsn), withClock(clk)), clk: clk, rec: &recorder{}}
	b := &mfaEnv{env: start(t, withPostgres(dsn), withClock(clk)), clk: clk, rec: &recorder{}}
	akid, secret := a.user(t, "carol")
	serial, seed := a.device(t, "carol-phone", "carol")
	clk.Advance(30 * time.Second)
	gst := func(node *mfaEnv, code string) error {
		_, err := node.stsc(akid, secret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String(serial), TokenCode: aws.String(code)})
		return err
	}

	// Replay: a code accepted by A is refused by B, and by A again.
	code := a.code(t, seed, 0)
	if err := gst(a, code); err != nil {
		t.Fatalf("a fresh code on node A: %v", err)
	}
	wantMessage(t, gst(b, code), "AccessDenied", msgInvalidCode)
	wantMessage(t, gst(a, code), "AccessDenied", msgInvalidCode)

	// Lockout: the two replays above and three wrong codes, alternating
	// between the nodes, are the five failures of one budget.
	clk.Advance(30 * time.Second)
	valid := map[string]bool{a.code(t, seed, -1): true, a.code(t, seed, 0): true, a.code(t, seed, 1): true}
	guesses := 0
	for i := 0; guesses < 3; i++ {
		g := fmt.Sprintf("%06d", i)
		if valid[g] {
			continue
		}
		node := a
		if guesses%2 == 0 {
			node = b
		}
		wantMessage(t, gst(node, g), "AccessDenied", msgInvalidCode)
		guesses++
	}
	for _, node := range []*mfaEnv{a, b} {
		wantMessage(t, gst(node, a.code(t, seed, 0)), "AccessDenied", "too many invalid MFA one time pass codes")
	}
	// One lockout in the whole deployment, counted by the node whose
	// failure started it.
	_, famsA := a.scrape(t)
	_, famsB := b.scrape(t)
	if got := counter(famsA, "opensts_mfa_lockouts_total", nil) + counter(famsB, "opensts_mfa_lockouts_total", nil); got != 1 {
		t.Errorf("lockouts counted by the two nodes: %v, want 1", got)
	}

	// A resync through B lifts the lockout on A too.
	clk.Advance(60 * time.Second)
	if _, err := b.iamc(testRootKeyID, testRootSecret, "").ResyncMFADevice(ctx, &iam.ResyncMFADeviceInput{UserName: aws.String("carol"),
		SerialNumber: aws.String(serial), AuthenticationCode1: aws.String(a.code(t, seed, -1)), AuthenticationCode2: aws.String(a.code(t, seed, 0))}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Second)
	if err := gst(a, a.code(t, seed, 0)); err != nil {
		t.Fatalf("node A after a resync through node B: %v", err)
	}
}
