package yarn_test

import (
	"bufio"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	krb5config "github.com/jcmturner/gokrb5/v8/config"

	"github.com/stoke-run/stoke/internal/hadoop/hconf"
	"github.com/stoke-run/stoke/internal/hadoop/krb"
)

// The yarn-secure profile of docker-compose.yml: a KDC and a Kerberos-secured
// one-node Hadoop cluster. No container engine runs here, so this checks that
// Debian's docker-compose accepts the file and that the pieces agree with
// each other: the daemons' settings (deploy/secure/hadoop.env), the
// principals and keytabs the KDC script creates (deploy/secure/kdc-init.sh),
// the client configuration (deploy/secure/hadoop-conf), krb5.conf and the
// services themselves.
func TestComposeSecureYARNProfile(t *testing.T) {
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed (scripts/install-test-deps.sh installs it): cannot check docker-compose.yml")
	}
	out, err := exec.Command(dc, "-f", "../docker-compose.yml", "--project-directory", "..", "--profile", "yarn-secure", "config").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	services := parseComposeConfig(string(out))

	var profile []string
	for name, s := range services {
		if slices.Contains(s.lists["profiles"], "yarn-secure") {
			profile = append(profile, name)
		}
	}
	slices.Sort(profile)
	if want := "datanode-secure kdc namenode-secure nodemanager-secure resourcemanager-secure yarn-secure-tests"; strings.Join(profile, " ") != want {
		t.Fatalf("yarn-secure profile services = %v; want %s", profile, want)
	}

	if out, err := exec.Command("bash", "-n", "../deploy/secure/kdc-init.sh").CombinedOutput(); err != nil {
		t.Errorf("bash -n deploy/secure/kdc-init.sh: %v\n%s", err, out)
	}
	realm, exports := secureKDCExports(t, "../deploy/secure/kdc-init.sh")
	created := map[string]bool{} // every principal the script creates
	for _, ps := range exports {
		for _, p := range ps {
			created[p] = true
		}
	}
	env := secureHadoopEnv(t, "../deploy/secure/hadoop.env")

	// The Hadoop daemons: which principals each one uses (with _HOST as its
	// host) and which keytab holds them.
	type daemon struct {
		principalKeys []string
		keytabKey     string
		start         string
	}
	const webPrincipal = "HDFS-SITE.XML_dfs.web.authentication.kerberos.principal"
	daemons := map[string]daemon{
		"namenode-secure":        {[]string{"HDFS-SITE.XML_dfs.namenode.kerberos.principal", webPrincipal}, "HDFS-SITE.XML_dfs.namenode.keytab.file", "exec hdfs namenode"},
		"datanode-secure":        {[]string{"HDFS-SITE.XML_dfs.datanode.kerberos.principal", webPrincipal}, "HDFS-SITE.XML_dfs.datanode.keytab.file", "exec hdfs datanode"},
		"resourcemanager-secure": {[]string{"YARN-SITE.XML_yarn.resourcemanager.principal"}, "YARN-SITE.XML_yarn.resourcemanager.keytab", "exec yarn resourcemanager"},
		"nodemanager-secure":     {[]string{"YARN-SITE.XML_yarn.nodemanager.principal"}, "YARN-SITE.XML_yarn.nodemanager.keytab", "exec yarn nodemanager"},
	}
	known := map[string]bool{}
	for _, d := range daemons {
		for _, k := range d.principalKeys {
			known[k] = true
		}
	}

	// Every keytab hadoop.env names is one the script exports to the keytab
	// volume, and every principal setting belongs to a daemon above.
	for k, v := range env {
		if strings.HasSuffix(v, ".keytab") {
			if dir, file := path.Split(v); dir != "/keytabs/" || exports[file] == nil {
				t.Errorf("hadoop.env: %s=%s is not a keytab kdc-init.sh exports to /keytabs (it exports %v)", k, v, composeKeys(exports))
			}
		}
		if strings.HasSuffix(k, "principal") && !known[k] {
			t.Errorf("hadoop.env: %s=%s: no daemon of this test uses it; say which in TestComposeSecureYARNProfile", k, v)
		}
	}
	for _, k := range []string{"CORE-SITE.XML_hadoop.security.authentication=kerberos", "CORE-SITE.XML_hadoop.security.authorization=true",
		"HDFS-SITE.XML_dfs.block.access.token.enable=true", "HDFS-SITE.XML_ignore.secure.ports.for.testing=true"} {
		key, want, _ := strings.Cut(k, "=")
		if env[key] != want {
			t.Errorf("hadoop.env: %s=%q; want %q", key, env[key], want)
		}
	}
	for _, k := range []string{"CORE-SITE.XML_hadoop.rpc.protection", "HDFS-SITE.XML_dfs.data.transfer.protection"} {
		if env[k] == "" {
			t.Errorf("hadoop.env sets no %s", k)
		}
	}

	image := services["namenode"].scalars["image"] // the yarn profile's
	addrs := map[string]string{}                   // daemon host -> fixed address
	for name := range daemons {
		s := services[name]
		host := s.scalars["hostname"]
		if host != name {
			t.Errorf("%s: hostname %q; want the service name, which other containers resolve", name, host)
		}
		addrs[host] = s.maps["networks.stoke-secure"]["ipv4_address"]
	}
	for name, d := range daemons {
		s := services[name]
		host := s.scalars["hostname"]
		if s.scalars["image"] != image || image == "" {
			t.Errorf("%s: image %q; want the yarn profile's %q", name, s.scalars["image"], image)
		}
		for k, v := range env {
			if got := s.maps["environment"][k]; got != v {
				t.Errorf("%s: environment %s=%q; want %q from deploy/secure/hadoop.env", name, k, got, v)
			}
		}
		if !slices.Contains(s.lists["volumes"], "keytabs:/keytabs:ro") {
			t.Errorf("%s: volumes %v lack the keytab volume at /keytabs, read-only", name, s.lists["volumes"])
		}
		if !composeHasSuffix(s.lists["volumes"], "/deploy/secure/krb5.conf:/etc/krb5.conf:ro") {
			t.Errorf("%s: volumes %v lack deploy/secure/krb5.conf at /etc/krb5.conf", name, s.lists["volumes"])
		}
		if c := s.maps["depends_on.kdc"]["condition"]; c != "service_healthy" {
			t.Errorf("%s: depends on kdc with condition %q; want service_healthy", name, c)
		}
		keytab := env[d.keytabKey]
		cmd := strings.Join(s.lists["command"], " ")
		if !strings.Contains(cmd, "until [ -f "+keytab+" ]") || !strings.HasSuffix(cmd, d.start) {
			t.Errorf("%s: command %q does not wait for %s and then %s", name, cmd, keytab, d.start)
		}
		for _, k := range d.principalKeys {
			p := krb.ExpandHost(env[k], host)
			if !created[p] {
				t.Errorf("%s: %s=%s is %s here, which kdc-init.sh does not create", name, k, env[k], p)
			} else if !slices.Contains(exports[path.Base(keytab)], p) {
				t.Errorf("%s: %s is not in %s (%s), which holds %v", name, p, keytab, d.keytabKey, exports[path.Base(keytab)])
			}
			if _, r, _ := strings.Cut(p, "@"); r != realm {
				t.Errorf("%s: %s is not in realm %s", name, p, realm)
			}
		}
		// The reverse lookups Java does for _HOST give the compose hostnames.
		for h, ip := range addrs {
			if net.ParseIP(ip) == nil || !slices.Contains(s.lists["extra_hosts"], h+":"+ip) {
				t.Errorf("%s: extra_hosts %v lack %s:%s (its fixed address)", name, s.lists["extra_hosts"], h, ip)
			}
		}
	}

	// Service principals run as hadoop, the user as itself.
	rules := env["CORE-SITE.XML_hadoop.security.auth_to_local"]
	for p := range created {
		want := "hadoop"
		if !strings.Contains(p, "/") {
			want, _, _ = strings.Cut(p, "@")
		}
		if got := secureAuthToLocal(t, rules, realm, p); got != want {
			t.Errorf("hadoop.security.auth_to_local maps %s to %q; want %q", p, got, want)
		}
	}

	kdc := services["kdc"]
	if kdc.scalars["image"] != "debian:bookworm" || kdc.scalars["hostname"] != "kdc" {
		t.Errorf("kdc: image %q, hostname %q; want debian:bookworm, kdc", kdc.scalars["image"], kdc.scalars["hostname"])
	}
	if cmd := strings.Join(kdc.lists["command"], " "); !strings.HasSuffix(cmd, "/secure/kdc-init.sh") || !composeHasSuffix(kdc.lists["volumes"], "/deploy/secure:/secure:ro") {
		t.Errorf("kdc: command %q, volumes %v: want deploy/secure/kdc-init.sh run from /secure", cmd, kdc.lists["volumes"])
	}
	if !slices.Contains(kdc.lists["volumes"], "keytabs:/keytabs:rw") {
		t.Errorf("kdc: volumes %v lack the keytab volume at /keytabs, writable", kdc.lists["volumes"])
	}
	if kdc.maps["environment"]["KRB5_CONFIG"] != "/secure/krb5.conf" {
		t.Errorf("kdc: KRB5_CONFIG=%q; want /secure/krb5.conf", kdc.maps["environment"]["KRB5_CONFIG"])
	}

	kc, err := krb5config.Load("../deploy/secure/krb5.conf")
	if err != nil {
		t.Fatalf("deploy/secure/krb5.conf: %v", err)
	}
	if kc.LibDefaults.DefaultRealm != realm {
		t.Errorf("krb5.conf: default_realm %q; kdc-init.sh's realm is %q", kc.LibDefaults.DefaultRealm, realm)
	}
	if _, kdcs, err := kc.GetKDCs(realm, true); err != nil || len(kdcs) != 1 || kdcs[1] != "kdc:88" {
		t.Errorf("krb5.conf: KDCs of %s = %v, %v; want the kdc service (kdc:88)", realm, kdcs, err)
	}

	// The client side: yarn-secure-tests and its configuration directory.
	tests := services["yarn-secure-tests"]
	te := tests.maps["environment"]
	for k, want := range map[string]string{"STOKE_HADOOP_EXTERNAL_CONF_DIR": "/src/deploy/secure/hadoop-conf", "KRB5_CONFIG": "/etc/krb5.conf", "CGO_ENABLED": "0"} {
		if te[k] != want {
			t.Errorf("yarn-secure-tests: %s=%q; want %q", k, te[k], want)
		}
	}
	if kt := te["STOKE_KERBEROS_KEYTAB"]; path.Dir(kt) != "/keytabs" || !slices.Contains(exports[path.Base(kt)], te["STOKE_KERBEROS_PRINCIPAL"]) {
		t.Errorf("yarn-secure-tests: STOKE_KERBEROS_KEYTAB=%s does not hold STOKE_KERBEROS_PRINCIPAL=%s (kdc-init.sh exports %v)", kt, te["STOKE_KERBEROS_PRINCIPAL"], exports)
	}
	if !slices.Contains(tests.lists["volumes"], "keytabs:/keytabs:ro") || !composeHasSuffix(tests.lists["volumes"], "/deploy/secure/krb5.conf:/etc/krb5.conf:ro") {
		t.Errorf("yarn-secure-tests: volumes %v lack the keytabs or krb5.conf", tests.lists["volumes"])
	}
	if got, want := tests.lists["command"], services["yarn-tests"].lists["command"]; !slices.Equal(got, want) || len(got) == 0 {
		t.Errorf("yarn-secure-tests: command %v; want yarn-tests' %v", got, want)
	}

	client, err := hconf.LoadDir(nil, filepath.Join("..", strings.TrimPrefix(te["STOKE_HADOOP_EXTERNAL_CONF_DIR"], "/src/")))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"hadoop.rpc.protection", "dfs.data.transfer.protection", "fs.defaultFS", "hadoop.security.authentication",
		"dfs.namenode.kerberos.principal", "yarn.resourcemanager.principal", "yarn.resourcemanager.hostname"} {
		daemonKey := map[string]string{"dfs": "HDFS-SITE.XML_", "yarn": "YARN-SITE.XML_"}[strings.Split(k, ".")[0]]
		if daemonKey == "" {
			daemonKey = "CORE-SITE.XML_"
		}
		if got, want := client.Get(k), env[daemonKey+k]; got != want {
			t.Errorf("hadoop-conf: %s=%q; the daemons have %q", k, got, want)
		}
	}
	// What the client expands _HOST to: a principal the KDC has.
	fs, err := url.Parse(client.Get("fs.defaultFS"))
	if err != nil {
		t.Fatal(err)
	}
	rm, _, err := net.SplitHostPort(client.Get("yarn.resourcemanager.address"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{krb.ExpandHost(client.Get("dfs.namenode.kerberos.principal"), fs.Hostname()), krb.ExpandHost(client.Get("yarn.resourcemanager.principal"), rm)} {
		if !created[p] {
			t.Errorf("hadoop-conf: the client expects %s, which kdc-init.sh does not create", p)
		}
	}
}

// composeService is one service of `docker-compose config` output: scalar
// fields, lists (profiles, volumes, command...) and maps (environment;
// nested ones as "networks.<name>", "depends_on.<name>").
type composeService struct {
	scalars map[string]string
	lists   map[string][]string
	maps    map[string]map[string]string
}

// parseComposeConfig reads the services of docker-compose v1's `config`
// output (two-space indentation, list items at their key's indentation,
// long scalars folded onto deeper lines).
func parseComposeConfig(cfg string) map[string]*composeService {
	type line struct {
		indent int
		text   string
	}
	var lines []line
	inServices := false
	for _, l := range strings.Split(cfg, "\n") {
		t := strings.TrimLeft(l, " ")
		indent := len(l) - len(t)
		switch {
		case t == "":
			continue
		case indent == 0:
			inServices = t == "services:"
			continue
		case !inServices:
			continue
		}
		if n := len(lines); n > 0 {
			prev := lines[n-1]
			_, v, _ := strings.Cut(strings.TrimPrefix(prev.text, "- "), ": ")
			scalar := strings.HasPrefix(prev.text, "- ") && !strings.HasSuffix(prev.text, ":") || v != ""
			if scalar && indent > prev.indent {
				lines[n-1].text += " " + t // a folded scalar
				continue
			}
		}
		lines = append(lines, line{indent, t})
	}
	unquote := func(s string) string {
		if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
			s = s[1 : len(s)-1]
		}
		return strings.ReplaceAll(s, "$$", "$")
	}
	out := map[string]*composeService{}
	var s *composeService
	var key, sub string
	for _, l := range lines {
		item, isItem := strings.CutPrefix(l.text, "- ")
		k, v, _ := strings.Cut(strings.TrimSuffix(l.text, ":"), ": ")
		switch {
		case l.indent == 2:
			s = &composeService{scalars: map[string]string{}, lists: map[string][]string{}, maps: map[string]map[string]string{}}
			out[strings.TrimSuffix(l.text, ":")] = s
		case s == nil:
		case l.indent == 4 && isItem:
			s.lists[key] = append(s.lists[key], unquote(item))
		case l.indent == 4:
			if key = k; v != "" {
				s.scalars[k] = unquote(v)
			}
		case l.indent == 6 && isItem:
			s.lists[key+"."+sub] = append(s.lists[key+"."+sub], unquote(item))
		case l.indent == 6 || l.indent == 8:
			m := key
			if l.indent == 6 {
				sub = k
			} else {
				m += "." + sub
			}
			if s.maps[m] == nil {
				s.maps[m] = map[string]string{}
			}
			s.maps[m][k] = unquote(v)
		}
	}
	return out
}

