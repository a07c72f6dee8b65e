package e2e

import (
	"net"
	"sync"
	"testing"
)

// proxy sits between SDKs and a server so a test can cut connections or
// refuse new ones, the way a bad network would.
type proxy struct {
	l       net.Listener
	target  func() string
	mu      sync.Mutex
	refuse  bool
	stalled bool // bytes are swallowed: a half-open connection, no FIN either way
	pairs   map[net.Conn]net.Conn
	wg      sync.WaitGroup
	accepts int
}

func startProxy(t testing.TB, target func() string) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target, pairs: make(map[net.Conn]net.Conn)}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// retarget points new connections elsewhere.
func (p *proxy) retarget(target func() string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

func (p *proxy) url() string { return "ws://" + p.l.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.accepts++
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		p.mu.Lock()
		target := p.target
		p.mu.Unlock()
		if target == nil {
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", target())
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.pairs[c] = up
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			stalled := p.stalled
			p.mu.Unlock()
			if !stalled {
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// stall makes every open connection half-open: what is sent is lost, and
// neither side is told.
func (p *proxy) stall() {
	p.mu.Lock()
	p.stalled = true
	p.mu.Unlock()
}

// cut closes every open connection; refuse decides whether new ones are let through.
func (p *proxy) cut(refuse bool) {
	p.mu.Lock()
	p.refuse = refuse
	pairs := p.pairs
	p.pairs = make(map[net.Conn]net.Conn)
	p.mu.Unlock()
	for a, b := range pairs {
		a.Close()
		b.Close()
	}
}

func (p *proxy) allow() {
	p.mu.Lock()
	p.refuse = false
	p.stalled = false
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.l.Close()
	p.cut(true)
	p.wg.Wait()
}
