// Package yarn runs Stoke applications on Hadoop YARN: the submitting client
// (staging on HDFS, ApplicationClientProtocol), the application master
// (ApplicationMasterProtocol, executor containers through
// ContainerManagementProtocol) and the driver-side backend. Client and cluster
// deploy modes share one AM: in cluster mode the AM runs the driver as its
// child process and reports the driver's exit as the final status.
package yarn
