package krb

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

// TestClassifyKDCErrors: KDC error replies, bare and as gokrb5 wraps them
// (its wrapping hides the KRBError from errors.As), map to the sentinel
// errors. TestKDCClockSkew provokes the real clock-skew reply from a KDC
// whose clock runs ahead.
func TestClassifyKDCErrors(t *testing.T) {
	sname := types.NewPrincipalName(nametype.KRB_NT_SRV_INST, "krbtgt/STOKE.TEST")
	for _, tc := range []struct {
		code int32
		want error
	}{
		{errorcode.KRB_AP_ERR_SKEW, ErrClockSkew},
		{errorcode.KDC_ERR_PREAUTH_FAILED, ErrBadCredentials},
		{errorcode.KDC_ERR_C_PRINCIPAL_UNKNOWN, ErrUnknownPrincipal},
		{errorcode.KDC_ERR_WRONG_REALM, ErrUnknownRealm},
	} {
		ke := messages.NewKRBError(sname, "STOKE.TEST", tc.code, "")
		for _, err := range []error{ke, fmt.Errorf("as exchange: %w", ke), krberror.Errorf(ke, krberror.KDCError, "AS Exchange Error")} {
			if got := classify("alice@STOKE.TEST", err); !errors.Is(got, tc.want) {
				t.Errorf("code %d in %T: %v, want %v", tc.code, err, got, tc.want)
			}
		}
	}
	if got := classify("alice@STOKE.TEST", errors.New("something else")); errors.Is(got, ErrBadCredentials) || errors.Is(got, ErrKDCUnreachable) {
		t.Errorf("an unrelated error classified: %v", got)
	}
}
