package yarn

import (
	"testing"
	"time"
)

func TestNextTokenStep(t *testing.T) {
	day := 24 * time.Hour
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		name                     string
		now, issued, max, expiry time.Duration // from t0
		wake                     time.Duration
		obtain                   bool
	}{
		// The submission's token (the RM renews it): replaced at 3/4 of its 7 days.
		{"rm renews", 0, 0, 7 * day, 7 * day, 7 * day * 3 / 4, true},
		// A token of ours with a 24 h renewal interval: renewed at 3/4 of what is left.
		{"renew", 0, 0, 7 * day, day, 18 * time.Hour, false},
		{"renew later", 3 * day, 0, 7 * day, 4 * day, 3*day + 18*time.Hour, false},
		// Renewing again would pass 3/4 of the lifetime: obtain a new one then.
		{"replace", 5 * day, 0, 7 * day, 6 * day, 7 * day * 3 / 4, true},
		// Already past that point: at once (a second from now).
		{"overdue", 6 * day, 0, 7 * day, 7 * day, 6*day + time.Second, true},
		// The minicluster's short tokens: 20 s lifetime, 10 s renewal interval.
		{"short", 0, 0, 20 * time.Second, 10 * time.Second, 7500 * time.Millisecond, false},
		{"short renewed", 7500 * time.Millisecond, 0, 20 * time.Second, 17500 * time.Millisecond, 15 * time.Second, true},
		// An expiry already passed still waits a second rather than spinning.
		{"expired", 10 * time.Second, 0, 20 * time.Second, 9 * time.Second, 11 * time.Second, false},
	} {
		wake, obtain := nextTokenStep(at(tc.now), at(tc.issued), at(tc.max), at(tc.expiry))
		if !wake.Equal(at(tc.wake)) || obtain != tc.obtain {
			t.Errorf("%s: wake at +%v, obtain %v; want +%v, %v", tc.name, wake.Sub(t0), obtain, tc.wake, tc.obtain)
		}
	}
}
