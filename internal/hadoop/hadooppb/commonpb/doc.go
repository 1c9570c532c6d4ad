// Package commonpb is generated from Stoke's own descriptions of Hadoop's IPC headers, SASL
// messages, connection context and security tokens (proto package stoke.hadoop.common).
// Do not edit the .pb.go files; edit the .proto files and run go generate in hadooppb.
package commonpb
