package standalone_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// docker-compose.yml's standalone profile is valid for Debian's
// docker-compose and runs a master and two workers built from the
// Dockerfile (no container engine runs here: only the file is checked).
func TestComposeStandaloneProfile(t *testing.T) {
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed: run scripts/install-test-deps.sh")
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(dc, append([]string{"-f", "../docker-compose.yml", "--project-directory", ".."}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("docker-compose %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	cfg := run("--profile", "standalone", "config")
	if got := profileServices(cfg, "standalone"); strings.Join(got, " ") != "stoke-client stoke-master stoke-worker-1 stoke-worker-2" {
		t.Errorf("standalone profile services = %v; want a client, a master and two workers", got)
	}
	// Every daemon shares the master's secret file: without it the workers,
	// listening beyond loopback, would refuse to start.
	if n := strings.Count(cfg, "--secret-file"); n != 3 {
		t.Errorf("%d of the master and two workers are given --secret-file; want 3", n)
	}
	if n := strings.Count(cfg, "- stoke-secret:/etc/stoke"); n < 3 {
		t.Errorf("the stoke-secret volume is mounted %d times; want the master, two workers and the client", n)
	}
	for _, want := range []string{"- master", "- worker", "- stoke://stoke-master:7077", "7077", "8080", "8081", "STOKE_WORKER_CORES", "STOKE_WORKER_MEMORY", "/etc/stoke/cluster.secret"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("resolved compose file lacks %q:\n%s", want, cfg)
		}
	}
	df, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(df), "./cmd/stoke") || !strings.Contains(string(df), `ENTRYPOINT ["stoke"]`) {
		t.Errorf("the Dockerfile does not build and run the stoke command")
	}
}

// profileServices lists the services of the resolved compose file (as
// docker-compose config prints it) that belong to profile.
func profileServices(cfg, profile string) []string {
	var out []string
	var service string
	inServices, inProfiles := false, false
	for _, line := range strings.Split(cfg, "\n") {
		switch {
		case line == "services:":
			inServices = true
		case !strings.HasPrefix(line, " ") && line != "":
			inServices = false
		case inServices && strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   ") && strings.HasSuffix(line, ":"):
			service, inProfiles = strings.TrimSuffix(strings.TrimSpace(line), ":"), false
		case inServices && strings.TrimSpace(line) == "profiles:":
			inProfiles = true
		case inServices && inProfiles && strings.TrimSpace(line) == "- "+profile:
			out = append(out, service)
		case inServices && inProfiles && !strings.HasPrefix(strings.TrimSpace(line), "- "):
			inProfiles = false
		}
	}
	return out
}

// The yarn profile: NameNode, DataNode, ResourceManager, NodeManager from
// the apache/hadoop image, and a service that runs the HDFS integration
// suite against them.
func TestComposeYarnProfile(t *testing.T) {
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed: run scripts/install-test-deps.sh")
	}
	out, err := exec.Command(dc, "-f", "../docker-compose.yml", "--project-directory", "..", "--profile", "yarn", "config").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	cfg := string(out)
	if got := profileServices(cfg, "yarn"); strings.Join(got, " ") != "datanode namenode nodemanager resourcemanager yarn-tests" {
		t.Errorf("yarn profile services = %v", got)
	}
	for _, want := range []string{"apache/hadoop", "STOKE_HADOOP_EXTERNAL_CONF_DIR", "CORE-SITE.XML_fs.defaultFS"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("resolved compose file lacks %q", want)
		}
	}
}

