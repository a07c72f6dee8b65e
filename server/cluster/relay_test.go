package cluster

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// natsServer starts a lone nats-server on loopback, stopped when the test ends.
func natsServer(t *testing.T, jetStream bool) *natsserver.Server {
	t.Helper()
	opts := &natsserver.Options{Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true}
	if jetStream {
		opts.JetStream, opts.StoreDir = true, t.TempDir()
	}
	ns, err := natsserver.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	t.Cleanup(func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return ns
}

func plainNATS(t *testing.T) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(natsServer(t, false).ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// receiver decodes relay messages as an edge does: frames (with references
// and parts joined) per connection, in order.
type receiver struct {
	mu    sync.Mutex
	got   map[uint64][][]byte
	kinds map[uint64][]byte
	parts joiner
	n     int
	done  chan struct{}
	want  int
	msgs  int
	seq   uint64
}

func (r *receiver) on(msg *nats.Msg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs++
	seq, body, err := readSeq(msg.Data)
	if err != nil {
		panic(err)
	}
	if seq != r.seq+1 {
		panic(fmt.Sprintf("message %d after %d", seq, r.seq))
	}
	r.seq = seq
	var frames [][]byte
	err = records(body, func(rec record) {
		if !r.parts.join(&rec) {
			return
		}
		p := rec.payload
		switch rec.kind {
		case recFrame:
			frames = append(frames, p)
		case recRef:
			p = frames[rec.ref]
		}
		r.got[rec.conn] = append(r.got[rec.conn], p)
		r.kinds[rec.conn] = append(r.kinds[rec.conn], rec.kind)
		r.n++
		if r.n == r.want {
			close(r.done)
		}
	})
	if err != nil {
		panic(err)
	}
}

// TestOutboxDeliversInOrderSharedAndLarge: frames fanned out to many
// connections travel once per message and arrive as sent, in order per
// connection; payloads larger than a NATS message arrive whole.
func TestOutboxDeliversInOrderSharedAndLarge(t *testing.T) {
	nc := plainNATS(t)
	const conns, rounds = 50, 40
	big := bytes.Repeat([]byte("0123456789abcdef"), (3*maxRelayMsg)/16+7) // over several messages
	want := conns*rounds + 3
	r := &receiver{got: map[uint64][][]byte{}, kinds: map[uint64][]byte{}, parts: joiner{}, done: make(chan struct{}), want: want}
	sub, err := nc.Subscribe("t.out", r.on)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	o := newOutbox(nc, "t.out", nil)
	var sent [conns + 1][][]byte
	for i := range rounds {
		f := []byte(fmt.Sprintf(`{"op":"ch.msg","off":%d}`, i))
		for c := range conns {
			o.add(recFrame, uint64(c), f, true)
			sent[c] = append(sent[c], f)
		}
	}
	o.add(recFrame, conns, big, true)
	o.add(recFrame, conns, []byte("after the big one"), true)
	o.add(recMsg, conns, big, true)
	sent[conns] = [][]byte{big, []byte("after the big one"), big}
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("received %d of %d records", r.n, want)
	}
	o.close()
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range conns + 1 {
		if len(r.got[uint64(c)]) != len(sent[c]) {
			t.Fatalf("conn %d: %d frames, want %d", c, len(r.got[uint64(c)]), len(sent[c]))
		}
		for i := range sent[c] {
			if !bytes.Equal(r.got[uint64(c)][i], sent[c][i]) {
				t.Fatalf("conn %d frame %d: got %d bytes %.40q, want %d bytes %.40q", c, i, len(r.got[uint64(c)][i]), r.got[uint64(c)][i], len(sent[c][i]), sent[c][i])
			}
		}
	}
	if got := r.kinds[conns]; string(got) != string([]byte{recFrame, recFrame, recMsg}) {
		t.Fatalf("kinds of the large records: %q", got)
	}
	// The 2,000 small frames were 40 distinct ones: most went as references.
	refs := 0
	for c := range conns {
		for _, k := range r.kinds[uint64(c)] {
			if k == recRef {
				refs++
			}
		}
	}
	if refs < conns*rounds/2 {
		t.Fatalf("only %d of %d fanned-out frames went as references", refs, conns*rounds)
	}
	t.Logf("%d records in %d NATS messages, %d as references", want, r.msgs, refs)
}

// FuzzRecords: decoding arbitrary bytes never panics or reads out of range.
func FuzzRecords(f *testing.F) {
	o := &outbox{}
	o.startLocked()
	o.appendLocked(recMsg, 7, []byte("hello"), true)
	o.appendLocked(recRef, 9, nil, false)
	f.Add(o.cur)
	f.Add([]byte{recTimeout, 1, 200, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		j := joiner{}
		_ = records(b, func(r record) { j.join(&r) })
		_, _, _ = readHead(b)
		_, _, _ = readSeq(b)
	})
}

func TestRecordsRandomRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		o := &outbox{}
		o.startLocked()
		type rec struct {
			kind    byte
			conn    uint64
			payload []byte
		}
		var want []rec
		for range rng.IntN(20) {
			kinds := []byte{recOpen, recMsg, recGone, recClose, recAccept, recRefuse}
			k := kinds[rng.IntN(len(kinds))]
			p := make([]byte, rng.IntN(300))
			for i := range p {
				p[i] = byte(rng.IntN(256))
			}
			if !hasPayload(k) {
				p = nil
			}
			c := rng.Uint64N(1 << 40)
			o.appendLocked(k, c, p, hasPayload(k))
			want = append(want, rec{k, c, p})
		}
		var got []rec
		seq, body, err := readSeq(o.cur)
		if err != nil || seq != 1 {
			t.Fatalf("message number %d, %v", seq, err)
		}
		if err := records(body, func(r record) { got = append(got, rec{r.kind, r.conn, r.payload}) }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%d records, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].kind != want[i].kind || got[i].conn != want[i].conn || !bytes.Equal(got[i].payload, want[i].payload) {
				t.Fatalf("record %d: %+v, want %+v", i, got[i], want[i])
			}
		}
	}
}

func TestClusterSize(t *testing.T) {
	for _, c := range []struct {
		listen string
		routes []string
		want   int
	}{
		{"127.0.0.1:6222", []string{"127.0.0.1:6222", "127.0.0.1:6223", "127.0.0.1:6224"}, 3},
		{"127.0.0.1:6222", []string{"nats-route://127.0.0.1:6223", "nats-route://u:p@127.0.0.1:6224"}, 3},
		{"127.0.0.1:6222", []string{"nats-route://u:p@127.0.0.1:6222"}, 1},
		// Listening on every address: this machine's addresses are itself.
		{"0.0.0.0:6222", []string{"127.0.0.1:6222", "10.255.255.1:6222", "10.255.255.2:6222"}, 3},
		{"0.0.0.0:6222", []string{"localhost:6222", "127.0.0.1:6223"}, 2},
	} {
		if got := clusterSize(NATSConfig{Listen: c.listen, Routes: c.routes}); got != c.want {
			t.Errorf("clusterSize(%s, %v) = %d, want %d", c.listen, c.routes, got, c.want)
		}
	}
}
