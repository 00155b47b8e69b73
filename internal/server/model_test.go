package server

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// botocoreData is the data directory of the botocore that scripts/test-deps
// installs (Debian's python3-botocore, under /usr/bin/python3), or
// OPENSTS_BOTOCORE_DATA.
func botocoreData(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("OPENSTS_BOTOCORE_DATA"); d != "" {
		return d
	}
	out, err := exec.Command("/usr/bin/python3", "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
	if err != nil {
		t.Fatalf("botocore for /usr/bin/python3 (make test-deps installs it): %v", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "data")
}

// modelOperations reads the operation names of a botocore service model.
func modelOperations(t *testing.T, data, service, version string) []string {
	t.Helper()
	dir := filepath.Join(data, service, version)
	var r io.Reader
	if f, err := os.Open(filepath.Join(dir, "service-2.json")); err == nil {
		defer f.Close()
		r = f
	} else if f, err := os.Open(filepath.Join(dir, "service-2.json.gz")); err == nil {
		defer f.Close()
		if r, err = gzip.NewReader(f); err != nil {
			t.Fatal(err)
		}
	} else {
		t.Fatalf("no model for %s in %s", service, dir)
	}
	var m struct {
		Operations map[string]json.RawMessage `json:"operations"`
	}
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		t.Fatalf("%s model: %v", service, err)
	}
	ops := make([]string, 0, len(m.Operations))
	for op := range m.Operations {
		ops = append(ops, op)
	}
	slices.Sort(ops)
	return ops
}

// extensions are operations the server routes that the model read here
// does not have: OpenSTS's own (directory sign-in), and AWS operations
// newer than Debian's botocore (GetMFADevice, AssumeRoot,
// GetWebIdentityToken).
var extensions = map[string][]string{
	"sts": {"AssumeRoleWithLDAPIdentity", "AssumeRoot", "GetWebIdentityToken"},
	"iam": {"CreateLDAPProvider", "DeleteLDAPProvider", "GetLDAPProvider", "ListLDAPProviders", "UpdateLDAPProvider", "GetMFADevice"},
}

// TestRoutesAgainstTheModels enumerates every operation of the IAM, STS
// and Organizations models that botocore ships and compares it with what
// the server routes: every routed operation is in the model (or is one of
// OpenSTS's extensions), and every model operation is routed unless it is
// in the list of those not built yet — a list that may only shrink: an
// operation built and still listed fails the test, as does one missing and
// not listed. The counts are in the log.
func TestRoutesAgainstTheModels(t *testing.T) {
	data := botocoreData(t)
	s := benchServer(t)
	routed := map[string][]string{}
	for _, api := range s.pipeline.APIs() {
		for action := range api.Routes {
			routed[api.Name] = append(routed[api.Name], action)
		}
	}
	for _, svc := range []struct{ name, version string }{{"iam", "2010-05-08"}, {"sts", "2011-06-15"}, {"organizations", "2016-11-28"}} {
		model := modelOperations(t, data, svc.name, svc.version)
		have := map[string]bool{}
		for _, op := range routed[svc.name] {
			have[op] = true
			if !slices.Contains(model, op) && !slices.Contains(extensions[svc.name], op) {
				t.Errorf("%s: %s is routed but is in neither the model nor the extensions", svc.name, op)
			}
		}
		var missing []string
		for _, op := range model {
			if !have[op] {
				missing = append(missing, op)
			}
		}
		for _, op := range missing {
			if !slices.Contains(notBuilt[svc.name], op) {
				t.Errorf("%s: %s is in the model, not routed and not listed as not built", svc.name, op)
			}
		}
		for _, op := range notBuilt[svc.name] {
			if have[op] {
				t.Errorf("%s: %s is built now: take it off notBuilt", svc.name, op)
			}
		}
		t.Logf("%s: %d of %d model operations routed; not built: %s", svc.name, len(model)-len(missing), len(model), strings.Join(missing, " "))
	}
}

// notBuilt are the model operations not routed yet, by service.
var notBuilt = map[string][]string{}
