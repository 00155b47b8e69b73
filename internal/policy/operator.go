package policy

import (
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// base is a condition operator without qualifiers.
type base uint8

const (
	opStringEquals base = iota + 1
	opStringNotEquals
	opStringEqualsIgnoreCase
	opStringNotEqualsIgnoreCase
	opStringLike
	opStringNotLike
	opNumericEquals
	opNumericNotEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateNotEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opBinaryEquals
	opIPAddress
	opNotIPAddress
	opArnEquals
	opArnLike
	opArnNotEquals
	opArnNotLike
	opNull
)

var operatorNames = map[string]base{
	"StringEquals": opStringEquals, "StringNotEquals": opStringNotEquals,
	"StringEqualsIgnoreCase": opStringEqualsIgnoreCase, "StringNotEqualsIgnoreCase": opStringNotEqualsIgnoreCase,
	"StringLike": opStringLike, "StringNotLike": opStringNotLike,
	"NumericEquals": opNumericEquals, "NumericNotEquals": opNumericNotEquals,
	"NumericLessThan": opNumericLessThan, "NumericLessThanEquals": opNumericLessThanEquals,
	"NumericGreaterThan": opNumericGreaterThan, "NumericGreaterThanEquals": opNumericGreaterThanEquals,
	"DateEquals": opDateEquals, "DateNotEquals": opDateNotEquals,
	"DateLessThan": opDateLessThan, "DateLessThanEquals": opDateLessThanEquals,
	"DateGreaterThan": opDateGreaterThan, "DateGreaterThanEquals": opDateGreaterThanEquals,
	"Bool": opBool, "BinaryEquals": opBinaryEquals,
	"IpAddress": opIPAddress, "NotIpAddress": opNotIPAddress,
	"ArnEquals": opArnEquals, "ArnLike": opArnLike, "ArnNotEquals": opArnNotEquals, "ArnNotLike": opArnNotLike,
	"Null": opNull,
}

type qualifier uint8

const (
	single qualifier = iota
	forAllValues
	forAnyValue
)

type operator struct {
	base     base
	qual     qualifier
	ifExists bool
}

// parseOperator parses a condition operator name such as
// "ForAnyValue:StringLikeIfExists". Operator names are case-sensitive.
func parseOperator(name string) (operator, bool) {
	var o operator
	switch {
	case strings.HasPrefix(name, "ForAllValues:"):
		o.qual, name = forAllValues, name[len("ForAllValues:"):]
	case strings.HasPrefix(name, "ForAnyValue:"):
		o.qual, name = forAnyValue, name[len("ForAnyValue:"):]
	}
	if n, ok := strings.CutSuffix(name, "IfExists"); ok {
		o.ifExists, name = true, n
	}
	b, ok := operatorNames[name]
	if !ok || (b == opNull && o.ifExists) {
		return operator{}, false
	}
	o.base = b
	return o, true
}

// negated reports whether the operator is a negation (its result is NOT of
// the positive form for each request value) and returns the positive form.
func (b base) positive() (base, bool) {
	switch b {
	case opStringNotEquals:
		return opStringEquals, true
	case opStringNotEqualsIgnoreCase:
		return opStringEqualsIgnoreCase, true
	case opStringNotLike:
		return opStringLike, true
	case opNumericNotEquals:
		return opNumericEquals, true
	case opDateNotEquals:
		return opDateEquals, true
	case opNotIPAddress:
		return opIPAddress, true
	case opArnNotEquals, opArnNotLike:
		return opArnLike, true
	case opArnEquals:
		return opArnLike, false
	}
	return b, false
}

func (b base) family() byte {
	switch {
	case b <= opStringNotLike:
		return 's'
	case b <= opNumericGreaterThanEquals:
		return 'n'
	case b <= opDateGreaterThanEquals:
		return 'd'
	case b == opBool:
		return 'b'
	case b == opBinaryEquals:
		return 'x'
	case b <= opNotIPAddress:
		return 'i'
	case b <= opArnNotLike:
		return 'a'
	}
	return 'z'
}

// conditionValues validates the policy values of one condition key and
// returns a MalformedPolicyDocument message, or "".
func conditionValues(o operator, key string, values []string) string {
	if key == "" {
		return msgSyntax
	}
	for _, v := range values {
		switch o.base.family() {
		case 'n':
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return msgSyntax
			}
		case 'i':
			if _, ok := parseCIDR(v); !ok {
				return msgSyntax
			}
		case 'b', 'z':
			if !strings.EqualFold(v, "true") && !strings.EqualFold(v, "false") {
				return msgSyntax
			}
		case 'x':
			if _, err := base64.StdEncoding.DecodeString(v); err != nil {
				return msgSyntax
			}
		}
	}
	return ""
}

func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// parseDate parses a date condition value: RFC 3339 / ISO 8601 date-time
// (several precisions, with or without zone), a date, or epoch seconds.
// It does not allocate on success for the common layouts.
func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	if strings.ContainsAny(s, "tz") { // lowercase designators
		up := strings.ToUpper(s)
		for _, layout := range dateLayouts {
			if t, err := time.Parse(layout, up); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

var dateLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05Z0700",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04Z",
	"2006-01-02T15Z",
	"2006-01-02",
	"2006-01-02T15:04:05.999999999-07",
	"2006-01-02T15:04:05-07",
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
