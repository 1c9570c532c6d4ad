// Package tokenfile reads and writes Hadoop credentials ("HDTS" token files) in both storage
// formats, and reads the dates of delegation-token identifiers.
package tokenfile

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/stoke-run/stoke/internal/hadoop/hadooppb/commonpb"
)

// Token-storage formats of Hadoop's Credentials ("HDTS" files): version 0 is the Writable
// encoding every Hadoop release reads; version 1 is a length-delimited CredentialsProto
// (Hadoop 3.x writes it by default for the container token file).
const (
	credsMagic      = "HDTS"
	credsWritable   = 0
	credsProtobuf   = 1
	maxCredsEntries = 1 << 16
	maxCredsField   = 16 << 20
)

// Credentials are the tokens and secrets an application carries: the delegation tokens the
// NodeManagers need to localize, the AMRM token the RM adds for the AM, and Stoke's secrets.
type Credentials struct {
	Tokens  []AliasedToken
	Secrets map[string][]byte
}

// AliasedToken is one token under its alias (Hadoop keys tokens by their service).
type AliasedToken struct {
	Alias string
	Token *commonpb.Token
}

// AddToken adds or replaces the token under alias.
func (c *Credentials) AddToken(alias string, t *commonpb.Token) {
	for i := range c.Tokens {
		if c.Tokens[i].Alias == alias {
			c.Tokens[i].Token = t
			return
		}
	}
	c.Tokens = append(c.Tokens, AliasedToken{alias, t})
}

// SetSecret stores a secret key.
func (c *Credentials) SetSecret(alias string, v []byte) {
	if c.Secrets == nil {
		c.Secrets = map[string][]byte{}
	}
	c.Secrets[alias] = v
}

// TokenList returns the tokens without aliases.
func (c *Credentials) TokenList() []*commonpb.Token {
	out := make([]*commonpb.Token, len(c.Tokens))
	for i, t := range c.Tokens {
		out[i] = t.Token
	}
	return out
}

// Without returns a copy without the tokens of kind (e.g. the AMRM token, which must never
// reach executor containers).
func (c *Credentials) Without(kind string) *Credentials {
	out := &Credentials{Secrets: c.Secrets}
	for _, t := range c.Tokens {
		if t.Token.GetKind() != kind {
			out.Tokens = append(out.Tokens, t)
		}
	}
	return out
}

// Marshal writes the credentials in the Writable format (version 0), which every Hadoop
// release reads.
func (c *Credentials) Marshal() []byte {
	var b bytes.Buffer
	b.WriteString(credsMagic)
	b.WriteByte(credsWritable)
	writeVLong(&b, int64(len(c.Tokens)))
	for _, t := range c.Tokens {
		writeBytes(&b, []byte(t.Alias))
		writeBytes(&b, t.Token.GetIdentifier())
		writeBytes(&b, t.Token.GetPassword())
		writeBytes(&b, []byte(t.Token.GetKind()))
		writeBytes(&b, []byte(t.Token.GetService()))
	}
	keys := make([]string, 0, len(c.Secrets))
	for k := range c.Secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	writeVLong(&b, int64(len(keys)))
	for _, k := range keys {
		writeBytes(&b, []byte(k))
		writeBytes(&b, c.Secrets[k])
	}
	return b.Bytes()
}

// MarshalProto writes the credentials in the protobuf format (version 1).
func (c *Credentials) MarshalProto() ([]byte, error) {
	m := &commonpb.Credentials{}
	for _, t := range c.Tokens {
		m.Tokens = append(m.Tokens, &commonpb.CredentialsKV{Alias: proto.String(t.Alias), Token: t.Token})
	}
	keys := make([]string, 0, len(c.Secrets))
	for k := range c.Secrets {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.Secrets = append(m.Secrets, &commonpb.CredentialsKV{Alias: proto.String(k), Secret: c.Secrets[k]})
	}
	body, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := append([]byte(credsMagic), credsProtobuf)
	out = binary.AppendUvarint(out, uint64(len(body)))
	return append(out, body...), nil
}

// Read reads a token file such as the container's HADOOP_TOKEN_FILE_LOCATION.
func Read(path string) (*Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the token file: %w", err)
	}
	c, err := Unmarshal(data)
	if err != nil {
		return nil, fmt.Errorf("token file %s: %w", path, err)
	}
	return c, nil
}

