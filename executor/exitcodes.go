package executor

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Exit codes of an executor process. Workers and the local backend describe
// an executor's end with ExitDescription; none of the registration failures
// is helped by starting the same executor again.
const (
	ExitFailed        = 1 // the connection to the driver was lost, or a task runtime failure
	ExitConfig        = 2 // the executor's environment is incomplete
	ExitBinaryDiffers = 3 // the driver refused it: its binary differs from the driver's
	ExitUnreachable   = 4 // the driver could not be reached
	ExitUnauthorized  = 5 // the driver refused its application secret
	ExitRefused       = 6 // the driver refused the registration for another reason
)

// ErrRefused matches every registration the driver (or the network) did not
// accept; RegisterError says which kind.
var ErrRefused = errors.New("registration refused")

// RegisterError is a failed registration with the driver.
type RegisterError struct {
	Driver string // the address dialled
	Code   int    // one of the Exit* codes
	Err    error  // the RPC error
}

func (e *RegisterError) Error() string {
	switch e.Code {
	case ExitUnreachable:
		return fmt.Sprintf("cannot reach the driver at %s (%v): check that stoke.driver.host and stoke.driver.port name an address this machine can reach, that no firewall blocks it, that the driver is still running, and that both sides agree on TLS (stoke.rpc.tls.*)", e.Driver, e.Err)
	case ExitUnauthorized:
		return fmt.Sprintf("the driver at %s refused this executor's application secret: the executor was started with another application's secret (a stale launch, or another application's driver at that address)", e.Driver)
	case ExitBinaryDiffers:
		return fmt.Sprintf("the driver at %s refused this executor: %s; run the same binary on both sides", e.Driver, status.Convert(e.Err).Message())
	}
	return fmt.Sprintf("the driver at %s refused the registration: %v", e.Driver, e.Err)
}

func (e *RegisterError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrRefused) hold for every registration failure.
func (e *RegisterError) Is(target error) bool { return target == ErrRefused }

// classifyRegister turns a Register RPC error into a RegisterError.
func classifyRegister(driver string, err error) *RegisterError {
	code := ExitRefused
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded:
		code = ExitUnreachable
	case codes.Unauthenticated, codes.PermissionDenied:
		code = ExitUnauthorized
	case codes.FailedPrecondition:
		code = ExitBinaryDiffers
	}
	return &RegisterError{Driver: driver, Code: code, Err: err}
}

// ExitCode is the process exit code for an error RunProcess returned.
func ExitCode(err error) int {
	if err == nil {
		return 0
	}
	var re *RegisterError
	if errors.As(err, &re) {
		return re.Code
	}
	return ExitFailed
}

// ExitDescription says what an executor's exit code means, "" when it has no
// particular meaning.
func ExitDescription(code int) string {
	switch code {
	case ExitConfig:
		return "its environment is incomplete: see its log"
	case ExitBinaryDiffers:
		return "refused by the driver: its binary differs from the driver's"
	case ExitUnreachable:
		return "the driver was unreachable: check stoke.driver.host, stoke.driver.port and firewalls"
	case ExitUnauthorized:
		return "refused by the driver: wrong application secret"
	case ExitRefused:
		return "refused by the driver: see its log"
	}
	return ""
}

// IsRegistrationFailure says whether an executor that exited with code
// could not join its driver (another launch of it would fail the same way).
func IsRegistrationFailure(code int) bool {
	return code >= ExitBinaryDiffers && code <= ExitRefused
}
