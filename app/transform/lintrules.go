package transform

import (
	"go/ast"
	"go/constant"
	"go/token"
)

// maxArrayLen bounds fixed-size arrays: yaegi allocates package-level arrays
// when it loads a script, before any deadline applies to a call.
const maxArrayLen = 1 << 20

// visit applies the per-node rules. Each message names the construct and
// says why, because owners read them in the console next to their code.
func (l *linter) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.GoStmt:
		l.add(n, "go statements are not allowed: a transformer must finish within its call, and a panic in a goroutine would kill the worker")
	case *ast.ChanType:
		l.add(n, "channels are not allowed in transformers")
	case *ast.SendStmt:
		l.add(n, "channel sends are not allowed in transformers")
	case *ast.UnaryExpr:
		if n.Op == token.ARROW {
			l.add(n, "channel receives are not allowed in transformers")
		}
	case *ast.SelectStmt:
		l.add(n, "select is not allowed in transformers")
	case *ast.BranchStmt:
		if n.Tok == token.GOTO {
			l.add(n, "goto is not supported by the script engine")
		}
	case *ast.RangeStmt:
		if isIntExpr(n.X, 0) {
			l.add(n.X, "range over an integer is not supported by the script engine (Go 1.21 level); use for i := 0; i < n; i++")
		}
		if _, ok := n.X.(*ast.FuncLit); ok {
			l.add(n.X, "range over a function is not supported by the script engine (Go 1.21 level)")
		}
	case *ast.CallExpr:
		if id, ok := n.Fun.(*ast.Ident); ok && id.Obj == nil {
			switch id.Name {
			case "min", "max", "clear":
				l.add(n, "the builtin %s is not supported by the script engine (Go 1.21 level); write it out", id.Name)
			case "print", "println":
				l.add(n, "%s is not available: return the text instead", id.Name)
			}
		}
	case *ast.SelectorExpr:
		// A selector on an unresolved identifier that names an import is a
		// package member: check it against the exported symbol table so
		// fmt.Println or time.Sleep get a clear message, not "undefined".
		if id, ok := n.X.(*ast.Ident); ok && id.Obj == nil {
			if path, ok := l.pkgs[id.Name]; ok && !allowed[path][n.Sel.Name] {
				l.add(n, "%s.%s is not available to transformers", id.Name, n.Sel.Name)
			}
		}
	case *ast.ArrayType:
		if n.Len != nil {
			if v, ok := constInt(n.Len); ok && v > maxArrayLen {
				l.add(n, "arrays of more than %d elements are not allowed; use a slice", maxArrayLen)
			}
		}
	case *ast.BinaryExpr:
		if n.Op == token.SHL || n.Op == token.SHR {
			// Constant shifts are evaluated with arbitrary precision while
			// compiling, in the server process: 1<<1e9 would take 125 MB.
			if v, ok := constInt(n.Y); ok && v > 1024 {
				l.add(n, "shift count %d is too large", v)
			}
		}
	}
	return true
}

// checkSignature requires exactly
// func Transform(status string, device thinx.Device) (string, error).
func (l *linter) checkSignature(f *ast.File) {
	const want = "Transform must be declared as func Transform(status string, device thinx.Device) (string, error)"
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv != nil || fd.Name.Name != "Transform" {
			continue
		}
		var params, results []ast.Expr
		for _, fl := range fd.Type.Params.List {
			for range max(1, len(fl.Names)) {
				params = append(params, fl.Type)
			}
		}
		if fd.Type.Results != nil {
			for _, fl := range fd.Type.Results.List {
				for range max(1, len(fl.Names)) {
					results = append(results, fl.Type)
				}
			}
		}
		thinx := ""
		for name, path := range l.pkgs {
			if path == "thinx" {
				thinx = name
			}
		}
		ok = fd.Type.TypeParams == nil && len(params) == 2 && len(results) == 2 &&
			isIdent(params[0], "string") && isSelector(params[1], thinx, "Device") &&
			isIdent(results[0], "string") && isIdent(results[1], "error")
		if !ok {
			l.add(fd, "%s", want)
		}
		return
	}
	l.probs = append(l.probs, Problem{Line: 1, Col: 1, Msg: "no Transform function: " + want})
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name && id.Obj == nil
}

