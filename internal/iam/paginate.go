package iam

import (
	"encoding/base64"
	"slices"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
)

// Page is the pagination part of a list result: IsTruncated, and the Marker
// to pass back for the next page (only when truncated).
type Page struct {
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

// paginate returns the page of items after marker, at most maxItems long
// (default 100). The marker is opaque to clients: the base64 of the sort key
// of the last item returned, so a page boundary survives inserts and deletes
// elsewhere in the list. Items are sorted by key first. The page is never
// nil, so an empty list encodes as an empty element.
func paginate[T any](items []T, key func(T) string, marker string, maxItems *int32) ([]T, Page, error) {
	if items == nil {
		items = []T{}
	}
	slices.SortStableFunc(items, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	start := 0
	if marker != "" {
		raw, err := base64.RawURLEncoding.DecodeString(marker)
		if err != nil {
			return nil, Page{}, apierr.New(apierr.InvalidInput, "Invalid Marker.")
		}
		after := string(raw)
		start, _ = slices.BinarySearchFunc(items, after, func(it T, k string) int {
			if key(it) <= k {
				return -1
			}
			return 1
		})
	}
	n := defaultMaxItems
	if maxItems != nil {
		n = min(max(int(*maxItems), 1), 1000)
	}
	end := min(start+n, len(items))
	var p Page
	if end < len(items) {
		p.IsTruncated = true
		p.Marker = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], p, nil
}

// nameKey sorts names as IAM lists them: case-insensitively.
func nameKey(name string) string { return strings.ToLower(name) }

// underPath reports whether path is under prefix (prefix "/" matches all).
func underPath(path, prefix string) bool { return strings.HasPrefix(path, prefix) }
