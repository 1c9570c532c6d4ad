// Package hadooppb holds Stoke's own protobuf descriptions of the Hadoop wire protocols and the
// Go code generated from them: commonpb (RPC headers, SASL, connection context, tokens) and
// yarnpb (YARN records and ApplicationClientProtocol messages). The proto packages are
// stoke.hadoop.* so they never clash with other Hadoop clients linked into the same binary.
//
// Regenerate with `go generate ./internal/hadoop/hadooppb` (needs protoc and protoc-gen-go).
package hadooppb

//go:generate protoc -I . --go_out=paths=source_relative:. commonpb/rpc_header.proto commonpb/ipc.proto yarnpb/yarn.proto hdfspb/hdfs.proto hdfspb/datatransfer.proto
