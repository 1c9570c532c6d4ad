package datatransfer

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/hdfspb"
)

// FuzzParseOp: whatever a client writes first, parseOp neither panics nor accepts an
// operation without a block token.
func FuzzParseOp(f *testing.F) {
	tok := &commonpb.Token{Identifier: []byte("id"), Password: []byte("pw"), Kind: proto.String("HDFS_BLOCK_TOKEN"), Service: proto.String("")}
	raw, _ := proto.Marshal(&hdfspb.OpWithClientHeaderProto{Header: &hdfspb.ClientOperationHeaderProto{BaseHeader: &hdfspb.BaseHeaderProto{Token: tok}}})
	op := append(protowire.AppendVarint([]byte{0, Version, OpReadBlock}, uint64(len(raw))), raw...)
	f.Add(op)
	f.Add([]byte{0, Version, OpBlockChecksum, 0})
	f.Add([]byte{0, 27, 81})
	f.Add(append([]byte{0, Version, 80}, bytes.Repeat([]byte{0xff}, 12)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, whole, err := parseOp(b)
		if err != nil && whole {
			t.Fatal("an error and a whole operation")
		}
		if whole && len(got.GetIdentifier()) == 0 {
			t.Fatal("accepted an operation without a block token")
		}
	})
}
