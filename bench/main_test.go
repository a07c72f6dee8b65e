// Package bench holds xinling's performance benchmarks (test files only).
// Every benchmark starts a real server on a loopback port and talks to it
// over real WebSockets; docs/PERFORMANCE.md gives the commands and figures.
//
// The server's rate limits are raised (UserRate, ChannelRate, RequestRate
// all 1<<30) so that the benchmarks measure throughput, not the limiters.
package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
)

// childEnv makes the test binary run as a bare server (see childServer):
// the *Split benchmarks put the server in its own process so that its CPU
// time can be measured apart from the clients'.
const childEnv = "XINLING_BENCH_CHILD_SERVER"

// childProfileEnv names a file the child server writes a CPU profile to,
// covering the benchmark's timed region only.
const childProfileEnv = "XINLING_BENCH_SERVER_CPUPROFILE"

var serverProfile = flag.String("bench.serverprofile", "", "write the child server's CPU profile (Split benchmarks) to this file")

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(childServer())
	}
	os.Exit(m.Run())
}

// benchConfig is the server configuration of every benchmark: defaults,
// except that the rate limits are out of the way.
func benchConfig() server.Config {
	cfg := server.Config{
		UserRate:    1 << 30,
		ChannelRate: 1 << 30,
		RequestRate: 1 << 30,
		// Warnings (a slow client dropped) stay visible; info lines do not.
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	// Connection and login caps that newer servers have (all clients here
	// come from 127.0.0.1), raised when the field exists.
	raiseIfPresent(&cfg, "MaxConns", "MaxConnsPerAddr", "LoginRate")
	return cfg
}

// raiseIfPresent sets the named int fields of cfg to 1<<30 when cfg has them.
func raiseIfPresent(cfg *server.Config, names ...string) {
	v := reflect.ValueOf(cfg).Elem()
	for _, name := range names {
		if f := v.FieldByName(name); f.IsValid() && f.CanSet() && f.Kind() == reflect.Int {
			f.SetInt(1 << 30)
		}
	}
}

// inproc is a server running in this process.
type inproc struct {
	node *server.Node
	url  string
}

// startServer starts a server in this process on 127.0.0.1:0 (as
// e2e/harness_test.go does) and stops it in tb.Cleanup.
func startServer(tb testing.TB) *inproc { return startServerWith(tb, store.Memory()) }

// startServerWith is startServer with the store st, which it closes.
func startServerWith(tb testing.TB, st store.Store) *inproc {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	cfg := benchConfig()
	cfg.Store = st
	node := server.New(cfg)
	done := make(chan error, 1)
	go func() { done <- node.Serve(l) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := node.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			tb.Errorf("serve: %v", err)
		}
		_ = st.Close()
	})
	return &inproc{node: node, url: "ws://" + l.Addr().String() + "/ws"}
}

// childStat is what the child server reports on "stat".
type childStat struct {
	CPU    time.Duration // user + system CPU of the server process so far
	Writes uint64        // write-class system calls (write, writev, …) so far, from /proc/self/io
	Stats  server.Stats
}

// child is a server running in a child process (this test binary, re-run
// with childEnv set).
type child struct {
	url string
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
	mu  sync.Mutex
}

func startChild(tb testing.TB) *child {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if *serverProfile != "" {
		cmd.Env = append(cmd.Env, childProfileEnv+"="+*serverProfile)
	}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start child server: %v", err)
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewReader(outPipe)}
	line, err := c.out.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "addr ") {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		tb.Fatalf("child server: %q, %v", line, err)
	}
	c.url = "ws://" + strings.TrimSpace(strings.TrimPrefix(line, "addr ")) + "/ws"
	tb.Cleanup(func() {
		_, _ = io.WriteString(c.in, "quit\n")
		_ = c.in.Close()
		werr := make(chan error, 1)
		go func() { werr <- cmd.Wait() }()
		select {
		case err := <-werr:
			if err != nil {
				tb.Errorf("child server: %v", err)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-werr
			tb.Errorf("child server did not stop")
		}
	})
	return c
}

// command sends one line to the child and returns its one-line answer.
func (c *child) command(tb testing.TB, cmd string) string {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		tb.Fatalf("child server: %v", err)
	}
	line, err := c.out.ReadString('\n')
	if err != nil {
		tb.Fatalf("child server: %v", err)
	}
	return strings.TrimSpace(line)
}

func (c *child) stat(tb testing.TB) childStat {
	tb.Helper()
	var s childStat
	if err := json.Unmarshal([]byte(c.command(tb, "stat")), &s); err != nil {
		tb.Fatalf("child server stat: %v", err)
	}
	return s
}

// childServer is the child process: a server with benchConfig, driven by
// lines on stdin ("stat", "profstart", "profstop", "quit").
func childServer() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	cfg := benchConfig()
	node := server.New(cfg)
	done := make(chan error, 1)
	go func() { done <- node.Serve(l) }()
	fmt.Printf("addr %s\n", l.Addr())
	var prof *os.File
	stopProf := func() {
		if prof != nil {
			pprof.StopCPUProfile()
			_ = prof.Close()
			prof = nil
		}
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "stat":
			b, _ := json.Marshal(childStat{CPU: processCPU(), Writes: writeSyscalls(), Stats: node.Stats()})
			fmt.Printf("%s\n", b)
		case "profstart":
			if path := os.Getenv(childProfileEnv); path != "" && prof == nil {
				if f, err := os.Create(path); err == nil {
					if pprof.StartCPUProfile(f) == nil {
						prof = f
					} else {
						_ = f.Close()
					}
				}
			}
			fmt.Println("ok")
		case "profstop":
			stopProf()
			fmt.Println("ok")
		case "quit":
			stopProf()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = node.Shutdown(ctx)
			<-done
			return 0
		}
	}
	stopProf()
	return 0
}

// writeSyscalls is the number of write-class system calls this process made
// ("syscw" in /proc/self/io), 0 where that is not available.
func writeSyscalls() uint64 {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, _ := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// processCPU is the user + system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
