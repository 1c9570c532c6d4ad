package yarn

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/conf"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/tokenfile"
)

// TestAttackYARNConfSecretsNotInEnvironment: the AM container's environment
// (written by the NodeManager into launch_container.sh, kept by the
// ResourceManager) carries no secret setting, base64 or not; the AM gets
// them from its token file and hands them to the driver.
func TestAttackYARNConfSecretsNotInEnvironment(t *testing.T) {
	const pw = "Pw-0f-the-keystore"
	c := conf.New()
	c.Set("stoke.app.name", "visible-name", conf.SourceSubmit)
	c.Set("stoke.ssl.keyPassword", pw, conf.SourceSubmit)
	c.Set("stoke.hadoop.fs.s3a.secret.key", pw+"2", conf.SourceConfFlag)
	creds := &tokenfile.Credentials{}
	creds.AddToken("amrm", &commonpb.Token{Identifier: []byte{1}, Password: []byte{2}, Kind: proto.String(amRMTokenKind), Service: proto.String("")})
	creds.SetSecret(amSecretAlias, []byte("x"))
	env, err := confForAM(conf.EncodeSubmit(c.All()), creds)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "visible-name") {
		t.Fatalf("control: the public settings are missing from %s: %s", EnvConf, raw)
	}
	if strings.Contains(env, pw) || strings.Contains(string(raw), pw) {
		t.Errorf("%s holds a secret setting: %s", EnvConf, raw)
	}

	dir := t.TempDir()
	tokens := filepath.Join(dir, "container_tokens")
	if err := os.WriteFile(tokens, creds.Marshal(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(hadoopTokenEnv, tokens)
	for _, f := range []string{"core-site.xml", "yarn-site.xml"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("<configuration></configuration>\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("HADOOP_CONF_DIR", dir)
	t.Setenv("YARN_CONF_DIR", "")
	t.Setenv(EnvAM, "cluster")
	t.Setenv("CONTAINER_ID", "container_1_0001_01_000001")
	t.Setenv(EnvResources, "")
	t.Setenv(EnvConf, env)
	m, err := newAM(logrus.New())
	if err != nil {
		t.Fatal(err)
	}
	if got := m.stokeConf.String("stoke.ssl.keyPassword"); got != pw {
		t.Errorf("the AM lost stoke.ssl.keyPassword: %q", got)
	}
	if got := m.stokeConf.String("stoke.app.name"); got != "visible-name" {
		t.Errorf("the AM lost stoke.app.name: %q", got)
	}
	dc := m.driverConf()
	if !strings.Contains(dc, pw) || !strings.Contains(dc, pw+"2") || !strings.Contains(dc, "visible-name") {
		t.Errorf("the driver's STOKE_SUBMIT_CONF misses settings: %s", dc)
	}
}
