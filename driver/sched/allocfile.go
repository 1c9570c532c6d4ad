package sched

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Pool defaults (SPEC §4): a pool that is not configured, or a value that is
// blank or invalid, takes these.
const (
	defaultPoolName = "default"
	defaultWeight   = 1
	defaultMinShare = 0
)

// xmlPool is one <pool> element. Pointers tell a missing element (silently
// defaulted) from a blank one (defaulted with a warning).
type xmlPool struct {
	Name     *string `xml:"name,attr"`
	Mode     *string `xml:"schedulingMode"`
	Weight   *string `xml:"weight"`
	MinShare *string `xml:"minShare"`
}

// ParseAllocationFile parses a FAIR scheduler allocation file (SPEC §4).
// name is only used in messages. Every <pool> element anywhere in the
// document is read; values are trimmed and schedulingMode is
// case-insensitive. A blank or invalid value (including a negative number, or
// a weight of 0) takes its default with a warning naming the pool and the
// value. A pool defined twice is warned about and the last definition wins.
// Malformed XML, including an empty file, is an error naming the file and the
// line. The returned pools keep file order; a missing "default" pool is not
// added here (New does that).
func ParseAllocationFile(name string, data []byte) (pools []PoolConfig, warnings []string, err error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	sawRoot := false
	index := map[string]int{}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, xmlError(name, data, d, err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		sawRoot = true
		if start.Name.Local != "pool" {
			continue
		}
		var xp xmlPool
		if err := d.DecodeElement(&xp, &start); err != nil {
			return nil, nil, xmlError(name, data, d, err)
		}
		line, _ := d.InputPos()
		pc, ws := xp.config(name, line)
		warnings = append(warnings, ws...)
		if i, dup := index[pc.Name]; dup {
			warnings = append(warnings, fmt.Sprintf("%s:%d: pool %q is defined more than once; the last definition wins", name, line, pc.Name))
			pools[i] = pc
			continue
		}
		index[pc.Name] = len(pools)
		pools = append(pools, pc)
	}
	if !sawRoot {
		line := bytes.Count(data, []byte("\n")) + 1
		return nil, nil, fmt.Errorf("allocation file %s:%d: malformed XML: no root element (the file is empty?)", name, line)
	}
	return pools, warnings, nil
}

func (xp *xmlPool) config(file string, line int) (PoolConfig, []string) {
	var warnings []string
	pc := PoolConfig{Mode: FIFO, Weight: defaultWeight, MinShare: defaultMinShare}
	if xp.Name != nil {
		pc.Name = strings.TrimSpace(*xp.Name)
	}
	if pc.Name == "" {
		warnings = append(warnings, fmt.Sprintf("%s:%d: a pool has no name; it is named %q", file, line, defaultPoolName))
		pc.Name = defaultPoolName
	}
	warn := func(what, value, def string) {
		warnings = append(warnings, fmt.Sprintf("%s:%d: pool %q: %s %q is blank or invalid; using the default %s", file, line, pc.Name, what, value, def))
	}
	if xp.Mode != nil {
		if m, err := ParseMode(*xp.Mode); err == nil {
			pc.Mode = m
		} else {
			warn("schedulingMode", strings.TrimSpace(*xp.Mode), "FIFO")
		}
	}
	if xp.Weight != nil {
		v := strings.TrimSpace(*xp.Weight)
		if n, err := strconv.Atoi(v); err == nil && n >= 1 {
			pc.Weight = n
		} else {
			warn("weight", v, strconv.Itoa(defaultWeight))
		}
	}
	if xp.MinShare != nil {
		v := strings.TrimSpace(*xp.MinShare)
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			pc.MinShare = n
		} else {
			warn("minShare", v, strconv.Itoa(defaultMinShare))
		}
	}
	return pc, warnings
}

// xmlError names the file and the line of a parse error.
func xmlError(file string, data []byte, d *xml.Decoder, err error) error {
	var se *xml.SyntaxError
	line := 0
	msg := err.Error()
	if errors.As(err, &se) {
		line, msg = se.Line, se.Msg
	} else {
		off := d.InputOffset()
		if off > int64(len(data)) {
			off = int64(len(data))
		}
		line = bytes.Count(data[:off], []byte("\n")) + 1
	}
	return fmt.Errorf("allocation file %s:%d: malformed XML: %s", file, line, msg)
}
