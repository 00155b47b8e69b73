package verifier_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/opensts/opensts/verifier"
)

// TestMiddlewareAnswers checks what Middleware answers itself: denials and
// authentication failures in the chosen error shape, bodies over the
// bound, and no decision at all (fail closed); and that an allowed
// request's body reaches the handler intact.
func TestMiddlewareAnswers(t *testing.T) {
	self, err := newUser("mw-server", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"opensts:Authorize","Resource":"*"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	client, err := newUser("mw-client", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"notes:Write","Resource":"arn:aws:notes:::note/mine"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	mapping := func(r *http.Request) (verifier.Target, error) {
		return verifier.Target{Action: "notes:Write", Resource: "arn:aws:notes:::note" + r.URL.Path, Options: []verifier.Option{verifier.WithService("notes")}}, nil
	}
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b)
	})
	serve := func(t *testing.T, cfg verifier.Config) *httptest.Server {
		v, err := verifier.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		s := httptest.NewServer(v.Middleware(mapping, echo))
		t.Cleanup(s.Close)
		return s
	}
	send := func(t *testing.T, s *httptest.Server, c aws.Credentials, path, body string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(body))
		sum := sha256Hex(body)
		if err := v4.NewSigner().SignHTTP(context.Background(), c, req, sum, "notes", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	selfCreds := credentials.StaticCredentialsProvider{Value: self}

	t.Run("allowed body passes intact", func(t *testing.T) {
		s := serve(t, verifier.Config{Endpoint: openstsEndpoint, Credentials: selfCreds})
		status, _, body := send(t, s, client, "/mine", "the note")
		if status != 200 || body != "the note" {
			t.Errorf("%d %q", status, body)
		}
	})
	t.Run("xml denial", func(t *testing.T) {
		s := serve(t, verifier.Config{Endpoint: openstsEndpoint, Credentials: selfCreds})
		status, h, body := send(t, s, client, "/theirs", "x")
		if status != 403 || h.Get("Content-Type") != "application/xml" || !strings.Contains(body, "<Code>AccessDenied</Code>") || !strings.Contains(body, "<RequestId>") {
			t.Errorf("%d %s %q", status, h.Get("Content-Type"), body)
		}
	})
	t.Run("json authentication failure", func(t *testing.T) {
		s := serve(t, verifier.Config{Endpoint: openstsEndpoint, Credentials: selfCreds, JSONErrors: true})
		wrong := client
		wrong.SecretAccessKey += "x"
		status, _, body := send(t, s, wrong, "/mine", "x")
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || status != 403 || e.Type != "SignatureDoesNotMatch" {
			t.Errorf("%d %q", status, body)
		}
	})
	t.Run("body over the bound", func(t *testing.T) {
		s := serve(t, verifier.Config{Endpoint: openstsEndpoint, Credentials: selfCreds, MaxBodyBytes: 8})
		status, _, body := send(t, s, client, "/mine", "more than eight bytes")
		if status != 413 || !strings.Contains(body, "EntityTooLarge") {
			t.Errorf("%d %q", status, body)
		}
	})
	t.Run("no decision fails closed", func(t *testing.T) {
		dead := httptest.NewServer(http.NotFoundHandler())
		dead.Close()
		s := serve(t, verifier.Config{Endpoint: dead.URL, Credentials: selfCreds})
		status, _, body := send(t, s, client, "/mine", "x")
		if status != 503 || !strings.Contains(body, "ServiceUnavailable") {
			t.Errorf("%d %q", status, body)
		}
	})
	t.Run("config", func(t *testing.T) {
		for name, cfg := range map[string]verifier.Config{
			"no endpoint":    {Credentials: selfCreds},
			"bad endpoint":   {Endpoint: "opensts:8080", Credentials: selfCreds},
			"no credentials": {Endpoint: openstsEndpoint},
			"unknown mode":   {Endpoint: openstsEndpoint, Credentials: selfCreds, Mode: "hybrid"},
		} {
			if _, err := verifier.New(cfg); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
	})
}
