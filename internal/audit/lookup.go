package audit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/authz"
)

// entry is what the index keeps of one event: the lookup attributes and
// where its line is.
type entry struct {
	seq       uint64
	time      int64 // Unix seconds
	file      int
	off       int64
	n         uint32
	readOnly  bool
	account   string
	id        string
	name      string
	source    string
	user      string
	accessKey string
	resources []Resource
}

func entryOf(r *Record) entry {
	t, _ := time.Parse(time.RFC3339, r.EventTime)
	return entry{seq: r.Seq, time: t.Unix(), readOnly: r.ReadOnly, account: r.RecipientAccountID, id: r.EventID, name: r.EventName,
		source: r.EventSource, user: username(&r.UserIdentity), accessKey: r.UserIdentity.AccessKeyID, resources: r.Resources}
}

// username is LookupEvents' Username: the IAM user's name, or the role
// session's name.
func username(u *UserIdentity) string {
	if u.UserName != "" {
		return u.UserName
	}
	if u.Type == "AssumedRole" || u.Type == "FederatedUser" {
		if i := strings.LastIndexByte(u.ARN, '/'); i >= 0 {
			return u.ARN[i+1:]
		}
	}
	if u.Type == "Root" {
		return "root"
	}
	return ""
}

// Filter selects events: the LookupEvents attributes.
type Filter struct {
	Account    string // recipientAccountId; "" matches every account (offline)
	Attribute  string // EventName, Username, AccessKeyId, ResourceName, ResourceType, EventId, EventSource, ReadOnly
	Value      string
	Start, End time.Time // zero: unbounded
}

// Attributes are the lookup attribute keys Filter knows.
var Attributes = []string{"EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId"}

func (f *Filter) match(e *entry) bool {
	if f.Account != "" && e.account != f.Account {
		return false
	}
	if !f.Start.IsZero() && e.time < f.Start.Unix() || !f.End.IsZero() && e.time > f.End.Unix() {
		return false
	}
	switch f.Attribute {
	case "":
		return true
	case "EventId":
		return e.id == f.Value
	case "EventName":
		return e.name == f.Value
	case "ReadOnly":
		return strconv.FormatBool(e.readOnly) == f.Value
	case "Username":
		return e.user == f.Value
	case "EventSource":
		return e.source == f.Value
	case "AccessKeyId":
		return e.accessKey == f.Value
	case "ResourceType", "ResourceName":
		for _, r := range e.resources {
			if f.Attribute == "ResourceType" && r.Type == f.Value || f.Attribute == "ResourceName" && r.ARN == f.Value {
				return true
			}
		}
	}
	return false
}

// Lookup returns up to max events that f selects, newest first, before
// the event with seq before (0: from the newest), and the seq to continue
// from (0 when there are no more). It scans at most the index (IndexMax
// entries) and reads each returned line from its file. While the index of
// the files on disk at Open is still being built, a page that the events
// written since cannot fill waits for it (LookupContext).
func (t *Trail) Lookup(f Filter, before uint64, max int) ([][]byte, []entry, uint64, error) {
	return t.LookupContext(context.Background(), f, before, max)
}

// LookupContext is Lookup, its wait for the index bounded by ctx.
func (t *Trail) LookupContext(ctx context.Context, f Filter, before uint64, max int) ([][]byte, []entry, uint64, error) {
	hits, next, ready, err := t.scan(f, before, max)
	if err != nil {
		return nil, nil, 0, err
	}
	if !ready && next == 0 {
		// The page may go on into the events on disk before Open: an
		// answer from part of the trail would be wrong, so wait.
		select {
		case <-t.indexed:
		case <-ctx.Done():
			return nil, nil, 0, ctx.Err()
		}
		if hits, next, _, err = t.scan(f, before, max); err != nil {
			return nil, nil, 0, err
		}
	}
	lines := make([][]byte, 0, len(hits))
	files := map[int]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	kept := hits[:0]
	for _, e := range hits {
		fh, ok := files[e.file]
		if !ok {
			var err error
			if fh, err = openTrailFile(filepath.Join(t.cfg.Dir, FileName(e.file)), os.O_RDONLY); err != nil {
				continue // removed by retention since
			}
			files[e.file] = fh
		}
		b := make([]byte, e.n)
		if _, err := fh.ReadAt(b, e.off); err != nil {
			return nil, nil, 0, fmt.Errorf("audit: read %s: %w", FileName(e.file), err)
		}
		lines = append(lines, b)
		kept = append(kept, e)
	}
	return lines, kept, next, nil
}

