package tokenfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

// DelegationTokenTimes reads the issue and maximum dates of an HDFS (or other
// AbstractDelegationTokenIdentifier) token: version byte, owner, renewer and real
// user as Text, then issueDate and maxDate as VLongs (ms since the epoch).
func DelegationTokenTimes(t *commonpb.Token) (issue, max time.Time, err error) {
	r := bufio.NewReader(bytes.NewReader(t.GetIdentifier()))
	if _, err := r.ReadByte(); err != nil {
		return issue, max, fmt.Errorf("delegation token identifier: %w", io.ErrUnexpectedEOF)
	}
	for _, f := range []string{"owner", "renewer", "real user"} {
		if _, err := readBytes(r); err != nil {
			return issue, max, fmt.Errorf("delegation token identifier %s: %w", f, err)
		}
	}
	i, err := readVLong(r)
	if err != nil {
		return issue, max, fmt.Errorf("delegation token identifier issue date: %w", err)
	}
	m, err := readVLong(r)
	if err != nil {
		return issue, max, fmt.Errorf("delegation token identifier max date: %w", err)
	}
	if m < i {
		return issue, max, fmt.Errorf("delegation token identifier: max date %d before issue date %d", m, i)
	}
	return time.UnixMilli(i), time.UnixMilli(m), nil
}
