package krb

import (
	"crypto/hmac"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/jcmturner/gokrb5/v8/crypto"
	"github.com/jcmturner/gokrb5/v8/crypto/etype"
	"github.com/jcmturner/gokrb5/v8/types"
)

// RFC 4121 per-message tokens: the Wrap token (TOK_ID 05 04) with and
// without confidentiality. gokrb5 only has the integrity-only form.
const (
	wrapHeaderLen = 16

	flagSentByAcceptor = 0x01
	flagSealed         = 0x02
	flagAcceptorSubkey = 0x04

	// Key usages (RFC 4121 §2): Wrap tokens use the SEAL usages whether or
	// not they are sealed; the SIGN usages belong to MIC tokens.
	usageAcceptorSeal  = 22
	usageInitiatorSeal = 24
)

// ErrBadToken is wrapped by every wrap-token decoding failure.
var ErrBadToken = errors.New("kerberos: malformed or forged GSS wrap token")

// gssContext is an established Kerberos GSS context on one side.
type gssContext struct {
	key            types.EncryptionKey
	et             etype.EType
	initiator      bool
	acceptorSubkey bool // the key is the acceptor's subkey (flag 0x04 on every token)

	mu      sync.Mutex
	sendSeq uint64
	recv    replayWindow
}

// replayWindowSize is how far behind the newest sequence number a token may
// arrive. Hadoop servers wrap responses from several handler threads and
// queue them afterwards, so tokens can arrive out of order (Java's GSS-API
// reports that as supplementary status, not an error); a token seen before,
// or older than the window, is a replay and refused.
const replayWindowSize = 4096

// replayWindow remembers which of the last replayWindowSize sequence
// numbers of the peer arrived: a ring of bits, bit seq%size for seq.
type replayWindow struct {
	started bool
	highest uint64
	bits    [replayWindowSize / 64]uint64
}

func (w *replayWindow) bit(seq uint64) (word int, mask uint64) {
	i := seq % replayWindowSize
	return int(i / 64), 1 << (i % 64)
}

// check reports whether seq is new; record adds it once the token proved
// genuine (a forged token must not use up a number).
func (w *replayWindow) check(seq uint64) error {
	if !w.started || seq > w.highest {
		return nil
	}
	if w.highest-seq >= replayWindowSize {
		return fmt.Errorf("%w: sequence number %d too old (newest %d)", ErrBadToken, seq, w.highest)
	}
	if i, m := w.bit(seq); w.bits[i]&m != 0 {
		return fmt.Errorf("%w: sequence number %d replayed", ErrBadToken, seq)
	}
	return nil
}

func (w *replayWindow) record(seq uint64) {
	switch {
	case !w.started || seq-w.highest >= replayWindowSize && seq > w.highest:
		w.bits = [replayWindowSize / 64]uint64{}
		w.started, w.highest = true, seq
	case seq > w.highest:
		// The numbers the window slides over are not seen yet.
		for s := w.highest + 1; s < seq; s++ {
			i, m := w.bit(s)
			w.bits[i] &^= m
		}
		w.highest = seq
	}
	i, m := w.bit(seq)
	w.bits[i] |= m
}

func newGSSContext(key types.EncryptionKey, initiator, acceptorSubkey bool, seq uint64) (*gssContext, error) {
	et, err := crypto.GetEtype(key.KeyType)
	if err != nil {
		return nil, fmt.Errorf("kerberos: encryption type %d: %w", key.KeyType, err)
	}
	return &gssContext{key: key, et: et, initiator: initiator, acceptorSubkey: acceptorSubkey, sendSeq: seq}, nil
}

func (c *gssContext) usage(sending bool) uint32 {
	if c.initiator == sending {
		return usageInitiatorSeal
	}
	return usageAcceptorSeal
}

// Wrap protects msg: sealed (encrypted and integrity-protected) when conf,
// signed otherwise.
func (c *gssContext) Wrap(msg []byte, conf bool) ([]byte, error) {
	c.mu.Lock()
	seq := c.sendSeq
	c.sendSeq++
	c.mu.Unlock()
	var flags byte
	if !c.initiator {
		flags |= flagSentByAcceptor
	}
	if c.acceptorSubkey {
		flags |= flagAcceptorSubkey
	}
	seal := c.usage(true)
	hdr := make([]byte, wrapHeaderLen)
	hdr[0], hdr[1], hdr[3] = 0x05, 0x04, 0xFF
	binary.BigEndian.PutUint64(hdr[8:], seq)
	if conf {
		hdr[2] = flags | flagSealed
		// EC = 0 filler octets; the encrypted copy of the header has RRC 0.
		plain := make([]byte, 0, len(msg)+wrapHeaderLen)
		plain = append(append(plain, msg...), hdr...)
		_, ct, err := c.et.EncryptMessage(c.key.KeyValue, plain, seal)
		if err != nil {
			return nil, fmt.Errorf("kerberos: sealing a wrap token: %w", err)
		}
		return append(hdr, ct...), nil
	}
	hdr[2] = flags
	sum, err := c.checksum(msg, hdr[2], seq, seal)
	if err != nil {
		return nil, err
	}
	binary.BigEndian.PutUint16(hdr[4:6], uint16(len(sum)))
	out := make([]byte, 0, wrapHeaderLen+len(msg)+len(sum))
	return append(append(append(out, hdr...), msg...), sum...), nil
}

