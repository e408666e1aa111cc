// Command mqttbench measures the embedded broker side by side with the
// distribution's mosquitto, on the same machine with the same load
// generator. It is a benchmark, not a test: run it by hand.
//
//	go run ./app/broker/cmd/mqttbench                 # every scenario
//	go run ./app/broker/cmd/mqttbench -run fanin      # one: fanin, idle or status
//	go run ./app/broker/cmd/mqttbench -run fanin -pin # servers on CPU 0, generator on CPU 1
//
// Scenarios:
//
//	fanin   10 publishers → 1 subscriber, QoS 1 (each publisher keeps -window
//	        messages unacknowledged) and QoS 0: distinct messages delivered per
//	        second, the share lost and the server's CPU time per message; the
//	        median of five runs, the brokers taking turns. thinx runs with its
//	        auth, ACL, storage, tap and history hooks; mosquitto with
//	        persistence off and its queue limits raised, so it drops nothing by
//	        configuration.
//	idle    -conns logged-in connections that send nothing: resident memory of
//	        the server process per connection (thinx, mosquitto, and the
//	        embedded broker with its stock settings), right after connecting
//	        and after the garbage collections an idle Go server runs anyway.
//	        With -subscribe each first subscribes to its device topic.
//	status  -devices devices publishing a status once a second: the delay
//	        from publish to the status row committed in SQLite by the tap.
//
// Each server runs as a child process. The file-descriptor limit is raised
// to its hard maximum. For investigations, these variables reach the thinx
// child: MQTTBENCH_CPUPROFILE and MQTTBENCH_HEAPPROFILE (profile paths),
// MQTTBENCH_HISTORY=off, MQTTBENCH_PENDING (the per-client queue length);
// MQTTBENCH_FANIN lists the brokers of the fan-in ("thinx mosquitto raw").
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 {
		var err error
		switch os.Args[1] {
		case "serve-thinx":
			err = serveThinx()
		case "serve-raw":
			err = serveRaw()
		default:
			os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "mqttbench:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(run(nil, os.Stdout, os.Stderr))
}

// config holds the flags.
type config struct {
	run       string
	qos       string
	pubs      int
	msgs      int
	window    int
	conns     int
	subscribe bool
	devices   int
	duration  time.Duration
	pin       bool
	mosquitto string
}

func run(args []string, stdout, stderr io.Writer) int {
	var c config
	fs := flag.NewFlagSet("mqttbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.run, "run", "fanin,idle,status", "scenarios to run, comma-separated")
	fs.StringVar(&c.qos, "qos", "1,0", "fanin: QoS levels, comma-separated")
	fs.IntVar(&c.pubs, "pubs", 10, "fanin: publishers")
	fs.IntVar(&c.msgs, "msgs", 20000, "fanin: messages per publisher")
	fs.IntVar(&c.window, "window", 100, "fanin: unacknowledged QoS 1 messages per publisher")
	fs.IntVar(&c.conns, "conns", 10000, "idle: connections")
	fs.BoolVar(&c.subscribe, "subscribe", false, "idle: each connection subscribes to its device topic, as a THiNX device does")
	fs.IntVar(&c.devices, "devices", 1000, "status: devices")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "status: how long the devices publish")
	fs.BoolVar(&c.pin, "pin", false, "pin servers to CPU 0 and the generator to CPU 1 (needs taskset and two CPUs)")
	fs.StringVar(&c.mosquitto, "mosquitto", "mosquitto", "mosquitto binary")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if os.Getenv("MQTTBENCH_PINNED") != "" {
		c.pin = true // this is the generator, already moved to CPU 1
	} else if c.pin {
		if code, ok := repin(args); ok {
			return code
		}
		c.pin = false
		fmt.Fprintln(stderr, "mqttbench: taskset not found, running unpinned")
	}
	raiseFileLimit()
	b := &bench{cfg: c, out: stdout, log: stderr}
	b.header()
	for _, name := range strings.Split(c.run, ",") {
		var err error
		switch strings.TrimSpace(name) {
		case "fanin":
			err = b.fanin()
		case "idle":
			err = b.idle()
		case "status":
			err = b.status()
		default:
			err = fmt.Errorf("unknown scenario %q", name)
		}
		if err != nil {
			fmt.Fprintln(stderr, "mqttbench:", err)
			return 1
		}
	}
	return 0
}

// repin runs this command again under taskset on CPU 1, so every thread of
// the generator stays off the servers' CPU.
func repin(args []string) (int, bool) {
	ts, err := exec.LookPath("taskset")
	if err != nil {
		return 0, false
	}
	self, err := os.Executable()
	if err != nil {
		return 0, false
	}
	cmd := exec.Command(ts, append([]string{"-c", "1", self}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), "MQTTBENCH_PINNED=1", "GOMAXPROCS=1")
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), true
		}
		return 1, true
	}
	return 0, true
}

// raiseFileLimit lifts the soft descriptor limit to the hard one: 10,000
// connections need 10,000 descriptors on each side.
func raiseFileLimit() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
