// Package aggrlog reads the container logs a YARN NodeManager aggregated to
// the remote log directory when an application ended, in both formats
// Hadoop writes:
//
//   - TFile (LogAggregationTFileController, the default): one TFile per
//     NodeManager, a BCFile container (data blocks, then the meta blocks
//     "TFile.meta", "TFile.index" and "BCFile.index", the meta index and a
//     trailer of the meta index offset, version 1.0 and a 16-byte magic).
//     Each key is a container id written with Java's writeUTF (or one of
//     the reserved keys VERSION, APPLICATION_ACL, APPLICATION_OWNER); each
//     value is a chunk-encoded stream of (file name, length as a decimal
//     string, bytes) per log file.
//   - IFile (LogAggregationIndexedFileController, "IndexedFormat"): the
//     SHA-256 of the application id, the log files one after another (each
//     compressed on its own), then a Java-serialized index, its length as a
//     4-byte integer and the SHA-256 again.
//
// Blocks are compressed with yarn.nodemanager.log-aggregation.compression-
// type: "none" (the default) or "gz" (zlib streams) are read; "lzo" is
// refused with an error.
//
// Every length and offset read from a file is checked against the file's
// size before it is used: a truncated or damaged file gives an error, never
// a panic or an allocation larger than the file.
package aggrlog
