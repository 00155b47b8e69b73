package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/spf13/cobra"

	"github.com/opensts/opensts/internal/gateway"
	"github.com/opensts/opensts/verifier"
)

func newGatewayCmd() *cobra.Command {
	var (
		listen, upstream, service, endpoint, region, upstreamRegion string
		profile, policyDir, resourceAccount                         string
		domains                                                     []string
	)
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Serve an S3-compatible store to OpenSTS credentials: authenticate and authorize each request with OpenSTS, forward it re-signed",
		Long: `A reverse proxy in front of any S3-compatible store (Garage, SeaweedFS,
Ceph, MinIO, a cloud bucket). Clients sign with OpenSTS credentials (long-term
keys or temporary ones); each request is authenticated and authorized by the
OpenSTS server at --endpoint-url (the authorize API: identity, boundary,
session and SCP policies, and the bucket policy --bucket-policies holds for
the bucket), then forwarded path-style to --upstream, re-signed with the
store's own credentials:

  OPENSTS_UPSTREAM_ACCESS_KEY_ID, OPENSTS_UPSTREAM_SECRET_ACCESS_KEY
  (and OPENSTS_UPSTREAM_SESSION_TOKEN if they are temporary)

The gateway's own identity toward OpenSTS comes from the standard AWS
credential chain; it needs opensts:Authorize, and opensts:GetStreamingSigningKey
to accept chunk-signed uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if service != "s3" {
				return fmt.Errorf("--service %q: only s3 is served", service)
			}
			akid, secret := os.Getenv("OPENSTS_UPSTREAM_ACCESS_KEY_ID"), os.Getenv("OPENSTS_UPSTREAM_SECRET_ACCESS_KEY")
			if akid == "" || secret == "" {
				return errors.New("OPENSTS_UPSTREAM_ACCESS_KEY_ID and OPENSTS_UPSTREAM_SECRET_ACCESS_KEY must hold the upstream's credentials")
			}
			awsCfg, err := loadAWSConfig(ctx, endpoint, profile, region)
			if err != nil {
				return err
			}
			v, err := verifier.New(verifier.Config{Endpoint: endpoint, Credentials: awsCfg.Credentials, Region: awsCfg.Region})
			if err != nil {
				return err
			}
			var policies map[string]string
			if policyDir != "" {
				if policies, err = gateway.LoadBucketPolicies(policyDir); err != nil {
					return err
				}
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			g, err := gateway.New(gateway.Config{
				Upstream:            upstream,
				UpstreamCredentials: credentials.NewStaticCredentialsProvider(akid, secret, os.Getenv("OPENSTS_UPSTREAM_SESSION_TOKEN")),
				UpstreamRegion:      upstreamRegion,
				Region:              awsCfg.Region,
				Domains:             domains,
				Authorizer:          v,
				BucketPolicies:      policies,
				ResourceAccount:     resourceAccount,
				Log:                 log,
			})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			// No ReadTimeout: an upload may take long. An idle keep-alive
			// connection is closed after IdleTimeout (without one, a client
			// that sent one request could hold its connection forever).
			srv := &http.Server{Handler: g, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
			log.Info("gateway: serving", "listen", "http://"+ln.Addr().String(), "upstream", upstream, "buckets_with_policy", len(policies))
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:9000", "address to serve on")
	f.StringVar(&upstream, "upstream", "", "the S3-compatible store's URL, e.g. http://127.0.0.1:3900 (required)")
	f.StringVar(&service, "service", "s3", "the preset: s3")
	f.StringVar(&endpoint, "endpoint-url", "", "the OpenSTS endpoint, e.g. http://127.0.0.1:8080 (required)")
	f.StringVar(&region, "region", "", "the region clients sign for, and the gateway's toward OpenSTS (default: the chain's, else us-east-1)")
	f.StringVar(&upstreamRegion, "upstream-region", "us-east-1", "the region the forwarded requests are signed for")
	f.StringVar(&profile, "profile", "", "the AWS profile that holds the gateway's own identity (default: the standard AWS credential chain)")
	f.StringVar(&policyDir, "bucket-policies", "", "a directory of bucket policies, BUCKET.json each, evaluated as the bucket's resource policy")
	f.StringVar(&resourceAccount, "resource-account", "", "the account that owns the buckets (default: the gateway identity's account)")
	f.StringSliceVar(&domains, "domain", nil, "a host name of the gateway for virtual-hosted-style requests (BUCKET.DOMAIN); when given, other Host headers are refused")
	_ = cmd.MarkFlagRequired("upstream")
	_ = cmd.MarkFlagRequired("endpoint-url")
	return cmd
}
