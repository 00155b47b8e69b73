package trustcheck

import (
	"encoding/json"
	"testing"
)

const account = "111111111111"

const roleARN = "arn:aws:iam::" + account + ":role/r"

func TestStatements(t *testing.T) {
	for _, tc := range []struct {
		doc     string
		version string
		n       int
		err     bool
	}{
		{`{"Version":"2012-10-17","Statement":[{"Effect":"Allow"},{"Effect":"Deny"}]}`, "2012-10-17", 2, false},
		{`{"Statement":{"Effect":"Allow"}}`, "", 1, false},
		{`{"Version":"2012-10-17"}`, "2012-10-17", 0, false},
		{`{"Statement":7}`, "", 0, true},
		{`[`, "", 0, true},
	} {
		v, stmts, err := Statements(tc.doc)
		if (err != nil) != tc.err || v != tc.version || len(stmts) != tc.n {
			t.Errorf("%s: %q %d %v", tc.doc, v, len(stmts), err)
		}
	}
}

// A probe keeps the conditions on who the caller is and drops those the
// caller chooses, and the decision is the engine's.
func TestProbe(t *testing.T) {
	for _, tc := range []struct {
		name, stmt        string
		everyone, foreign bool // foreign: anyone of 222222222222
	}{
		{"named role", `{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:role/ci"},"Action":"sts:AssumeRole"}`, false, false},
		{"whole account", `{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sts:AssumeRole"}`, false, true},
		{"star", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}`, true, true},
		{"star with a source IP", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`, true, true},
		{"star in an organization", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc"}}}`, false, false},
		{"star, the organization may be absent", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEqualsIfExists":{"aws:PrincipalOrgID":"o-abc"}}}`, true, true},
		{"star, a provider's claim", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"accounts.example:sub":"x"}}}`, false, false},
		{"whole account, a real external id", `{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"c0ffee"}}}`, false, false},
		{"deny", `{"Effect":"Deny","Principal":"*","Action":"sts:AssumeRole"}`, false, false},
		// Evasions: the stranger brings no external id, is in an
		// organization or an account the document cannot name, or takes
		// the name a condition on who it is asks for.
		{"star, no external id", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"Null":{"sts:ExternalId":"true"}}}`, true, true},
		{"whole account, no external id", `{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sts:AssumeRole","Condition":{"Null":{"sts:ExternalId":"true"}}}`, false, true},
		{"star, every external id but the probe's", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringNotEquals":{"sts:ExternalId":"opensts-trust-probe-not-an-external-id"}}}`, true, true},
		{"star, every account but the probe's", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringNotEquals":{"aws:PrincipalAccount":["999999999999","987654321098","135792468013","246813579024"]}}}`, true, true},
		{"star, every organization but the probe's", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"Null":{"aws:PrincipalOrgID":"false"},"StringNotEquals":{"aws:PrincipalOrgID":"o-openstsprobe"}}}`, true, true},
		{"star, a role name any account may take", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/deploy"}}}`, true, false},
		{"star, a role name pattern", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:*deploy-?"}}}`, true, false},
		{"star, a role name after a wildcard", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"*:role/deploy"}}}`, true, false},
		{"star, a name ending", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"*deploy"}}}`, true, false},
		{"star, a user name any account may take", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:username":"admin"}}}`, true, false},
		{"star, a session name", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:userid":"*:admin"}}}`, true, false},
		{"star, a role of this account", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::` + account + `:role/deploy"}}}`, false, false},
		{"star, a role's unique id", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:userid":"AROAEXAMPLEID:*"}}}`, false, false},
		{"star, a name in an account", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/deploy"},"StringEquals":{"aws:PrincipalAccount":"` + account + `"}}}`, false, false},
		{"star, accounts that begin with 9", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalAccount":"9*"}}}`, true, false},
		{"star, accounts one digit from this one", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalAccount":"11111111111?"}}}`, true, false},
		{"star, a role name in accounts that begin with 9", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::9*:role/deploy"}}}`, true, false},
		{"star, any principal of accounts that begin with 99", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::99*"}}}`, true, false},
		{"star, a role name after an account prefix's *", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::99*role/deploy"}}}`, true, false},
		{"star, a role name after any account's *", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*role/deploy"}}}`, true, false},
		{"star, this account by pattern", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalAccount":"` + account + `"}}}`, false, false},
		{"a named account, accounts that begin with 9", `{"Effect":"Allow","Principal":{"AWS":"222222222222"},"Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalAccount":"9*"}}}`, false, false},
		{"star for web identity, any repository", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*"}}}`, true, false},
		{"star for web identity, an audience", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"}}}`, true, false},
		{"star for web identity, one repository", `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:acme/app:ref:refs/heads/main"}}}`, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewProbe(roleARN, account, "2012-10-17", json.RawMessage(tc.stmt))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Everyone(Stranger(tc.stmt)); got != tc.everyone {
				t.Errorf("Everyone = %v", got)
			}
			if got := p.AnyoneOf("222222222222"); got != tc.foreign {
				t.Errorf("AnyoneOf = %v", got)
			}
		})
	}
	if _, err := NewProbe(roleARN, account, "2012-10-17", json.RawMessage(`{"Effect":"Allow","Principal":"*","Action":7}`)); err == nil {
		t.Error("an invalid statement compiled")
	}
}

func TestStranger(t *testing.T) {
	if s := Stranger(`{"AWS":["999999999999","987654321098"]}`); s == "999999999999" || s == "987654321098" || len(s) != 12 {
		t.Errorf("Stranger = %s", s)
	}
}

func FuzzProbe(f *testing.F) {
	f.Add(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringLike":{"aws:PrincipalArn":"*"}}}]}`)
	f.Add(`{"Statement":{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}}`)
	f.Add(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole*","Condition":{"StringLike":{"aws:PrincipalArn":"*:role/*?","aws:userid":"*:a*","token.actions.githubusercontent.com:sub":"repo:*:environment:*"}}}}`)
	f.Add(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":["repository_owner_id:1*:x","context:*","workflow_ref:a*"],"gitlab.example.com:sub":"project_path:*","token.actions.githubusercontent.com:repository_owner":"a*","aws:PrincipalAccount":"9?*"}}}}`)
	f.Add(`{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole*","Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":["pull_request:workflow:a?:*","repo:a?c/*:x","::*?"],"token.actions.githubusercontent.com:workflow_ref":"*/.github/workflows/*","token.actions.githubusercontent.com:actor":"a*[bot]","gitlab.com:groups_direct":"?*","aws:PrincipalArn":"arn:aws:iam::9*x/y"}}}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		v, stmts, err := Statements(doc)
		if err != nil {
			return
		}
		for _, st := range stmts {
			if p, err := NewProbe(roleARN, account, v, st); err == nil {
				p.Everyone(Stranger(doc))
				p.AnyoneOf("222222222222")
				p.AnySubject("arn:aws:iam::" + account + ":oidc-provider/token.actions.githubusercontent.com")
				p.AnySubject("arn:aws:iam::" + account + ":oidc-provider/gitlab.example.com")
				p.AnyUser("arn:aws:iam::" + account + ":saml-provider/corp")
				p.Accounts()
			}
			GrantsEverything(roleARN, account, v, st)
		}
	})
}

func TestAnySubjectGitLab(t *testing.T) {
	const gl = "arn:aws:iam::" + account + ":oidc-provider/gitlab.com"
	stmt := func(cond string) string {
		return `{"Effect":"Allow","Principal":{"Federated":"` + gl + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + cond + `}`
	}
	for _, tc := range []struct {
		name, stmt string
		any        bool
	}{
		{"any project", stmt(`{"StringLike":{"gitlab.com:sub":"project_path:*"}}`), true},
		{"groups that begin with acme", stmt(`{"StringLike":{"gitlab.com:sub":"project_path:acme*"}}`), true},
		{"one group", stmt(`{"StringLike":{"gitlab.com:sub":"project_path:acme/*"}}`), false},
		{"one namespace id", stmt(`{"StringEquals":{"gitlab.com:namespace_id":"4242"}}`), false},
		{"one namespace", stmt(`{"StringEquals":{"gitlab.com:namespace_path":"acme"}}`), false},
		{"any namespace's main branch", stmt(`{"StringLike":{"gitlab.com:sub":"*:ref_type:branch:ref:main"}}`), true},
		{"one project's branches", stmt(`{"StringLike":{"gitlab.com:sub":"project_path:acme/app:ref_type:branch:ref:*"}}`), false},
		{"one direct group", stmt(`{"ForAnyValue:StringEquals":{"gitlab.com:groups_direct":"acme"}}`), false},
		{"direct groups that begin with acme", stmt(`{"ForAnyValue:StringLike":{"gitlab.com:groups_direct":"acme*"}}`), true},
		{"one group's projects, by claim", stmt(`{"StringLike":{"gitlab.com:project_path":"acme/*"}}`), false},
		{"any project named deploy", stmt(`{"StringLike":{"gitlab.com:project_path":"*/deploy"}}`), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewProbe(roleARN, account, "2012-10-17", json.RawMessage(tc.stmt))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.AnySubject(gl); got != tc.any {
				t.Errorf("AnySubject = %v", got)
			}
		})
	}
}

func TestAnySubject(t *testing.T) {
	const gh = "arn:aws:iam::" + account + ":oidc-provider/token.actions.githubusercontent.com"
	stmt := func(cond string) string {
		return `{"Effect":"Allow","Principal":{"Federated":"` + gh + `"},"Action":"sts:AssumeRoleWithWebIdentity"` + cond + `}`
	}
	aud := `"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"`
	for _, tc := range []struct {
		name, stmt string
		any        bool
	}{
		{"no condition", stmt(``), true},
		{"audience only", stmt(`,"Condition":{"StringEquals":{` + aud + `}}`), true},
		{"any repository", stmt(`,"Condition":{"StringEquals":{` + aud + `},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*"}}`), true},
		{"every subject", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"*"}}`), true},
		{"all but one", stmt(`,"Condition":{"StringNotEquals":{"token.actions.githubusercontent.com:sub":"repo:acme/app:ref:refs/heads/main"}}`), true},
		{"any repository's environment", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*:environment:prod"}}`), true},
		{"any repository's pull requests", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*:pull_request"}}`), true},
		{"any repository of a name", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*/deploy:*"}}`), true},
		{"any main branch", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"*:ref:refs/heads/main"}}`), true},
		{"owners that begin with acme", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme*"}}`), true},
		{"one repository's branches", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/app:*"}}`), false},
		{"an organization's environments", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":["repo:acme/*:environment:prod","repo:acme/app:ref:*"]}}`), false},
		{"the subject may be absent", stmt(`,"Condition":{"StringLikeIfExists":{"token.actions.githubusercontent.com:sub":"repo:acme/*"}}`), false},
		{"an organization's repositories", stmt(`,"Condition":{"StringEquals":{` + aud + `},"StringLike":{"token.actions.githubusercontent.com:sub":"repo:acme/*"}}`), false},
		{"one branch", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:acme/app:ref:refs/heads/main"}}`), false},
		// Custom subjects (GitHub lets an owner choose the claims its
		// repositories' subjects hold), and the claims of who the job is
		// of, which OpenSTS makes condition keys.
		{"a custom subject of any owner id", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repository_owner_id:*"}}`), true},
		{"owner ids that begin with 12", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repository_owner_id:12*"}}`), true},
		{"one owner id's repositories", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repository_owner_id:123456:*"}}`), false},
		{"one repository id's environments", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repository_id:987:environment:*"}}`), false},
		{"an environment first, any repository", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"environment:prod:*"}}`), true},
		{"an environment alone", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"environment:prod"}}`), true},
		{"a reusable workflow alone", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"job_workflow_ref:acme/deploy/.github/workflows/deploy.yml@refs/heads/main"}}`), true},
		{"a reusable workflow claim alone", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:job_workflow_ref":"acme/deploy/.github/workflows/deploy.yml@refs/heads/main"}}`), true},
		{"an owner prefix in a custom subject", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repository_owner:acme*"}}`), true},
		{"a repository prefix in a custom subject", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"context:x:repository:acme*"}}`), true},
		{"one owner, no subject condition", stmt(`,"Condition":{"StringEquals":{` + aud + `,"token.actions.githubusercontent.com:repository_owner":"acme"}}`), false},
		{"one owner id, no subject condition", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:repository_owner_id":"123456"}}`), false},
		{"one repository, no subject condition", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:repository":"acme/app"}}`), false},
		{"an enterprise, no subject condition", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:enterprise":"acme-corp"}}`), false},
		{"owners that begin with acme, by claim", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:repository_owner":"acme*"}}`), true},
		{"owner ids that begin with 12, by claim", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:repository_owner_id":"12*"}}`), true},
		{"every owner but one", stmt(`,"Condition":{"StringNotEquals":{"token.actions.githubusercontent.com:repository_owner":"evil"}}`), true},
		{"one owner's main branches", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:repository_owner":"acme"},"StringLike":{"token.actions.githubusercontent.com:sub":"*:ref:refs/heads/main"}}`), false},
		// Names a stranger registers or creates: a condition on a claim of who the
		// job is of that does not pin an owner before its first wildcard.
		{"any repository named deploy", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:repository":"*/deploy"}}`), true},
		{"owners that end in -corp", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:repository_owner":"*-corp"}}`), true},
		{"owners of four letters", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:repository_owner":"acm?"}}`), true},
		{"any repository's workflow file", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:workflow_ref":"*/.github/workflows/deploy.yml@refs/heads/main"}}`), true},
		{"one owner's workflow files", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:workflow_ref":"acme/*"}}`), false},
		{"actors that begin with acme-", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:actor":"acme-*"}}`), true},
		{"an app's bot, which acts in any repository that installs it", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:actor":"dependabot[bot]"}}`), true},
		{"repository ids that begin with 12", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:repository_id":"12*"}}`), true},
		{"an owner prefix and a repository name", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:repository_owner":"acme-*","token.actions.githubusercontent.com:repository":"*/deploy"}}`), true},
		{"any repository, owners that end in -corp", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:*","token.actions.githubusercontent.com:repository_owner":"*-corp"}}`), true},
		{"one owner's repositories named deploy", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:repository_owner":"acme"},"StringLike":{"token.actions.githubusercontent.com:repository":"*/deploy"}}`), false},
		// Claims no GitHub token carries: IfExists admits every job.
		{"a repo claim, if it exists", stmt(`,"Condition":{"StringEqualsIfExists":{"token.actions.githubusercontent.com:repo":"acme/app"}}`), true},
		{"a triggering_actor claim, if it exists", stmt(`,"Condition":{"StringEqualsIfExists":{"token.actions.githubusercontent.com:triggering_actor":"alice"}}`), true},
		// Subjects: pull_request (a context of no value), a workflow's name
		// holding ":", "?".
		{"a pull request and a reusable workflow", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"pull_request:job_workflow_ref:acme/deploy/.github/workflows/d.yml@refs/heads/main"}}`), true},
		{"a pull request alone", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"pull_request"}}`), true},
		{"one owner's pull requests", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"pull_request:repository_owner:acme:*"}}`), false},
		{"one repository's pull requests", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"repo:acme/app:pull_request"}}`), false},
		{"a workflow's name before the owner", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"workflow:deploy:repository_owner:acme"}}`), true},
		{"an environment by pattern", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"environment:pro?"}}`), true},
		{"owners of a pattern with ?", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:sub":"repo:ac?e/*"}}`), true},
		{"an environment alone, owners that end in -corp", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"environment:prod"},"StringLike":{"token.actions.githubusercontent.com:repository_owner":"*-corp"}}`), true},
		{"one owner, in another case", stmt(`,"Condition":{"StringEqualsIgnoreCase":{"token.actions.githubusercontent.com:sub":"Repository_Owner:acme"}}`), false},
		{"not a subject of claims", stmt(`,"Condition":{"StringEquals":{"token.actions.githubusercontent.com:sub":"a b:c"}}`), false},
		// A stranger chooses its subject's template: excluding the default
		// one excludes no stranger.
		{"every subject but a repository's", stmt(`,"Condition":{"StringNotLike":{"token.actions.githubusercontent.com:sub":"repo:*"}}`), true},
		{"every subject but of repositories and owners", stmt(`,"Condition":{"StringNotLike":{"token.actions.githubusercontent.com:sub":["repo:*","repository_owner:*","repository_owner_id:*"]}}`), true},
		{"one owner, if it exists", stmt(`,"Condition":{"StringEqualsIfExists":{"token.actions.githubusercontent.com:repository_owner":"acme"}}`), false},
		{"one owner, for all values", stmt(`,"Condition":{"ForAllValues:StringEquals":{"token.actions.githubusercontent.com:repository_owner":"acme"}}`), false},
		{"an enterprise, for all values (none)", stmt(`,"Condition":{"ForAllValues:StringEquals":{"token.actions.githubusercontent.com:enterprise":"acme"}}`), true},
		{"owners that end in -corp, a key in another case", stmt(`,"Condition":{"StringLike":{"Token.Actions.GithubUserContent.com:Repository_Owner":"*-corp"}}`), true},
		{"one owner, a key in another case", stmt(`,"Condition":{"StringEquals":{"Token.Actions.GithubUserContent.com:Repository_Owner":"acme"}}`), false},
		{"enterprises that begin with acme", stmt(`,"Condition":{"StringLike":{"token.actions.githubusercontent.com:enterprise":"acme*"}}`), true},
		{"no enterprise but acme", stmt(`,"Condition":{"StringNotEquals":{"token.actions.githubusercontent.com:enterprise":"acme"}}`), true},
		{"another provider", `{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + account + `:oidc-provider/other.example"},"Action":"sts:AssumeRoleWithWebIdentity"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewProbe(roleARN, account, "2012-10-17", json.RawMessage(tc.stmt))
			if err != nil {
				t.Fatal(err)
			}
			if got := p.AnySubject(gh); got != tc.any {
				t.Errorf("AnySubject = %v", got)
			}
		})
	}
}

// Accounts are the foreign accounts a statement's conditions on who the
// caller is name.
func TestAccounts(t *testing.T) {
	stmt := `{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:PrincipalAccount":["222222222222","` + account + `","x"]},` +
		`"ArnLike":{"aws:PrincipalArn":["arn:aws:iam::333333333333:role/*","arn:aws:iam::*:role/x","arn:aws:iam::222222222222:user/u"]},"StringNotEquals":{"aws:PrincipalAccount":"444444444444"}}}`
	p, err := NewProbe(roleARN, account, "2012-10-17", json.RawMessage(stmt))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Accounts(); len(got) != 2 || got[0] != "222222222222" || got[1] != "333333333333" {
		t.Errorf("Accounts = %v", got)
	}
}
