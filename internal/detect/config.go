package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Response is what a rule does when it fires, besides raising its alert.
type Response string

// Responses.
const (
	AlertOnly       Response = "alert"
	RevokeSession   Response = "revoke-session"
	RevokePrincipal Response = "revoke-principal"
	QuarantineKey   Response = "quarantine-key"
	DeactivateKey   Response = "deactivate-key"
)

// Mode says whether a rule's response is carried out (act) or only
// reported in its alert (observe), to tune a rule before it acts.
type Mode string

// Modes.
const (
	Act     Mode = "act"
	Observe Mode = "observe"
)

// Duration is a time.Duration written as Go writes it ("5m", "1h30m") in
// JSON and YAML.
type Duration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("want a duration such as \"5m\": %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("bad duration %q", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// RuleConfig is one rule's settings. Zero values take the rule's default.
type RuleConfig struct {
	// Enabled switches the rule off when false.
	Enabled *bool `json:"enabled,omitempty"`
	// Threshold is how many matching events within Window fire the rule
	// (counting rules only).
	Threshold int `json:"threshold,omitempty"`
	// Window is the counting window (counting rules) or the time within
	// which two networks are suspicious (session-two-networks).
	Window Duration `json:"window,omitempty"`
	// Cooldown is how long the same rule stays quiet for the same subject
	// after it fired (one alert per incident).
	Cooldown Duration `json:"cooldown,omitempty"`
	// Factor is how far above its own baseline a principal's call rate
	// must be (rate-spike).
	Factor float64 `json:"factor,omitempty"`
	// Response and Mode: what the rule does beyond alerting.
	Response Response `json:"response,omitempty"`
	Mode     Mode     `json:"mode,omitempty"`
}

// Config is the rules file (--alert-rules, YAML or JSON).
type Config struct {
	// Warmup is how long a principal's or role's baseline learns before
	// the anomaly rules judge it.
	Warmup Duration `json:"warmup,omitempty"`
	// Rules by name; a rule absent here runs with its defaults.
	Rules map[string]RuleConfig `json:"rules,omitempty"`
}

// rule is a rule's effective settings.
type rule struct {
	name      string
	enabled   bool
	threshold int
	window    time.Duration
	cooldown  time.Duration
	factor    float64
	response  Response
	mode      Mode
	severity  string
	summary   string // what the rule detects, for the alert
}

// defaults are every rule with its built-in settings.
func defaults() map[string]*rule {
	rs := []*rule{
		{name: "access-denied-burst", threshold: 20, window: 5 * time.Minute, severity: "medium", summary: "a burst of AccessDenied"},
		{name: "assume-role-failures", threshold: 10, window: 5 * time.Minute, severity: "medium", summary: "a burst of failed AssumeRole* calls"},
		{name: "mfa-failures", threshold: 5, window: 5 * time.Minute, severity: "high", summary: "a burst of failed MFA codes"},
		{name: "ldap-bind-failures", threshold: 5, window: 5 * time.Minute, severity: "high", summary: "a burst of failed directory sign-ins"},
		{name: "expired-credentials", threshold: 5, window: 5 * time.Minute, severity: "low", summary: "repeated use of expired credentials"},
		{name: "invalid-credentials", threshold: 1, window: 5 * time.Minute, severity: "high", summary: "use of revoked, tampered or unknown credentials"},
		{name: "signature-mismatch", threshold: 5, window: 5 * time.Minute, severity: "medium", summary: "repeated requests whose signature does not match (a wrong or guessed secret)"},
		{name: "root-key-use", threshold: 1, severity: "high", summary: "use of the root access key"},
		{name: "root-access-key-created", threshold: 1, severity: "critical", summary: "an access key created for root"},
		{name: "self-escalation", threshold: 1, severity: "critical", summary: "a principal granting itself more"},
		{name: "trust-opened", threshold: 1, severity: "high", summary: "a role's trust opened too widely"},
		{name: "new-network", threshold: 1, severity: "medium", summary: "a role assumed from a network never seen for it"},
		{name: "new-user-agent", threshold: 1, severity: "low", summary: "a role assumed with a user agent family never seen for it"},
		{name: "session-two-networks", threshold: 1, window: 10 * time.Minute, severity: "high", summary: "one session used from two networks"},
		{name: "rate-spike", threshold: 1, factor: 10, severity: "medium", summary: "a call rate far above the principal's baseline"},
		{name: "new-action", threshold: 1, severity: "low", summary: "first use of an action the principal never used"},
		{name: "new-hour", threshold: 1, severity: "low", summary: "activity at an hour the principal has never been active"},
	}
	m := make(map[string]*rule, len(rs))
	for _, r := range rs {
		r.enabled, r.response, r.mode = true, AlertOnly, Act
		if r.cooldown == 0 {
			r.cooldown = 15 * time.Minute
		}
		m[r.name] = r
	}
	return m
}

// RuleNames lists the built-in rules.
func RuleNames() []string {
	var n []string
	for k := range defaults() {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// LoadConfig reads a rules file, YAML or JSON. Unknown rules, unknown
// fields and bad values are errors: a typo must not switch a rule off
// silently.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	return ParseConfig(b)
}

// ParseConfig parses a rules document, YAML or JSON.
func ParseConfig(b []byte) (Config, error) {
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return Config{}, fmt.Errorf("alert rules: %w", err)
	}
	var c Config
	d := json.NewDecoder(bytes.NewReader(j))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("alert rules: %w", err)
	}
	if _, err := c.rules(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// rules applies c to the defaults.
func (c Config) rules() (map[string]*rule, error) {
	m := defaults()
	for name, rc := range c.Rules {
		r, ok := m[name]
		if !ok {
			return nil, fmt.Errorf("alert rules: unknown rule %q (rules: %s)", name, strings.Join(RuleNames(), ", "))
		}
		if rc.Enabled != nil {
			r.enabled = *rc.Enabled
		}
		if rc.Threshold < 0 {
			return nil, fmt.Errorf("alert rules: %s: threshold %d", name, rc.Threshold)
		}
		if rc.Threshold > 0 {
			r.threshold = rc.Threshold
		}
		if rc.Window > 0 {
			r.window = time.Duration(rc.Window)
		}
		if rc.Cooldown > 0 {
			r.cooldown = time.Duration(rc.Cooldown)
		}
		if rc.Factor < 0 {
			return nil, fmt.Errorf("alert rules: %s: factor %v", name, rc.Factor)
		}
		if rc.Factor > 0 {
			r.factor = rc.Factor
		}
		switch rc.Response {
		case "":
		case AlertOnly, RevokeSession, RevokePrincipal, QuarantineKey, DeactivateKey:
			r.response = rc.Response
		default:
			return nil, fmt.Errorf("alert rules: %s: unknown response %q (alert, revoke-session, revoke-principal, quarantine-key, deactivate-key)", name, rc.Response)
		}
		switch rc.Mode {
		case "":
		case Act, Observe:
			r.mode = rc.Mode
		default:
			return nil, fmt.Errorf("alert rules: %s: unknown mode %q (act, observe)", name, rc.Mode)
		}
	}
	return m, nil
}
