package app_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The import rules of the architecture, checked over the real package
// graph. Packages that do not exist yet are simply not in the graph.

const module = "thinx"

// features may not import each other; each owns a directory under app/.
var features = []string{"auth", "devices", "broker", "transform", "sources", "builds", "ota"}

// pkg is one node of the graph as go list reports it.
type pkg struct {
	std     bool
	imports []string // direct
	deps    []string // transitive
}

// feature returns the feature a package belongs to ("transform" for
// thinx/app/transform/symbols), or "".
func feature(path string) string {
	rest, ok := strings.CutPrefix(path, module+"/app/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	if slices.Contains(features, name) {
		return name
	}
	return ""
}

func within(path, root string) bool { return path == root || strings.HasPrefix(path, root+"/") }

func ours(path string) bool { return within(path, module) }

// violations lists every forbidden edge of graph, one line each.
func violations(graph map[string]pkg) []string {
	var out []string
	bad := func(from, to, rule string) { out = append(out, from+" → "+to+": "+rule) }
	for path, p := range graph {
		if !ours(path) {
			continue
		}
		// app, app/config and toolchains: the standard library only.
		if path == module+"/app" || path == module+"/app/config" || within(path, module+"/toolchains") {
			for _, d := range p.deps {
				if !graph[d].std {
					bad(path, d, "may import the standard library only")
				}
			}
		}
		// views: app, templ and the standard library.
		if within(path, module+"/views") {
			for _, d := range p.imports {
				if !graph[d].std && d != module+"/app" && !within(d, "github.com/a-h/templ") {
					bad(path, d, "views import app, templ and the standard library only")
				}
			}
		}
		// Features never reach another feature, the console, the device
		// API or the command line, not even through a third package. A
		// command under a feature's cmd/ (a benchmark tool) wires services
		// together like app/cli does, and is not part of the feature.
		if f := feature(path); f != "" && !strings.Contains(path, "/cmd/") {
			for _, d := range p.deps {
				if g := feature(d); g != "" && g != f {
					bad(path, d, "feature packages never import each other")
				}
				for _, top := range []string{"/app/web", "/app/deviceapi", "/app/cli"} {
					if within(d, module+top) {
						bad(path, d, "feature packages never import "+strings.TrimPrefix(top, "/"))
					}
				}
			}
		}
		// The console and the device API never import the command line.
		if within(path, module+"/app/web") || within(path, module+"/app/deviceapi") {
			for _, d := range p.deps {
				if within(d, module+"/app/cli") {
					bad(path, d, "app/web and app/deviceapi never import app/cli")
				}
			}
		}
		// Only main imports app/cli, and main imports nothing else of ours.
		for _, d := range p.imports {
			if within(d, module+"/app/cli") && path != module && !within(path, module+"/app/cli") {
				bad(path, d, "only main imports app/cli: app/cli wires everything")
			}
			if path == module && ours(d) && !within(d, module+"/app/cli") {
				bad(path, d, "main imports app/cli only")
			}
		}
	}
	slices.Sort(out)
	return out
}

// loadGraph runs go list over every package of the module and its
// dependencies, with CGO off as the release is built.
func loadGraph(t *testing.T) map[string]pkg {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goTool, "list", "-e", "-deps",
		"-f", "{{.ImportPath}}\t{{.Standard}}\t{{join .Imports \" \"}}\t{{join .Deps \" \"}}", module+"/...")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string]pkg{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			t.Fatalf("go list line %q", sc.Text())
		}
		graph[f[0]] = pkg{std: f[1] == "true", imports: strings.Fields(f[2]), deps: strings.Fields(f[3])}
	}
	for _, must := range []string{module, module + "/app", module + "/app/cli", module + "/app/auth", module + "/views"} {
		if _, ok := graph[must]; !ok {
			t.Fatalf("go list did not report %s: the graph is incomplete", must)
		}
	}
	return graph
}