func isSelector(e ast.Expr, pkg, name string) bool {
	s, ok := e.(*ast.SelectorExpr)
	return ok && pkg != "" && isIdent(s.X, pkg) && s.Sel.Name == name
}

// constInt evaluates integer literals and simple constant arithmetic.
func constInt(e ast.Expr) (int64, bool) {
	v := constValue(e)
	if v == nil || v.Kind() != constant.Int {
		return 0, false
	}
	if i, ok := constant.Int64Val(v); ok {
		return i, true
	}
	return 1 << 62, true // too large for int64: certainly too large
}

func constValue(e ast.Expr) constant.Value {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind == token.INT || e.Kind == token.FLOAT {
			v := constant.MakeFromLiteral(e.Value, e.Kind, 0)
			return constant.ToInt(v)
		}
	case *ast.ParenExpr:
		return constValue(e.X)
	case *ast.BinaryExpr:
		x, y := constValue(e.X), constValue(e.Y)
		if x == nil || y == nil || x.Kind() != constant.Int || y.Kind() != constant.Int {
			return nil
		}
		switch e.Op {
		case token.ADD, token.SUB, token.MUL:
			return constant.BinaryOp(x, e.Op, y)
		case token.SHL:
			if s, ok := constant.Uint64Val(y); ok && s <= 1024 {
				return constant.Shift(x, e.Op, uint(s))
			}
		}
	}
	return nil
}

// isIntExpr guesses, without type checking, whether e is an integer: yaegi
// v0.16.1 panics while compiling range over an int. Type checking would need
// the standard library's export data, which a deployed appliance lacks, so
// this follows literals, conversions, len/cap, arithmetic, and identifiers
// back to their declaration. Whatever it misses is still refused, with a
// less precise message, by the compile step.
func isIntExpr(e ast.Expr, depth int) bool {
	if depth > 8 {
		return false
	}
	switch e := e.(type) {
	case *ast.BasicLit:
		return e.Kind == token.INT || e.Kind == token.CHAR
	case *ast.ParenExpr:
		return isIntExpr(e.X, depth+1)
	case *ast.UnaryExpr:
		return (e.Op == token.SUB || e.Op == token.ADD || e.Op == token.XOR) && isIntExpr(e.X, depth+1)
	case *ast.BinaryExpr:
		switch e.Op {
		case token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.SHL, token.SHR, token.AND, token.OR, token.XOR, token.AND_NOT:
			return isIntExpr(e.X, depth+1) || isIntExpr(e.Y, depth+1)
		}
	case *ast.CallExpr:
		if id, ok := e.Fun.(*ast.Ident); ok && id.Obj == nil {
			return id.Name == "len" || id.Name == "cap" || isIntType(id)
		}
	case *ast.Ident:
		if e.Obj == nil || (e.Obj.Kind != ast.Var && e.Obj.Kind != ast.Con) {
			return false
		}
		switch d := e.Obj.Decl.(type) {
		case *ast.Field:
			return isIntType(d.Type)
		case *ast.ValueSpec:
			if d.Type != nil {
				return isIntType(d.Type)
			}
			for i, n := range d.Names {
				if n.Name == e.Name && i < len(d.Values) {
					return isIntExpr(d.Values[i], depth+1)
				}
			}
		case *ast.AssignStmt:
			for i, n := range d.Lhs {
				if id, ok := n.(*ast.Ident); ok && id.Name == e.Name && len(d.Rhs) == len(d.Lhs) {
					return isIntExpr(d.Rhs[i], depth+1)
				}
			}
		}
	}
	return false
}

func isIntType(e ast.Expr) bool {
	id, ok := e.(*ast.Ident)
	if !ok || id.Obj != nil {
		return false
	}
	switch id.Name {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "byte", "rune":
		return true
	}
	return false
}
