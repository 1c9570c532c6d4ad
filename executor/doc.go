// Package executor runs tasks: it turns a task description into a source of
// records, applies the registered functions, and delivers the output to its
// sink (a result, a count, shuffle buckets, or files). It also keeps the
// executor's blocks (shuffle output and large results) and, in a separate
// process, registers with the driver over gRPC and serves those blocks.
package executor
