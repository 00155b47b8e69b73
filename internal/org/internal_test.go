package org

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimestampIsEpochSeconds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), `1772600767`},
		{time.Date(2026, 3, 4, 5, 6, 7, 250_000_000, time.UTC), `1772600767.250`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(ts(tt.in))
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%v) = %s, %v; want %s", tt.in, b, err, tt.want)
		}
		var back Timestamp
		if err := json.Unmarshal(b, &back); err != nil || !time.Time(back).Equal(tt.in) {
			t.Errorf("Unmarshal(%s) = %v, %v", b, time.Time(back), err)
		}
	}
}
