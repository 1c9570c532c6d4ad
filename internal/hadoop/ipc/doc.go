// Package ipc is Stoke's client for Hadoop RPC version 9, the protocol of the YARN
// ResourceManager, the NodeManagers and the HDFS NameNode: connection preamble, connection
// context, varint-delimited protobuf frames, call ids, retries, pings, idle reconnects and
// failover across RM HA addresses. Authentication is SASL with pluggable mechanisms behind the
// Authenticator interface: SIMPLE, and TOKEN (DIGEST-MD5 with qop auth, auth-int, or auth-conf
// with RC4) for AMRM, NM and delegation tokens; Kerberos (GSSAPI) plugs in the same way. Server
// exceptions become *RemoteError values that name the Java exception class.
//
// Subpackage ipctest is a fake server speaking the same wire protocol, for tests.
package ipc
