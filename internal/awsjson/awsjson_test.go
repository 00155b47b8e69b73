package awsjson

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
	"github.com/opensts/opensts/internal/apierr"
)

func newClient(url string) *organizations.Client {
	return organizations.New(organizations.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func typedAs[T error](err error) bool {
	var t T
	return errors.As(err, &t)
}

// TestErrorRoundTrip sends Organizations codes through the real
// aws-sdk-go-v2 Organizations client (DescribeAccount models most of them).
func TestErrorRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code  apierr.Code
		typed func(error) bool
	}{
		{apierr.AccountNotFoundException, typedAs[*orgtypes.AccountNotFoundException]},
		{apierr.OrgAccessDeniedException, typedAs[*orgtypes.AccessDeniedException]},
		{apierr.OrgInvalidInputException, typedAs[*orgtypes.InvalidInputException]},
		{apierr.ServiceUnavailable, nil},
		{apierr.InternalFailure, nil},
	}
	for _, tt := range tests {
		t.Run(tt.code.Name, func(t *testing.T) {
			t.Parallel()
			var gotTarget, gotAccount string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				req, err := ReadRequest(r, 1<<20)
				if err != nil {
					WriteError(w, "rid", err)
					return
				}
				var in struct{ AccountId string }
				if err := Decode(req.Body, &in); err != nil {
					WriteError(w, "rid", err)
					return
				}
				gotTarget, gotAccount = req.Prefix+"."+req.Action, in.AccountId
				WriteError(w, "rid", apierr.New(tt.code, "msg for %s", tt.code.Name))
			}))
			t.Cleanup(srv.Close)
			_, err := newClient(srv.URL).DescribeAccount(context.Background(), &organizations.DescribeAccountInput{AccountId: aws.String("123456789012")})
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v is not an APIError", err)
			}
			if apiErr.ErrorCode() != tt.code.Name || apiErr.ErrorMessage() != "msg for "+tt.code.Name {
				t.Errorf("got %q %q", apiErr.ErrorCode(), apiErr.ErrorMessage())
			}
			if tt.typed != nil && !tt.typed(err) {
				t.Errorf("error %T is not the modeled type", apiErr)
			}
			var respErr *awshttp.ResponseError
			if errors.As(err, &respErr) && respErr.HTTPStatusCode() != tt.code.Status {
				t.Errorf("status = %d, want %d", respErr.HTTPStatusCode(), tt.code.Status)
			}
			if gotTarget != OrganizationsPrefix+".DescribeAccount" || gotAccount != "123456789012" {
				t.Errorf("server saw target %q account %q", gotTarget, gotAccount)
			}
		})
	}
}

func TestResultRoundTrip(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteResult(w, "rid", map[string]any{"Account": map[string]any{
			"Id": "123456789012", "Name": "dev", "Email": "dev@example.com", "Status": "ACTIVE",
			"JoinedTimestamp": 1.7e9,
		}})
	}))
	t.Cleanup(srv.Close)
	out, err := newClient(srv.URL).DescribeAccount(context.Background(), &organizations.DescribeAccountInput{AccountId: aws.String("123456789012")})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{aws.ToString(out.Account.Id), aws.ToString(out.Account.Name), aws.ToString(out.Account.Email), string(out.Account.Status)}
	if diff := cmp.Diff([]string{"123456789012", "dev", "dev@example.com", "ACTIVE"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if out.Account.JoinedTimestamp == nil || out.Account.JoinedTimestamp.Unix() != 1.7e9 {
		t.Errorf("JoinedTimestamp = %v", out.Account.JoinedTimestamp)
	}
}

func TestReadRequestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, target, ctype, body string
		want                      apierr.Code
	}{
		{"no target", "", ContentType, "{}", apierr.InvalidAction},
		{"bad target", "NoDot", ContentType, "{}", apierr.InvalidAction},
		{"form body", OrganizationsPrefix + ".ListAccounts", "application/x-www-form-urlencoded", "a=b", apierr.InvalidParameterValue},
		{"too large", OrganizationsPrefix + ".ListAccounts", ContentType, strings.Repeat(" ", 100), apierr.RequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ctype)
			if tt.target != "" {
				r.Header.Set("X-Amz-Target", tt.target)
			}
			_, err := ReadRequest(r, 50)
			if !errors.Is(err, &apierr.Error{Code: tt.want}) {
				t.Fatalf("error = %v, want %s", err, tt.want.Name)
			}
		})
	}
	if err := Decode([]byte("{bad"), &struct{}{}); !errors.Is(err, &apierr.Error{Code: apierr.OrgInvalidInputException}) {
		t.Errorf("Decode bad JSON: %v", err)
	}
}

// TestErrorReason checks that an error's Reason reaches the SDK's typed
// error (ConstraintViolationException.Reason).
func TestErrorReason(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e := apierr.New(apierr.ConstraintViolationException, "too deep")
		e.Reason = "OU_DEPTH_LIMIT_EXCEEDED"
		WriteError(w, "rid", e)
	}))
	t.Cleanup(srv.Close)
	_, err := newClient(srv.URL).DescribeAccount(context.Background(), &organizations.DescribeAccountInput{AccountId: aws.String("123456789012")})
	var cv *orgtypes.ConstraintViolationException
	if !errors.As(err, &cv) {
		t.Fatalf("error %v is not a ConstraintViolationException", err)
	}
	if cv.Reason != orgtypes.ConstraintViolationExceptionReasonOuDepthLimitExceeded {
		t.Errorf("Reason = %q", cv.Reason)
	}
}
