package mesostest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
)

// newUUID returns 16 random bytes, the form Mesos uses for status update
// uuids.
func newUUID() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return b
}

// uuidString formats a uuid in the canonical 8-4-4-4-12 form.
func uuidString(b []byte) string {
	if len(b) != 16 {
		return hex.EncodeToString(b)
	}
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
