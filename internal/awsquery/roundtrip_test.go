package awsquery

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/opensts/opensts/internal/apierr"
)

const testRequestID = "16fc956c-311e-4199-bee1-1680236e9698"

func newSTSClient(url string) *sts.Client {
	return sts.New(sts.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func newIAMClient(url string) *iam.Client {
	return iam.New(iam.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIAIOSFODNN7EXAMPLE", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

// typedAs reports whether err's chain holds a *T.
func typedAs[T error](err error) bool {
	var t T
	return errors.As(err, &t)
}

// call is one SDK operation that models the error under test.
type call func(ctx context.Context, stsc *sts.Client, iamc *iam.Client) error

var (
	stsAssumeRole = func(ctx context.Context, c *sts.Client, _ *iam.Client) error {
		_, err := c.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"), RoleSessionName: aws.String("s1")})
		return err
	}
	stsWebIdentity = func(ctx context.Context, c *sts.Client, _ *iam.Client) error {
		_, err := c.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
			RoleSessionName: aws.String("s1"), WebIdentityToken: aws.String("token-token")})
		return err
	}
	stsWebIdentityToken = func(ctx context.Context, c *sts.Client, _ *iam.Client) error {
		_, err := c.GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{Audience: []string{"https://example.com"}, SigningAlgorithm: aws.String("RS256")})
		return err
	}
	stsDecode = func(ctx context.Context, c *sts.Client, _ *iam.Client) error {
		_, err := c.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String("m")})
		return err
	}
	stsCallerIdentity = func(ctx context.Context, c *sts.Client, _ *iam.Client) error {
		_, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	}
	iamCreateUser = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")})
		return err
	}
	iamDeleteUser = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
		return err
	}
	iamChangePassword = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.ChangePassword(ctx, &iam.ChangePasswordInput{OldPassword: aws.String("old"), NewPassword: aws.String("new")})
		return err
	}
	iamUploadSSH = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.UploadSSHPublicKey(ctx, &iam.UploadSSHPublicKeyInput{UserName: aws.String("alice"), SSHPublicKeyBody: aws.String("ssh-rsa x")})
		return err
	}
	iamUploadServerCert = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.UploadServerCertificate(ctx, &iam.UploadServerCertificateInput{ServerCertificateName: aws.String("c"), CertificateBody: aws.String("b"), PrivateKey: aws.String("k")})
		return err
	}
	iamUploadSigningCert = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.UploadSigningCertificate(ctx, &iam.UploadSigningCertificateInput{CertificateBody: aws.String("b")})
		return err
	}
	iamCreateServiceCred = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.CreateServiceSpecificCredential(ctx, &iam.CreateServiceSpecificCredentialInput{UserName: aws.String("alice"), ServiceName: aws.String("s")})
		return err
	}
	iamGetCredentialReport = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
		return err
	}
	iamCreatePolicy = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("p"), PolicyDocument: aws.String("{}")})
		return err
	}
	iamEnableMFA = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.EnableMFADevice(ctx, &iam.EnableMFADeviceInput{UserName: aws.String("alice"), SerialNumber: aws.String("arn:aws:iam::123456789012:mfa/alice"),
			AuthenticationCode1: aws.String("123456"), AuthenticationCode2: aws.String("654321")})
		return err
	}
	iamAttachRolePolicy = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("r"), PolicyArn: aws.String("arn:aws:iam::aws:policy/ReadOnlyAccess")})
		return err
	}
	iamSimulate = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::123456789012:user/alice"),
			ActionNames: []string{"s3:GetObject"}})
		return err
	}
	iamGetUser = func(ctx context.Context, _ *sts.Client, c *iam.Client) error {
		_, err := c.GetUser(ctx, &iam.GetUserInput{})
		return err
	}
)

