package recordio

import (
	"io"
	"strconv"
)

// Writer writes records to a RecordIO stream.
type Writer struct{ w io.Writer }

// NewWriter returns a Writer on w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteRecord writes one record with its length header in a single Write.
func (w *Writer) WriteRecord(rec []byte) error {
	_, err := w.w.Write(Frame(rec))
	return err
}

// Frame returns rec framed as one RecordIO record.
func Frame(rec []byte) []byte {
	out := make([]byte, 0, len(rec)+maxHeader+1)
	out = strconv.AppendInt(out, int64(len(rec)), 10)
	out = append(out, '\n')
	return append(out, rec...)
}
