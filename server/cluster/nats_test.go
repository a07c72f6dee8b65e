package cluster

import (
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestClusterSecret: with --cluster-secret, NATS clients and routes without
// it are refused; a node with the same secret joins.
func TestClusterSecret(t *testing.T) {
	a, b, c := freeAddr(t), freeAddr(t), freeAddr(t)
	start := func(listen, secret string) *NATS {
		ns, err := embedded(NATSConfig{Name: "sec", Listen: listen, Routes: []string{a, b}, Secret: secret,
			ClientAddr: "127.0.0.1:0", StoreDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		n := &NATS{Server: ns}
		t.Cleanup(n.Close)
		return n
	}
	na := start(a, "s3cret")
	if nc, err := nats.Connect(na.Server.ClientURL()); err == nil {
		nc.Close()
		t.Fatal("a NATS client without the secret was let in")
	}
	nc, err := nats.Connect(na.Server.ClientURL(), nats.UserInfo(secretUser, "s3cret"))
	if err != nil {
		t.Fatalf("a client with the secret was refused: %v", err)
	}
	nc.Close()

	intruder := start(c, "wrong")
	start(b, "s3cret")
	deadline := time.Now().Add(10 * time.Second)
	for na.Server.NumRoutes() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the node with the same secret did not join")
		}
		time.Sleep(20 * time.Millisecond) // polling the route table; deadline above
	}
	// The intruder, started before b, tried a at once with the wrong secret.
	if n := intruder.Server.NumRoutes(); n != 0 {
		t.Fatalf("the node with the wrong secret has %d routes", n)
	}
}
