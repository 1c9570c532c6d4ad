package ipc

import (
	"errors"
	"fmt"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

// Exception classes the client reacts to.
const (
	StandbyException        = "org.apache.hadoop.ipc.StandbyException"
	RetriableException      = "org.apache.hadoop.ipc.RetriableException"
	AccessControlException  = "org.apache.hadoop.security.AccessControlException"
	NoSuchProtocolException = "org.apache.hadoop.ipc.RpcNoSuchProtocolException"
)

// RemoteError is an exception the server reported for a call or for the connection.
type RemoteError struct {
	Class   string // Java exception class, e.g. org.apache.hadoop.ipc.StandbyException
	Message string
	Detail  commonpb.RpcResponseHeader_ErrorCode
	Fatal   bool   // the server closed the connection
	Method  string // the call, "" for connection setup
	Addr    string
}

func (e *RemoteError) Error() string {
	where := e.Method
	if where == "" {
		where = "connection setup"
	}
	msg := e.Message
	if len(msg) > 2000 {
		msg = msg[:2000] + "..."
	}
	return fmt.Sprintf("ipc: %s on %s: %s: %s", where, e.Addr, e.Class, msg)
}

// IsRemote reports whether err is a RemoteError of the given Java exception class.
func IsRemote(err error, class string) bool {
	var re *RemoteError
	return errors.As(err, &re) && re.Class == class
}

func remoteError(h *commonpb.RpcResponseHeader, method, addr string) *RemoteError {
	cls := h.GetExceptionClassName()
	if cls == "" {
		cls = "(no exception class; error " + h.GetErrorDetail().String() + ")"
	}
	return &RemoteError{
		Class:   cls,
		Message: h.GetErrorMsg(),
		Detail:  h.GetErrorDetail(),
		Fatal:   h.GetStatus() == commonpb.RpcResponseHeader_FATAL,
		Method:  method,
		Addr:    addr,
	}
}