// The mesos profile: ZooKeeper, a Mesos master, an agent and a client.
func TestComposeMesosProfile(t *testing.T) {
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed: run scripts/install-test-deps.sh")
	}
	out, err := exec.Command(dc, "-f", "../docker-compose.yml", "--project-directory", "..", "--profile", "mesos", "config").CombinedOutput()
	if err != nil {
		t.Fatalf("docker-compose config: %v\n%s", err, out)
	}
	cfg := string(out)
	if got := profileServices(cfg, "mesos"); strings.Join(got, " ") != "mesos-agent mesos-master stoke-mesos-client stoke-mesos-dispatcher zookeeper" {
		t.Errorf("mesos profile services = %v", got)
	}
	// The dispatcher listens beyond loopback: it needs its secret file, which
	// its entrypoint makes on the first start.
	for _, want := range []string{"stoke.authenticate.secret.file=/etc/stoke/cluster.secret", "umask 077", "exec stoke"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("the dispatcher's secret: resolved compose file lacks %q", want)
		}
	}
	for _, want := range []string{"zk://zookeeper:2181/mesos", "mesos/mesos-centos:1.11.x", "- mesos-master", "- mesos-agent", "mesos-dispatcher"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("resolved compose file lacks %q", want)
		}
	}
}

// composeService is the part of a resolved compose service these checks read.
type composeService struct {
	Profiles    []string `json:"profiles"`
	Restart     string   `json:"restart"`
	Healthcheck *struct {
		Test []string `json:"test"`
	} `json:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `json:"condition"`
	} `json:"depends_on"`
}

// resolvedCompose is docker-compose.yml as `docker-compose config` resolves
// it with every profile on, decoded through Python's YAML (Docker Compose's
// own dependency).
func resolvedCompose(t *testing.T) map[string]composeService {
	t.Helper()
	dc, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Skip("docker-compose is not installed: run scripts/install-test-deps.sh")
	}
	args := []string{"-f", "../docker-compose.yml", "--project-directory", ".."}
	for _, p := range []string{"standalone", "yarn", "yarn-secure", "mesos"} {
		args = append(args, "--profile", p)
	}
	out, err := exec.Command(dc, append(args, "config")...).Output()
	if err != nil {
		t.Fatalf("docker-compose config: %v", err)
	}
	conv := exec.Command("python3", "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)")
	conv.Stdin = strings.NewReader(string(out))
	js, err := conv.Output()
	if err != nil {
		t.Fatalf("converting the resolved compose file to JSON: %v", err)
	}
	var file struct {
		Services map[string]composeService `json:"services"`
	}
	if err := json.Unmarshal(js, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Services) < 15 {
		t.Fatalf("only %d services resolved", len(file.Services))
	}
	return file.Services
}

// Every profile loads alone under Compose v2, which refuses a dependency on
// a service no active profile enables: a service depends only on services
// that every one of its profiles enables. Every long-running service has a
// healthcheck, and every dependency on one waits for it to be healthy.
func TestComposeProfilesStandAloneAndHealthchecks(t *testing.T) {
	services := resolvedCompose(t)
	enabledBy := func(s composeService, profile string) bool {
		return len(s.Profiles) == 0 || slices.Contains(s.Profiles, profile)
	}
	for name, s := range services {
		for dep, cond := range s.DependsOn {
			d, ok := services[dep]
			if !ok {
				t.Errorf("%s depends on undefined service %s", name, dep)
				continue
			}
			for _, p := range s.Profiles {
				if !enabledBy(d, p) {
					t.Errorf("%s (profile %s) depends on %s, which profile %s does not enable: Compose v2 refuses to load it", name, p, dep, p)
				}
			}
			if d.Healthcheck != nil && cond.Condition != "service_healthy" {
				t.Errorf("%s starts when %s has started (%q), not when it is healthy", name, dep, cond.Condition)
			}
		}
		runOnce := s.Restart == "no" || strings.HasSuffix(name, "-tests")
		if !runOnce && s.Healthcheck == nil {
			t.Errorf("%s runs for good but has no healthcheck", name)
		}
	}
}

// The build context leaves out what the image does not need (the .git
// directory above all: `COPY . .` shipped it).
func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, want := range []string{".git", "bin/"} {
		if !slices.Contains(lines, want) {
			t.Errorf(".dockerignore does not leave out %s", want)
		}
	}
	for _, need := range []string{"go.mod", "go.sum", "cmd", "examples"} {
		if slices.Contains(lines, need) || slices.Contains(lines, need+"/") {
			t.Errorf(".dockerignore leaves out %s, which the Dockerfile needs", need)
		}
	}
}
