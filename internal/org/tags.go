package org

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/opensts/opensts/internal/store"
)

// maxTags is how many tags an Organizations resource carries at most.
const maxTags = 50

// Tag is a tag on the wire.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// parseTags decodes and validates a request's Tags (absent: none): keys of
// 1-128 characters, values of 0-256, no key twice, at most maxTags.
func parseTags(raw json.RawMessage) ([]store.OrgTag, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var tags []Tag
	if err := json.Unmarshal(raw, &tags); err != nil {
		return nil, invalidInput("You specified an invalid value for tags.")
	}
	return checkTags(tags)
}

func checkTags(tags []Tag) ([]store.OrgTag, error) {
	if len(tags) > maxTags {
		return nil, constraint("TAG_POLICY_VIOLATION", "You have exceeded the allowed number of tags for the resource.")
	}
	seen := make(map[string]bool, len(tags))
	out := make([]store.OrgTag, 0, len(tags))
	for _, t := range tags {
		if n := utf8.RuneCountInString(t.Key); n < 1 || n > 128 {
			return nil, invalidInput("You specified an invalid value for tag key.")
		}
		if n := utf8.RuneCountInString(t.Value); n > 256 {
			return nil, invalidInput("You specified an invalid value for tag value.")
		}
		if seen[t.Key] {
			return nil, invalidInput("Duplicate tag key %s.", t.Key)
		}
		seen[t.Key] = true
		out = append(out, store.OrgTag{Key: t.Key, Value: t.Value})
	}
	return out, nil
}
