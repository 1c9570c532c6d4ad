package stoke

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/stoke-run/stoke/driver"
	"github.com/stoke-run/stoke/internal/fsx"
)

// saveMarker is written into an output directory when a save starts and
// removed when it ends (after _SUCCESS, or with everything written when it
// fails). A directory holding it without _SUCCESS is an unfinished Stoke
// save (its driver died), which a later save may clean and reuse.
const saveMarker = "_STOKE_SAVE_IN_PROGRESS"

// partFile matches the part files a save writes, plain or compressed.
var partFile = regexp.MustCompile(`^part-[0-9]{5,}(\.gz|\.zst)?$`)

// outputCodecKey is the configured codec of SaveAsTextFile's part files.
const outputCodecKey = "stoke.output.compression.codec"

// outputCodec is the canonical codec of a save: stoke.Compress's, else the
// configured default ("" for plain text).
func outputCodec(sc *Context, o driver.JobOptions) (string, error) {
	name, from := o.OutputCodec, "stoke.Compress"
	if name == "" {
		name, from = sc.d.Conf().String(outputCodecKey), outputCodecKey
	}
	codec, err := fsx.ParseCodec(name)
	if err != nil {
		return "", fmt.Errorf("%s: %w", from, err)
	}
	return codec, nil
}

// prepareOutput makes dir ready for a save: a missing directory is created;
// one that holds only an unfinished Stoke save (the marker, part files and
// _temporary, no _SUCCESS) is emptied and reused; anything else is refused.
// It reports whether an unfinished save was cleaned, and writes the marker.
func prepareOutput(fsys fsx.FS, dir, owner string) (reused bool, err error) {
	if st, err := fsys.Stat(dir); err == nil {
		if !st.IsDir {
			return false, fmt.Errorf("SaveAsTextFile: output path %s already exists and is a file", dir)
		}
		entries, err := fsys.ListAll(dir)
		if err != nil {
			return false, fmt.Errorf("SaveAsTextFile: output directory %s already exists and cannot be listed: %w", dir, err)
		}
		if err := unfinishedSave(dir, entries); err != nil {
			return false, err
		}
		if err := removeSaveFiles(fsys, entries); err != nil {
			return false, fmt.Errorf("SaveAsTextFile: cleaning the unfinished save in %s: %w", dir, err)
		}
		reused = true
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, fmt.Errorf("SaveAsTextFile: output directory %s: %w", dir, err)
	} else if err := fsys.MkdirAll(dir); err != nil {
		return false, fmt.Errorf("SaveAsTextFile: creating %s: %w", dir, err)
	}
	w, err := fsys.Create(fsys.Join(dir, saveMarker))
	if err == nil {
		_, err = io.WriteString(w, fmt.Sprintf("Stoke save in progress: %s, started %s\n", owner, time.Now().UTC().Format(time.RFC3339)))
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return reused, fmt.Errorf("SaveAsTextFile: writing %s in %s: %w", saveMarker, dir, err)
	}
	return reused, nil
}

// unfinishedSave says why an existing directory may not be reused (nil if
// it holds only an unfinished Stoke save).
func unfinishedSave(dir string, entries []fsx.FileInfo) error {
	marker := false
	var foreign []string
	for _, e := range entries {
		name := path.Base(e.Path)
		switch {
		case name == "_SUCCESS":
			return fmt.Errorf("SaveAsTextFile: output directory %s already exists and holds a finished save (_SUCCESS); remove it or choose another path", dir)
		case name == saveMarker && !e.IsDir:
			marker = true
		case name == "_temporary" && e.IsDir, partFile.MatchString(name) && !e.IsDir:
		default:
			foreign = append(foreign, name)
		}
	}
	if !marker {
		return fmt.Errorf("SaveAsTextFile: output directory %s already exists; remove it or choose another path", dir)
	}
	if len(foreign) > 0 {
		if len(foreign) > 3 {
			foreign = append(foreign[:3], "...")
		}
		return fmt.Errorf("SaveAsTextFile: output directory %s already exists and holds files an unfinished Stoke save did not write (%s); remove it or choose another path", dir, strings.Join(foreign, ", "))
	}
	return nil
}

// removeSaveFiles removes the part files, _temporary and the marker among
// entries, nothing else.
func removeSaveFiles(fsys fsx.FS, entries []fsx.FileInfo) error {
	var errs []error
	for _, e := range entries {
		name := path.Base(e.Path)
		if name == "_temporary" || name == saveMarker || partFile.MatchString(name) {
			if err := fsys.RemoveAll(e.Path); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// abortOutput undoes a failed save (Hadoop's abortJob): its part files,
// _temporary and the marker go, and the directory too once empty, so no
// part file is left without _SUCCESS. If that fails the marker stays, and
// the next save into dir cleans up.
func abortOutput(fsys fsx.FS, dir string) error {
	entries, err := fsys.ListAll(dir)
	if err != nil {
		return err
	}
	var rest []fsx.FileInfo
	for _, e := range entries {
		if name := path.Base(e.Path); name != saveMarker {
			rest = append(rest, e)
		}
	}
	if err := removeSaveFiles(fsys, rest); err != nil {
		return err
	}
	if err := fsys.RemoveAll(fsys.Join(dir, saveMarker)); err != nil {
		return err
	}
	if left, err := fsys.ListAll(dir); err == nil && len(left) == 0 {
		return fsys.RemoveAll(dir)
	}
	return nil
}

// tokenSafe keeps the characters executors accept in a job token (it names
// a directory) and replaces the others with '_'.
func tokenSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, s)
}
