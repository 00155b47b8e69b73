package verifier_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opensts/opensts/internal/config"
	"github.com/opensts/opensts/internal/server"
)

// The examples and tests run against a real OpenSTS server started once
// for the package (the verifier itself never imports the server).
const (
	account    = "123456789012"
	rootKeyID  = "AKIAOPENSTSVERIFIER1"
	rootSecret = "verifierRootSecretForTestsOnly/01234567"
)

// clockOffset moves the clock of the server (and of the tests that read
// now) forward, to expire sessions; tests that set it are not parallel
// and set it back.
var clockOffset atomic.Int64

func now() time.Time { return time.Now().Add(time.Duration(clockOffset.Load())) }

// openstsEndpoint is the running server's URL.
var openstsEndpoint string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "verifier-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cfg := config.Default()
	cfg.DataDir = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.MasterKey, _ = base64.StdEncoding.DecodeString("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
	cfg.AccountID, cfg.RootAccessKeyID, cfg.RootSecretAccessKey = account, rootKeyID, rootSecret
	cfg.Detect = false
	srv, err := server.New(context.Background(), cfg, server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stderr: io.Discard, Now: now})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "serve:", err)
		}
	}()
	openstsEndpoint = "http://" + ln.Addr().String()
	return m.Run()
}

// rootIAM is an IAM client of the account root.
func rootIAM() *iam.Client {
	return iam.NewFromConfig(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(openstsEndpoint),
		Credentials: credentials.NewStaticCredentialsProvider(rootKeyID, rootSecret, "")})
}

// newUser creates a user with an inline policy and returns its keys.
func newUser(name, policy string) (aws.Credentials, error) {
	ctx := context.Background()
	c := rootIAM()
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
		return aws.Credentials{}, err
	}
	if policy != "" {
		if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}); err != nil {
			return aws.Credentials{}, err
		}
	}
	k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		return aws.Credentials{}, err
	}
	return aws.Credentials{AccessKeyID: *k.AccessKey.AccessKeyId, SecretAccessKey: *k.AccessKey.SecretAccessKey}, nil
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
