//go:build mobile

package mobile_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// api is the exported API of the facade, read from its source.
type api struct {
	funcs   []string            // package functions
	types   []string            // exported types
	methods map[string][]string // type → exported methods
	fields  map[string][]string // type → exported fields
}

func exportedAPI(t *testing.T) api {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	a := api{methods: map[string][]string{}, fields: map[string][]string{}}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil {
					a.funcs = append(a.funcs, d.Name.Name)
					continue
				}
				recv := d.Recv.List[0].Type
				if s, ok := recv.(*ast.StarExpr); ok {
					recv = s.X
				}
				name := recv.(*ast.Ident).Name
				a.methods[name] = append(a.methods[name], d.Name.Name)
			case *ast.GenDecl:
				for _, s := range d.Specs {
					ts, ok := s.(*ast.TypeSpec)
					if !ok || !ts.Name.IsExported() {
						continue
					}
					a.types = append(a.types, ts.Name.Name)
					if st, ok := ts.Type.(*ast.StructType); ok {
						for _, fl := range st.Fields.List {
							for _, n := range fl.Names {
								if n.IsExported() {
									a.fields[ts.Name.Name] = append(a.fields[ts.Name.Name], n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
	return a
}

func lowerFirst(s string) string { r := []rune(s); r[0] = unicode.ToLower(r[0]); return string(r) }

func read(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGobind runs gobind (golang.org/x/mobile, a tool of this module) on
// the facade and checks that every exported function, type, method and
// field is bound for Java and for Objective-C, and that gobind skipped
// nothing.
func TestGobind(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("go", "tool", "gobind", "-lang=go,java,objc", "-outdir", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gobind: %v\n%s", err, b)
	}
	a := exportedAPI(t)
	if len(a.funcs) == 0 || len(a.types) < 3 {
		t.Fatalf("API read from the source: %+v", a)
	}
	java := map[string]string{"Mobile": read(t, filepath.Join(out, "java", "mobile", "Mobile.java"))}
	for _, typ := range a.types {
		java[typ] = read(t, filepath.Join(out, "java", "mobile", typ+".java"))
	}
	objc := read(t, filepath.Join(out, "src", "gobind", "Mobile.objc.h"))
	for _, src := range append([]string{objc}, mapValues(java)...) {
		if m := regexp.MustCompile(`(?i)skipped[^\n]*`).FindString(src); m != "" {
			t.Errorf("gobind skipped something: %s", m)
		}
	}
	has := func(lang, src, pattern string) {
		t.Helper()
		if !regexp.MustCompile(pattern).MatchString(src) {
			t.Errorf("%s: no %s", lang, pattern)
		}
	}
	for _, f := range a.funcs {
		has("Java", java["Mobile"], `public static native \S+ `+lowerFirst(f)+`\(`)
		has("ObjC", objc, `FOUNDATION_EXPORT [^\n]*\bMobile`+f+`\(`)
	}
	for _, typ := range a.types {
		has("Java", java[typ], `public final class `+typ+` implements Seq.Proxy`)
		has("ObjC", objc, `@interface Mobile`+typ+` : NSObject`)
		for _, m := range a.methods[typ] {
			has("Java", java[typ], `public native \S+ `+lowerFirst(m)+`\(`)
			has("ObjC", objc, `- \([^)]*\)`+lowerFirst(m)+`:`)
		}
		for _, f := range a.fields[typ] {
			has("Java", java[typ], `public final native \S+ get`+f+`\(\)`)
			has("ObjC", objc, `@property \(nonatomic\) [^;]*\b`+lowerFirst(f)+`;`)
		}
	}
}

func mapValues(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
