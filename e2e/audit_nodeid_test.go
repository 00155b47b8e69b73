package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestAuditNodeIDChangeIsSeen (found by a review as an attacker; each file now begins with a checkpoint naming the node, which the restart and verify check against, as described here of the attack): with PostgreSQL the anchored
// head is out of reach of whoever can write the node's data directory, but
// the key it is kept under is not: DATA_DIR/node-id. Someone who cuts the
// newest records off the trail (here the CreateUser they made) and writes
// a new id into node-id (or removes it) makes the restart find "no head":
// a low AuditTrailNotChecked alert, as on the first start, instead of the
// critical AuditTrailChanged; the restart then seals the cut file and
// anchors the cut trail under the new id, and verify passes.
func TestAuditNodeIDChangeIsSeen(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	a := start(t, withPostgres(dsn))
	must[*sts.GetCallerIdentityOutput](t)(a.rootSTS().GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}))
	must[*iam.CreateUserOutput](t)(a.rootIAM().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("backdoor")}))
	a.stop()
	verify := func() (string, error) {
		cmd := exec.Command(binary(t), "audit", "verify", "--store", "postgres", "--data-dir", a.dataDir)
		cmd.Env = append(os.Environ(), "OPENSTS_MASTER_KEY="+testMasterKey, "OPENSTS_DATABASE_URL="+dsn)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	files, _ := filepath.Glob(filepath.Join(a.dataDir, "audit", "audit-*.jsonl"))
	last := files[len(files)-1]
	data, _ := os.ReadFile(last)
	i := strings.Index(string(data), `"eventName":"CreateUser"`)
	if i < 0 {
		t.Fatal("no CreateUser in the last file")
	}
	cut := strings.LastIndexByte(string(data[:i]), '\n') + 1
	if err := os.WriteFile(last, data[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(); err == nil {
		t.Fatalf("control: verify passed a cut trail: %s", out)
	}
	// The attack: a new node id.
	if err := os.WriteFile(filepath.Join(a.dataDir, "node-id"), []byte("0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := verify(); err == nil {
		t.Errorf("verify passes the cut trail once node-id is changed: %s", out)
	}
	b := startIn(t, a.dataDir, withPostgres(dsn))
	b.stop()
	trail := b.trail(t)
	if !strings.Contains(trail, `"AuditTrailChanged"`) {
		sev := "none"
		if strings.Contains(trail, `"AuditTrailNotChecked"`) {
			sev = "AuditTrailNotChecked (low, as on a first start)"
		}
		t.Errorf("restart over a cut trail with a new node-id raised %s, not AuditTrailChanged", sev)
	}
	if out, err := verify(); err == nil {
		t.Errorf("after the restart, verify passes the cut trail: %s", out)
	}
}
