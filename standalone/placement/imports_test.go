package placement

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The allocation logic stays pure: it imports nothing that does I/O or
// reads the clock.
func TestPlacementImportsNothingImpure(t *testing.T) {
	allowed := map[string]bool{"fmt": true, "sort": true}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[p] {
				t.Errorf("%s imports %s; the placement decision must stay pure (allowed: fmt, sort)", f, p)
			}
		}
	}
}