// secureHadoopEnv reads an env file of FILE_key=value lines.
func secureHadoopEnv(t *testing.T, name string) map[string]string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("%s: not key=value: %q", name, l)
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			v = v[1 : len(v)-1]
		}
		env[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}

// secureKDCExports reads kdc-init.sh's realm and its KEYTABS table: keytab
// file name -> the principals (with realm) exported to it.
func secureKDCExports(t *testing.T, name string) (string, map[string][]string) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	m := regexp.MustCompile(`(?m)^REALM=(\S+)$`).FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("%s sets no REALM", name)
	}
	realm := m[1]
	if !strings.Contains(src, "KEYTAB_DIR=${KEYTAB_DIR:-/keytabs}") {
		t.Errorf("%s does not write its keytabs to /keytabs by default", name)
	}
	table := regexp.MustCompile(`(?s)\nKEYTABS=\((.*?)\n\)`).FindStringSubmatch(src)
	if table == nil {
		t.Fatalf("%s has no KEYTABS=( ... ) table", name)
	}
	exports := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(table[1]), "\n") {
		l, err := strconv.Unquote(strings.TrimSpace(l))
		if err != nil {
			t.Fatalf("%s: KEYTABS entry %q: %v", name, l, err)
		}
		f := strings.Fields(l)
		if len(f) < 2 || !strings.HasSuffix(f[0], ".keytab") {
			t.Fatalf("%s: KEYTABS entry %q is not \"file.keytab principal...\"", name, l)
		}
		for _, p := range f[1:] {
			exports[f[0]] = append(exports[f[0]], p+"@"+realm)
		}
	}
	return realm, exports
}

