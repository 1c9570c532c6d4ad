package mesos

import (
	"io"
	"mime/multipart"
)

// multipartWriter streams a submission without holding the binary in memory.
type multipartWriter struct{ w *multipart.Writer }

func newMultipart(w io.Writer) *multipartWriter { return &multipartWriter{multipart.NewWriter(w)} }

func (m *multipartWriter) field(name string, v []byte) error {
	fw, err := m.w.CreateFormField(name)
	if err != nil {
		return err
	}
	_, err = fw.Write(v)
	return err
}

func (m *multipartWriter) file(name, filename string, r io.Reader) error {
	fw, err := m.w.CreateFormFile(name, filename)
	if err != nil {
		return err
	}
	_, err = io.Copy(fw, r)
	return err
}

func (m *multipartWriter) close() error        { return m.w.Close() }
func (m *multipartWriter) contentType() string { return m.w.FormDataContentType() }
