package hadooppb_test

import (
	"testing"

	_ "github.com/colinmarc/hdfs/v2" // registers hadoop.common.* protos
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	_ "github.com/stoke-run/stoke/internal/hadoop/hadooppb/yarnpb"
)

// Linking colinmarc/hdfs next to Stoke's protos must not panic at init (the protobuf runtime
// panics on conflicting registrations), and both sets must be registered side by side.
func TestNoRegistryConflictWithColinmarcHDFS(t *testing.T) {
	for _, name := range []protoreflect.FullName{
		"stoke.hadoop.common.RpcSasl",
		"stoke.hadoop.common.RpcRequestHeader",
		"stoke.hadoop.yarn.ApplicationReport",
		"hadoop.common.RpcSaslProto",
	} {
		if _, err := protoregistry.GlobalTypes.FindMessageByName(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
