package audit

import (
	"encoding/json"
	"strings"
	"time"
)

// AlertEventType and AlertEventSource mark the records of detection alerts
// (internal/detect): LookupEvents finds them with the lookup attribute
// EventSource=opensts.detect, and EventName is the rule's name.
const (
	AlertEventType   = "OpenSTSAlert"
	AlertEventSource = "opensts.detect"
)

// AlertRecord is a detection alert as the trail records it.
type AlertRecord struct {
	Time         time.Time
	Rule         string
	Severity     string
	Summary      string
	Detail       string
	Account      string
	PrincipalARN string
	AccessKeyID  string
	SourceIP     string
	EventIDs     []string // the triggering events
	Response     string
	Mode         string
	Outcome      string
}

// BuildAlert returns the record of an alert: eventType OpenSTSAlert,
// eventSource opensts.detect, eventName the rule, the subject in
// userIdentity and sourceIPAddress, the rule's verdict in
// requestParameters and what its response did in responseElements.
func BuildAlert(cfg BuildConfig, a AlertRecord) Record {
	params, _ := json.Marshal(struct {
		Rule               string   `json:"rule"`
		Severity           string   `json:"severity"`
		Summary            string   `json:"summary"`
		Detail             string   `json:"detail"`
		TriggeringEventIDs []string `json:"triggeringEventIds"`
		Response           string   `json:"response"`
		Mode               string   `json:"mode"`
	}{a.Rule, a.Severity, a.Summary, bound(a.Detail, 2048), a.EventIDs, a.Response, a.Mode})
	resp, _ := json.Marshal(struct {
		Outcome string `json:"outcome,omitempty"`
	}{bound(a.Outcome, 512)})
	account := a.Account
	if account == "" {
		account = cfg.Account
	}
	typ := "Unknown"
	if a.PrincipalARN != "" {
		typ = principalType(a.PrincipalARN)
	}
	return Record{
		EventVersion: EventVersion,
		UserIdentity: UserIdentity{Type: typ, ARN: a.PrincipalARN, AccountID: account, AccessKeyID: a.AccessKeyID},
		EventTime:    a.Time.UTC().Format(time.RFC3339), EventSource: AlertEventSource, EventName: bound(a.Rule, maxNameBytes),
		AWSRegion: cfg.Region, SourceIPAddress: a.SourceIP, UserAgent: "opensts-detect",
		RequestParameters: params, ResponseElements: resp, RequestID: cfg.NewID(), EventID: cfg.NewID(),
		ReadOnly: true, EventType: AlertEventType, ManagementEvent: true, RecipientAccountID: account, EventCategory: "Management",
	}
}

// principalType is the userIdentity type an ARN names.
func principalType(a string) string {
	switch {
	case a == "":
		return "Unknown"
	case strings.HasSuffix(a, ":root"):
		return "Root"
	case strings.Contains(a, ":assumed-role/"):
		return "AssumedRole"
	case strings.Contains(a, ":federated-user/"):
		return "FederatedUser"
	case strings.Contains(a, ":user/"):
		return "IAMUser"
	}
	return "Unknown"
}

// RecordAlert queues an alert's record like any event (never blocking;
// counted as dropped when the queue is full).
func (t *Trail) RecordAlert(a AlertRecord) {
	r := BuildAlert(t.cfg.Build, a)
	it := encode(&r, r.Resources, a.Time.Unix(), nil)
	select {
	case t.ch <- it:
	default:
		it.release()
		t.dropped.Add(1)
	}
}
