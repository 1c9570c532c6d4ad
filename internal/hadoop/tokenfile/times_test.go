package tokenfile

import (
	"bytes"
	"testing"
	"time"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

func TestDelegationTokenTimes(t *testing.T) {
	issue, max := int64(1795498627526), int64(1795498627526+7*24*3600*1000)
	var b bytes.Buffer
	b.WriteByte(0)
	for _, s := range []string{"alice", "hadoop", ""} {
		writeBytes(&b, []byte(s))
	}
	writeVLong(&b, issue)
	writeVLong(&b, max)
	writeVLong(&b, 7)
	writeVLong(&b, 3)
	i, m, err := DelegationTokenTimes(&commonpb.Token{Identifier: b.Bytes()})
	if err != nil || !i.Equal(time.UnixMilli(issue)) || !m.Equal(time.UnixMilli(max)) {
		t.Fatalf("times %v %v %v", i, m, err)
	}
	for _, bad := range [][]byte{nil, {0}, b.Bytes()[:12], {0, 0, 0, 0, 0x8c, 0x7f, 0xff}} {
		if _, _, err := DelegationTokenTimes(&commonpb.Token{Identifier: bad}); err == nil {
			t.Errorf("identifier % x: no error", bad)
		}
	}
}
