package policy

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// ValueType is the type of a request context value: which condition
// operators compare it, and so how they read it.
type ValueType uint8

// Value types.
const (
	StringValue  ValueType = iota + 1 // any text (String and Arn operators)
	NumericValue                      // a decimal or floating-point number (Numeric operators)
	BooleanValue                      // true or false, in any case (Bool)
	DateValue                         // a date, a date-time or epoch seconds (Date operators; see ParseDate)
	IPValue                           // an IPv4 or IPv6 address or CIDR block (IpAddress, NotIpAddress)
	BinaryValue                       // standard base64 (BinaryEquals)
)

// ParseValue checks that v is a value of type t as the condition operators
// that compare such values read a request's values, and returns it as they
// compare it: a boolean as "true" or "false", any other value unchanged. It
// reports false for a value those operators cannot read, which no condition
// of theirs would match. It is safe for concurrent use.
func ParseValue(t ValueType, v string) (string, bool) {
	switch t {
	case StringValue:
		return v, true
	case NumericValue:
		_, err := strconv.ParseFloat(v, 64)
		return v, err == nil
	case BooleanValue:
		switch {
		case strings.EqualFold(v, "true"):
			return "true", true
		case strings.EqualFold(v, "false"):
			return "false", true
		}
	case DateValue:
		_, ok := parseDate(v)
		return v, ok
	case IPValue:
		_, ok := parseAddr(v)
		return v, ok
	case BinaryValue:
		_, err := base64.StdEncoding.DecodeString(v)
		return v, err == nil
	}
	return "", false
}

// ParseDate parses a date as the Date condition operators read policy and
// request values: an RFC 3339 date-time, or one without its zone (UTC),
// with an hour-only offset ("+02"), or in UTC to the minute or the hour
// ("2006-01-02T15:04Z", "2006-01-02T15Z"), designators in either case; a
// date ("2006-01-02", UTC); or epoch seconds.
func ParseDate(s string) (time.Time, bool) { return parseDate(s) }
