package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestGrantsAndServices(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		doc      string
		grants   []string // of iam, sts, s3, organizations
		services []string
	}{
		{"exact", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["IAM:ListUsers","sts:GetCallerIdentity"],"Resource":"*"}]}`,
			[]string{"iam", "sts"}, []string{"iam", "sts"}},
		{"everything", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`,
			[]string{"iam", "sts", "s3", "organizations"}, nil},
		{"action wildcard", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`,
			[]string{"s3"}, []string{"s3"}},
		{"deny grants nothing", `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}`,
			nil, nil},
		{"not action", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":["iam:*","sts:AssumeRole"],"Resource":"*"}}`,
			[]string{"sts", "s3", "organizations"}, nil},
		{"not action everything", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"*","Resource":"*"}}`,
			nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, err := Parse(Identity, tc.doc)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range []string{"iam", "sts", "s3", "organizations"} {
				if p.Grants(s) {
					got = append(got, s)
				}
			}
			if d := cmp.Diff(tc.grants, got); d != "" {
				t.Errorf("Grants (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.services, p.Services()); d != "" {
				t.Errorf("Services (-want +got):\n%s", d)
			}
		})
	}
}
