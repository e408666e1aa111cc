package transform

import (
	"strings"
	"testing"
)

// script wraps a Transform body (and optional extra imports and top-level
// declarations) into a complete transformer.
func script(imports, decls, body string) string {
	return "package transformer\n\nimport (\n\t\"thinx\"\n" + imports + ")\n" + decls +
		"\nfunc Transform(status string, device thinx.Device) (string, error) {\n" + body + "\n}\n"
}

func TestCheckAccepts(t *testing.T) {
	srcs := []string{
		script("", "", `return status, nil`),
		script(`"strings"; "sort"`, "", `s := strings.Fields(status); sort.Strings(s); for i := range s { _ = i }; return strings.Join(s, " "), nil`),
		script(`"time"`, "", `d, _ := time.ParseDuration("1m"); return time.Unix(0, 0).UTC().Add(d).Format(time.RFC3339), nil`),
		script(`"errors"; "fmt"`, "func init() {}\nvar names = map[string]string{\"a\": \"b\"}\n", `defer func() {}(); if status == "" { return "", errors.New("empty") }; return fmt.Sprint(names[status]), nil`),
		script("", "", `n := len(status); for i := 0; i < n; i++ {}; return status, nil`),
	}
	for _, src := range srcs {
		if probs := Check(src); len(probs) > 0 {
			t.Errorf("Check(%s) = %v, want no problems", src, probs)
		}
	}
}

// Every rejection names the construct and the line it is on.
func TestCheckRejects(t *testing.T) {
	cases := []struct {
		name, src, want string
		line            int
	}{
		{"os", script(`"os"`+"\n", "", `return os.Getenv("X"), nil`), `import "os" is not allowed`, 5},
		{"net", script(`"net"`+"\n", "", `return "", nil`), `import "net" is not allowed`, 5},
		{"os/exec", script(`"os/exec"`+"\n", "", `return "", nil`), `import "os/exec" is not allowed`, 5},
		{"unsafe", script(`"unsafe"`+"\n", "", `return "", nil`), `import "unsafe" is not allowed`, 5},
		{"syscall", script(`"syscall"`+"\n", "", `return "", nil`), `import "syscall" is not allowed`, 5},
		{"reflect", script(`"reflect"`+"\n", "", `return "", nil`), `import "reflect" is not allowed`, 5},
		{"runtime", script(`"runtime"`+"\n", "", `return "", nil`), `import "runtime" is not allowed`, 5},
		{"go statement", script("", "", `go func() {}()
return "", nil`), "go statements are not allowed", 8},
		{"channel type", script("", "", `var c chan int
_ = c
return "", nil`), "channels are not allowed", 8},
		{"channel make", script("", "", `c := make(chan int)
_ = c
return "", nil`), "channels are not allowed", 8},
		{"send", script("", "func f(c chan int) { c <- 1 }\n", `return "", nil`), "channel sends are not allowed", 6},
		{"receive", script("", "func f(c chan int) int { return <-c }\n", `return "", nil`), "channel receives are not allowed", 6},
		{"select", script("", "", `select {}`), "select is not allowed", 8},
		{"goto", script("", "", `goto end
end:
return "", nil`), "goto is not supported", 8},
		{"range literal", script("", "", `for i := range 10 { _ = i }
return "", nil`), "range over an integer", 8},
		{"range len", script("", "", `for i := range len(status) { _ = i }
return "", nil`), "range over an integer", 8},
		{"range var", script("", "", `n := 3
for range n {}
return "", nil`), "range over an integer", 9},
		{"range param", script("", "func f(n int) { for range n {} }\n", `return "", nil`), "range over an integer", 6},
		{"range func", script("", "", `for range func(yield func() bool) {} {}
return "", nil`), "range over a function", 8},
		{"min", script("", "", `return string(rune(min(1, 2))), nil`), "the builtin min is not supported", 8},
		{"max", script("", "", `return string(rune(max(1, 2))), nil`), "the builtin max is not supported", 8},
		{"clear", script("", "", `m := map[int]int{}
clear(m)
return "", nil`), "the builtin clear is not supported", 9},
		{"println", script("", "", `println(status)
return "", nil`), "println is not available", 8},
		{"fmt.Println", script(`"fmt"`+"\n", "", `fmt.Println(status)
return "", nil`), "fmt.Println is not available", 9},
		{"fmt.Sscan", script(`"fmt"`+"\n", "", `var n int
fmt.Sscan(status, &n)
return "", nil`), "fmt.Sscan is not available", 10},
		{"time.Sleep", script(`"time"`+"\n", "", `time.Sleep(time.Second)
return "", nil`), "time.Sleep is not available", 9},
		{"time.After", script(`t "time"`+"\n", "", `t.After(t.Second)
return "", nil`), "t.After is not available", 9},
		{"huge array", script("", "var big [1 << 40]byte\n", `return "", nil`), "arrays of more than", 6},
		{"huge shift", script("", "const x = 1 << 100000\n", `return "", nil`), "shift count 100000 is too large", 6},
		{"package name", strings.Replace(script("", "", `return "", nil`), "package transformer", "package main", 1), "the package must be named transformer", 1},
		{"no Transform", "package transformer\n\nfunc transform(s string) string { return s }\n", "no Transform function", 1},
		{"wrong result", strings.Replace(script("", "", `return 0, nil`), "(string, error) {", "(int, error) {", 1), "Transform must be declared as", 7},
		{"wrong params", strings.Replace(script("", "", `return "", nil`), "device thinx.Device", "device string", 1), "Transform must be declared as", 7},
		{"method", "package transformer\n\nimport \"thinx\"\n\ntype T struct{}\n\nfunc (T) Transform(status string, device thinx.Device) (string, error) { return status, nil }\n", "no Transform function", 1},
		{"syntax", script("", "", `return "", nil +`), "expected", 9},
		{"undefined", script("", "", `return undefinedThing, nil`), "undefined: undefinedThing", 8},
		{"type error", script("", "", `var n int = "x"
_ = n
return "", nil`), "cannot convert", 8},
		{"build constraint", "//go:build ignore\n\n" + script("", "", `return "", nil`), "build constraints are not supported", 1},
		{"too big", "package transformer\n//" + strings.Repeat("x", MaxSource), "the limit is", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			probs := Check(c.src)
			if len(probs) == 0 {
				t.Fatalf("accepted:\n%s", c.src)
			}
			for _, p := range probs {
				if strings.Contains(p.Msg, c.want) && p.Line == c.line {
					return
				}
			}
			t.Errorf("got %v, want line %d: …%s…", probs, c.line, c.want)
		})
	}
}

// The lint also runs in the worker before each compile, so an engine
// refuses a script that never went through Check.
func TestRunRefusesUncheckedScript(t *testing.T) {
	e := newTestEngine(t, Options{})
	src := script(`"os"`+"\n", "", `return os.Getenv("HOME"), nil`)
	_, err := e.Run(t.Context(), "o", Script{ID: "s", Version: 1, Source: src}, "x", Device{})
	if KindOf(err) != KindInvalid || err.Error() != `line 5: import "os" is not allowed; allowed: `+strings.Join(AllowedImports(), ", ") {
		t.Fatalf("got %v (%s)", err, KindOf(err))
	}
}
