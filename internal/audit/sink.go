package audit

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Attrs are a record's LookupEvents attributes, for sinks that index
// records elsewhere (internal/audit/pgsink).
type Attrs struct {
	Time        time.Time
	Account     string
	EventID     string
	EventName   string
	EventSource string
	Username    string
	AccessKeyID string
	ReadOnly    bool
	Resources   []Resource
}

// ParseAttrs reads the lookup attributes of one record line. A record of
// the trail's own (a digest, a prune mark, a checkpoint), or a line that is
// not a record, is an error.
func ParseAttrs(line []byte) (Attrs, error) {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return Attrs{}, fmt.Errorf("audit: record: %w", err)
	}
	if r.control() {
		return Attrs{}, errors.New("audit: a record of the trail's own (digest, prune mark, checkpoint)")
	}
	t, err := time.Parse(time.RFC3339, r.EventTime)
	if err != nil {
		return Attrs{}, fmt.Errorf("audit: record eventTime: %w", err)
	}
	return Attrs{Time: t.UTC(), Account: r.RecipientAccountID, EventID: r.EventID, EventName: r.EventName, EventSource: r.EventSource,
		Username: username(&r.UserIdentity), AccessKeyID: r.UserIdentity.AccessKeyID, ReadOnly: r.ReadOnly, Resources: r.Resources}, nil
}

// UnpackAttrs reads the attributes the trail hands its Sink with a line:
// what ParseAttrs reads from the line, without parsing it (values longer
// than 2,048 bytes cut, as the index keeps them).
func UnpackAttrs(attrs []byte) (Attrs, error) {
	if len(attrs) < 9 || attrs[8] > 1 {
		return Attrs{}, errors.New("audit: packed attributes too short")
	}
	e := decode(&slot{time: int64(binary.LittleEndian.Uint64(attrs)), readOnly: attrs[8] == 1}, attrs[9:])
	return Attrs{Time: time.Unix(e.time, 0).UTC(), Account: e.account, EventID: e.id, EventName: e.name, EventSource: e.source,
		Username: e.user, AccessKeyID: e.accessKey, ReadOnly: e.readOnly, Resources: e.resources}, nil
}

// ErrInvalidToken is what an EventStore returns for a NextToken it did not
// issue (or that was changed).
var ErrInvalidToken = errors.New("audit: invalid NextToken")

// EventStore answers LookupEvents from somewhere other than this node's
// trail (the PostgreSQL table every node writes, internal/audit/pgsink).
// Its tokens are its own: opaque, and checked so that a changed token is
// refused (ErrInvalidToken).
type EventStore interface {
	LookupEvents(ctx context.Context, f Filter, token string, max int) (events []Event, next string, err error)
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}
