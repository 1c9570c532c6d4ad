package conf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// SubmitConfEnv is the environment variable through which `stoke submit`
// hands the resolved configuration to the application it starts.
const SubmitConfEnv = "STOKE_SUBMIT_CONF"

// EncodeSubmit encodes entries, with their sources, for SubmitConfEnv: a
// JSON array of {"key", "value", "source"} objects.
func EncodeSubmit(entries []Entry) string {
	if entries == nil {
		entries = []Entry{}
	}
	b, err := json.Marshal(entries)
	if err != nil { // cannot happen: only strings inside
		panic(err)
	}
	return string(b)
}

// DecodeSubmit decodes the value of SubmitConfEnv written by EncodeSubmit.
func DecodeSubmit(s string) ([]Entry, error) {
	const want = `expected a JSON array of {"key", "value", "source"} objects as written by stoke submit`
	if strings.TrimSpace(s) == "" || strings.TrimSpace(s) == "null" {
		return nil, fmt.Errorf("malformed %s: empty; %s", SubmitConfEnv, want)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	var entries []Entry
	if err := dec.Decode(&entries); err != nil {
		return nil, fmt.Errorf("malformed %s: %v; %s", SubmitConfEnv, err, want)
	}
	if dec.More() {
		return nil, fmt.Errorf("malformed %s: data after the JSON array; %s", SubmitConfEnv, want)
	}
	for i, e := range entries {
		if e.Key == "" {
			return nil, fmt.Errorf("malformed %s: entry %d has an empty key", SubmitConfEnv, i)
		}
		if !e.Source.known() {
			return nil, fmt.Errorf("malformed %s: entry %d (%s) has unknown source %q", SubmitConfEnv, i, e.Key, e.Source)
		}
	}
	return entries, nil
}

// Resolve builds the configuration of an application process. It starts
// from $STOKE_SUBMIT_CONF when the process was started by `stoke submit`
// (that already holds the properties file, --conf and the submit flags),
// else from the properties file at DefaultPropertiesPath() if it exists;
// then it applies code (SourceCode, highest precedence) and validates.
//
// When started by `stoke submit`, warnings about keys that came from it are
// left out: submit already printed them.
func Resolve(code map[string]string) (*Conf, []string, error) {
	c := New()
	fromSubmit := false
	if s := os.Getenv(SubmitConfEnv); s != "" { // set but empty counts as unset
		entries, err := DecodeSubmit(s)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range entries {
			c.Set(e.Key, e.Value, e.Source)
		}
		fromSubmit = true
	} else {
		entries, _, err := ReadPropertiesFile("")
		if err != nil {
			return nil, nil, err
		}
		for _, e := range entries {
			c.Set(e.Key, e.Value, e.Source)
		}
	}
	keys := make([]string, 0, len(code))
	for k := range code {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c.Set(k, code[k], SourceCode)
	}

	ws, err := c.validate()
	var warnings []string
	for _, w := range ws {
		if fromSubmit && c.SourceOf(w.key) != SourceCode {
			continue
		}
		warnings = append(warnings, w.text)
	}
	if err != nil {
		return nil, warnings, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, warnings, nil
}
