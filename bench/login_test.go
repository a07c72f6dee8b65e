package bench

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// loginOnce is one complete session over a new socket: TCP connect,
// WebSocket upgrade, login (fresh account), logout, close.
func loginOnce(url, account string) error {
	c, err := dialRaw(url)
	if err != nil {
		return err
	}
	defer c.close()
	if err := c.login(fanApp, account); err != nil {
		return err
	}
	_, err = c.call(wire.OpLogout, wire.PingReq{})
	return err
}

// BenchmarkLogin: one op = connect, upgrade, log in, log out, close, by 16
// concurrent clients (b.SetParallelism(8) on 2 cores); logins/s is the
// server's session turnover over real sockets.
func BenchmarkLogin(b *testing.B) {
	srv := startServer(b)
	before := srv.node.Stats()
	var next atomic.Int64
	b.SetParallelism(8)
	start := time.Now()
	cpu0 := processCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			acct := "u" + strconv.FormatInt(next.Add(1), 10)
			if err := loginOnce(srv.url, acct); err != nil {
				b.Errorf("%s: %v", acct, err)
				return
			}
		}
	})
	b.StopTimer()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	after := srv.node.Stats()
	if got := after.Logins - before.Logins; got != uint64(b.N) {
		b.Fatalf("server counted %d logins, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/1e3, "combined-cpu-us/op")
}
