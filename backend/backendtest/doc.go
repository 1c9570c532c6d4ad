// Package backendtest is the conformance suite every backend must pass:
// correct results through every operator, FAIR sharing, speculation rescuing
// an injected straggler, an executor killed mid-job, a bad function name and
// an oversized result. A backend is done when Run passes on it.
package backendtest
