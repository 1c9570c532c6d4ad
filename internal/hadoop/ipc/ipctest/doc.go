// Package ipctest is an in-process Hadoop RPC v9 server for tests: it speaks the real wire
// protocol (preamble, SASL with SIMPLE or TOKEN/DIGEST-MD5 including the auth-int layer,
// connection context, varint-delimited frames), records every call it receives, and answers
// through a handler, so clients can be tested for framing, authentication, errors, pings,
// reconnects and failover without a JVM.
package ipctest
