// Package storetest is the conformance suite every store.Store backend must
// pass. A backend's tests call Run with a constructor for empty stores.
//
// It imports store, testing and go-cmp only; it is imported by tests.
//
// Where store.go leaves a behaviour open, the suite pins the one AWS has and
// says so in the subtest; those choices are the contract for every backend.
// Times in the suite have microsecond precision, the finest PostgreSQL keeps.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/opensts/opensts/internal/store"
)

// Option configures Run.
type Option func(*config)

type config struct {
	reopen func(t *testing.T, s store.Store) store.Store
}

// WithReopen tells Run that the backend keeps data across Close: reopen must
// close s and return a new Store on the same data.
func WithReopen(reopen func(t *testing.T, s store.Store) store.Store) Option {
	return func(c *config) { c.reopen = reopen }
}

// Run runs the suite. newStore must return a new, empty store for each call
// and close it when t ends (t.Cleanup); Close must tolerate being called again
// after a reopen has closed the store. Subtests run in parallel.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, opts ...Option) {
	var c config
	for _, o := range opts {
		o(&c)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Accounts", testAccounts},
		{"Users", testUsers},
		{"UserRenameKeepsDependents", testUserRename},
		{"ListSortAndPathPrefix", testListSortAndPathPrefix},
		{"ListPages", testListPages},
		{"ListPathPrefix", testListPathPrefix},
		{"ListGroupMemberPages", testListGroupMemberPages},
		{"ListKeysFollowRenames", testListKeysFollowRenames},
		{"OrgPages", testOrgPages},
		{"MFAPages", testMFAPages},
		{"PolicyUsage", testPolicyUsage},
		{"Tags", testTags},
		{"Groups", testGroups},
		{"GroupMembership", testGroupMembership},
		{"DeleteLeavesNoOrphans", testDeleteLeavesNoOrphans},
		{"AccessKeys", testAccessKeys},
		{"TouchAccessKey", testTouchAccessKey},
		{"Roles", testRoles},
		{"InstanceProfiles", testInstanceProfiles},
		{"InstanceProfilePages", testInstanceProfilePages},
		{"LoginProfiles", testLoginProfiles},
		{"AccountAliases", testAccountAliases},
		{"UserCredentials", testUserCredentials},
		{"UserCredentialQuota", testUserCredentialQuota},
		{"ServerCertificates", testServerCertificates},
		{"IAMTasks", testIAMTasks},
		{"AccountSummary", testAccountSummary},
		{"TouchRole", testTouchRole},
		{"InlinePolicies", testInlinePolicies},
		{"ManagedPolicies", testManagedPolicies},
		{"PolicyVersions", testPolicyVersions},
		{"Attachments", testAttachments},
		{"MFADevices", testMFADevices},
		{"AdvanceMFACounter", testAdvanceMFACounter},
		{"AdvanceMFACounterRace", testAdvanceMFACounterRace},
		{"SigningKeys", testSigningKeys},
		{"IssuerKeys", testIssuerKeys},
		{"Org", testOrg},
		{"OrgUnits", testOrgUnits},
		{"OrgPolicyTags", testOrgPolicyTags},
		{"OrgMembership", testOrgMembership},
		{"Settings", testSettings},
		{"Generation", testGeneration},
		{"Population", testPopulation},
		{"ChangesRecorded", testChangesRecorded},
		{"ChangesPaging", testChangesPaging},
		{"ChangeHook", testChangeHook},
		{"ChangesPruned", testChangesPruned},
		{"ChangesConcurrentTail", testChangesConcurrentTail},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Bytes", testBytes},
		{"Times", testTimes},
		{"SAMLProviders", testSAMLProviders},
		{"SAMLAssertions", testSAMLAssertions},
		{"OIDCProviders", testOIDCProviders},
		{"LDAPProviders", testLDAPProviders},
		{"DetectState", testDetectState},
		{"BaselinesMerged", testBaselinesMerged},
		{"Revocations", testRevocations},
		{"LastAccessed", testLastAccessed},
		{"PrincipalSources", testPrincipalSources},
		{"PrincipalSourcesEdges", testPrincipalSourcesEdges},
		{"ServiceAccessConcurrentBatches", testServiceAccessConcurrentBatches},
		{"Throttles", testThrottles},
		{"MFAResync", testMFAResync},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
	t.Run("Reopen", func(t *testing.T) {
		if c.reopen == nil {
			t.Skip("backend does not support reopening (no WithReopen option)")
		}
		t.Parallel()
		testReopen(t, newStore(t), c.reopen)
	})
}

const (
	acct1 = "111111111111"
	acct2 = "222222222222"
)

// t0 is a fixed instant with microsecond precision in a non-UTC zone.
var t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.FixedZone("X", 2*3600))

func at(d time.Duration) time.Time { return t0.Add(d) }

// cmpOpts: times compare with Equal (go-cmp uses the Equal method), nil and
// empty slices are the same.
var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

func ctxOf(t *testing.T) context.Context { return t.Context() }

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func isErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

func same(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, append(opts, cmpOpts...)...); d != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func gen(t *testing.T, s store.Store) int64 {
	t.Helper()
	g, err := s.Generation(ctxOf(t))
	ok(t, err)
	return g
}

func names[T any](xs []T, name func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, name(x))
	}
	return out
}

func userName(u store.User) string            { return u.Name }
func groupName(g store.Group) string          { return g.Name }
func roleName(r store.Role) string            { return r.Name }
func policyName(p store.ManagedPolicy) string { return p.Name }

// fixtures

func user(account, id, name string) store.User {
	return store.User{Account: account, ID: id, Name: name, Path: "/", CreatedAt: t0}
}

func group(account, id, name string) store.Group {
	return store.Group{Account: account, ID: id, Name: name, Path: "/", CreatedAt: t0}
}

func role(account, id, name string) store.Role {
	return store.Role{
		Account: account, ID: id, Name: name, Path: "/",
		TrustPolicy:        `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + account + `:root"},"Action":"sts:AssumeRole"}]}`,
		MaxSessionDuration: 3600, CreatedAt: t0,
	}
}

func policyARN(account, path, name string) string {
	return "arn:aws:iam::" + account + ":policy" + path + name
}

func managed(account, id, path, name string) (store.ManagedPolicy, store.PolicyVersion) {
	arn := policyARN(account, path, name)
	return store.ManagedPolicy{
			Account: account, ID: id, Name: name, Path: path, ARN: arn,
			DefaultVersionID: "v1", CreatedAt: t0, UpdatedAt: t0,
		}, store.PolicyVersion{
			PolicyARN: arn, VersionID: "v1", CreatedAt: t0,
			Document: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`,
		}
}

func mfa(account, name string) store.MFADevice {
	return store.MFADevice{
		Account: account, SerialNumber: "arn:aws:iam::" + account + ":mfa/" + name, Name: name, Path: "/",
		Seed: []byte("JBSWY3DPEHPK3PXP-sealed"), CreatedAt: t0,
	}
}
