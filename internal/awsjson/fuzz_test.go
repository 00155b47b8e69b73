package awsjson

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opensts/opensts/internal/apierr"
)

// FuzzReadDecode drives ReadRequest and Decode with arbitrary targets,
// content types and bodies: every failure must be an *apierr.Error a client
// can be answered with (never a panic or an internal error), and a request
// that is read must carry a well-formed target and at most the body limit.
func FuzzReadDecode(f *testing.F) {
	f.Add("AWSOrganizationsV20161128.DescribeAccount", "application/x-amz-json-1.1", []byte(`{"AccountId":"123456789012"}`))
	f.Add("X.Y.Z", "text/plain", []byte(`{`))
	f.Add("", "", []byte(nil))
	f.Fuzz(func(t *testing.T, target, contentType string, body []byte) {
		const max = 1024
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("X-Amz-Target", target)
		r.Header.Set("Content-Type", contentType)
		req, err := ReadRequest(r, max)
		if err != nil {
			if ae, ok := apierr.As(err); !ok || ae.Code == apierr.InternalFailure {
				t.Fatalf("ReadRequest error is not a client error: %v", err)
			}
			return
		}
		if req.Prefix == "" || req.Action == "" || len(req.Body) > max {
			t.Fatalf("accepted %+v", req)
		}
		var dst struct {
			AccountID string `json:"AccountId"`
			Tags      []struct{ Key, Value string }
			N         *int32
		}
		if err := Decode(req.Body, &dst); err != nil {
			if ae, ok := apierr.As(err); !ok || ae.Code != apierr.OrgInvalidInputException {
				t.Fatalf("Decode error: %v", err)
			}
		}
	})
}
