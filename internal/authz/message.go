package authz

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"

	"github.com/opensts/opensts/internal/policy"
)

// The decoded authorization message, shaped like the one AWS returns from
// DecodeAuthorizationMessage.
type message struct {
	Allowed           bool       `json:"allowed"`
	ExplicitDeny      bool       `json:"explicitDeny"`
	MatchedStatements msgItems   `json:"matchedStatements"`
	Failures          msgItems   `json:"failures"`
	Context           messageCtx `json:"context"`
	Explanation       string     `json:"explanation,omitempty"`
	DeniedBy          string     `json:"deniedBy,omitempty"`
	MissingContext    []string   `json:"missingContextValues,omitempty"`
}

type msgItems struct {
	Items []msgStatement `json:"items"`
}

type msgStatement struct {
	StatementID string `json:"statementId,omitempty"`
	Effect      string `json:"effect"`
	PolicyID    string `json:"policyId"`
	PolicyType  string `json:"policyType"`
	Index       int    `json:"index"`
}

type messageCtx struct {
	Principal struct {
		ID  string `json:"id"`
		ARN string `json:"arn"`
	} `json:"principal"`
	Action     string `json:"action"`
	Resource   string `json:"resource"`
	Conditions struct {
		Items []msgCondition `json:"items"`
	} `json:"conditions"`
}

type msgCondition struct {
	Key    string `json:"key"`
	Values struct {
		Items []struct {
			Value string `json:"value"`
		} `json:"items"`
	} `json:"values"`
}

// ErrBadMessage is returned by DecodeMessage for anything it cannot open.
var ErrBadMessage = errors.New("authz: invalid authorization message")

func (a *Authorizer) encodeMessage(c *Caller, r *Request, d policy.Decision) (string, error) {
	if a.msgKey == nil {
		return "", errors.New("authz: no message key")
	}
	m := message{Allowed: d.Effect == policy.Allow, ExplicitDeny: d.Effect == policy.ExplicitDeny}
	m.MatchedStatements.Items = []msgStatement{}
	m.Failures.Items = []msgStatement{}
	for _, s := range d.Matched {
		m.MatchedStatements.Items = append(m.MatchedStatements.Items, msgStatement{
			StatementID: s.Sid, Effect: effectName(s.Effect), PolicyID: s.PolicyID, PolicyType: s.Kind.String(), Index: s.Index,
		})
	}
	m.Context.Principal.ID = c.UserID
	m.Context.Principal.ARN = c.ARN
	m.Context.Action = r.Action
	m.Context.Resource = r.Resource
	m.Context.Conditions.Items = []msgCondition{}
	for _, k := range r.Keys {
		var mc msgCondition
		mc.Key = k.Name
		for _, v := range k.Values {
			mc.Values.Items = append(mc.Values.Items, struct {
				Value string `json:"value"`
			}{v})
		}
		m.Context.Conditions.Items = append(m.Context.Conditions.Items, mc)
	}
	m.Explanation = d.Explain(r.Action)
	if d.DeniedBy != 0 {
		m.DeniedBy = d.DeniedBy.String()
	}
	m.MissingContext = d.Missing
	plain, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	aead, err := a.aead()
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, messageAAD(c.Account))), nil
}

// messageAAD binds a message to the account of the principal it was
// given to: one deployment's key seals every account's messages, and a
// principal of another account (whatever its own policies allow) must not
// read the names of this account's policies and statements in them, nor
// decode a message this account's policies deny it to decode.
func messageAAD(account string) []byte { return []byte("authz-msg\x00" + account) }

// DecodeMessage returns the JSON decision behind an encoded authorization
// message given to a principal of account, or ErrBadMessage (for one given
// to another account's too).
func (a *Authorizer) DecodeMessage(account, encoded string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(encoded)
	if err != nil || a.msgKey == nil {
		return "", ErrBadMessage
	}
	aead, err := a.aead()
	if err != nil {
		return "", err
	}
	if len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", ErrBadMessage
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], messageAAD(account))
	if err != nil {
		return "", ErrBadMessage
	}
	return string(plain), nil
}

func (a *Authorizer) aead() (cipher.AEAD, error) {
	b, err := aes.NewCipher(a.msgKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func effectName(e policy.Effect) string {
	if e == policy.ExplicitDeny {
		return "Deny"
	}
	return "Allow"
}
