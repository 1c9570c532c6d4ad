package eventlog

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/stoke-run/stoke/internal/events"
)

// TaskStart and TaskEnd are nearly all of a log's lines, so they are encoded
// by hand (about 5x faster than encoding/json); the output is byte for byte
// what encoding/json produces (TestFastEncodingMatchesJSON). Other kinds go
// through encoding/json.

// appendFast appends the line of e and reports whether it knew the kind.
func appendFast(dst []byte, e events.Event) ([]byte, bool) {
	switch e := e.(type) {
	case events.TaskStart:
		if plainTime(e.Time) {
			return appendTaskStart(dst, &e), true
		}
	case events.TaskEnd:
		if plainTime(e.Time) {
			return appendTaskEnd(dst, &e), true
		}
	}
	return dst, false
}

// plainTime reports whether t is one time.Time.MarshalJSON encodes (rather
// than rejects): a four-digit year and a zone offset under 24 hours.
func plainTime(t time.Time) bool {
	_, off := t.Zone()
	y := t.Year()
	return y >= 0 && y <= 9999 && off > -24*3600 && off < 24*3600
}

func appendTaskStart(b []byte, e *events.TaskStart) []byte {
	b = append(b, `{"Event":"TaskStart","stageId":`...)
	b = strconv.AppendInt(b, int64(e.StageID), 10)
	b = append(b, `,"stageAttempt":`...)
	b = strconv.AppendInt(b, int64(e.StageAttempt), 10)
	b = append(b, `,"taskId":`...)
	b = strconv.AppendInt(b, e.TaskID, 10)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(e.Index), 10)
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(e.Partition), 10)
	b = append(b, `,"attempt":`...)
	b = strconv.AppendInt(b, int64(e.Attempt), 10)
	b = append(b, `,"executorId":`...)
	b = appendString(b, e.ExecutorID)
	b = append(b, `,"host":`...)
	b = appendString(b, e.Host)
	b = append(b, `,"locality":`...)
	b = appendString(b, e.Locality)
	b = append(b, `,"speculative":`...)
	b = strconv.AppendBool(b, e.Speculative)
	b = append(b, `,"time":`...)
	b = appendTime(b, e.Time)
	return append(b, "}\n"...)
}

func appendTaskEnd(b []byte, e *events.TaskEnd) []byte {
	b = append(b, `{"Event":"TaskEnd","stageId":`...)
	b = strconv.AppendInt(b, int64(e.StageID), 10)
	b = append(b, `,"stageAttempt":`...)
	b = strconv.AppendInt(b, int64(e.StageAttempt), 10)
	b = append(b, `,"taskId":`...)
	b = strconv.AppendInt(b, e.TaskID, 10)
	b = append(b, `,"index":`...)
	b = strconv.AppendInt(b, int64(e.Index), 10)
	b = append(b, `,"executorId":`...)
	b = appendString(b, e.ExecutorID)
	b = append(b, `,"status":`...)
	b = appendString(b, e.Status)
	if e.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendString(b, e.Reason)
	}
	b = append(b, `,"durationNs":`...)
	b = strconv.AppendInt(b, int64(e.Duration), 10)
	b = append(b, `,"resultBytes":`...)
	b = strconv.AppendInt(b, e.ResultBytes, 10)
	b = append(b, `,"recordsIn":`...)
	b = strconv.AppendInt(b, e.RecordsIn, 10)
	b = append(b, `,"recordsOut":`...)
	b = strconv.AppendInt(b, e.RecordsOut, 10)
	b = append(b, `,"shuffleWriteBytes":`...)
	b = strconv.AppendInt(b, e.ShuffleWrite, 10)
	b = append(b, `,"shuffleReadBytes":`...)
	b = strconv.AppendInt(b, e.ShuffleRead, 10)
	b = append(b, `,"time":`...)
	b = appendTime(b, e.Time)
	return append(b, "}\n"...)
}

// appendTime matches time.Time's MarshalJSON for years 0-9999 (the only
// ones it accepts).
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does with HTML escaping on:
// control characters, <, >, & and U+2028/U+2029 as \u escapes, invalid
// UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