// modeled lists, per wire code, an operation that models it and the typed
// error the SDK must return. A code not listed must still round-trip as a
// generic smithy.APIError with the same code and message.
var modeled = map[string][]struct {
	name  string
	call  call
	typed func(error) bool
}{
	"MalformedPolicyDocument": {
		{"sts AssumeRole", stsAssumeRole, typedAs[*ststypes.MalformedPolicyDocumentException]},
		{"iam CreatePolicy", iamCreatePolicy, typedAs[*iamtypes.MalformedPolicyDocumentException]},
	},
	"PackedPolicyTooLarge":    {{"sts AssumeRole", stsAssumeRole, typedAs[*ststypes.PackedPolicyTooLargeException]}},
	"RegionDisabledException": {{"sts AssumeRole", stsAssumeRole, typedAs[*ststypes.RegionDisabledException]}},
	"OutboundWebIdentityFederationDisabledException": {{"sts GetWebIdentityToken", stsWebIdentityToken,
		typedAs[*ststypes.OutboundWebIdentityFederationDisabledException]}},
	"SessionDurationEscalationException": {{"sts GetWebIdentityToken", stsWebIdentityToken, typedAs[*ststypes.SessionDurationEscalationException]}},
	"JWTPayloadSizeExceededException":    {{"sts GetWebIdentityToken", stsWebIdentityToken, typedAs[*ststypes.JWTPayloadSizeExceededException]}},
	"ExpiredTokenException": {
		{"sts AssumeRoleWithWebIdentity", stsWebIdentity, typedAs[*ststypes.ExpiredTokenException]},
		{"sts AssumeRole", stsAssumeRole, typedAs[*ststypes.ExpiredTokenException]},
	},
	"IDPCommunicationError":                {{"sts AssumeRoleWithWebIdentity", stsWebIdentity, typedAs[*ststypes.IDPCommunicationErrorException]}},
	"IDPRejectedClaim":                     {{"sts AssumeRoleWithWebIdentity", stsWebIdentity, typedAs[*ststypes.IDPRejectedClaimException]}},
	"InvalidIdentityToken":                 {{"sts AssumeRoleWithWebIdentity", stsWebIdentity, typedAs[*ststypes.InvalidIdentityTokenException]}},
	"InvalidAuthorizationMessageException": {{"sts DecodeAuthorizationMessage", stsDecode, typedAs[*ststypes.InvalidAuthorizationMessageException]}},
	"NoSuchEntity":                         {{"iam DeleteUser", iamDeleteUser, typedAs[*iamtypes.NoSuchEntityException]}},
	"EntityAlreadyExists":                  {{"iam CreateUser", iamCreateUser, typedAs[*iamtypes.EntityAlreadyExistsException]}},
	"LimitExceeded":                        {{"iam CreateUser", iamCreateUser, typedAs[*iamtypes.LimitExceededException]}},
	"InvalidInput":                         {{"iam CreateUser", iamCreateUser, typedAs[*iamtypes.InvalidInputException]}},
	"ConcurrentModification":               {{"iam CreateUser", iamCreateUser, typedAs[*iamtypes.ConcurrentModificationException]}},
	"ServiceFailure":                       {{"iam CreateUser", iamCreateUser, typedAs[*iamtypes.ServiceFailureException]}},
	"DeleteConflict":                       {{"iam DeleteUser", iamDeleteUser, typedAs[*iamtypes.DeleteConflictException]}},
	"InvalidAuthenticationCode":            {{"iam EnableMFADevice", iamEnableMFA, typedAs[*iamtypes.InvalidAuthenticationCodeException]}},
	"EntityTemporarilyUnmodifiable":        {{"iam EnableMFADevice", iamEnableMFA, typedAs[*iamtypes.EntityTemporarilyUnmodifiableException]}},
	"UnmodifiableEntity":                   {{"iam AttachRolePolicy", iamAttachRolePolicy, typedAs[*iamtypes.UnmodifiableEntityException]}},
	"PolicyNotAttachable":                  {{"iam AttachRolePolicy", iamAttachRolePolicy, typedAs[*iamtypes.PolicyNotAttachableException]}},
	"PasswordPolicyViolation":              {{"iam ChangePassword", iamChangePassword, typedAs[*iamtypes.PasswordPolicyViolationException]}},
	"InvalidUserType":                      {{"iam ChangePassword", iamChangePassword, typedAs[*iamtypes.InvalidUserTypeException]}},
	"PolicyEvaluation":                     {{"iam SimulatePrincipalPolicy", iamSimulate, typedAs[*iamtypes.PolicyEvaluationException]}},
	"MalformedCertificate":                 {{"iam UploadServerCertificate", iamUploadServerCert, typedAs[*iamtypes.MalformedCertificateException]}},
	"KeyPairMismatch":                      {{"iam UploadServerCertificate", iamUploadServerCert, typedAs[*iamtypes.KeyPairMismatchException]}},
	"InvalidCertificate":                   {{"iam UploadSigningCertificate", iamUploadSigningCert, typedAs[*iamtypes.InvalidCertificateException]}},
	"DuplicateCertificate":                 {{"iam UploadSigningCertificate", iamUploadSigningCert, typedAs[*iamtypes.DuplicateCertificateException]}},
	"InvalidPublicKey":                     {{"iam UploadSSHPublicKey", iamUploadSSH, typedAs[*iamtypes.InvalidPublicKeyException]}},
	"DuplicateSSHPublicKey":                {{"iam UploadSSHPublicKey", iamUploadSSH, typedAs[*iamtypes.DuplicateSSHPublicKeyException]}},
	"UnrecognizedPublicKeyEncoding":        {{"iam UploadSSHPublicKey", iamUploadSSH, typedAs[*iamtypes.UnrecognizedPublicKeyEncodingException]}},
	"NotSupportedService":                  {{"iam CreateServiceSpecificCredential", iamCreateServiceCred, typedAs[*iamtypes.ServiceNotSupportedException]}},
	"ReportNotPresent":                     {{"iam GetCredentialReport", iamGetCredentialReport, typedAs[*iamtypes.CredentialReportNotPresentException]}},
	"ReportExpired":                        {{"iam GetCredentialReport", iamGetCredentialReport, typedAs[*iamtypes.CredentialReportExpiredException]}},
}

