package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// goConst is a constant declared in Go source with a literal value.
type goConst struct {
	name, typ string // typ is the declared type name, "" when untyped
	value     string // the literal: a string's contents, or a number as written
}

// parseDir parses the non-test Go files of dir.
func parseDir(t *testing.T, dir string) []*ast.File {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Go files in %s (%v)", dir, err)
	}
	var files []*ast.File
	fset := token.NewFileSet()
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		files = append(files, f)
	}
	return files
}

// constants returns the constants of files that have a literal value
// (string or number), in declaration order.
func constants(files []*ast.File) []goConst {
	var out []goConst
	for _, f := range files {
		for _, d := range f.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				typ := ""
				if id, ok := vs.Type.(*ast.Ident); ok {
					typ = id.Name
				}
				for i, n := range vs.Names {
					if i >= len(vs.Values) {
						continue
					}
					if v, ok := literal(vs.Values[i]); ok {
						out = append(out, goConst{name: n.Name, typ: typ, value: v})
					}
				}
			}
		}
	}
	return out
}

// literal evaluates a string or integer literal, and the integer
// expressions a << b and a * b of literals.
func literal(e ast.Expr) (string, bool) {
	switch x := e.(type) {
	case *ast.BasicLit:
		if x.Kind == token.STRING {
			s, err := strconv.Unquote(x.Value)
			return s, err == nil
		}
		return x.Value, x.Kind == token.INT
	case *ast.BinaryExpr:
		a, ok1 := literal(x.X)
		b, ok2 := literal(x.Y)
		na, err1 := strconv.ParseInt(a, 0, 64)
		nb, err2 := strconv.ParseInt(b, 0, 64)
		if !ok1 || !ok2 || err1 != nil || err2 != nil {
			return "", false
		}
		switch x.Op {
		case token.SHL:
			return strconv.FormatInt(na<<nb, 10), true
		case token.MUL:
			return strconv.FormatInt(na*nb, 10), true
		}
	}
	return "", false
}

// flagDef is one flag of a command's FlagSet.
type flagDef struct {
	name, kind string // kind: Int, Int64, Duration, Bool, String, Var
	def        string // the default as written, "" when not a literal
	dur        time.Duration
	num        int64
	variable   string // the Go variable holding it, for serve's Config literal
}

// flags returns the flags that file defines with fs.Kind("name", default, …).
func flags(t *testing.T, path string) map[string]flagDef {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	out := map[string]flagDef{}
	ast.Inspect(f, func(n ast.Node) bool {
		var lhs ast.Expr
		var call *ast.CallExpr
		switch s := n.(type) {
		case *ast.AssignStmt:
			if len(s.Lhs) == 1 && len(s.Rhs) == 1 {
				lhs = s.Lhs[0]
				call, _ = s.Rhs[0].(*ast.CallExpr)
			}
		case *ast.ExprStmt: // fs.Var(x, "name", …)
			call, _ = s.X.(*ast.CallExpr)
		}
		if call == nil {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || len(call.Args) < 2 {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "fs" {
			return true
		}
		fd := flagDef{kind: sel.Sel.Name}
		nameArg, defArg := call.Args[0], call.Args[1]
		switch {
		case fd.kind == "Var": // fs.Var(&v, "name", usage)
			nameArg, defArg, lhs = call.Args[1], nil, call.Args[0]
		case strings.HasSuffix(fd.kind, "Var") && len(call.Args) >= 3: // fs.IntVar(&f.v, "name", default, usage)
			fd.kind = strings.TrimSuffix(fd.kind, "Var")
			nameArg, defArg, lhs = call.Args[1], call.Args[2], call.Args[0]
		}
		name, ok := literal(nameArg)
		if !ok {
			return true
		}
		fd.name = name
		fd.variable = varName(lhs)
		if defArg != nil {
			fd.def, fd.dur, fd.num = flagDefault(defArg)
		}
		out[name] = fd
		return true
	})
	if len(out) == 0 {
		t.Fatalf("%s: found no flags", path)
	}
	return out
}

// varName names the variable a flag is held in: v, *v, &v or the field of
// f.v, &f.v ("" for anything else).
func varName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.UnaryExpr:
		return varName(x.X)
	case *ast.StarExpr:
		return varName(x.X)
	case *ast.SelectorExpr:
		return x.Sel.Name
	}
	return ""
}

// flagDefault reads a default: a literal, or N*time.Unit.
func flagDefault(e ast.Expr) (string, time.Duration, int64) {
	if v, ok := literal(e); ok {
		n, _ := strconv.ParseInt(v, 0, 64)
		return v, 0, n
	}
	b, ok := e.(*ast.BinaryExpr)
	if !ok || b.Op != token.MUL {
		return "", 0, 0
	}
	v, ok := literal(b.X)
	sel, ok2 := b.Y.(*ast.SelectorExpr)
	if !ok || !ok2 {
		return "", 0, 0
	}
	n, _ := strconv.ParseInt(v, 0, 64)
	units := map[string]time.Duration{"Millisecond": time.Millisecond, "Second": time.Second, "Minute": time.Minute, "Hour": time.Hour}
	u, ok := units[sel.Sel.Name]
	if !ok {
		return "", 0, 0
	}
	return v + "*" + sel.Sel.Name, time.Duration(n) * u, 0
}

// configFlags maps each server.Config field that serve.go sets from a flag
// (Field: *variable) to that flag's name.
func configFlags(t *testing.T, path string, fl map[string]flagDef) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	byVar := map[string]string{}
	for name, fd := range fl {
		if fd.variable != "" {
			byVar[fd.variable] = name
		}
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		cl, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		sel, ok := cl.Type.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Config" {
			return true
		}
		if x, ok := sel.X.(*ast.Ident); !ok || x.Name != "server" {
			return true
		}
		for _, el := range cl.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			key, _ := kv.Key.(*ast.Ident)
			v := kv.Value
			if star, ok := v.(*ast.StarExpr); ok {
				v = star.X
			}
			if name := varName(v); name != "" && key != nil {
				if flag, ok := byVar[name]; ok {
					out[key.Name] = flag
				}
			}
		}
		return true
	})
	if len(out) == 0 {
		t.Fatalf("%s: found no server.Config literal set from flags", path)
	}
	return out
}

// structFields returns the field names of the struct type name in files.
func structFields(t *testing.T, files []*ast.File, name string) map[string]bool {
	t.Helper()
	for _, f := range files {
		if o := f.Scope.Lookup(name); o != nil {
			ts, ok := o.Decl.(*ast.TypeSpec)
			st, ok2 := ts.Type.(*ast.StructType)
			if !ok || !ok2 {
				break
			}
			out := map[string]bool{}
			for _, fl := range st.Fields.List {
				for _, n := range fl.Names {
					out[n.Name] = true
				}
			}
			return out
		}
	}
	t.Fatalf("no struct type %s", name)
	return nil
}

var wireRef = regexp.MustCompile(`\bwire\.([A-Z][A-Za-z0-9_]*)\b`)

// wireRefs returns the identifiers used as wire.Name in the non-test Go
// files under root.
func wireRefs(t *testing.T, root string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range wireRef.FindAllStringSubmatch(string(b), -1) {
			out[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}
