package credentials

import (
	"crypto/subtle"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Container serves the container credentials provider protocol: a GET
// answered with the role's credentials as JSON, the protocol the SDKs and
// the AWS CLI follow when AWS_CONTAINER_CREDENTIALS_FULL_URI is set (ECS
// and EKS Pod Identity serve it). With a token file, a request must carry
// the file's content in its Authorization header
// (AWS_CONTAINER_AUTHORIZATION_TOKEN or AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
// on the client's side); the file is read on every request, so it can be
// rotated in place.
type Container struct {
	Source *Source
	// TokenFile, if set, names the file holding the authorization token.
	TokenFile string
}

// containerCredentials is the protocol's answer.
type containerCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
	RoleArn         string `json:"RoleArn"`
}

func (c *Container) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		containerError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is served")
		return
	}
	if c.TokenFile == "" && !directHost(r.Host) {
		// Without a token, the address is the only guard: a page whose
		// name was rebound to it would read the answer (DNS rebinding).
		containerError(w, http.StatusForbidden, "Forbidden", "the Host header must be an IP address or localhost")
		return
	}
	if c.TokenFile != "" {
		want, err := os.ReadFile(c.TokenFile)
		if err != nil {
			// Fail closed: no token, no credentials.
			containerError(w, http.StatusInternalServerError, "InternalError", "the authorization token cannot be read")
			return
		}
		got := r.Header.Get("Authorization")
		if tok := strings.TrimSpace(string(want)); tok == "" || subtle.ConstantTimeCompare([]byte(got), []byte(tok)) != 1 {
			containerError(w, http.StatusUnauthorized, "Unauthorized", "the Authorization header does not carry the authorization token")
			return
		}
	}
	creds, _, err := c.Source.Get()
	if err != nil {
		containerError(w, http.StatusServiceUnavailable, "CredentialsUnavailable", "no credentials are available yet; retry")
		return
	}
	writeJSON(w, containerCredentials{
		AccessKeyID: creds.AccessKeyID, SecretAccessKey: creds.SecretAccessKey, Token: creds.SessionToken,
		Expiration: creds.Expires.UTC().Format(time.RFC3339), RoleArn: c.Source.cfg.RoleARN,
	})
}

// containerError answers with the error shape the SDKs read ("code",
// "message").
func containerError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b) // the client may be gone
}

// directHost reports whether a request's Host names an IP address or
// localhost, as the SDKs' endpoints do (127.0.0.1, 169.254.170.2,
// 169.254.169.254, [fd00:ec2::23]); a browser sends the page's own host
// name, so a site rebound to this address is refused.
func directHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	return net.ParseIP(host) != nil || strings.EqualFold(host, "localhost")
}

// Process is the credential_process answer (Version 1) for ~/.aws/config.
type Process struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
}

// ProcessOutput is the credential_process JSON for the source's current
// credentials.
func ProcessOutput(s *Source) ([]byte, error) {
	c, _, err := s.Get()
	if err != nil {
		return nil, err
	}
	return json.Marshal(Process{Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
		SessionToken: c.SessionToken, Expiration: c.Expires.UTC().Format(time.RFC3339)})
}
