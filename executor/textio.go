package executor

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stoke-run/stoke/internal/fsx"
	"github.com/stoke-run/stoke/internal/registry"
	pb "github.com/stoke-run/stoke/internal/rpc/stokepb"
)

// readCompressedLines gives every line of a compressed file. A compressed
// file cannot be split (a stream has no place to start reading in the
// middle), so TextFile plans it as one split from offset 0; its length is
// the file's, and the whole stream is read whatever it says. A truncated or
// corrupt stream is an error, never a silently short input.
func readCompressedLines(codec string, sp *pb.TextSplit, f io.Reader, fn func(string) bool) error {
	if sp.Start != 0 {
		return fmt.Errorf("%s-compressed input cannot be read from offset %d: a compressed file is read whole, as one split starting at 0", codec, sp.Start)
	}
	zr, err := fsx.NewDecompressor(codec, bufio.NewReaderSize(f, 64<<10))
	if errors.Is(err, io.EOF) {
		return nil // an empty file holds no lines
	} else if err != nil {
		return fmt.Errorf("not valid %s data: %w", codec, err)
	}
	defer zr.Close()
	r := bufio.NewReaderSize(zr, 64<<10)
	for {
		line, err := r.ReadString('\n')
		if len(line) > 0 {
			if !fn(strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")) {
				return nil
			}
		}
		if err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("corrupt or truncated %s data: %w", codec, err)
		}
	}
}

// writeLines writes one line per record (fmt.Sprint) to w, compressed with
// codec ("" for plain text), and returns the number of text bytes. It does
// not close w.
func writeLines(w io.Writer, codec string, typ *registry.Type, records any) (int64, error) {
	file := bufio.NewWriterSize(w, 64<<10)
	zw, err := fsx.NewCompressor(codec, file)
	if err != nil {
		return 0, err
	}
	lines := file
	if codec != "" {
		// Whole blocks into the compressor, not one line at a time.
		lines = bufio.NewWriterSize(zw, 64<<10)
	}
	size, err := typ.WriteText(records, lines)
	if err != nil {
		return size, err
	}
	if err := lines.Flush(); err != nil {
		return size, err
	}
	if err := zw.Close(); err != nil {
		return size, err
	}
	return size, file.Flush()
}
