package gateway

import (
	"strings"
	"testing"
)

// TestUpstreamError: an upstream's error reaches the client as the
// gateway's own, with the code S3 clients know and none of the store's
// words (paths, hosts, endpoints, its request id).
func TestUpstreamError(t *testing.T) {
	const leak = "/srv/store/data/vault/secret"
	for _, tc := range []struct {
		status   int
		body     string
		wantCode string
		want     int
	}{
		{404, `<Error><Code>NoSuchKey</Code><Message>open ` + leak + `: no such file</Message><HostId>store-7.internal</HostId></Error>`, "NoSuchKey", 404},
		{503, `<Error><Code>SlowDown</Code><Message>node store-7.internal is busy</Message></Error>`, "SlowDown", 503},
		{403, `<Error><Code>SignatureDoesNotMatch</Code><Message>the gateway's key</Message></Error>`, "InternalError", 500},
		{403, `<Error><Code>InvalidAccessKeyId</Code></Error>`, "InternalError", 500},
		{301, `<Error><Code>PermanentRedirect</Code><Endpoint>store-7.internal</Endpoint></Error>`, "InternalError", 502},
		{400, `<Error><Code>XStoreSpecific</Code><Message>` + leak + `</Message></Error>`, "InvalidRequest", 400},
		{500, `panic: ` + leak, "InternalError", 500},
		{404, ``, "InvalidRequest", 404},
	} {
		e, _, _ := upstreamError(tc.status, []byte(tc.body))
		if e.Code != tc.wantCode || e.Status != tc.want {
			t.Errorf("%d %s = %d %s, want %d %s", tc.status, tc.body, e.Status, e.Code, tc.want, tc.wantCode)
		}
		if strings.Contains(e.Message, leak) || strings.Contains(e.Message, "store-7") {
			t.Errorf("%d %s: message %q carries the upstream's words", tc.status, tc.body, e.Message)
		}
	}
}
