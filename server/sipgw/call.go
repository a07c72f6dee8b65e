package sipgw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/xinling/xinling/server/gateway"
)

// Why we end a call from our side (the cause of call.ctx).
var (
	errHangup      = errors.New("hung up")
	errClosing     = errors.New("gateway closing")
	errRingTimeout = errors.New("ring timeout")
)

type callState int

const (
	stateDialing callState = iota
	stateAnswered
	stateEnded
)

// call is one outgoing INVITE dialog. It is the gateway.Leg of the call.
//
// Two goroutines per call: run drives the SIP side (INVITE, ACK, CANCEL,
// BYE); dispatch delivers events from a queue. Everything that reports
// (run, the ring timer) only queues, under mu, so the order of events is
// the order of the decisions, and nothing on the SIP side ever waits for
// the caller's callbacks.
type call struct {
	g      *Gateway
	ev     gateway.Events
	log    *slog.Logger
	invite *sip.Request

	ctx    context.Context // cancelled, with a reason, to end the call from our side
	cancel context.CancelCauseFunc

	runDone chan struct{}
	queue   chan func() // events; at most Ringing, Answered and one terminal

	mu        sync.Mutex
	state     callState
	ringing   bool
	terminal  bool // a terminal event is queued or we ended the call: report nothing more
	ending    bool // we are ending it (Hangup, Close, ring timeout)
	hungUp    bool // Hangup or Close was called: drop even events already queued
	queueShut bool
	dlg       *sipgo.DialogClientSession
	target    sip.Uri // remote target (the 200's Contact) for in-dialog requests
	dialogID  string  // set when answered (also under g.mu)
	endErr    error   // how our CANCEL or BYE went, for Hangup

	reqMu sync.Mutex // one in-dialog request at a time (INFO, BYE)
}

var _ gateway.Leg = (*call)(nil)

func newCall(g *Gateway, gc gateway.Call, invite *sip.Request, ev gateway.Events) *call {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &call{
		g:       g,
		ev:      ev,
		log:     g.log.With("channel", gc.Channel, "number", gc.Number, "call_id", invite.CallID().Value()),
		invite:  invite,
		ctx:     ctx,
		cancel:  cancel,
		runDone: make(chan struct{}),
		queue:   make(chan func(), 4),
	}
}

// dispatch delivers the queued events in order.
func (c *call) dispatch() {
	defer c.g.wg.Done()
	for f := range c.queue {
		c.mu.Lock()
		drop := c.hungUp
		c.mu.Unlock()
		if !drop {
			f()
		}
	}
}

// queueLocked queues an event. The queue has room for every event a call
// can have, so this never blocks. c.mu must be held.
func (c *call) queueLocked(f func()) {
	if !c.queueShut {
		c.queue <- f
	}
}

func (c *call) shutQueue() {
	c.mu.Lock()
	c.queueShut = true
	close(c.queue)
	c.mu.Unlock()
}

func (c *call) emitRinging() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.terminal || c.ringing || c.state != stateDialing {
		return
	}
	c.ringing = true
	c.queueLocked(c.ev.Ringing)
}

// emitTerminal queues Rejected, Failed or Hangup, unless the call already
// ended.
func (c *call) emitTerminal(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.terminal {
		return
	}
	c.terminal = true
	c.state = stateEnded
	c.queueLocked(f)
}

func (c *call) fail(reason string) {
	c.log.Info("phone call failed", "reason", reason)
	c.emitTerminal(func() { c.ev.Failed(reason) })
}

// ringTimeout gives up an unanswered call: it fails now, and run cancels it.
func (c *call) ringTimeout() {
	c.mu.Lock()
	if c.state != stateDialing || c.terminal {
		c.mu.Unlock()
		return
	}
	c.ending = true
	c.terminal = true
	c.state = stateEnded
	reason := fmt.Sprintf("no answer within %v", c.g.cfg.RingTimeout)
	c.queueLocked(func() { c.ev.Failed(reason) })
	c.mu.Unlock()
	c.log.Info("phone call failed", "reason", reason)
	c.cancel(errRingTimeout)
}

// end ends the call from our side, with no event from then on. It reports
// whether this was the first such request.
func (c *call) end(cause error) bool {
	c.mu.Lock()
	if cause == errClosing && c.terminal {
		// Ended by itself (or already being ended): let it finish, and
		// its last event through.
		c.mu.Unlock()
		return false
	}
	first := !c.hungUp
	c.hungUp = true
	c.terminal = true
	c.ending = true
	c.mu.Unlock()
	c.cancel(cause) // only the first cause sticks
	return first
}

