package transform

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/traefik/yaegi/interp"

	"thinx/app/transform/symbols"
)

// Limits on what crosses the worker pipe, so a script cannot make the parent
// buffer megabytes per call.
const (
	MaxSource = 64 << 10 // bytes of transformer source
	MaxStatus = 64 << 10 // bytes of status in or out
	maxMsg    = 512      // bytes of an error message from a script
)

// compileTimeout bounds parsing, type checking and running package-level
// initialisers of one script. Compiling a realistic script takes 3–30 ms.
const compileTimeout = 2 * time.Second

// transformType is the exact signature a transformer must export.
var transformType = reflect.TypeOf((func(string, Device) (string, error))(nil))

// unit is one compiled script version: its own interpreter, so a stop or a
// corrupted global in one script never touches another.
type unit struct {
	in *interp.Interpreter
	fn func(string, Device) (string, error)
}

// newInterpreter returns an interpreter that sees only the allowlisted
// symbols, has no stdio, no environment and no source file system.
func newInterpreter() (*interp.Interpreter, error) {
	in := interp.New(interp.Options{
		Stdin:                strings.NewReader(""), // in a worker, os.Stdin is the protocol pipe
		Stdout:               io.Discard,
		Stderr:               io.Discard,
		Args:                 []string{},
		Env:                  []string{},
		SourcecodeFilesystem: noFS{},
	})
	if err := in.Use(exports()); err != nil {
		return nil, err
	}
	return in, nil
}

// exports builds the symbol table for one interpreter.
func exports() interp.Exports {
	ex := make(interp.Exports, len(symbols.Symbols)+1)
	for path, syms := range symbols.Symbols {
		if path == "fmt/fmt" {
			// Use() re-adds fmt.Print*/Scan* (bound to the interpreter's
			// stdio) and compiles yaegi's generic stdlib sources whenever
			// the key "fmt/fmt" is present. The equivalent path
			// "fmt/./fmt" imports as "fmt" but skips both.
			path = "fmt/./fmt"
		}
		ex[path] = isolate(syms)
	}
	ex["thinx/thinx"] = map[string]reflect.Value{"Device": reflect.ValueOf((*Device)(nil))}
	return ex
}

// isolate replaces package variables (time.UTC, base64.StdEncoding,
// strconv.ErrSyntax, ...) by private copies. Extracted tables export them as
// addressable values, so a script could otherwise assign to them, or through
// them, and change the behaviour of every other script in the process.
func isolate(syms map[string]reflect.Value) map[string]reflect.Value {
	var out map[string]reflect.Value
	for name, v := range syms {
		if !v.CanSet() {
			continue
		}
		if out == nil {
			out = make(map[string]reflect.Value, len(syms))
			for k, x := range syms {
				out[k] = x
			}
		}
		if v.Kind() == reflect.Pointer && !v.IsNil() {
			cp := reflect.New(v.Type().Elem())
			cp.Elem().Set(v.Elem())
			v = cp
		}
		out[name] = reflect.ValueOf(v.Interface()) // not addressable: read-only
	}
	if out == nil {
		return syms
	}
	return out
}

// noFS refuses every file, so yaegi never loads imported source from disk.
type noFS struct{}

func (noFS) Open(name string) (fs.File, error) {
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// compile lints src and builds a unit from it. It always goes through
// EvalWithContext: plain Eval lets yaegi's internal panics (e.g. on
// range-over-int) reach the caller, and package initialisers run here, so
// they need the deadline too.
func compile(src string, timeout time.Duration) (*unit, error) {
	if probs := lint(src); len(probs) > 0 {
		return nil, fmt.Errorf("%s", probs[0])
	}
	in, err := newInterpreter()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if _, err := in.EvalWithContext(ctx, src); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("compiling took longer than %v", timeout)
		}
		return nil, compileError(err)
	}
	// lint checked the declaration; this checks what yaegi made of it.
	v, err := in.EvalWithContext(ctx, "transformer.Transform")
	if err != nil || !v.IsValid() || v.Type() != transformType {
		return nil, fmt.Errorf("Transform must be declared as func Transform(status string, device thinx.Device) (string, error)")
	}
	return &unit{in: in, fn: v.Interface().(func(string, Device) (string, error))}, nil
}

// cancelled is a context that is already done; executing anything under it
// makes yaegi bump the interpreter's run id.
var cancelled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// interrupt stops whatever this unit's interpreter is running. A function
// value obtained from yaegi takes no context (traefik/yaegi#1255), but every
// interpreted instruction compares its frame's run id with the
// interpreter's, and EvalWithContext on a done context bumps it (its
// ExecuteWithContext twin has a data race on its results). The interrupted
// call then returns zero values, so the unit must be discarded.
func (u *unit) interrupt() {
	_, _ = u.in.EvalWithContext(cancelled, "0")
}

// posRE matches yaegi/go/scanner positions like "_.go:7:2: msg".
var posRE = regexp.MustCompile(`^(?:[^:\s]*:)?(\d+):(\d+): (.*)$`)

// compileError turns a yaegi error into "line N: msg" form, and an internal
// yaegi panic into something an owner can act on.
func compileError(err error) error {
	if p, ok := err.(interp.Panic); ok {
		return fmt.Errorf("the script engine cannot compile this script (%v); keep to the Go 1.21 subset", p.Value)
	}
	return fmt.Errorf("%s", problemsFromError(err)[0])
}

// problemsFromError extracts positioned problems from a parser or yaegi error.
func problemsFromError(err error) []Problem {
	var out []Problem
	for _, line := range strings.Split(err.Error(), "\n") {
		m := posRE.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		ln, _ := strconv.Atoi(m[1])
		col, _ := strconv.Atoi(m[2])
		out = append(out, Problem{Line: ln, Col: col, Msg: strings.TrimSuffix(m[3], " (and more errors)")})
	}
	if len(out) == 0 {
		out = append(out, Problem{Msg: err.Error()})
	}
	return out
}
