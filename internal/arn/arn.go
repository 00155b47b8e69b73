// Package arn parses, formats and matches Amazon Resource Names
// (arn:partition:service:region:account:resource). It imports only the
// standard library.
package arn

import (
	"errors"
	"strings"
)

// ErrMalformed is returned by Parse for a string that is not an ARN.
var ErrMalformed = errors.New("malformed arn")

// ARN is a parsed Amazon Resource Name. Resource is everything after the
// fifth colon and may itself contain colons and slashes.
type ARN struct {
	Partition string
	Service   string
	Region    string
	Account   string
	Resource  string
}

// Parse splits s into its six colon-separated parts. It requires the "arn"
// prefix and a non-empty partition, service and resource; region and account
// may be empty (IAM and S3 ARNs).
func Parse(s string) (ARN, error) {
	var seg [6]string
	if !Split(s, &seg) || seg[0] != "arn" || seg[1] == "" || seg[2] == "" || seg[5] == "" {
		return ARN{}, ErrMalformed
	}
	return ARN{Partition: seg[1], Service: seg[2], Region: seg[3], Account: seg[4], Resource: seg[5]}, nil
}

// String formats a as arn:partition:service:region:account:resource.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// Split cuts s at its first five colons into seg without allocating. It
// reports false when s has fewer than five colons.
func Split(s string, seg *[6]string) bool {
	for i := 0; i < 5; i++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return false
		}
		seg[i] = s[:j]
		s = s[j+1:]
	}
	seg[5] = s
	return true
}

// Segments is Split returning the segments by value, so that s does not
// escape to the heap (callers can keep the string's owner on the stack).
// The segments are meaningful only when ok.
func Segments(s string) (seg [6]string, ok bool) {
	n, start := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			seg[n] = s[start:i]
			start = i + 1
			if n++; n == 5 {
				seg[5] = s[start:]
				return seg, true
			}
		}
	}
	return seg, false
}

// Match reports whether arn matches pattern, segment by segment: each of
// the six colon-separated parts is matched separately with the wildcards *
// (any run of characters, including '/', and ':' inside the resource part)
// and ? (any one character), so a wildcard never spans the colon between two
// segments. A pattern of just "*" matches anything. Matching is
// case-sensitive. When either side is not an ARN, the whole strings are
// matched as one glob.
func Match(pattern, arn string) bool {
	if pattern == "*" {
		return true
	}
	p, okP := Segments(pattern)
	a, okA := Segments(arn)
	if !okP || !okA {
		if okP != okA {
			return false
		}
		return Glob(pattern, arn)
	}
	for i := range p {
		if !Glob(p[i], a[i]) {
			return false
		}
	}
	return true
}

// RuneLen is the byte length of the UTF-8 sequence whose lead byte is s[i]
// (1 for invalid bytes and truncated sequences), so that the ? of a pattern
// matches one character.
func RuneLen(s string, i int) int {
	c := s[i]
	n := 1
	switch {
	case c >= 0xF0:
		n = 4
	case c >= 0xE0:
		n = 3
	case c >= 0xC0:
		n = 2
	}
	if i+n > len(s) {
		return 1
	}
	return n
}