// jsonOnly are the Organizations and CloudTrail codes: they travel over AWS JSON 1.1
// (internal/awsjson round-trips them), never in a Query ErrorResponse. Two of
// them collide with Query shape names (the STS/IAM SDKs read
// "MalformedPolicyDocumentException" and "InvalidInputException" as their
// own MalformedPolicyDocument and InvalidInput), which is why they must not be
// sent here.
var jsonOnly = map[apierr.Code]bool{
	apierr.AlreadyInOrganizationException: true, apierr.AccountNotFoundException: true,
	apierr.PolicyNotFoundException: true, apierr.TargetNotFoundException: true,
	apierr.DuplicatePolicyAttachmentException: true, apierr.PolicyNotAttachedException: true,
	apierr.CreateAccountStatusNotFoundException: true, apierr.OrgInvalidInputException: true,
	apierr.OrgAccessDeniedException: true, apierr.MalformedPolicyDocumentException: true,
	apierr.DuplicatePolicyException: true, apierr.PolicyInUseException: true,
	apierr.ConstraintViolationException: true, apierr.PolicyTypeNotEnabledException: true,
	apierr.CloudTrailAccessDenied: true, apierr.InvalidLookupAttributesException: true, apierr.InvalidTimeRangeException: true,
	apierr.InvalidMaxResultsException: true, apierr.InvalidNextTokenException: true, apierr.InvalidEventCategoryException: true,
	apierr.AccountAlreadyClosedException: true, apierr.MasterCannotLeaveOrganizationException: true,
	apierr.OrganizationNotEmptyException: true, apierr.AccountAlreadyRegisteredException: true,
	apierr.AccountNotRegisteredException: true, apierr.HandshakeNotFoundException: true,
	apierr.HandshakeAlreadyInStateException: true, apierr.InvalidHandshakeTransitionException: true,
	apierr.HandshakeConstraintViolationException: true, apierr.DuplicateHandshakeException: true,
	apierr.EffectivePolicyNotFoundException: true, apierr.ResourcePolicyNotFoundException: true,
	// The revocation API's; IAM's SDK reads it as its own LimitExceeded.
	apierr.LimitExceededException: true,
}

