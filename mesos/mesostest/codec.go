package mesostest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gogo/protobuf/proto"
)

const (
	mediaProtobuf = "application/x-protobuf"
	mediaJSON     = "application/json"
	mediaRecordIO = "application/recordio"

	headerStreamID = "Mesos-Stream-Id"

	maxBodyBytes = 16 << 20
)

// message is what the generated mesos-go types implement for both codecs.
type message interface {
	proto.Message
	json.Marshaler
	json.Unmarshaler
}

// httpError is an HTTP status with the plain-text body Mesos would send.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.code, http.StatusText(e.code), e.msg)
}

func errorf(code int, format string, args ...any) *httpError {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

func writeError(w http.ResponseWriter, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = &httpError{code: http.StatusInternalServerError, msg: err.Error()}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(he.code)
	_, _ = io.WriteString(w, he.msg)
}

// responseFormat is the negotiated encoding of a response.
type responseFormat struct {
	message  string // media type of each message
	recordio bool   // the client asked for Accept: application/recordio
}

// headers sets the Content-Type headers for a streamed response.
func (f responseFormat) headers(h http.Header) {
	if f.recordio {
		h.Set("Content-Type", mediaRecordIO)
		h.Set("Message-Content-Type", f.message)
		return
	}
	h.Set("Content-Type", f.message)
}

func mediaOf(v string) string {
	mt, _, err := mime.ParseMediaType(strings.TrimSpace(v))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(v))
	}
	return mt
}

// pickMessageType picks protobuf or JSON from an Accept-style list.
func pickMessageType(list string) (string, bool) {
	if strings.TrimSpace(list) == "" {
		return mediaJSON, true
	}
	for _, part := range strings.Split(list, ",") {
		switch mediaOf(part) {
		case mediaProtobuf:
			return mediaProtobuf, true
		case mediaJSON, "*/*", "application/*":
			return mediaJSON, true
		}
	}
	return "", false
}

// negotiate reads Accept (and Message-Accept for RecordIO) as Mesos does.
func negotiate(r *http.Request) (responseFormat, error) {
	accept := r.Header.Get("Accept")
	for _, part := range strings.Split(accept, ",") {
		if mediaOf(part) == mediaRecordIO {
			mt, ok := pickMessageType(r.Header.Get("Message-Accept"))
			if !ok {
				return responseFormat{}, errorf(http.StatusNotAcceptable, "Expecting 'Message-Accept' to allow %s or %s", mediaProtobuf, mediaJSON)
			}
			return responseFormat{message: mt, recordio: true}, nil
		}
	}
	mt, ok := pickMessageType(accept)
	if !ok {
		return responseFormat{}, errorf(http.StatusNotAcceptable, "Expecting 'Accept' to allow %s or %s or %s", mediaProtobuf, mediaJSON, mediaRecordIO)
	}
	return responseFormat{message: mt}, nil
}

// decodeBody parses a POSTed call in the request's Content-Type.
func decodeBody(r *http.Request, into message, what string) error {
	if r.Method != http.MethodPost {
		return errorf(http.StatusMethodNotAllowed, "Expecting a 'POST' request, received '%s'", r.Method)
	}
	ct := mediaOf(r.Header.Get("Content-Type"))
	if ct != mediaProtobuf && ct != mediaJSON {
		return errorf(http.StatusUnsupportedMediaType, "Expecting 'Content-Type' of %s or %s, got %q", mediaJSON, mediaProtobuf, r.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes+1))
	if err != nil {
		return errorf(http.StatusBadRequest, "Failed to read request body: %v", err)
	}
	if len(body) > maxBodyBytes {
		return errorf(http.StatusRequestEntityTooLarge, "Request body exceeds %d bytes", maxBodyBytes)
	}
	if ct == mediaProtobuf {
		err = proto.Unmarshal(body, into)
	} else {
		err = json.Unmarshal(body, into)
	}
	if err != nil {
		return errorf(http.StatusBadRequest, "Failed to parse body into %s %s: %v", what, map[bool]string{true: "protobuf", false: "JSON"}[ct == mediaProtobuf], err)
	}
	return nil
}

// encode renders one message in the given media type.
func encode(media string, m message) ([]byte, error) {
	if media == mediaProtobuf {
		return proto.Marshal(m)
	}
	return json.Marshal(m)
}
