package conf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Environment variables and file names the configuration is found through.
const (
	ConfDirEnv         = "STOKE_CONF_DIR"      // directory holding PropertiesFileName
	PropertiesFileName = "stoke-defaults.conf" // the default properties file
)

// DefaultPropertiesPath returns $STOKE_CONF_DIR/stoke-defaults.conf, or ""
// when STOKE_CONF_DIR is unset or empty.
func DefaultPropertiesPath() string {
	dir := os.Getenv(ConfDirEnv)
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, PropertiesFileName)
}

// LoadProperties reads a properties file in the stoke-defaults.conf format:
// one "key value" per line, the key separated from the value by whitespace,
// '=' or ':' (a simplified Java properties file); lines starting with '#' or
// '!' are comments; blank lines are skipped. Values are trimmed. A key with
// no value is an error naming the file and the line. Entries come back in
// file order with SourcePropertiesFile; a key given twice appears twice, and
// the later line wins when the entries are applied in order.
func LoadProperties(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading properties file: %w", err)
	}
	text := strings.TrimPrefix(string(data), "\uFEFF")
	var out []Entry
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		key, value, err := splitProperty(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, i+1, err)
		}
		out = append(out, Entry{Key: key, Value: value, Source: SourcePropertiesFile})
	}
	return out, nil
}

func splitProperty(line string) (key, value string, err error) {
	end := strings.IndexAny(line, " \t\f=:")
	if end < 0 {
		return "", "", fmt.Errorf("key %q has no value (write \"key value\")", line)
	}
	if end == 0 {
		return "", "", fmt.Errorf("line starts with %q: missing key before the value", line[0])
	}
	key = line[:end]
	rest := strings.TrimLeft(line[end:], " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	value = strings.TrimSpace(rest)
	if value == "" {
		return "", "", fmt.Errorf("key %q has no value (write \"key value\")", key)
	}
	return key, value, nil
}

// ReadPropertiesFile loads the properties file a run uses: explicit if not
// empty (a missing file is then an error), else DefaultPropertiesPath() if
// that file exists (a missing default file is not an error). It returns the
// entries and the path actually read ("" if none).
func ReadPropertiesFile(explicit string) (entries []Entry, path string, err error) {
	path = explicit
	if path == "" {
		path = DefaultPropertiesPath()
		if path == "" {
			return nil, "", nil
		}
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, "", nil
		}
	}
	entries, err = LoadProperties(path)
	if err != nil {
		return nil, "", err
	}
	return entries, path, nil
}
