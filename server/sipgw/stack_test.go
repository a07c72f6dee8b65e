package sipgw

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
)

// The whole stack: an SDK instance invites a phone number, the server hands
// it to this gateway, and sipp answers as the phone.

type sdkEvents struct {
	sdk.BaseCallback
	mu     sync.Mutex
	events []string
}

func (e *sdkEvents) add(s string) { e.mu.Lock(); e.events = append(e.events, s); e.mu.Unlock() }

func (e *sdkEvents) OnLoginSuccess(uint32, int) { e.add("login") }
func (e *sdkEvents) OnError(name string, code int, desc string) {
	e.add(fmt.Sprintf("error %s %d", name, code))
}
func (e *sdkEvents) OnInviteReceivedByPeer(ch, acc string, _ uint32) {
	e.add("received " + ch + " " + acc)
}
func (e *sdkEvents) OnInviteAcceptedByPeer(ch, acc string, _ uint32, extra string) {
	e.add("accepted " + ch + " " + acc)
}
func (e *sdkEvents) OnInviteRefusedByPeer(ch, acc string, _ uint32, extra string) {
	e.add("refused " + ch + " " + acc + " " + extra)
}
func (e *sdkEvents) OnInviteFailed(ch, acc string, _ uint32, code int, extra string) {
	e.add(fmt.Sprintf("failed %s %s %d", ch, acc, code))
}
func (e *sdkEvents) OnInviteEndByPeer(ch, acc string, _ uint32, extra string) {
	e.add("endbypeer " + ch + " " + acc)
}
func (e *sdkEvents) OnInviteEndByMyself(ch, acc string, _ uint32) {
	e.add("endbymyself " + ch + " " + acc)
}

// await waits until the events are exactly want (in order).
func (e *sdkEvents) await(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		e.mu.Lock()
		got := append([]string(nil), e.events...)
		e.mu.Unlock()
		if len(got) >= len(want) {
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("events %q, want %q", got, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events %q, want %q", got, want)
		}
		time.Sleep(5 * time.Millisecond) // polling the recorded events, with a deadline
	}
}

func phoneStack(t *testing.T, proxy string) (*sdk.Client, *sdkEvents) {
	t.Helper()
	g := newGateway(t, Config{Proxy: proxy})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	node := server.New(server.Config{Store: store.Memory(), Gateway: g})
	done := make(chan error, 1)
	go func() { done <- node.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = node.Shutdown(ctx)
		<-done
	})
	c := sdk.NewInstance("app", sdk.WithServer("ws://"+l.Addr().String()))
	t.Cleanup(c.Destroy)
	ev := &sdkEvents{}
	c.CallbackSet(ev)
	c.Login("app", "alice", "", 0, "")
	ev.await(t, "login")
	return c, ev
}

func TestPhoneInviteAnsweredDTMFEnd(t *testing.T) {
	s := startSipp(t, "uas_answer.xml")
	c, ev := phoneStack(t, s.addr)
	const num = "+8613800000001"
	c.ChannelInvitePhone3("room-42", num, "", `{"k":1}`) // the scenario wants From "alice"
	ev.await(t, "login", "received room-42 "+num, "accepted room-42 "+num)
	c.ChannelInviteDTMF("room-42", num, "12#")
	c.ChannelInviteEnd("room-42", num, 0)
	ev.await(t, "login", "received room-42 "+num, "accepted room-42 "+num, "endbymyself room-42 "+num)
	s.wait(t) // sipp saw the INVITE, three INFOs 1 2 # and the BYE
}

func TestPhoneInviteBusy(t *testing.T) {
	s := startSipp(t, "uas_busy.xml")
	c, ev := phoneStack(t, s.addr)
	c.ChannelInvitePhone("room-42", "+8613800000002", 0)
	ev.await(t, "login", `refused room-42 +8613800000002 {"reason":"Busy Here","sip_code":486}`)
	s.wait(t)
}

func TestPhoneFarEndHangsUp(t *testing.T) {
	s := startSipp(t, "uas_hangup.xml")
	c, ev := phoneStack(t, s.addr)
	c.ChannelInvitePhone2("room-42", "+8613800000003", "+100")
	ev.await(t, "login", "accepted room-42 +8613800000003", "endbypeer room-42 +8613800000003")
	s.wait(t)
}