// Unmarshal decodes either token-storage format.
func Unmarshal(data []byte) (*Credentials, error) {
	if len(data) < len(credsMagic)+1 || string(data[:len(credsMagic)]) != credsMagic {
		return nil, errors.New("not a Hadoop token file: no HDTS header")
	}
	version, body := data[len(credsMagic)], data[len(credsMagic)+1:]
	switch version {
	case credsWritable:
		return unmarshalWritable(body)
	case credsProtobuf:
		n, k := binary.Uvarint(body)
		if k <= 0 || n > uint64(len(body)-k) {
			return nil, errors.New("token file (protobuf format): bad length prefix")
		}
		var m commonpb.Credentials
		if err := proto.Unmarshal(body[k:k+int(n)], &m); err != nil {
			return nil, fmt.Errorf("token file (protobuf format): %w", err)
		}
		c := &Credentials{}
		for _, kv := range m.GetTokens() {
			if kv.GetToken() == nil {
				return nil, fmt.Errorf("token file (protobuf format): alias %q has no token", kv.GetAlias())
			}
			c.Tokens = append(c.Tokens, AliasedToken{kv.GetAlias(), kv.GetToken()})
		}
		for _, kv := range m.GetSecrets() {
			c.SetSecret(kv.GetAlias(), kv.GetSecret())
		}
		return c, nil
	default:
		return nil, fmt.Errorf("token file version %d is not supported (0 and 1 are)", version)
	}
}

func unmarshalWritable(body []byte) (*Credentials, error) {
	r := bufio.NewReader(bytes.NewReader(body))
	fail := func(what string, err error) (*Credentials, error) {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("token file (writable format): %s: %w", what, err)
	}
	n, err := readVLong(r)
	if err != nil {
		return fail("token count", err)
	}
	if n < 0 || n > maxCredsEntries {
		return fail("token count", fmt.Errorf("%d out of range", n))
	}
	c := &Credentials{}
	for i := int64(0); i < n; i++ {
		var f [5][]byte
		for j, name := range []string{"alias", "identifier", "password", "kind", "service"} {
			if f[j], err = readBytes(r); err != nil {
				return fail(fmt.Sprintf("token %d %s", i, name), err)
			}
		}
		c.Tokens = append(c.Tokens, AliasedToken{string(f[0]), &commonpb.Token{
			Identifier: f[1], Password: f[2], Kind: proto.String(string(f[3])), Service: proto.String(string(f[4])),
		}})
	}
	if n, err = readVLong(r); err != nil {
		return fail("secret count", err)
	}
	if n < 0 || n > maxCredsEntries {
		return fail("secret count", fmt.Errorf("%d out of range", n))
	}
	for i := int64(0); i < n; i++ {
		k, err := readBytes(r)
		if err != nil {
			return fail(fmt.Sprintf("secret %d alias", i), err)
		}
		v, err := readBytes(r)
		if err != nil {
			return fail(fmt.Sprintf("secret %q", k), err)
		}
		c.SetSecret(string(k), v)
	}
	return c, nil
}

func writeBytes(b *bytes.Buffer, p []byte) {
	writeVLong(b, int64(len(p)))
	b.Write(p)
}

func readBytes(r *bufio.Reader) ([]byte, error) {
	n, err := readVLong(r)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > maxCredsField {
		return nil, fmt.Errorf("field length %d out of range", n)
	}
	// CopyN grows the buffer as bytes arrive, so a lying length costs no allocation.
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, n); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeVLong is Hadoop's WritableUtils.writeVLong.
func writeVLong(b *bytes.Buffer, i int64) {
	if i >= -112 && i <= 127 {
		b.WriteByte(byte(i))
		return
	}
	l := -112
	if i < 0 {
		i ^= -1
		l = -120
	}
	for tmp := i; tmp != 0; tmp >>= 8 {
		l--
	}
	b.WriteByte(byte(int8(l)))
	if l < -120 {
		l = -(l + 120)
	} else {
		l = -(l + 112)
	}
	for idx := l; idx != 0; idx-- {
		b.WriteByte(byte(i >> ((idx - 1) * 8)))
	}
}

// readVLong is Hadoop's WritableUtils.readVLong.
func readVLong(r io.ByteReader) (int64, error) {
	fb, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	first := int8(fb)
	if first >= -112 {
		return int64(first), nil
	}
	var size int
	if first < -120 {
		size = -119 - int(first)
	} else {
		size = -111 - int(first)
	}
	var i int64
	for k := 0; k < size-1; k++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		i = i<<8 | int64(b)
	}
	if first < -120 {
		return i ^ -1, nil
	}
	return i, nil
}
