package yarn

import (
	"strings"
	"testing"
)

func TestIDs(t *testing.T) {
	for _, s := range []string{"container_1700000000000_0003_01_000002", "container_e17_1700000000000_0003_02_1000001"} {
		c, err := ParseContainerID(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := ContainerIDString(c); got != s {
			t.Fatalf("%s formats back as %s", s, got)
		}
	}
	c, _ := ParseContainerID("container_e17_1700000000000_0003_02_000001")
	if c.GetAppAttemptId().GetAttemptId() != 2 || AppIDString(c.GetAppId()) != "application_1700000000000_0003" {
		t.Fatalf("parsed %v", c)
	}
	a, err := ParseAppID("application_1700000000000_0042")
	if err != nil || AppIDString(a) != "application_1700000000000_0042" {
		t.Fatalf("app id: %v %v", a, err)
	}
	for _, bad := range []string{"", "container_", "container_1_2_3", "container_x_1_2_3", "container_e_1_2_3_4", "container_1_2_3_-4", "app_1_2", "application_1_x", "application_0_1", "application_1_2_3"} {
		_, err1 := ParseContainerID(bad)
		_, err2 := ParseAppID(bad)
		if err1 == nil || err2 == nil || !strings.Contains(err1.Error(), "not of the form") {
			t.Errorf("%q: container %v, app %v", bad, err1, err2)
		}
	}
}
