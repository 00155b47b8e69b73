package policy

import (
	"slices"
	"testing"
)

func TestContextKeys(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"${aws:username}","s3:prefix":"x"},"Bool":{"aws:MultiFactorAuthPresent":"true"}}},
{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"AWS:SourceIp":"10.0.0.0/8"},"StringLike":{"S3:Prefix":"y"}}},
{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}`
	p, err := Parse(Identity, doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"aws:MultiFactorAuthPresent", "aws:PrincipalTag/team", "AWS:SourceIp", "aws:username", "s3:prefix"}
	if got := p.ContextKeys(); !slices.Equal(got, want) {
		t.Errorf("ContextKeys = %q, want %q", got, want)
	}
	none, err := Parse(Identity, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := none.ContextKeys(); len(got) != 0 {
		t.Errorf("no conditions: %q", got)
	}
}
