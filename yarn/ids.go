package yarn

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
)

// AppIDString formats an application id as YARN prints it: application_<clusterTs>_<id %04d>.
func AppIDString(id *yarnpb.ApplicationId) string {
	return fmt.Sprintf("application_%d_%04d", id.GetClusterTimestamp(), id.GetId())
}

// ParseAppID parses application_<clusterTs>_<id>.
func ParseAppID(s string) (*yarnpb.ApplicationId, error) {
	parts := strings.Split(s, "_")
	if len(parts) != 3 || parts[0] != "application" {
		return nil, fmt.Errorf("application id %q is not of the form application_<clusterTimestamp>_<number>", s)
	}
	ts, err1 := strconv.ParseInt(parts[1], 10, 64)
	n, err2 := strconv.ParseInt(parts[2], 10, 32)
	if err1 != nil || err2 != nil || ts <= 0 || n < 0 {
		return nil, fmt.Errorf("application id %q is not of the form application_<clusterTimestamp>_<number>", s)
	}
	return &yarnpb.ApplicationId{ClusterTimestamp: proto.Int64(ts), Id: proto.Int32(int32(n))}, nil
}

// containerIDBits is how many low bits of ContainerId.id hold the sequence number; the bits
// above hold the RM epoch (bumped by each RM restart).
const containerIDBits = 40

// ContainerIDString formats a container id: container_[e<epoch>_]<ts>_<app %04d>_<attempt %02d>_<seq %06d>.
func ContainerIDString(c *yarnpb.ContainerId) string {
	att := c.GetAppAttemptId()
	app := att.GetApplicationId()
	if app == nil {
		app = c.GetAppId()
	}
	id := c.GetId()
	epoch, seq := id>>containerIDBits, id&(1<<containerIDBits-1)
	var b strings.Builder
	b.WriteString("container_")
	if epoch > 0 {
		fmt.Fprintf(&b, "e%02d_", epoch)
	}
	fmt.Fprintf(&b, "%d_%04d_%02d_%06d", app.GetClusterTimestamp(), app.GetId(), att.GetAttemptId(), seq)
	return b.String()
}

// ParseContainerID parses the CONTAINER_ID a NodeManager gives a container.
func ParseContainerID(s string) (*yarnpb.ContainerId, error) {
	bad := fmt.Errorf("container id %q is not of the form container_[e<epoch>_]<clusterTimestamp>_<app>_<attempt>_<number>", s)
	parts := strings.Split(s, "_")
	if len(parts) < 5 || parts[0] != "container" {
		return nil, bad
	}
	parts = parts[1:]
	var epoch int64
	if strings.HasPrefix(parts[0], "e") {
		e, err := strconv.ParseInt(parts[0][1:], 10, 32)
		if err != nil || e < 0 {
			return nil, bad
		}
		epoch, parts = e, parts[1:]
	}
	if len(parts) != 4 {
		return nil, bad
	}
	var n [4]int64
	for i, p := range parts {
		v, err := strconv.ParseInt(p, 10, 64)
		if err != nil || v < 0 {
			return nil, bad
		}
		n[i] = v
	}
	if n[0] == 0 || n[1] > 1<<31-1 || n[2] > 1<<31-1 || n[3] >= 1<<containerIDBits || epoch >= 1<<(63-containerIDBits) {
		return nil, bad
	}
	app := &yarnpb.ApplicationId{ClusterTimestamp: proto.Int64(n[0]), Id: proto.Int32(int32(n[1]))}
	return &yarnpb.ContainerId{
		AppId:        app,
		AppAttemptId: &yarnpb.ApplicationAttemptId{ApplicationId: app, AttemptId: proto.Int32(int32(n[2]))},
		Id:           proto.Int64(epoch<<containerIDBits | n[3]),
	}, nil
}
