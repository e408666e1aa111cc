package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// bench runs scenarios and prints their results as Markdown.
type bench struct {
	cfg      config
	out, log io.Writer
}

func (b *bench) header() {
	ver, _ := exec.Command(b.cfg.mosquitto, "-h").CombinedOutput()
	first, _, _ := strings.Cut(string(ver), "\n")
	fmt.Fprintf(b.out, "# MQTT broker benchmark, %s\n\n", time.Now().Format(time.RFC3339))
	pin := "no"
	if b.cfg.pin {
		pin = "servers on CPU 0, generator on CPU 1"
	}
	fmt.Fprintf(b.out, "%s, %s/%s, %s; %s; pinned: %s\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH,
		cpuModel(), strings.TrimSpace(first), pin)
}

// cpuModel names the processor, from /proc/cpuinfo.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// server is one broker under test, running as a child process.
type server struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	info childInfo
	dir  string
}

// start launches a broker: "thinx", "raw" (stock embedded broker) or
// "mosquitto".
func (b *bench) start(kind string) (*server, error) {
	s := &server{name: kind}
	var argv []string
	switch kind {
	case "thinx", "raw":
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		argv = []string{self, "serve-" + kind}
	case "mosquitto":
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		if s.dir, err = os.MkdirTemp("", "mqttbench-mosquitto-"); err != nil {
			return nil, err
		}
		// A fair configuration: no persistence, and queues large enough that
		// nothing is dropped by configuration rather than by load.
		conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"+
			"max_queued_messages 1000000\nmax_queued_bytes 0\nmax_inflight_messages 0\nmax_connections -1\nlog_dest none\n", port)
		path := filepath.Join(s.dir, "mosquitto.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			return nil, err
		}
		argv = []string{b.cfg.mosquitto, "-c", path}
		s.info.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	default:
		return nil, fmt.Errorf("unknown broker %q", kind)
	}
	if b.cfg.pin {
		argv = append([]string{"taskset", "-c", "0"}, argv...)
	}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stderr = b.log
	var err error
	if s.in, err = s.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	s.out = bufio.NewReader(stdout)
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	if kind == "mosquitto" {
		return s, waitPort(s.info.Addr)
	}
	line, err := s.out.ReadBytes('\n')
	if err != nil {
		s.stop()
		return nil, fmt.Errorf("%s did not start: %w", kind, err)
	}
	return s, json.Unmarshal(line, &s.info)
}

// request sends a command to a thinx child and decodes its one-line answer.
func (s *server) request(cmd string, v any) error {
	if _, err := fmt.Fprintln(s.in, cmd); err != nil {
		return err
	}
	line, err := s.out.ReadBytes('\n')
	if err != nil {
		return err
	}
	return json.Unmarshal(line, v)
}

// rss is the server's resident memory in bytes.
func (s *server) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, l := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("VmRSS:")); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(string(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpu is the processor time the server has used so far.
func (s *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields 14 and 15 (utime, stime) follow the command name in brackets.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * time.Second / 100 // USER_HZ
}

func (s *server) stop() {
	s.in.Close()
	done := make(chan struct{})
	go func() { s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-done
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitPort(addr string) error {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return nil
		}
	}
	return fmt.Errorf("nothing listens on %s", addr)
}