// scan returns up to max events of the index that f selects before seq
// before, newest first, the seq to continue from, whether the index was
// whole (ready), and the error that kept a spilled segment from being read
// back.
func (t *Trail) scan(f Filter, before uint64, max int) (hits []entry, next uint64, ready bool, err error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	err = t.idx.each(func(s *slot, attrs []byte) bool {
		if before != 0 && s.seq >= before || !f.matchSlot(s, attrs) {
			return true
		}
		if len(hits) == max {
			next = hits[len(hits)-1].seq
			return false
		}
		hits = append(hits, decode(s, attrs))
		return true
	})
	return hits, next, t.ready, err
}

// LookupEventsInput is CloudTrail's LookupEvents request.
type LookupEventsInput struct {
	LookupAttributes []LookupAttribute `json:"LookupAttributes"`
	StartTime        *float64          `json:"StartTime"`
	EndTime          *float64          `json:"EndTime"`
	EventCategory    string            `json:"EventCategory"`
	MaxResults       *int              `json:"MaxResults"`
	NextToken        string            `json:"NextToken"`
}

// LookupAttribute is one lookup attribute.
type LookupAttribute struct {
	AttributeKey   string `json:"AttributeKey"`
	AttributeValue string `json:"AttributeValue"`
}

// LookupEventsOutput is CloudTrail's LookupEvents result.
type LookupEventsOutput struct {
	Events    []Event `json:"Events"`
	NextToken string  `json:"NextToken,omitempty"`
}

// Event is one event of a LookupEvents result.
type Event struct {
	EventID         string          `json:"EventId"`
	EventName       string          `json:"EventName"`
	ReadOnly        string          `json:"ReadOnly"`
	AccessKeyID     string          `json:"AccessKeyId,omitempty"`
	EventTime       float64         `json:"EventTime"`
	EventSource     string          `json:"EventSource"`
	Username        string          `json:"Username,omitempty"`
	Resources       []EventResource `json:"Resources,omitempty"`
	CloudTrailEvent string          `json:"CloudTrailEvent"`
}

// EventResource is one resource of an Event.
type EventResource struct {
	ResourceType string `json:"ResourceType"`
	ResourceName string `json:"ResourceName"`
}

// Authorizer is what LookupEvents asks of authz.
type Authorizer interface {
	Check(ctx context.Context, c *authz.Caller, action, resource string, keys ...authz.Key) error
}

// Service answers CloudTrail's LookupEvents from a Trail.
type Service struct {
	Trail *Trail
	Authz Authorizer
	// Events, if set, answers instead of Trail (every node's events).
	Events EventStore
}