// TestErrorCodeRoundTrip writes every code in apierr.Codes with WriteError
// and reads it back with the real aws-sdk-go-v2 STS and IAM clients: the
// SDK's code, message, HTTP status and request id must be what was sent, and
// modeled codes must surface as the SDK's typed errors (the SDK silently
// turns an unknown code into a generic error, so a typo would break clients).
func TestErrorCodeRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, code := range apierr.Codes {
		if jsonOnly[code] {
			continue
		}
		msg := "message for " + code.Name + " <&> 'quoted'"
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ns := STSNamespace
			if err := r.ParseForm(); err == nil && r.PostForm.Get("Version") == IAMVersion {
				ns = IAMNamespace
			}
			WriteError(w, ns, testRequestID, apierr.New(code, "%s", msg))
		}))
		t.Cleanup(srv.Close)
		stsc, iamc := newSTSClient(srv.URL), newIAMClient(srv.URL)

		cases := modeled[code.Name]
		generic := []struct {
			name string
			call call
		}{{"sts GetCallerIdentity", stsCallerIdentity}, {"iam GetUser", iamGetUser}}
		for _, g := range generic {
			cases = append(cases, struct {
				name  string
				call  call
				typed func(error) bool
			}{g.name, g.call, nil})
		}
		for _, c := range cases {
			t.Run(code.Name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				err := c.call(ctx, stsc, iamc)
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) {
					t.Fatalf("error %v is not a smithy.APIError", err)
				}
				if apiErr.ErrorCode() != code.Name {
					t.Errorf("ErrorCode() = %q, want %q", apiErr.ErrorCode(), code.Name)
				}
				if apiErr.ErrorMessage() != msg {
					t.Errorf("ErrorMessage() = %q, want %q", apiErr.ErrorMessage(), msg)
				}
				wantFault := smithy.FaultClient
				if code.Receiver {
					wantFault = smithy.FaultServer
				}
				if c.typed != nil && apiErr.ErrorFault() != wantFault {
					t.Errorf("ErrorFault() = %v, want %v", apiErr.ErrorFault(), wantFault)
				}
				var respErr *awshttp.ResponseError
				if !errors.As(err, &respErr) {
					t.Fatalf("error %v carries no HTTP response", err)
				}
				if respErr.HTTPStatusCode() != code.Status {
					t.Errorf("HTTP status = %d, want %d", respErr.HTTPStatusCode(), code.Status)
				}
				if respErr.ServiceRequestID() != testRequestID {
					t.Errorf("request id = %q, want %q", respErr.ServiceRequestID(), testRequestID)
				}
				if c.typed != nil && !c.typed(err) {
					t.Errorf("error %T is not the SDK's modeled type for %s", apiErr, code.Name)
				}
			})
		}
	}
}

// TestWriteErrorHidesInternalCauses checks a non-API error becomes
// InternalFailure without any of its text.
func TestWriteErrorHidesInternalCauses(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		errors.New("pq: password authentication failed for user admin"),
		apierr.Internal(errors.New("disk /var/lib/secret full")),
		&apierr.Error{}, // no code
	} {
		rec := httptest.NewRecorder()
		WriteError(rec, STSNamespace, testRequestID, err)
		if rec.Code != http.StatusInternalServerError {
			t.Errorf("status = %d, want 500", rec.Code)
		}
		want := `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Receiver</Type><Code>InternalFailure</Code>` +
			`<Message>We encountered an internal error. Please try again.</Message></Error><RequestId>` + testRequestID + `</RequestId></ErrorResponse>`
		if got := rec.Body.String(); got != want {
			t.Errorf("body = %s\nwant %s", got, want)
		}
		if got := rec.Header().Get("x-amzn-RequestId"); got != testRequestID {
			t.Errorf("x-amzn-RequestId = %q", got)
		}
	}
}
