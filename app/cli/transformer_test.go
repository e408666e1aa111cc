package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"thinx/app/transform"
)

// The transformer commands run scripts in a worker process, which is this
// test binary started again. An init function rather than TestMain, so the
// package's other tests stay free to define TestMain.
func init() { transform.MaybeWorker() }

const cliHeader = "package transformer\n\nimport (\n\t\"strings\"\n\t\"thinx\"\n)\n\nfunc Transform(status string, device thinx.Device) (string, error) {\n"

func writeScript(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.go")
	if err := os.WriteFile(path, []byte(cliHeader+body+"\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runTransformer(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTransformerCheck(t *testing.T) {
	ok := writeScript(t, `return strings.ToUpper(status), nil`)
	if code, out, errs := runCLI("check", ok); code != 0 || out != "ok\n" {
		t.Errorf("check ok: %d %q %q", code, out, errs)
	}
	bad := writeScript(t, "go func() {}()\nfor i := range 3 { _ = i }\nreturn \"\", nil")
	code, out, errs := runCLI("check", bad)
	want := bad + ":9:1: go statements are not allowed"
	if code != 1 || out != "" || !strings.HasPrefix(errs, want) || !strings.Contains(errs, ":10:16: range over an integer") {
		t.Errorf("check bad: %d %q %q", code, out, errs)
	}
}

func TestTransformerRun(t *testing.T) {
	upper := writeScript(t, `return strings.ToUpper(status) + " " + device.Alias + " " + device.Env["K"], nil`)
	code, out, errs := runCLI("run", upper, "--status", "battery low", "--device", `{"alias":"kitchen","env":{"K":"v"}}`)
	if code != 0 || out != "BATTERY LOW kitchen v\n" {
		t.Errorf("run: %d %q %q", code, out, errs)
	}
	// Flags may also come first.
	if code, out, _ := runCLI("run", "--status", "x", upper); code != 0 || out != "X  \n" {
		t.Errorf("flags first: %d %q", code, out)
	}
}

// A runaway loop and a memory bomb end with an error message and exit 1;
// the CLI itself neither hangs nor dies.
func TestTransformerRunaways(t *testing.T) {
	cases := map[string]string{
		"loop":   "for {\n}",
		"memory": `return strings.Repeat("x", 1<<34), nil`,
	}
	for name, body := range cases {
		start := time.Now()
		code, out, errs := runCLI("run", writeScript(t, body), "--status", "x")
		t.Logf("%s: %v: %s", name, time.Since(start), strings.TrimSpace(errs))
		if code != 1 || out != "" || !strings.HasPrefix(errs, "thinx: transformer ") {
			t.Errorf("%s: %d %q %q", name, code, out, errs)
		}
	}
}

func TestTransformerUsage(t *testing.T) {
	f := writeScript(t, `return status, nil`)
	for _, args := range [][]string{nil, {"frobnicate"}, {"check"}, {"run"}, {"check", f, "extra"}, {"run", f, "--device", "{"}, {"run", f, "--nope"}} {
		if code, _, _ := runCLI(args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, errs := runCLI("check", filepath.Join(t.TempDir(), "missing.go")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Errorf("missing file: %d %q", code, errs)
	}
}
