package krb

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
)

func TestExpandHost(t *testing.T) {
	for _, tc := range []struct{ p, host, want string }{
		{"nn/_HOST@EXAMPLE.COM", "NN1.Example.com.", "nn/nn1.example.com@EXAMPLE.COM"},
		{"nn/_HOST", "nn1", "nn/nn1"},
		{"nn/fixed.example.com@EXAMPLE.COM", "nn1", "nn/fixed.example.com@EXAMPLE.COM"},
		{"_HOST@EXAMPLE.COM", "nn1", "_HOST@EXAMPLE.COM"},
		{"nn/_HOSTS@EXAMPLE.COM", "nn1", "nn/_HOSTS@EXAMPLE.COM"},
	} {
		if got := ExpandHost(tc.p, tc.host); got != tc.want {
			t.Errorf("ExpandHost(%q, %q) = %q, want %q", tc.p, tc.host, got, tc.want)
		}
	}
}

// TestServerPrincipalCheck: _HOST stands for the dialled name or the
// canonical name of the dialled address; a pattern replaces the exact check.
func TestServerPrincipalCheck(t *testing.T) {
	reverse := map[string][]string{"127.0.0.1": {"nn-canonical.example.com."}, "::1": {"nn-canonical.example.com."}, "10.1.2.3": {"nn7.example.com."}}
	old := lookupAddr
	lookupAddr = func(_ context.Context, a string) ([]string, error) {
		if n, ok := reverse[a]; ok {
			return n, nil
		}
		return nil, errors.New("no PTR")
	}
	defer func() { lookupAddr = old }()

	offer := func(host string) *commonpb.RpcSasl_Auth {
		return &commonpb.RpcSasl_Auth{Method: strPtr("KERBEROS"), Mechanism: strPtr("GSSAPI"), Protocol: strPtr("nn"), ServerId: strPtr(host)}
	}
	for _, tc := range []struct {
		name      string
		auth      GSSAPIAuth
		dialled   string
		advertise string
		err       string // "" when accepted
	}{
		{"dialled name", GSSAPIAuth{ServerPrincipal: "nn/_HOST@R"}, "nn7.example.com:8020", "nn7.example.com", ""},
		{"address, canonical name", GSSAPIAuth{ServerPrincipal: "nn/_HOST@R"}, "10.1.2.3:8020", "nn7.example.com", ""},
		{"name, canonical name", GSSAPIAuth{ServerPrincipal: "nn/_HOST@R"}, "localhost:8020", "nn-canonical.example.com", ""},
		{"neither", GSSAPIAuth{ServerPrincipal: "nn/_HOST@R"}, "10.1.2.3:8020", "evil.example.com", "expects nn/10.1.2.3@R or nn/nn7.example.com@R"},
		{"fixed host", GSSAPIAuth{ServerPrincipal: "nn/nn7.example.com@R"}, "10.1.2.3:8020", "nn7.example.com", ""},
		{"fixed host, other server", GSSAPIAuth{ServerPrincipal: "nn/nn7.example.com@R"}, "10.1.2.3:8020", "nn8.example.com", "server principal mismatch"},
		{"pattern", GSSAPIAuth{ServerPrincipalPattern: "nn/*.example.com@R", ServerPrincipal: "nn/_HOST@R"}, "10.9.9.9:8020", "nn9.example.com", ""},
		{"pattern without realm", GSSAPIAuth{ServerPrincipalPattern: "nn/*.example.com"}, "10.9.9.9:8020", "nn9.example.com", ""},
		{"pattern mismatch", GSSAPIAuth{ServerPrincipalPattern: "nn/*.example.com@R", ServerPrincipal: "nn/_HOST@R"}, "10.9.9.9:8020", "nn9.example.org", "does not match the configured pattern"},
		{"nothing configured", GSSAPIAuth{}, "10.9.9.9:8020", "anything", ""},
	} {
		m, err := tc.auth.Mechanism(offer(tc.advertise), ipc.Server{Addr: tc.dialled})
		if tc.err == "" {
			if err != nil || m == nil {
				t.Errorf("%s: refused: %v", tc.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
		}
	}
}
