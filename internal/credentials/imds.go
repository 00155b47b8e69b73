package credentials

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// IMDS serves the credential paths of the EC2 instance metadata service,
// version 2 only (a session token is required, as on instances configured
// with HttpTokens=required):
//
//	PUT /latest/api/token                                  (X-aws-ec2-metadata-token-ttl-seconds: 1-21600)
//	GET /latest/meta-data/iam/security-credentials/        (the role's name)
//	GET /latest/meta-data/iam/security-credentials/ROLE    (its credentials)
//
// Tokens are stateless: an expiry and a nonce under an HMAC with a key made
// at start, so any number of them costs no memory and none survives a
// restart. As on EC2, a token request that carries X-Forwarded-For is
// refused (it came through a proxy), and the hop limit is the IP TTL of the
// answers (Listener), so a container behind one more network hop cannot
// obtain a token when the limit is 1.
type IMDS struct {
	Source *Source
	// Now is the clock (default time.Now).
	Now func() time.Time
	key [32]byte
}

// NewIMDS returns an IMDS serving s.
func NewIMDS(s *Source) *IMDS {
	m := &IMDS{Source: s, Now: s.cfg.Now}
	if _, err := rand.Read(m.key[:]); err != nil {
		panic("credentials: no randomness: " + err.Error())
	}
	return m
}

const (
	tokenTTLHeader = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	tokenHeader    = "X-Aws-Ec2-Metadata-Token"
	credsPath      = "/latest/meta-data/iam/security-credentials/"
	maxTokenTTL    = 21600
)

func (m *IMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "EC2ws")
	if !directHost(r.Host) {
		// A same-origin page after DNS rebinding could PUT for a token.
		plain(w, http.StatusForbidden, "")
		return
	}
	if r.URL.Path == "/latest/api/token" {
		m.token(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		plain(w, http.StatusMethodNotAllowed, "")
		return
	}
	if !m.valid(r.Header.Get(tokenHeader)) {
		plain(w, http.StatusUnauthorized, "")
		return
	}
	switch {
	case r.URL.Path == credsPath:
		plain(w, http.StatusOK, m.Source.RoleName())
	case r.URL.Path == credsPath+m.Source.RoleName():
		c, updated, err := m.Source.Get()
		if err != nil {
			plain(w, http.StatusNotFound, "")
			return
		}
		writeJSON(w, struct {
			Code            string
			LastUpdated     string
			Type            string
			AccessKeyID     string `json:"AccessKeyId"`
			SecretAccessKey string
			Token           string
			Expiration      string
		}{"Success", updated.UTC().Format(time.RFC3339), "AWS-HMAC", c.AccessKeyID, c.SecretAccessKey, c.SessionToken,
			c.Expires.UTC().Format(time.RFC3339)})
	default:
		plain(w, http.StatusNotFound, "")
	}
}

func (m *IMDS) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		plain(w, http.StatusMethodNotAllowed, "")
		return
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		plain(w, http.StatusForbidden, "")
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get(tokenTTLHeader))
	if err != nil || ttl < 1 || ttl > maxTokenTTL {
		plain(w, http.StatusBadRequest, "")
		return
	}
	w.Header().Set(tokenTTLHeader, strconv.Itoa(ttl))
	plain(w, http.StatusOK, m.mint(m.Now().Add(time.Duration(ttl)*time.Second)))
}

// A token is base64url(expiry (8 bytes, Unix seconds) | nonce (16) |
// HMAC-SHA256(key, expiry | nonce)).
func (m *IMDS) mint(exp time.Time) string {
	var b [8 + 16 + 32]byte
	binary.BigEndian.PutUint64(b[:8], uint64(exp.Unix()))
	_, _ = rand.Read(b[8:24]) // crypto/rand.Read does not fail
	mac := hmac.New(sha256.New, m.key[:])
	mac.Write(b[:24])
	mac.Sum(b[24:24])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (m *IMDS) valid(tok string) bool {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 56 {
		return false
	}
	mac := hmac.New(sha256.New, m.key[:])
	mac.Write(b[:24])
	if !hmac.Equal(mac.Sum(nil), b[24:]) {
		return false
	}
	return m.Now().Unix() < int64(binary.BigEndian.Uint64(b[:8]))
}

func plain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// Listener sets the IP TTL (hop limit, for IPv6) of every accepted
// connection to Hops, as the instance metadata service does for its
// answers.
type Listener struct {
	net.Listener
	Hops int
}

// Accept implements net.Listener.
func (l Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := SetHops(c, l.Hops); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// SetHops sets c's IP TTL or IPv6 hop limit.
func SetHops(c net.Conn, hops int) error {
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok && a.IP.To4() == nil {
		return ipv6.NewConn(c).SetHopLimit(hops)
	}
	return ipv4.NewConn(c).SetTTL(hops)
}

// Hops reads c's IP TTL or IPv6 hop limit back.
func Hops(c net.Conn) (int, error) {
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok && a.IP.To4() == nil {
		return ipv6.NewConn(c).HopLimit()
	}
	return ipv4.NewConn(c).TTL()
}
