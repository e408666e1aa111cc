// Package cli is the thinx command line and the daemon wiring: the only
// package that knows every other one.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"thinx/app"
	"thinx/app/broker"
	"thinx/app/transform"
)

// Version is set at build time with -ldflags "-X thinx/app/cli.Version=…";
// otherwise it is read from the module's build information.
var Version = ""

// Env is how commands read the environment (os.Getenv in main, a map in
// tests).
type Env func(string) string

// Run executes the command in args (args[0] is the program name) and
// returns the process exit code.
func Run(ctx context.Context, args []string, getenv Env, stdin io.Reader, stdout, stderr io.Writer) int {
	// The transformer sandbox re-executes this binary as its worker process;
	// in that role it never returns from here.
	transform.MaybeWorker()
	cmd, rest := "serve", []string{}
	if len(args) > 1 {
		cmd, rest = args[1], args[2:]
		if strings.HasPrefix(cmd, "-") { // `thinx --data x` means serve
			cmd, rest = "serve", args[1:]
		}
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, rest, getenv, stderr)
	case "user":
		err = userCmd(ctx, rest, getenv, stdin, stdout, stderr)
	case "apikey":
		err = apikeyCmd(ctx, rest, getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "thinx", version())
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	default:
		if code, ok := extraCommand(ctx, cmd, rest, stdout, stderr); ok {
			return code
		}
		fmt.Fprintf(stderr, "thinx: unknown command %q\n\n", cmd)
		usage(stderr)
		return 2
	}
	return report(stderr, err)
}

// Prepare runs in main before Run, in the real process only (tests call
// Run in theirs): the server restarts itself once with the runtime
// settings it needs (see broker.RestartWithSmallStacks). Other commands,
// and the transformer workers, go on at once.
func Prepare(args []string, stderr io.Writer) {
	if transform.IsWorker() {
		return
	}
	if len(args) > 1 && args[1] != "serve" && !strings.HasPrefix(args[1], "-") {
		return
	}
	if err := broker.RestartWithSmallStacks(); err != nil {
		fmt.Fprintln(stderr, "thinx: running with the default goroutine stacks:", err)
	}
}

// extraCommands are subcommands added by feature files of this package.
var extraCommands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) int{
	"transformer": runTransformer,
	"simulate":    runSimulate,
}

func extraCommand(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) (int, bool) {
	f, ok := extraCommands[cmd]
	if !ok {
		return 0, false
	}
	return f(ctx, args, stdout, stderr), true
}

// usageError marks a mistake in how the command was called (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// report prints err for a person and picks the exit code: 0 ok, 2 usage,
// 1 anything else.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "thinx: %s\nRun 'thinx help' for usage.\n", ue.msg)
		return 2
	case errors.Is(err, context.Canceled):
		return 0
	}
	var ae *app.Error
	if errors.As(err, &ae) {
		fmt.Fprintf(stderr, "thinx: %s\n", ae.Message)
		return 1
	}
	fmt.Fprintf(stderr, "thinx: %v\n", err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprint(w, `thinx: remote things management, self-hosted.

Usage:
  thinx [serve] [--data DIR] [--http ADDR] [--https ADDR] [--mqtt ADDR] [--mqtts ADDR] [--mqtt-ws ADDR] [--domain NAME]
        run the server (the default); each flag also as THINX_DATA, THINX_HTTP, ...; "off" disables a listener
  thinx user add --data DIR --email E [--admin]          add an owner; password on standard input; prints the owner ID
  thinx apikey new --data DIR --email E --alias A       create an API key; prints the key (shown only once)
  thinx apikey import --data DIR --email E --key HEX [--alias A]   register an existing 64-hex key (migration)
  thinx apikey list --data DIR --email E                list an owner's keys
  thinx transformer check FILE                          compile and lint a status transformer
  thinx transformer run FILE --status S [--device JSON] run a status transformer
  thinx simulate --server URL --owner ID --key KEY --devices N --interval D [--duration D]
  thinx version

The commands work while the server runs on the same data directory.
`)
}

// version is the build's version: the -X value, else the module version
// and VCS revision.
func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "dev"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}