// run places the call and follows it to its end.
func (c *call) run() {
	defer c.g.wg.Done()
	defer close(c.runDone)
	defer c.g.forget(c)
	defer c.shutQueue()
	defer c.cancel(nil)

	ring := time.AfterFunc(c.g.cfg.RingTimeout, c.ringTimeout)
	defer ring.Stop()

	c.log.Debug("sending INVITE")
	dlg, err := c.g.dua.WriteInvite(c.ctx, c.invite)
	if err != nil {
		c.fail(fmt.Sprintf("send INVITE: %v", err))
		return
	}
	c.mu.Lock()
	c.dlg = dlg
	c.mu.Unlock()

	err = c.waitAnswer(dlg)
	res := dlg.InviteResponse // WaitAnswer is done with it: ours to read
	if err != nil {
		if res != nil && res.IsSuccess() {
			// It answered as we cancelled: the CANCEL lost the race, so
			// confirm the dialog and end it.
			c.setEndErr(c.ackAndBye(dlg))
			return
		}
		c.mu.Lock()
		ending := c.ending
		c.mu.Unlock()
		switch {
		case ending:
			// Our Hangup, Close or ring timeout: WaitAnswer sent the CANCEL
			// and absorbed the 487 (its normal return is context.Canceled).
			if errors.Is(err, context.Canceled) {
				err = nil
			}
			c.setEndErr(err)
		case res != nil && res.StatusCode >= 400:
			code, reason := int(res.StatusCode), res.Reason
			c.log.Info("phone call rejected", "code", code, "reason", reason)
			c.emitTerminal(func() { c.ev.Rejected(code, reason) })
		case res != nil && res.StatusCode >= 300:
			c.fail(fmt.Sprintf("redirected (%d %s), which the gateway does not follow", res.StatusCode, res.Reason))
		default:
			c.fail(failReason(err))
		}
		return
	}

	// 2xx: answered.
	ring.Stop()
	c.mu.Lock()
	if c.ending {
		c.mu.Unlock()
		c.setEndErr(c.ackAndBye(dlg))
		return
	}
	c.target = remoteTarget(dlg)
	c.g.mu.Lock()
	c.dialogID = dlg.ID
	c.g.dialogs[dlg.ID] = c // from here a BYE from the far end finds it
	c.g.mu.Unlock()
	c.mu.Unlock()

	// ACK first: the far end must not see an INFO (DTMF sent on Answered)
	// before it.
	if err := dlg.Ack(context.Background()); err != nil {
		c.fail(fmt.Sprintf("send ACK: %v", err))
		return
	}
	c.mu.Lock()
	if !c.terminal { // else our Hangup, Close or the ring timer got in first: BYE below
		c.state = stateAnswered
		c.queueLocked(func() { c.ev.Answered("") })
		c.log.Info("phone call answered")
	}
	c.mu.Unlock()

	// A BYE from the far end is reported from here, after Answered.
	select {
	case <-dlg.Context().Done():
		// The far end sent BYE (onBye answered it).
		c.log.Info("phone call hung up by the far end")
		c.emitTerminal(c.ev.Hangup)
	case <-c.ctx.Done():
		c.setEndErr(c.bye(dlg))
	}
}

// waitAnswer waits for the final response to the INVITE. On c.ctx being
// cancelled, sipgo's WaitAnswer sends CANCEL (after waiting, as RFC 3261
// 9.1 asks, for a provisional response if none came yet) and absorbs the
// 487.
func (c *call) waitAnswer(dlg *sipgo.DialogClientSession) error {
	for {
		n := 0
		err := dlg.WaitAnswer(c.ctx, sipgo.AnswerOptions{
			OnResponse: func(r *sip.Response) error {
				n++
				if r.StatusCode == sip.StatusRinging || r.StatusCode == sip.StatusSessionInProgress {
					c.emitRinging()
				}
				return nil
			},
		})
		// sipgo's WaitAnswer gives up after 11 responses (a loop guard),
		// cancelling nothing: a long ring with repeated 180/183 can reach
		// that. The transaction is still alive; wait on.
		if err != nil && n == 11 && dlg.InviteResponse != nil && dlg.InviteResponse.IsProvisional() {
			continue
		}
		return err
	}
}

// ackAndBye confirms a dialog we no longer want and ends it.
func (c *call) ackAndBye(dlg *sipgo.DialogClientSession) error {
	c.mu.Lock()
	c.target = remoteTarget(dlg)
	c.mu.Unlock()
	if err := dlg.Ack(context.Background()); err != nil {
		return fmt.Errorf("sipgw: ACK: %w", err)
	}
	return c.bye(dlg)
}

