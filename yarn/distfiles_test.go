package yarn

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stoke-run/stoke/internal/conf"
)

// Every malformed --files or --archives entry is refused before anything
// is staged, naming the key, the entry and what is wrong.
func TestParseDistFiles(t *testing.T) {
	exists := func(p string) error {
		if strings.Contains(p, "missing") {
			return os.ErrNotExist
		}
		return nil
	}
	seen := map[string]string{}
	got, err := parseDistFiles(" /data/lookup.txt , /data/model.bin#m.bin, hdfs:///shared/geo.dat ", false, seen, exists)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].alias != "lookup.txt" || got[1].alias != "m.bin" || !got[2].hdfs || got[2].alias != "geo.dat" {
		t.Fatalf("parsed %+v", got)
	}
	arch, err := parseDistFiles("/data/dict.tar.gz#dict,/data/env.zip", true, seen, exists)
	if err != nil || len(arch) != 2 || arch[0].alias != "dict" || !arch[0].archive {
		t.Fatalf("archives %+v %v", arch, err)
	}
	for _, c := range []struct {
		list    string
		archive bool
		want    string
	}{
		{"/data/missing.txt", false, "does not exist"},
		{"/data/a.txt#sub/dir", false, "plain file name"},
		{"/data/a.txt#..", false, "plain file name"},
		{"/data/stoke-app", false, "Stoke's own"},
		{"/data/x#__stoke_conf__", false, "Stoke's own"},
		{"/data/lookup.txt", false, "would both be \"lookup.txt\""},
		{"s3://bucket/a.txt", false, "only local paths and hdfs:// URIs"},
		{"/data/notes.txt#notes", true, "an archive must end in one of"},
	} {
		_, err := parseDistFiles(c.list, c.archive, map[string]string{"lookup.txt": "/data/lookup.txt"}, exists)
		key := "stoke.files"
		if c.archive {
			key = "stoke.archives"
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: err = %v, want %q naming %s", c.list, err, c.want, key)
		}
	}
	if _, err := parseDistFiles(",, ,", false, map[string]string{}, func(string) error { return errors.New("never asked") }); err != nil {
		t.Errorf("empty entries: %v", err)
	}
}

// stoke.executorEnv.* and stoke.yarn.appMasterEnv.*: good variables pass;
// malformed names, Stoke's and Hadoop's own, and values the launch script
// would not escape are refused with the key.
func TestUserEnv(t *testing.T) {
	c := conf.New()
	c.Set("stoke.executorEnv.GREETING", "hello world", conf.SourceConfFlag)
	c.Set("stoke.executorEnv.PATH_EXTRA", "/opt/bin", conf.SourceConfFlag)
	env, err := userEnv(c, "stoke.executorEnv.")
	if err != nil || len(env) != 2 || env["GREETING"] != "hello world" {
		t.Fatalf("env %v, %v", env, err)
	}
	for name, value := range map[string]string{"1BAD": "x", "A-B": "x", "STOKE_APP_SECRET": "x", "HADOOP_TOKEN_FILE_LOCATION": "x", "QUOTED": `say "hi"`, "MULTI": "a\nb"} {
		c := conf.New()
		c.Set("stoke.yarn.appMasterEnv."+name, value, conf.SourceConfFlag)
		if _, err := userEnv(c, "stoke.yarn.appMasterEnv."); err == nil || !strings.Contains(err.Error(), "stoke.yarn.appMasterEnv."+name) {
			t.Errorf("%s=%q: err = %v", name, value, err)
		}
	}
	// Both families are known keys: no "unknown configuration key" warning.
	warns, err := c.Validate()
	if err != nil || len(warns) != 0 {
		t.Errorf("validate: %v %v", warns, err)
	}
}

// stoke.yarn.am.attemptFailuresValidityInterval reaches the submission;
// a malformed or too small one is refused with the key.
func TestAttemptValidityInterval(t *testing.T) {
	c := conf.New()
	c.Set("stoke.yarn.am.attemptFailuresValidityInterval", "2h", conf.SourceConfFlag)
	s, err := submissionFromConf(c, "client")
	if err != nil || s.AttemptValidity.Hours() != 2 {
		t.Fatalf("submission %v, %v", s.AttemptValidity, err)
	}
	for _, bad := range []string{"soon", "0", "-5m"} {
		c := conf.New()
		c.Set("stoke.yarn.am.attemptFailuresValidityInterval", bad, conf.SourceConfFlag)
		if _, err := c.Validate(); err == nil || !strings.Contains(err.Error(), "stoke.yarn.am.attemptFailuresValidityInterval") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
