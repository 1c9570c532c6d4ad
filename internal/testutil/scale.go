// Package testutil holds what Stoke's tests share: one scale factor from
// which every wait in a test is derived, so that the suite holds on a
// loaded machine (load average 10 on two cores) without any timing
// deciding a pass.
package testutil

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// EnvScale names the environment variable that multiplies every test wait.
const EnvScale = "STOKE_TEST_SCALE"

// DefaultScale is the factor when EnvScale is unset: deadlines are
// ceilings on waiting for something that should happen, so a generous
// factor costs nothing when the machine is idle.
const DefaultScale = 3.0

var (
	scaleOnce sync.Once
	scale     float64
	scaleErr  error
)

// Scale returns the factor (EnvScale, default DefaultScale). A malformed
// value panics with the variable's name: a test run must not silently use
// another factor than the one asked for.
func Scale() float64 {
	scaleOnce.Do(func() {
		scale, scaleErr = parseScale(os.Getenv(EnvScale))
	})
	if scaleErr != nil {
		panic(scaleErr)
	}
	return scale
}

func parseScale(v string) (float64, error) {
	if v == "" {
		return DefaultScale, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 1 || f > 1000 {
		return 0, fmt.Errorf("%s=%q: expected a number from 1 to 1000", EnvScale, v)
	}
	return f, nil
}

// D scales a wait: D(5*time.Second) is 15 s at the default factor.
func D(d time.Duration) time.Duration { return time.Duration(float64(d) * Scale()) }

// TB is the part of testing.TB that Eventually uses.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Eventually polls cond every 10 ms until it holds, failing the test with
// what it waited for once D(within) has passed.
func Eventually(t TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(D(within))
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", D(within), what)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
