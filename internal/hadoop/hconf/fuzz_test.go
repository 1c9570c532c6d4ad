package hconf

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// Any document is refused with an error naming the file, or read into
// properties whose lookups and typed getters answer or fail cleanly (and
// in bounded time: substitution is capped in depth and size).
func FuzzRead(f *testing.F) {
	seeds := []string{
		"<configuration><property><name>a</name><value>b</value><final>true</final></property></configuration>",
		"<?xml version=\"1.0\"?>\n<configuration>\n<property><name>x</name><value>${y}/${env.HOME:-/tmp}/${user.name}</value></property>\n<property><name>y</name><value>${x}</value></property></configuration>",
		"<configuration><property><name>n</name><value>12k</value></property><property><name>d</name><value>3s</value></property><property><name>l</name><value>a, b ,,c</value></property></configuration>",
		"<configuration xmlns:xi=\"http://www.w3.org/2001/XInclude\"><xi:include href=\"x.xml\"/></configuration>",
		"<configuration><property><name>a&bogus;</name></property></configuration>",
		"<props/>",
		"",
	}
	seeds = append(seeds, laughs(4, 10))
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c := New(func(string) (string, bool) { return "", false })
		if err := c.Read("core-site.xml", strings.NewReader(string(data))); err != nil {
			if !strings.HasPrefix(err.Error(), "hconf: core-site.xml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, k := range c.Keys() {
			v, ok, err := c.Lookup(k)
			if err == nil && ok && len(v) > maxExpandedLen {
				t.Fatalf("%s expands to %d bytes", k, len(v))
			}
			c.Get(k)
			c.Int(k, 1)
			c.Bool(k, false)
			c.Millis(k, time.Second)
			c.Strings(k)
		}
	})
}

// laughs is a configuration whose a<n> expands to 16*k^n bytes.
func laughs(n, k int) string {
	var b strings.Builder
	b.WriteString("<configuration><property><name>a0</name><value>xxxxxxxxxxxxxxxx</value></property>")
	for i := 1; i <= n; i++ {
		b.WriteString("<property><name>a" + strconv.Itoa(i) + "</name><value>" + strings.Repeat("${a"+strconv.Itoa(i-1)+"}", k) + "</value></property>")
	}
	b.WriteString("</configuration>")
	return b.String()
}

// A "billion laughs" configuration is refused, not expanded.
func TestExpansionSizeIsBounded(t *testing.T) {
	c := New(func(string) (string, bool) { return "", false })
	if err := c.Read("core-site.xml", strings.NewReader(laughs(12, 10))); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Lookup("a12")
	if err == nil || !strings.Contains(err.Error(), "a12") || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("err = %v", err)
	}
	if v, _, err := c.Lookup("a3"); err != nil || len(v) != 16000 {
		t.Fatalf("a3: %d bytes, %v", len(v), err)
	}
}
