package bench

import (
	"fmt"
	"strconv"
	"testing"
)

// The tests below run the benchmarks' machinery at a small size, so that
// `go test ./bench/` (and CI) proves the benchmarks measure what they
// claim: every message delivered, in order, and counted by the server.

func TestFanoutDeliversEverything(t *testing.T) {
	for _, tc := range []struct {
		parse string
		e2e   bool
	}{{"fast", false}, {"split", false}, {"fast", true}} {
		parse := tc.parse
		t.Run(fmt.Sprintf("%s/e2e=%v", parse, tc.e2e), func(t *testing.T) {
			old := *fanoutParse
			*fanoutParse = parse
			defer func() { *fanoutParse = old }()
			srv := startServer(t)
			const members, msgs = 40, 300
			before := srv.node.Stats()
			f := newFanout(t, srv.url, members, 8)
			f.e2e = tc.e2e
			if _, err := f.run(msgs); err != nil {
				t.Fatal(err)
			}
			for _, m := range f.members {
				if m.next != msgs {
					t.Fatalf("member %d got %d messages, want %d", m.idx, m.next, msgs)
				}
			}
			if f.members[0].answer != msgs {
				t.Fatalf("publisher got %d answers, want %d", f.members[0].answer, msgs)
			}
			after := srv.node.Stats()
			checkServerCounts(t, before.Deliveries, after.Deliveries, before.SlowDrops, after.SlowDrops, members*msgs)
		})
	}
}

func TestFanoutChildServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	srv := startChild(t)
	const members, msgs = 20, 100
	f := newFanout(t, srv.url, members, 8)
	before := srv.stat(t)
	if _, err := f.run(msgs); err != nil {
		t.Fatal(err)
	}
	after := srv.stat(t)
	checkServerCounts(t, before.Stats.Deliveries, after.Stats.Deliveries, before.Stats.SlowDrops, after.Stats.SlowDrops, members*msgs)
	if after.CPU <= before.CPU {
		t.Fatalf("child server CPU did not grow: %v → %v", before.CPU, after.CPU)
	}
}

func TestParseLine(t *testing.T) {
	good := []byte(`{"op":"ch.msg","off":1700000000000123,"d":{"ch":"fan","from":"m0","uid":1,"msg":"42"}}`)
	m, ok := parseLine(good)
	if !ok || m.off != 1700000000000123 || m.n != 42 {
		t.Fatalf("parseLine(good) = %+v, %v", m, ok)
	}
	for _, bad := range []string{
		`{"op":"ch.msg","off":1,"d":{"ch":"fan","from":"m0","uid":1,"msg":"x"}}`,
		`{"op":"res","id":3}`,
		`{"op":"ch.msg","off":x,"d":{"ch":"fan","from":"m0","uid":1,"msg":"1"}}`,
	} {
		if _, ok := parseLine([]byte(bad)); ok {
			t.Errorf("parseLine(%s) accepted", bad)
		}
	}
}

func TestPeerRoundTrip(t *testing.T) {
	srv := startServer(t)
	p := newSDKPair(t, srv.url)
	for i := 0; i < 20; i++ {
		if err := p.roundTrip(strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoginOnce(t *testing.T) {
	srv := startServer(t)
	for i := 0; i < 5; i++ {
		if err := loginOnce(srv.url, "u"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.node.Stats().Logins; got != 5 {
		t.Fatalf("server counted %d logins, want 5", got)
	}
}
