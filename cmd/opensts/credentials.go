package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/opensts/opensts/internal/credentials"
)

// roleFlags are what both credentials commands need to assume the role.
type roleFlags struct {
	roleARN, endpoint, sessionName, externalID, profile, region string
	duration                                                    time.Duration
}

func (f *roleFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.roleARN, "role-arn", "", "the role to deliver credentials for (required)")
	fl.StringVar(&f.endpoint, "endpoint-url", "", "the OpenSTS endpoint, e.g. http://127.0.0.1:8080 (required)")
	fl.StringVar(&f.sessionName, "role-session-name", "", "the role session name (default opensts-credentials-HOSTNAME)")
	fl.StringVar(&f.externalID, "external-id", "", "the ExternalId the role's trust policy asks for, if any")
	fl.DurationVar(&f.duration, "duration", time.Hour, "the lifetime of each set of credentials (15m to the role's maximum)")
	fl.StringVar(&f.profile, "profile", "", "the AWS profile that holds this command's own identity (default: the standard AWS credential chain)")
	fl.StringVar(&f.region, "region", "", "the region to sign for (default: the chain's, else us-east-1)")
	_ = cmd.MarkFlagRequired("role-arn")
	_ = cmd.MarkFlagRequired("endpoint-url")
}

var sessionNameChars = regexp.MustCompile(`[^\w+=,.@-]`)

// assumer returns the function that assumes the role, with this command's
// own identity from the standard AWS credential chain (environment, shared
// files and --profile, a web identity token file, a container or instance
// provider), every STS call going to the OpenSTS endpoint.
func (f *roleFlags) assumer(ctx context.Context) (credentials.AssumeFunc, error) {
	if f.duration < 15*time.Minute || f.duration > 12*time.Hour {
		return nil, fmt.Errorf("--duration %s: want 15m to 12h", f.duration)
	}
	cfg, err := loadAWSConfig(ctx, f.endpoint, f.profile, f.region)
	if err != nil {
		return nil, err
	}
	name := f.sessionName
	if name == "" {
		host, _ := os.Hostname()
		name = "opensts-credentials-" + sessionNameChars.ReplaceAllString(host, "-")
		if len(name) > 64 {
			name = name[:64]
		}
	}
	client := sts.NewFromConfig(cfg)
	in := &sts.AssumeRoleInput{RoleArn: aws.String(f.roleARN), RoleSessionName: aws.String(name),
		DurationSeconds: aws.Int32(int32(f.duration / time.Second))}
	if f.externalID != "" {
		in.ExternalId = aws.String(f.externalID)
	}
	return func(ctx context.Context) (aws.Credentials, error) {
		out, err := client.AssumeRole(ctx, in)
		if err != nil {
			return aws.Credentials{}, err
		}
		c := out.Credentials
		return aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey),
			SessionToken: aws.ToString(c.SessionToken), CanExpire: true, Expires: aws.ToTime(c.Expiration), Source: "OpenSTS"}, nil
	}, nil
}

func newCredentialsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Deliver role credentials to workloads (container and IMDSv2 endpoints, credential_process)",
	}
	cmd.AddCommand(newCredentialsServeCmd(), newCredentialsProcessCmd())
	return cmd
}

func newCredentialsServeCmd() *cobra.Command {
	var (
		rf        roleFlags
		listen    string
		tokenFile string
		imds      bool
		hops      int
		margin    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a role's credentials over the container credentials protocol (and IMDSv2 with --imds), refreshed before they expire",
		Long: `Serve a role's credentials to unmodified SDKs and the AWS CLI.

Container protocol (as on ECS and EKS): point the workload at it with
  AWS_CONTAINER_CREDENTIALS_FULL_URI=http://ADDR/ (an IP address or localhost:
  without --auth-token-file, requests naming another host are refused)
and, with --auth-token-file, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE naming the
same file (or AWS_CONTAINER_AUTHORIZATION_TOKEN holding its content).

With --imds, the IMDSv2 credential paths are served too (PUT /latest/api/token,
GET /latest/meta-data/iam/security-credentials/ROLE), for clients pointed at it
with AWS_EC2_METADATA_SERVICE_ENDPOINT=http://ADDR/; answers leave with the IP
TTL --imds-hop-limit, as on EC2.

The command's own identity comes from the standard AWS credential chain.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			assume, err := rf.assumer(ctx)
			if err != nil {
				return err
			}
			if hops < 1 || hops > 64 {
				return fmt.Errorf("--imds-hop-limit %d: want 1 to 64", hops)
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			src := credentials.NewSource(credentials.Config{RoleARN: rf.roleARN, Assume: assume, Margin: margin, Log: log})
			if err := src.Refresh(ctx); err != nil {
				return fmt.Errorf("assume %s: %w", rf.roleARN, err)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return err
			}
			if tokenFile == "" && !isLoopback(ln.Addr()) {
				log.Warn("credentials: serving without --auth-token-file on a non-loopback address; anything that reaches it gets the role's credentials", "listen", ln.Addr().String())
			}
			var h http.Handler = &credentials.Container{Source: src, TokenFile: tokenFile}
			if imds {
				mux := http.NewServeMux()
				mux.Handle("/latest/", credentials.NewIMDS(src))
				mux.Handle("/", h)
				h = mux
				ln = credentials.Listener{Listener: ln, Hops: hops}
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
			go src.Run(ctx)
			go func() {
				<-ctx.Done()
				sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(sctx)
			}()
			log.Info("credentials: serving", "role", rf.roleARN, "endpoint", "http://"+ln.Addr().String()+"/", "imds", imds)
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	rf.add(cmd)
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:9911", "address to serve on")
	f.StringVar(&tokenFile, "auth-token-file", "", "require the content of this file in each request's Authorization header (container protocol)")
	f.BoolVar(&imds, "imds", false, "also serve the IMDSv2 credential paths")
	f.IntVar(&hops, "imds-hop-limit", 1, "IP TTL of the answers with --imds (EC2's HttpPutResponseHopLimit)")
	f.DurationVar(&margin, "refresh-margin", 0, "replace the credentials this long before they expire (default: a quarter of their lifetime, at least 5 minutes)")
	return cmd
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

func newCredentialsProcessCmd() *cobra.Command {
	var rf roleFlags
	cmd := &cobra.Command{
		Use:   "process",
		Short: "Print a role's credentials as credential_process JSON (Version 1), for ~/.aws/config",
		Long: `Print a role's credentials as the JSON that credential_process expects:

  [profile app]
  credential_process = opensts credentials process --role-arn ARN --endpoint-url URL

The command's own identity comes from the standard AWS credential chain; give
it a different profile with --profile (never the profile that runs it).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			assume, err := rf.assumer(ctx)
			if err != nil {
				return err
			}
			src := credentials.NewSource(credentials.Config{RoleARN: rf.roleARN, Assume: assume})
			if err := src.Refresh(ctx); err != nil {
				return fmt.Errorf("assume %s: %w", rf.roleARN, err)
			}
			out, err := credentials.ProcessOutput(src)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", out)
			return err
		},
	}
	rf.add(cmd)
	return cmd
}
