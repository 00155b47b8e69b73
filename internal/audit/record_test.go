package audit

import (
	"encoding/json"
	"regexp"
	"sync"
	"testing"
)

// TestAppendRecord checks the hand-written encoder against json.Marshal.
func TestAppendRecord(t *testing.T) {
	full := Record{EventVersion: EventVersion, EventTime: "2026-01-02T03:04:05Z", EventSource: "sts.amazonaws.com", EventName: "AssumeRole",
		AWSRegion: "us-east-1", SourceIPAddress: "127.0.0.1", UserAgent: "agent <&> \"q\"\n\xff", ErrorCode: "AccessDenied", ErrorMessage: "no",
		RequestParameters: json.RawMessage(`{"roleArn":"arn:aws:iam::1:role/r"}`), RequestID: "req", EventID: "id", ReadOnly: true,
		Resources: []Resource{{ARN: "a", Type: "t"}, {ARN: "b", AccountID: "1", Type: "u"}}, EventType: "AwsApiCall", ManagementEvent: true,
		RecipientAccountID: "1", SharedEventID: "s", EventCategory: "Management", TLSDetails: &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "c", ClientProvidedHostHeader: "h"},
		UserIdentity: UserIdentity{Type: "AssumedRole", PrincipalID: "p", ARN: "arn", AccountID: "1", AccessKeyID: "ASIA", UserName: "u", IdentityProvider: "i",
			SessionContext:      &SessionContext{SessionIssuer: &SessionIssuer{Type: "Role", PrincipalID: "p", ARN: "a", AccountID: "1", UserName: "r"}, Attributes: SessionAttributes{CreationDate: "d", MFAAuthenticated: "false"}, SourceIdentity: "si"},
			WebIDFederationData: &WebIDFederationData{FederatedProvider: "f", Attributes: map[string]string{"b": "", "a": "1"}}}}
	for i, r := range []Record{
		{},
		full,
		{UserIdentity: UserIdentity{Type: "Root", SessionContext: &SessionContext{}, WebIDFederationData: &WebIDFederationData{Attributes: map[string]string{}}}},
		{UserIdentity: UserIdentity{WebIDFederationData: &WebIDFederationData{}}},
	} {
		want, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		got := string(appendRecord(nil, &r)) + `,"seq":0,"prevHash":""}`
		if got != string(want) {
			t.Errorf("%d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// TestIndexBounds fills an index past its bounds in bytes and in events
// and expects it to keep the newest events within them, in memory and
// with a spill file.
func TestIndexBounds(t *testing.T) {
	sp := openSpill(t.TempDir())
	if sp == nil {
		t.Fatal("no spill file")
	}
	defer sp.close()
	for _, b := range []struct {
		count int
		bytes int64
		sp    *spillFile
	}{{1000, 1 << 30, nil}, {1 << 30, 1 << 20, nil}, {1000, 1 << 30, sp}, {1 << 30, 1 << 20, sp}} {
		x := newIndex(min(b.count, 100_000), b.bytes)
		x.sp = b.sp
		for i := range 50_000 {
			e := entry{seq: uint64(i + 1), account: "123456789012", id: NewUUID(), name: "AssumeRole", source: "sts.amazonaws.com", user: "load",
				accessKey: "AKIAEXAMPLE", resources: []Resource{{ARN: "arn:aws:iam::123456789012:role/r", Type: "AWS::IAM::Role"}}}
			x.add(slot{seq: e.seq}, appendAttrs(nil, &e))
		}
		if x.count > b.count || x.bytes > b.bytes || x.count == 0 {
			t.Errorf("bounds %d events %d bytes: holds %d events in %d bytes", b.count, b.bytes, x.count, x.bytes)
		}
		var newest uint64
		n := 0
		if err := x.each(func(s *slot, attrs []byte) bool {
			if newest == 0 {
				newest = s.seq
				if e := decode(s, attrs); e.name != "AssumeRole" || e.resources[0].Type != "AWS::IAM::Role" || e.user != "load" {
					t.Errorf("decoded %+v", e)
				}
			}
			n++
			return true
		}); err != nil {
			t.Fatal(err)
		}
		if newest != 50_000 || n != x.count {
			t.Errorf("newest %d, %d of %d", newest, n, x.count)
		}
		x.dropAll()
	}
}

// TestNewUUID checks that event ids are version 4 UUIDs, in their
// canonical form, and do not repeat across goroutines.
func TestNewUUID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	const workers, each = 4, 20000
	ids := make(chan string, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				ids <- NewUUID()
			}
		})
	}
	wg.Wait()
	close(ids)
	seen := make(map[string]bool, workers*each)
	for id := range ids {
		if !re.MatchString(id) {
			t.Fatalf("%q is not a version 4 UUID", id)
		}
		if seen[id] {
			t.Fatalf("%q repeats", id)
		}
		seen[id] = true
	}
}
