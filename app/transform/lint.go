package transform

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"sort"
	"strconv"
	"strings"
	"time"

	"thinx/app/transform/symbols"
)

// allowed maps each importable path to the names scripts may use from it.
// It is derived from the generated symbol table so the lint and the
// interpreter can never disagree.
var allowed = func() map[string]map[string]bool {
	m := map[string]map[string]bool{"thinx": {"Device": true}}
	for key, syms := range symbols.Symbols {
		path := key[:strings.LastIndexByte(key, '/')]
		m[path] = make(map[string]bool, len(syms))
		for name := range syms {
			if !strings.HasPrefix(name, "_") { // yaegi interface wrappers
				m[path][name] = true
			}
		}
	}
	return m
}()

// AllowedImports lists the packages a transformer may import, sorted.
func AllowedImports() []string {
	out := make([]string, 0, len(allowed))
	for p := range allowed {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Check reports what is wrong with a transformer's source, or nothing if the
// engine will accept it. It parses and lints the source, then compiles it
// in-process under a deadline without running any of it: package
// initialisers only ever run inside a worker. Call it when an owner saves a
// script, and show the problems next to their lines.
func Check(src string) []Problem {
	if probs := lint(src); len(probs) > 0 {
		return probs
	}
	return compileOnly(src, compileTimeout)
}

// lint parses src and rejects what the sandbox forbids or what yaegi
// v0.16.1 cannot run safely. It is also run inside workers before each
// compile, so a script that skipped Check is still refused.
func lint(src string) []Problem {
	if len(src) > MaxSource {
		return []Problem{{Msg: fmt.Sprintf("the script is %d bytes, the limit is %d", len(src), MaxSource)}}
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "transformer.go", src, parser.AllErrors|parser.ParseComments)
	if err != nil {
		return parseProblems(err)
	}
	l := &linter{fset: fset, pkgs: map[string]string{}}
	for _, g := range f.Comments {
		for _, c := range g.List {
			// yaegi honours build constraints and would silently load
			// nothing, leaving a script that passes Check but cannot run.
			if strings.HasPrefix(c.Text, "//go:build") || strings.HasPrefix(c.Text, "// +build") {
				l.add(c, "build constraints are not supported in transformers")
			}
		}
	}
	if f.Name.Name != "transformer" {
		l.add(f.Name, "the package must be named transformer, not %s", f.Name.Name)
	}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		if allowed[path] == nil {
			l.add(imp, "import %q is not allowed; allowed: %s", path, strings.Join(AllowedImports(), ", "))
			continue
		}
		name := path[strings.LastIndexByte(path, '/')+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		l.pkgs[name] = path
	}
	ast.Inspect(f, l.visit)
	l.checkSignature(f)
	sort.SliceStable(l.probs, func(i, j int) bool { return l.probs[i].Line < l.probs[j].Line })
	return l.probs
}

// compileOnly compiles src in a fresh interpreter without executing it.
// yaegi's compiler can panic (log.Panic) on constructs it does not support,
// so it runs in its own goroutine with recover and a deadline.
func compileOnly(src string, timeout time.Duration) []Problem {
	done := make(chan []Problem, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- []Problem{{Msg: fmt.Sprintf("the script engine cannot compile this script (%v); keep to the Go 1.21 language", p)}}
			}
		}()
		in, err := newInterpreter()
		if err == nil {
			_, err = in.Compile(src)
		}
		if err != nil {
			done <- problemsFromError(err)
			return
		}
		done <- nil
	}()
	select {
	case probs := <-done:
		return probs
	case <-time.After(timeout):
		// The goroutine cannot be stopped; lint keeps known slow constructs
		// out, so this is a last resort that keeps the caller responsive.
		return []Problem{{Msg: fmt.Sprintf("compiling took longer than %v", timeout)}}
	}
}

func parseProblems(err error) []Problem {
	list, ok := err.(scanner.ErrorList)
	if !ok {
		return []Problem{{Msg: err.Error()}}
	}
	out := make([]Problem, 0, len(list))
	for _, e := range list {
		out = append(out, Problem{Line: e.Pos.Line, Col: e.Pos.Column, Msg: e.Msg})
	}
	return out
}

type linter struct {
	fset  *token.FileSet
	pkgs  map[string]string // local import name -> path
	probs []Problem
}

func (l *linter) add(n ast.Node, format string, args ...any) {
	p := l.fset.Position(n.Pos())
	l.probs = append(l.probs, Problem{Line: p.Line, Col: p.Column, Msg: fmt.Sprintf(format, args...)})
}
