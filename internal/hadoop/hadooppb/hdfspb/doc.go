// Package hdfspb is generated from hdfs.proto: the NameNode messages Stoke
// sends itself (block locations), in the proto package stoke.hadoop.hdfs.
package hdfspb
