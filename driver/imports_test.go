package driver

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The driver owns the backend interface and never depends on a concrete
// cluster manager; the scheduling core stays pure.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"/backend/local", "/backend/coarse", "/standalone", "/yarn", "/mesos", "/executor"} {
			if strings.HasPrefix(dep, "github.com/stoke-run/stoke") && strings.Contains(dep, banned) {
				t.Errorf("driver depends on %s", dep)
			}
		}
	}
	files, _ := filepath.Glob("sched/*.go")
	more, _ := filepath.Glob("alloc/*.go") // the dynamic allocation policy is as pure
	files = append(files, more...)
	if len(more) == 0 {
		t.Fatal("no driver/alloc sources found")
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if p == "net" || strings.HasPrefix(p, "net/") || p == "os" || p == "os/exec" || p == "math/rand" || strings.HasPrefix(p, "github.com/stoke-run/stoke/backend") {
				t.Errorf("%s imports %s: the scheduling core must stay pure", name, p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if id, ok := sel.X.(*ast.Ident); ok && id.Name == "time" && (sel.Sel.Name == "Now" || sel.Sel.Name == "Since" || sel.Sel.Name == "Sleep" || sel.Sel.Name == "After") {
					t.Errorf("%s: calls time.%s; the core takes now as an argument", fset.Position(sel.Pos()), sel.Sel.Name)
				}
			}
			if g, ok := n.(*ast.GoStmt); ok {
				t.Errorf("%s: starts a goroutine in the scheduling core", fset.Position(g.Pos()))
			}
			return true
		})
	}
}
