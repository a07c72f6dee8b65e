package server

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
	"github.com/xinling/xinling/server/store"
)

// pausingStore holds the janitor just after the store expired channels,
// before the node has heard which: the moment a slow store (JetStream) keeps
// open for milliseconds.
type pausingStore struct {
	store.Store
	expired, release chan struct{}
	once             sync.Once
}

func (s *pausingStore) ExpireChannels(now time.Time) ([][2]string, error) {
	gone, err := s.Store.ExpireChannels(now)
	if len(gone) > 0 {
		s.once.Do(func() {
			close(s.expired)
			<-s.release
		})
	}
	return gone, err
}

// TestJoinWhileAChannelExpires: a member joining a channel whose attributes
// the store has just expired sees none of them, though the janitor has not
// yet told the node.
func TestJoinWhileAChannelExpires(t *testing.T) {
	st := &pausingStore{Store: store.Memory(), expired: make(chan struct{}), release: make(chan struct{})}
	_, url := testNode(t, Config{Store: st, JanitorEvery: 10 * time.Millisecond})
	t.Cleanup(func() { close(st.release) }) // before the node's shutdown waits for the janitor
	a := dialRaw(t, url)
	a.login("app", "a")
	for _, kv := range [][2]string{{"k", "v"}, {wire.AttrChannelTTL, "0"}} {
		if f := a.call(wire.OpChannelSetAttr, wire.ChannelAttrReq{Channel: "short", Name: kv[0], Value: kv[1]}); f.Err != nil {
			t.Fatalf("set %s: %v", kv[0], f.Err)
		}
	}
	select {
	case <-st.expired:
	case <-time.After(5 * time.Second):
		t.Fatal("the channel did not expire")
	}
	f := a.call(wire.OpChannelJoin, wire.ChannelReq{Channel: "short"})
	if f.Err != nil {
		t.Fatalf("join: %v", f.Err)
	}
	var res wire.JoinRes
	mustDecode(t, f, &res)
	if got, want := fmt.Sprint(res.Attrs), fmt.Sprint([]wire.Attr{{Name: wire.AttrMemberNum, Value: "1"}}); got != want {
		t.Fatalf("the joiner sees attributes %s, want %s", got, want)
	}
}