func TestImportRules(t *testing.T) {
	t.Parallel()
	for _, v := range violations(loadGraph(t)) {
		t.Error(v)
	}
}

// TestImportRulesCatchViolations feeds the checker one forbidden edge at a
// time, so TestImportRules cannot pass by checking nothing.
func TestImportRulesCatchViolations(t *testing.T) {
	t.Parallel()
	std := pkg{std: true}
	base := func() map[string]pkg {
		return map[string]pkg{
			"fmt": std, "net/http": std, "github.com/a-h/templ": {}, "modernc.org/sqlite": {},
			"thinx":                       {imports: []string{"thinx/app/cli"}, deps: []string{"thinx/app/cli"}},
			"thinx/app":                   {imports: []string{"fmt"}, deps: []string{"fmt"}},
			"thinx/app/config":            {imports: []string{"fmt"}, deps: []string{"fmt"}},
			"thinx/app/store":             {imports: []string{"thinx/app", "modernc.org/sqlite"}, deps: []string{"thinx/app", "modernc.org/sqlite", "fmt"}},
			"thinx/app/auth":              {imports: []string{"thinx/app/store"}, deps: []string{"thinx/app/store", "thinx/app"}},
			"thinx/app/devices":           {imports: []string{"thinx/app/store"}, deps: []string{"thinx/app/store", "thinx/app"}},
			"thinx/app/transform":         {imports: []string{"thinx/app/transform/symbols"}, deps: []string{"thinx/app/transform/symbols"}},
			"thinx/app/transform/symbols": {imports: []string{"fmt"}, deps: []string{"fmt"}},
			"thinx/app/web":               {imports: []string{"thinx/app/auth", "thinx/views"}, deps: []string{"thinx/app/auth", "thinx/views"}},
			"thinx/app/cli":               {imports: []string{"thinx/app/web", "thinx/app/auth"}, deps: []string{"thinx/app/web", "thinx/app/auth"}},
			"thinx/views":                 {imports: []string{"thinx/app", "github.com/a-h/templ", "fmt"}, deps: []string{"thinx/app", "github.com/a-h/templ", "fmt"}},
		}
	}
	if v := violations(base()); len(v) != 0 {
		t.Fatalf("the clean graph has violations: %v", v)
	}
	for _, c := range []struct{ from, to string }{
		{"thinx/app", "modernc.org/sqlite"},
		{"thinx/app", "thinx/app/store"},
		{"thinx/app/config", "github.com/a-h/templ"},
		{"thinx/toolchains/platformio", "thinx/app/store"},
		{"thinx/views", "thinx/app/store"},
		{"thinx/views", "modernc.org/sqlite"},
		{"thinx/app/auth", "thinx/app/devices"},
		{"thinx/app/devices", "thinx/app/transform/symbols"},
		{"thinx/app/ota", "thinx/app/builds"},
		{"thinx/app/broker", "thinx/app/web"},
		{"thinx/app/sources", "thinx/app/deviceapi"},
		{"thinx/app/devices", "thinx/app/cli"},
		{"thinx/app/web", "thinx/app/cli"},
		{"thinx/app/deviceapi", "thinx/app/cli"},
		{"thinx/app/store", "thinx/app/cli"},
		{"thinx", "thinx/app/web"},
	} {
		g := base()
		p := g[c.from]
		p.imports = append(slices.Clone(p.imports), c.to)
		p.deps = append(slices.Clone(p.deps), c.to)
		g[c.from] = p
		if _, ok := g[c.to]; !ok {
			g[c.to] = pkg{}
		}
		if v := violations(g); len(v) == 0 {
			t.Errorf("%s → %s is not caught", c.from, c.to)
		}
	}
	// A feature reaching another through a third package is caught too.
	g := base()
	g["thinx/app/auth"] = pkg{imports: []string{"thinx/app/store"}, deps: []string{"thinx/app/store", "thinx/app/devices"}}
	if len(violations(g)) == 0 {
		t.Error("an indirect feature-to-feature edge is not caught")
	}
}
