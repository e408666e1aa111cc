package broker

import (
	"os"
	"strings"
	"syscall"
)

// smallStacks is the Go runtime setting that starts every goroutine on the
// smallest stack (2 KiB), growing it as needed.
//
// The embedded server runs two goroutines per client: the read loop, which
// always needs 16 KiB, and the write loop, which an idle device never uses
// and which then needs under 4 KiB. By default the runtime starts new
// goroutines on the average stack size it has seen, 8 KiB here, and gives a
// stack back only once less than a quarter of it is in use: every write
// loop then stays at 8 KiB, 4 KiB more per connection (about 40 MB at
// 10,000 devices). The runtime reads the setting only at start, from
// GODEBUG, so the server restarts itself once with it (RestartWithSmallStacks).
const smallStacks = "adaptivestackstart=0"

// smallStacksEnv returns environ with the setting added to GODEBUG, and
// false when GODEBUG already says how stacks start (the operator's choice,
// or this process after its restart).
func smallStacksEnv(environ []string) ([]string, bool) {
	out := make([]string, 0, len(environ)+1)
	godebug := ""
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "GODEBUG="); ok {
			godebug = v
			continue
		}
		out = append(out, kv)
	}
	for _, s := range strings.Split(godebug, ",") {
		if strings.HasPrefix(strings.TrimSpace(s), "adaptivestackstart=") {
			return environ, false
		}
	}
	if godebug != "" {
		godebug += ","
	}
	return append(out, "GODEBUG="+godebug+smallStacks), true
}

// RestartWithSmallStacks replaces the running program with itself (same
// process ID, arguments, descriptors and environment, plus the stack
// setting) unless GODEBUG already sets it. Call it first thing in a server
// process, before it opens anything. It returns only when it did not
// restart, with the reason if the restart failed; the server then runs on
// as it is, with larger stacks.
func RestartWithSmallStacks() error {
	env, restart := smallStacksEnv(os.Environ())
	if !restart {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(exe, os.Args, env)
}
