package iam

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"

	"github.com/opensts/opensts/internal/apierr"
	"github.com/opensts/opensts/internal/store"
)

// Page is the pagination part of a list result: IsTruncated, and the Marker
// to pass back for the next page (only when truncated).
type Page struct {
	IsTruncated bool   `xml:"IsTruncated"`
	Marker      string `xml:"Marker,omitempty"`
}

// paginateInOrder is paginate for items already in the order the answer
// gives them (a report's): the marker is an item's position.
func paginateInOrder[T any](items []T, marker string, maxItems *int32) ([]T, Page, error) {
	type indexed struct {
		i int
		v T
	}
	xs := make([]indexed, len(items))
	for i, v := range items {
		xs[i] = indexed{i, v}
	}
	page, p, err := paginate(xs, func(x indexed) string { return fmt.Sprintf("%08d", x.i) }, marker, maxItems)
	if err != nil {
		return nil, p, err
	}
	out := make([]T, len(page))
	for i, x := range page {
		out[i] = x.v
	}
	return out, p, nil
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
		after, ok := decodeMarker(marker)
		if !ok {
			return nil, Page{}, apierr.New(apierr.InvalidInput, "Invalid Marker.")
		}
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
		p.Marker = encodeMarker(key(items[end-1]))
	}
	return items[start:end], p, nil
}

// nameKey sorts names as IAM lists them: case-insensitively, in the store's
// list order.
func nameKey(name string) string { return store.NameKey(name) }

// underPath reports whether path is under prefix (prefix "/" matches all).
func underPath(path, prefix string) bool { return strings.HasPrefix(path, prefix) }

// storePage is the request for one page of a list the store pages itself:
// the store position decoded from the client's marker and the page size.
type storePage struct {
	after string // the sort key of the last item of the previous page
	size  int    // items on this page, 1..1000
}

// pageRequest decodes marker (the base64 of a sort key, as paginate writes
// it) and maxItems (default 100, at most 1000).
func pageRequest(marker string, maxItems *int32) (storePage, error) {
	p := storePage{size: defaultMaxItems}
	if maxItems != nil {
		p.size = min(max(int(*maxItems), 1), 1000)
	}
	if marker != "" {
		after, ok := decodeMarker(marker)
		if !ok || after == "" {
			return storePage{}, apierr.New(apierr.InvalidInput, "Invalid Marker.")
		}
		p.after = after
	}
	return p, nil
}

// options is the store request for the page: one item more than the page
// holds, which tells whether the list goes on.
func (p storePage) options(pathPrefix string) store.ListOptions {
	return store.ListOptions{PathPrefix: pathPrefix, After: p.after, Limit: p.size + 1}
}

// cut returns the page of items, which the store returned in key order
// starting after p.after, at most p.size of them, and the Page that tells
// whether there are more and where they start. It never returns nil.
func cut[T any](p storePage, items []T, key func(T) string) ([]T, Page) {
	if items == nil {
		items = []T{}
	}
	if len(items) <= p.size {
		return items, Page{}
	}
	items = items[:p.size]
	return items, Page{IsTruncated: true, Marker: encodeMarker(key(items[len(items)-1]))}
}

// markerCheckLen is the length of a marker's check value.
const markerCheckLen = 6

// encodeMarker writes the marker for a page that ends at sort key key: the
// base64 of the key and a check value over it, so that a marker this
// server did not write (one made up, cut short or changed) is refused with
// "Invalid Marker." as AWS refuses it, instead of being read as a position.
// The check is not a secret: a client that forges one learns nothing it
// could not list.
func encodeMarker(key string) string {
	b := make([]byte, 0, len(key)+markerCheckLen)
	b = append(b, key...)
	b = appendMarkerCheck(b, key)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeMarker returns the sort key of a marker encodeMarker wrote.
func decodeMarker(marker string) (string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(marker)
	if err != nil || len(raw) < markerCheckLen {
		return "", false
	}
	key := string(raw[:len(raw)-markerCheckLen])
	want := appendMarkerCheck(nil, key)
	if subtle.ConstantTimeCompare(want, raw[len(raw)-markerCheckLen:]) != 1 {
		return "", false
	}
	return key, true
}

func appendMarkerCheck(b []byte, key string) []byte {
	h := sha256.New()
	h.Write([]byte("opensts iam list marker\x00"))
	h.Write([]byte(key))
	return append(b, h.Sum(nil)[:markerCheckLen]...)
}
