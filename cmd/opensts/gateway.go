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
		profile, policyDir, resourceAccount, rulesFile, authRequest string
		sourceIPHeader                                              string
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
to accept chunk-signed uploads (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]).

Generic mode (--rules FILE) serves any HTTP API instead: the rules file maps
method and path patterns to IAM actions and resource templates, and allowed
requests go to --upstream with their path and query as received, without the
client's authentication, with X-Opensts-Principal-Arn and X-Opensts-Account.
With --auth-request nginx|envoy there is no upstream: the gateway answers the
checks of nginx's auth_request or Envoy's ext_authz HTTP service (200 allowed,
401 authentication failure, 403 denied), which cannot sign the authorize
API's calls themselves. See the README for both proxies' configuration.

Without --domain, any Host is accepted: a request signed for another service
that trusts the same OpenSTS (another gateway, in front of other data) can be
replayed here within the 15 minutes of clock skew SigV4 allows, if its path
means something here too. Give --domain with the gateway's public names.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			if len(domains) == 0 {
				log.Warn("gateway: no --domain: requests signed for any host are accepted (see --help)")
			}
			if rulesFile != "" {
				if authRequest == string(gateway.EnvoyExtAuthz) && !cmd.Flags().Changed("source-ip-header") {
					// Envoy never sets X-Real-IP: a check request's would be
					// the client's own (aws:SourceIp of its choosing).
					sourceIPHeader = envoySourceIPHeader
				}
				return serveGeneric(ctx, log, genericFlags{listen: listen, upstream: upstream, endpoint: endpoint, profile: profile, region: region,
					rules: rulesFile, authRequest: authRequest, sourceIPHeader: sourceIPHeader, resourceAccount: resourceAccount, domains: domains})
			}
			if authRequest != "" {
				return errors.New("--auth-request needs --rules")
			}
			if upstream == "" {
				return errors.New("--upstream is required")
			}
			if service != "s3" {
				return fmt.Errorf("--service %q: only s3 is served (or --rules FILE for any HTTP API)", service)
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
			return serveHandler(ctx, log, listen, g, "upstream", upstream, "buckets_with_policy", len(policies))
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
	f.StringSliceVar(&domains, "domain", nil, "a host name of the gateway (s3: also BUCKET.DOMAIN, virtual-hosted style); when given, other Host headers are refused")
	f.StringVar(&rulesFile, "rules", "", "generic mode: a rules file (YAML or JSON) mapping method and path patterns to actions and resources")
	f.StringVar(&authRequest, "auth-request", "", "generic mode without upstream: answer nginx auth_request (nginx) or Envoy ext_authz (envoy) checks")
	f.StringVar(&sourceIPHeader, "source-ip-header", "X-Real-IP", "with --auth-request: the header the proxy sets to the client's address (it must replace the client's own; default with --auth-request envoy: "+envoySourceIPHeader+")")
	_ = cmd.MarkFlagRequired("endpoint-url")
	return cmd
}

// envoySourceIPHeader is the header Envoy sets to the client's address
// (use_remote_address), removing a client's own: the source address of
// --auth-request envoy unless --source-ip-header names another.
const envoySourceIPHeader = "X-Envoy-External-Address"

type genericFlags struct {
	listen, upstream, endpoint, profile, region, rules, authRequest, sourceIPHeader, resourceAccount string
	domains                                                                                          []string
}

// serveGeneric runs the generic mode (--rules).
func serveGeneric(ctx context.Context, log *slog.Logger, f genericFlags) error {
	if (f.upstream == "") == (f.authRequest == "") {
		return errors.New("generic mode needs --upstream URL or --auth-request nginx|envoy, not both")
	}
	rules, err := gateway.LoadRules(f.rules)
	if err != nil {
		return err
	}
	for _, w := range rules.Warnings() {
		log.Warn("gateway: " + f.rules + ": " + w)
	}
	awsCfg, err := loadAWSConfig(ctx, f.endpoint, f.profile, f.region)
	if err != nil {
		return err
	}
	v, err := verifier.New(verifier.Config{Endpoint: f.endpoint, Credentials: awsCfg.Credentials, Region: awsCfg.Region})
	if err != nil {
		return err
	}
	g, err := gateway.NewGeneric(gateway.GenericConfig{
		Rules: rules, Upstream: f.upstream, AuthRequest: gateway.AuthRequest(f.authRequest), Region: awsCfg.Region, Domains: f.domains,
		ResourceAccount: f.resourceAccount, Authorizer: v, SourceIPHeader: f.sourceIPHeader, Log: log,
	})
	if err != nil {
		return err
	}
	return serveHandler(ctx, log, f.listen, g, "upstream", f.upstream, "auth_request", f.authRequest, "service", rules.Service, "rules", len(rules.Rules))
}

// serveHandler serves h on listen until ctx ends.
func serveHandler(ctx context.Context, log *slog.Logger, listen string, h http.Handler, attrs ...any) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	// No ReadTimeout: an upload may take long. An idle keep-alive
	// connection is closed after IdleTimeout (without one, a client
	// that sent one request could hold its connection forever).
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("gateway: serving", append([]any{"listen", "http://" + ln.Addr().String()}, attrs...)...)
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