// secureAuthToLocal maps principal to a local user name with Hadoop's
// hadoop.security.auth_to_local rules (RULE:[n:format](match)s/from/to/ and
// DEFAULT, as KerberosName applies them), "" when no rule applies.
func secureAuthToLocal(t *testing.T, rules, defaultRealm, principal string) string {
	t.Helper()
	ruleRE := regexp.MustCompile(`^RULE:\[(\d+):([^\]]*)\](?:\(([^)]*)\))?(?:s/([^/]*)/([^/]*)/(g)?)?$`)
	name, realm, _ := strings.Cut(principal, "@")
	comps := strings.Split(name, "/")
	for _, r := range strings.Fields(rules) {
		if r == "DEFAULT" {
			if realm == defaultRealm {
				return comps[0]
			}
			continue
		}
		m := ruleRE.FindStringSubmatch(r)
		if m == nil {
			t.Fatalf("auth_to_local: cannot read rule %q", r)
		}
		if n, _ := strconv.Atoi(m[1]); n != len(comps) {
			continue
		}
		base := strings.ReplaceAll(m[2], "$0", realm)
		for i, c := range comps {
			base = strings.ReplaceAll(base, "$"+strconv.Itoa(i+1), c)
		}
		if m[3] != "" && !regexp.MustCompile("^(?:"+m[3]+")$").MatchString(base) {
			continue
		}
		if m[4] != "" {
			from := regexp.MustCompile(m[4])
			if m[6] == "g" {
				base = from.ReplaceAllString(base, m[5])
			} else if loc := from.FindStringIndex(base); loc != nil {
				base = base[:loc[0]] + m[5] + base[loc[1]:]
			}
		}
		return base
	}
	return ""
}

func composeHasSuffix(list []string, suffix string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.HasSuffix(s, suffix) })
}

func composeKeys(m map[string][]string) []string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
