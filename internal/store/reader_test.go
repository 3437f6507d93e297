package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReaderOnlyReads keeps the split between Reader (the reader pool, read
// only on SQLite) and Tx: no method of Reader may hold a statement that
// writes. A write belongs on Tx, where the type system keeps it inside InTx.
func TestReaderOnlyReads(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	writes := regexp.MustCompile(`(?i)\b(INSERT|UPDATE|DELETE|UPSERT|REPLACE)\b`)
	readers := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || receiverType(fn.Recv.List[0].Type) != "Reader" {
				continue
			}
			readers++
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if ok && lit.Kind == token.STRING && writes.MatchString(lit.Value) {
					t.Errorf("%s: Reader.%s writes (%s); make it a method of Tx", fset.Position(lit.Pos()), fn.Name.Name,
						writes.FindString(lit.Value))
				}
				return true
			})
		}
	}
	if readers < 10 {
		t.Fatalf("found %d methods of Reader; the test no longer sees the package's queries", readers)
	}
}

// receiverType is the name of a method's receiver type, without its star.
func receiverType(e ast.Expr) string {
	if star, ok := e.(*ast.StarExpr); ok {
		e = star.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