// checksum is the integrity-only token's checksum over the message and the
// header with EC and RRC zero.
func (c *gssContext) checksum(msg []byte, flags byte, seq uint64, usage uint32) ([]byte, error) {
	h := make([]byte, wrapHeaderLen)
	h[0], h[1], h[2], h[3] = 0x05, 0x04, flags, 0xFF
	binary.BigEndian.PutUint64(h[8:], seq)
	data := make([]byte, 0, len(msg)+wrapHeaderLen)
	data = append(append(data, msg...), h...)
	sum, err := c.et.GetChecksumHash(c.key.KeyValue, data, usage)
	if err != nil {
		return nil, fmt.Errorf("kerberos: wrap token checksum: %w", err)
	}
	if n := c.et.GetHMACBitLength() / 8; n > 0 && n < len(sum) {
		sum = sum[:n]
	}
	return sum, nil
}

// Unwrap checks a token from the peer and returns its message and whether
// it was sealed. Each token is accepted once (see replayWindowSize).
func (c *gssContext) Unwrap(tok []byte) ([]byte, bool, error) {
	msg, sealed, seq, err := c.unwrap(tok)
	if err != nil {
		return nil, sealed, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.recv.check(seq); err != nil {
		return nil, sealed, err
	}
	c.recv.record(seq)
	return msg, sealed, nil
}

func (c *gssContext) unwrap(tok []byte) (msg []byte, sealed bool, seq uint64, err error) {
	msg, sealed, err = c.unwrapToken(tok)
	if len(tok) >= wrapHeaderLen {
		seq = binary.BigEndian.Uint64(tok[8:16])
	}
	return msg, sealed, seq, err
}

func (c *gssContext) unwrapToken(tok []byte) ([]byte, bool, error) {
	if len(tok) < wrapHeaderLen {
		return nil, false, fmt.Errorf("%w: %d bytes, shorter than the 16-byte header", ErrBadToken, len(tok))
	}
	if tok[0] != 0x05 || tok[1] != 0x04 {
		return nil, false, fmt.Errorf("%w: token id %02x %02x, want 05 04", ErrBadToken, tok[0], tok[1])
	}
	if tok[3] != 0xFF {
		return nil, false, fmt.Errorf("%w: filler %02x, want ff", ErrBadToken, tok[3])
	}
	flags := tok[2]
	if fromAcceptor := flags&flagSentByAcceptor != 0; fromAcceptor != c.initiator {
		return nil, false, fmt.Errorf("%w: the sent-by-acceptor flag is wrong for this direction (a reflected token?)", ErrBadToken)
	}
	if c.acceptorSubkey && flags&flagAcceptorSubkey == 0 {
		return nil, false, fmt.Errorf("%w: the acceptor-subkey flag is missing", ErrBadToken)
	}
	ec := int(binary.BigEndian.Uint16(tok[4:6]))
	rrc := int(binary.BigEndian.Uint16(tok[6:8]))
	seq := binary.BigEndian.Uint64(tok[8:16])
	body := append([]byte(nil), tok[wrapHeaderLen:]...)
	if len(body) > 0 && rrc%len(body) != 0 {
		// The sender rotated the body right by RRC octets: rotate it back.
		r := rrc % len(body)
		body = append(body[r:], body[:r]...)
	}
	seal := c.usage(false)
	if flags&flagSealed != 0 {
		if min := c.et.GetConfounderByteSize() + c.et.GetHMACBitLength()/8 + wrapHeaderLen; len(body) < min {
			return nil, true, fmt.Errorf("%w: sealed body of %d bytes, shorter than its confounder, header copy and checksum (%d)", ErrBadToken, len(body), min)
		}
		plain, err := c.decrypt(body, seal)
		if err != nil {
			return nil, true, fmt.Errorf("%w: %v", ErrBadToken, err)
		}
		if len(plain) < wrapHeaderLen+ec {
			return nil, true, fmt.Errorf("%w: sealed body too short for its filler and header", ErrBadToken)
		}
		inner := plain[len(plain)-wrapHeaderLen:]
		if inner[0] != 0x05 || inner[1] != 0x04 || inner[2] != flags || inner[3] != 0xFF ||
			int(binary.BigEndian.Uint16(inner[4:6])) != ec || binary.BigEndian.Uint64(inner[8:16]) != seq {
			return nil, true, fmt.Errorf("%w: the encrypted header does not match the token's", ErrBadToken)
		}
		return plain[:len(plain)-wrapHeaderLen-ec], true, nil
	}
	if ec > len(body) {
		return nil, false, fmt.Errorf("%w: checksum length %d longer than the token body", ErrBadToken, ec)
	}
	msg, got := body[:len(body)-ec], body[len(body)-ec:]
	want, err := c.checksum(msg, flags, seq, seal)
	if err != nil {
		return nil, false, err
	}
	if !hmac.Equal(got, want) {
		return nil, false, fmt.Errorf("%w: checksum mismatch", ErrBadToken)
	}
	return msg, false, nil
}

// decrypt is the etype's decryption, which panics on some malformed input:
// a panic becomes ErrBadToken.
func (c *gssContext) decrypt(body []byte, usage uint32) (plain []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			plain, err = nil, fmt.Errorf("%w: decryption failed: %v", ErrBadToken, r)
		}
	}()
	return c.et.DecryptMessage(c.key.KeyValue, body, usage)
}