// bye sends BYE and waits for the final response (sipgo's transaction
// timers bound the wait; Close cuts it short).
func (c *call) bye(dlg *sipgo.DialogClientSession) error {
	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	c.mu.Lock()
	req := sip.NewRequest(sip.BYE, c.target)
	c.mu.Unlock()
	req.Laddr = c.g.laddr
	// Not dlg.Bye/WriteBye: they take the first response, and a 100 to the
	// BYE would count as a failure. Do waits for the final one.
	res, err := dlg.Do(context.Background(), req)
	if err != nil {
		return fmt.Errorf("sipgw: BYE: %w", err)
	}
	if !res.IsSuccess() {
		return fmt.Errorf("sipgw: BYE answered %d %s", res.StatusCode, res.Reason)
	}
	c.log.Info("phone call hung up")
	return nil
}

// remoteBye answers the far end's BYE; run then reports Hangup.
func (c *call) remoteBye(req *sip.Request, tx sip.ServerTransaction) {
	c.mu.Lock()
	dlg := c.dlg
	if c.state == stateAnswered {
		c.state = stateEnded // no more DTMF
	}
	c.mu.Unlock()
	if err := dlg.ReadBye(req, tx); err != nil {
		c.log.Warn("answering BYE", "err", err)
	}
}

func (c *call) setEndErr(err error) {
	if err != nil {
		c.log.Warn("ending phone call", "err", err)
	}
	c.mu.Lock()
	c.endErr = err
	c.mu.Unlock()
}

// Hangup ends the call from our side: CANCEL before the answer, BYE after
// it. It returns when the far end has confirmed (the 487 after CANCEL, or
// the 200 to BYE) or SIP's timers give up on it. No event follows. A second
// call, or a call after the call ended, does nothing and returns nil.
func (c *call) Hangup() error {
	if !c.end(errHangup) {
		return nil
	}
	<-c.runDone
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endErr
}

// SendDTMF sends digits (0-9 * #) on an answered call, one SIP INFO
// (application/dtmf-relay) per digit, each waiting for its 200.
func (c *call) SendDTMF(digits string) error {
	if digits == "" {
		return errors.New("sipgw: no DTMF digits")
	}
	for _, d := range digits {
		if !strings.ContainsRune("0123456789*#", d) {
			return fmt.Errorf("sipgw: bad DTMF digit %q (only 0-9 * #)", d)
		}
	}
	c.mu.Lock()
	state, dlg := c.state, c.dlg
	c.mu.Unlock()
	switch state {
	case stateDialing:
		return errors.New("sipgw: DTMF on a call not answered")
	case stateEnded:
		return errors.New("sipgw: DTMF on a call that has ended")
	}

	c.reqMu.Lock()
	defer c.reqMu.Unlock()
	for _, d := range digits {
		c.mu.Lock()
		live := c.state == stateAnswered && !c.terminal
		target := c.target
		c.mu.Unlock()
		if !live {
			return errors.New("sipgw: the call ended while sending DTMF")
		}
		req := sip.NewRequest(sip.INFO, target)
		req.Laddr = c.g.laddr
		ct := sip.ContentTypeHeader("application/dtmf-relay")
		req.AppendHeader(&ct)
		req.SetBody([]byte("Signal=" + string(d) + "\r\nDuration=160\r\n"))
		res, err := dlg.Do(c.ctx, req)
		if err != nil {
			return fmt.Errorf("sipgw: DTMF %q: %w", d, err)
		}
		if !res.IsSuccess() {
			return fmt.Errorf("sipgw: DTMF %q answered %d %s", d, res.StatusCode, res.Reason)
		}
	}
	return nil
}

// remoteTarget is where in-dialog requests go: the Contact of the answer.
func remoteTarget(dlg *sipgo.DialogClientSession) sip.Uri {
	if res := dlg.InviteResponse; res != nil {
		if ct := res.Contact(); ct != nil {
			return *ct.Address.Clone()
		}
	}
	return *dlg.InviteRequest.Recipient.Clone()
}

func failReason(err error) string {
	switch {
	case errors.Is(err, sip.ErrTransactionTimeout):
		return "no response from the SIP peer (timeout)"
	case errors.Is(err, sip.ErrTransactionTransport):
		return fmt.Sprintf("SIP transport error: %v", err)
	default:
		return fmt.Sprintf("SIP: %v", err)
	}
}
