//go:build capturevectors

package krb

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/integration/hadooptest"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/hdfspb"
	"github.com/stoke-run/stoke/internal/hadoop/ipc"
	"github.com/stoke-run/stoke/internal/testutil"
)

// TestCaptureJavaWrapVectors regenerates javaVectorsFile from the secure
// harness (a generator, not a test): the NameNode's tokens of two mkdirs
// calls at privacy and at integrity, with the context key.
func TestCaptureJavaWrapVectors(t *testing.T) {
	var sets []javaVectors
	for _, level := range []string{"privacy", "integrity"} {
		c := hadooptest.StartWith(t, hadooptest.Options{Secure: level})
		login, err := NewLogin(LoginOptions{Principal: c.UserPrincipal, Keytab: c.UserKeytab, Krb5Conf: c.KDCConf})
		if err != nil {
			t.Fatal(err)
		}
		capt := &capture{v: javaVectors{Level: level, Secret: "/tmp/stoke-vector-secret-9c1e"}}
		auth := &capAuth{GSSAPIAuth: &GSSAPIAuth{Login: login, ServerPrincipal: c.ServicePrincipal}, c: capt}
		nn, err := ipc.NewClient([]string{c.NameNode}, ipc.Config{Protocol: ipc.ClientNamenodeProtocol, Auth: []ipc.Authenticator{auth}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), testutil.D(time.Minute))
		var mk hdfspb.MkdirsResponseProto
		if err := nn.Call(ctx, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(capt.v.Secret), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &mk); err != nil {
			t.Fatal(err)
		}
		if err := nn.Call(ctx, "mkdirs", &hdfspb.MkdirsRequestProto{Src: proto.String(capt.v.Secret + "/again"), Masked: &hdfspb.FsPermissionProto{Perm: proto.Uint32(0o755)}, CreateParent: proto.Bool(true)}, &mk); err != nil {
			t.Fatal(err)
		}
		cancel()
		nn.Close()
		sets = append(sets, capt.v)
	}
	out, _ := json.MarshalIndent(sets, "", " ")
	if err := os.WriteFile(filepath.FromSlash(javaVectorsFile), append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

type capture struct{ v javaVectors }

type capAuth struct {
	*GSSAPIAuth
	c *capture
}

func (a *capAuth) Mechanism(o *commonpb.RpcSasl_Auth, s ipc.Server) (ipc.Mechanism, error) {
	m, err := a.GSSAPIAuth.Mechanism(o, s)
	if m == nil || err != nil {
		return m, err
	}
	return &capMech{gssapiMech: m.(*gssapiMech), c: a.c}, nil
}

type capMech struct {
	*gssapiMech
	c *capture
}

func (m *capMech) Step(ch []byte) ([]byte, error) {
	st := m.state
	out, err := m.gssapiMech.Step(ch)
	if st == 2 && err == nil {
		m.c.v.Offer = hex.EncodeToString(ch)
		m.c.v.Etype, m.c.v.Key, m.c.v.Subkey = m.ctx.key.KeyType, hex.EncodeToString(m.ctx.key.KeyValue), m.ctx.acceptorSubkey
	}
	return out, err
}

func (m *capMech) Finish(tok []byte) (ipc.SecurityLayer, error) {
	l, err := m.gssapiMech.Finish(tok)
	if l == nil || err != nil {
		return l, err
	}
	return &capLayer{SecurityLayer: l, c: m.c}, nil
}

type capLayer struct {
	ipc.SecurityLayer
	c *capture
}

func (l *capLayer) Unwrap(p []byte) ([]byte, error) {
	out, err := l.SecurityLayer.Unwrap(p)
	if err == nil {
		l.c.v.Tokens = append(l.c.v.Tokens, struct {
			Token string `json:"token"`
			Plain string `json:"plain"`
		}{hex.EncodeToString(p), hex.EncodeToString(out)})
	}
	return out, err
}
