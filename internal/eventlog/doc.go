// Package eventlog writes an application's events as JSON lines, one
// {"Event":"<kind>", ...} object per line, and reads such a log back into
// typed events. A log is named <appID>.jsonl.inprogress while the
// application runs and renamed to <appID>.jsonl when it ends.
package eventlog
