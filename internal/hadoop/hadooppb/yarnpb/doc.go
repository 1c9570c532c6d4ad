// Package yarnpb is generated from Stoke's subset of YARN's records and ApplicationClientProtocol
// messages (proto package stoke.hadoop.yarn). Do not edit the .pb.go files; edit yarn.proto and
// run go generate in hadooppb.
package yarnpb
