package main

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// loadAWSConfig is the standard AWS credential chain and configuration
// (environment, shared files, --profile, web identity, container and
// instance providers) for the commands that call OpenSTS as a client, with
// every service client sent to endpoint when it is set; the region defaults
// to us-east-1.
func loadAWSConfig(ctx context.Context, endpoint, profile, region string) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if endpoint != "" {
		opts = append(opts, awsconfig.WithBaseEndpoint(endpoint))
	}
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	if region != "" {
		opts = append(opts, awsconfig.WithRegion(region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}
