package eventlog

import (
	"bytes"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/stoke-run/stoke/internal/events"
)

// text draws strings that exercise every escaping rule.
func text() *rapid.Generator[string] {
	return rapid.OneOf(
		rapid.String(),
		rapid.SampledFrom([]string{"", "h1", "<&>", "a\"b\\c", "\x00\x1f\x7f", "\u2028\u2029", "\xff\xfe", "é日本", "\t\n\r\b\f"}),
		rapid.StringOf(rapid.SampledFrom([]rune{0, 1, 0x1f, ' ', '"', '\\', '<', '>', '&', 'a', 0x7f, 0x80, 0x2028, 0x2029, 0xfffd, 0x10ffff, 0xe9})),
	)
}

func anyTime() *rapid.Generator[time.Time] {
	return rapid.Custom(func(t *rapid.T) time.Time {
		if rapid.Bool().Draw(t, "zero") {
			return time.Time{}
		}
		sec := rapid.Int64Range(-70_000_000_000, 300_000_000_000).Draw(t, "sec")
		ns := rapid.Int64Range(0, 999_999_999).Draw(t, "ns")
		off := rapid.IntRange(-24*3600, 24*3600).Draw(t, "off")
		if rapid.Bool().Draw(t, "wholeMinutes") {
			off -= off % 60
		}
		return time.Unix(sec, ns).In(time.FixedZone("z", off))
	})
}

func TestFastEncodingMatchesJSON(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var e events.Event
		if rapid.Bool().Draw(t, "start") {
			e = events.TaskStart{
				StageID: rapid.Int().Draw(t, "stage"), StageAttempt: rapid.Int().Draw(t, "sa"),
				TaskID: rapid.Int64().Draw(t, "task"), Index: rapid.Int().Draw(t, "index"),
				Partition: rapid.Int().Draw(t, "part"), Attempt: rapid.Int().Draw(t, "attempt"),
				ExecutorID: text().Draw(t, "exec"), Host: text().Draw(t, "host"), Locality: text().Draw(t, "loc"),
				Speculative: rapid.Bool().Draw(t, "spec"), Time: anyTime().Draw(t, "time"),
			}
		} else {
			e = events.TaskEnd{
				StageID: rapid.Int().Draw(t, "stage"), StageAttempt: rapid.Int().Draw(t, "sa"),
				TaskID: rapid.Int64().Draw(t, "task"), Index: rapid.Int().Draw(t, "index"),
				ExecutorID: text().Draw(t, "exec"), Status: text().Draw(t, "status"), Reason: text().Draw(t, "reason"),
				Duration:    time.Duration(rapid.Int64().Draw(t, "dur")),
				ResultBytes: rapid.Int64().Draw(t, "rb"), RecordsIn: rapid.Int64().Draw(t, "ri"), RecordsOut: rapid.Int64().Draw(t, "ro"),
				ShuffleWrite: rapid.Int64().Draw(t, "sw"), ShuffleRead: rapid.Int64().Draw(t, "sr"),
				Time: anyTime().Draw(t, "time"),
			}
		}
		slow, slowErr := appendLine(nil, e)
		fast, ok := appendFast(nil, e)
		if !ok {
			if slowErr == nil {
				t.Fatalf("fast path declined an encodable event %#v", e)
			}
			return
		}
		if slowErr != nil {
			t.Fatalf("fast path encoded what encoding/json rejects (%v): %s", slowErr, fast)
		}
		if !bytes.Equal(fast, slow) {
			t.Fatalf("fast %s\njson %s", fast, slow)
		}
	})
}
