// Package hadooptest starts the Maven-built Hadoop harness (integration/hadoop-harness: a real
// MiniDFSCluster and MiniYARNCluster in one JVM) for Go tests and hands them its configuration
// directory and addresses. Without Java or Maven the test fails with a clear message, unless
// STOKE_SKIP_HADOOP=1 asks for a skip.
package hadooptest