// LookupEvents returns the caller's account's events (cloudtrail:LookupEvents).
func (s *Service) LookupEvents(ctx context.Context, c *authz.Caller, in *LookupEventsInput) (*LookupEventsOutput, error) {
	if err := s.Authz.Check(ctx, c, "cloudtrail:LookupEvents", "*"); err != nil {
		if e, ok := apierr.As(err); ok && e.Code == apierr.AccessDenied {
			return nil, apierr.New(apierr.CloudTrailAccessDenied, "User: %s is not authorized to perform: cloudtrail:LookupEvents", c.ARN)
		}
		return nil, apierr.OrInternal(err, "authorize cloudtrail:LookupEvents")
	}
	f := Filter{Account: c.Account}
	if len(in.LookupAttributes) > 1 {
		return nil, apierr.New(apierr.InvalidLookupAttributesException, "You can only specify one lookup attribute.")
	}
	if len(in.LookupAttributes) == 1 {
		a := in.LookupAttributes[0]
		known := false
		for _, k := range Attributes {
			known = known || k == a.AttributeKey
		}
		if !known || a.AttributeValue == "" || len(a.AttributeValue) > 2000 {
			return nil, apierr.New(apierr.InvalidLookupAttributesException, "Invalid lookup attribute: %s.", bound(a.AttributeKey, 64))
		}
		f.Attribute, f.Value = a.AttributeKey, a.AttributeValue
	}
	var err error
	if f.Start, err = epochTime(in.StartTime); err == nil {
		f.End, err = epochTime(in.EndTime)
	}
	if err != nil || !f.Start.IsZero() && !f.End.IsZero() && f.Start.After(f.End) {
		return nil, apierr.New(apierr.InvalidTimeRangeException, "The start time must be before the end time.")
	}
	if in.EventCategory != "" && in.EventCategory != "insight" {
		return nil, apierr.New(apierr.InvalidEventCategoryException, "Invalid event category.")
	}
	if in.EventCategory == "insight" {
		return &LookupEventsOutput{Events: []Event{}}, nil
	}
	max := 50
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 50 {
			return nil, apierr.New(apierr.InvalidMaxResultsException, "MaxResults must be between 1 and 50.")
		}
		max = *in.MaxResults
	}
	if s.Events != nil {
		evs, next, err := s.Events.LookupEvents(ctx, f, in.NextToken, max)
		if errors.Is(err, ErrInvalidToken) {
			return nil, apierr.New(apierr.InvalidNextTokenException, "Invalid NextToken.")
		}
		if err != nil {
			return nil, apierr.Internal(err)
		}
		if evs == nil {
			evs = []Event{}
		}
		return &LookupEventsOutput{Events: evs, NextToken: next}, nil
	}
	var before uint64
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err == nil {
			before, err = strconv.ParseUint(string(b), 10, 64)
		}
		if err != nil || before == 0 {
			return nil, apierr.New(apierr.InvalidNextTokenException, "Invalid NextToken.")
		}
	}
	lines, entries, next, err := s.Trail.LookupContext(ctx, f, before, max)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// Gone, or out of time while the index of the trail's files
		// was still being built after a start.
		return nil, apierr.New(apierr.ServiceUnavailable, "The event index is being built; retry later.")
	}
	if err != nil {
		return nil, apierr.Internal(err)
	}
	out := &LookupEventsOutput{Events: make([]Event, 0, len(lines))}
	for i, e := range entries {
		ev := Event{EventID: e.id, EventName: e.name, ReadOnly: strconv.FormatBool(e.readOnly), AccessKeyID: e.accessKey,
			EventTime: float64(e.time), EventSource: e.source, Username: e.user, CloudTrailEvent: string(lines[i])}
		for _, r := range e.resources {
			ev.Resources = append(ev.Resources, EventResource{ResourceType: r.Type, ResourceName: r.ARN})
		}
		out.Events = append(out.Events, ev)
	}
	if next != 0 {
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(next, 10)))
	}
	return out, nil
}

func epochTime(v *float64) (time.Time, error) {
	if v == nil {
		return time.Time{}, nil
	}
	if math.IsNaN(*v) || *v < 0 || *v > 253402300799 {
		return time.Time{}, fmt.Errorf("time out of range")
	}
	sec, frac := math.Modf(*v)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// Query scans the trail's files in dir (offline, no index) and calls emit
// with each record f selects, oldest first.
func Query(dir string, f Filter, emit func(line []byte) error) error {
	files, err := listFiles(dir)
	if err != nil {
		return err
	}
	for _, name := range files {
		data, err := readTrailFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		for _, line := range splitLines(data) {
			var r Record
			if err := json.Unmarshal(line, &r); err != nil || r.control() {
				continue
			}
			e := entryOf(&r)
			if f.match(&e) {
				if err := emit(line); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func splitLines(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			out = append(out, data)
			break
		}
		out = append(out, data[:i])
		data = data[i+1:]
	}
	return out
}
