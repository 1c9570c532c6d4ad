// Package recordio reads and writes the RecordIO framing used by the Mesos v1
// HTTP APIs: each record is its length in decimal ASCII, a line feed, then
// exactly that many bytes. The reader rejects malformed or oversized frames
// with errors that name the byte offset and what was wrong.
package recordio
