package server

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

// The records nodes exchange (through Peers.Send), each one message of the
// cluster's transport's stream from one node to another, in order:
//
//	'q' id, op, shard, app, JSON   a request for the node serving shard
//	'a' id, status, JSON      its answer: 0 ok (the result), 1 refused (a
//	                          wire.Error), 2 not served here (ask again)
//	'p' app, channel, frame   a channel's push, for this node's members of it
//	'u' app, account, session, op, JSON   a user-stream push for one session (calls)
//	'x' app, channel, adopter the sender no longer serves the channel: its
//	                          members here join it at the adopter, or where it is served next
//	'e' session               a session ended (the calls bound to it end)
//	'r' shard                 the sender's rejoins of the shard's channels are answered (settle.go)
//	's' (app, account, in)…   logins and logouts on the sender (present.go)
//
// Requests run on the serving node on one worker per shard, in the order
// they came (so a session's requests to one channel keep their order, and a
// store write that waits delays that shard only); answers and pushes run at
// once, in order, on the transport's goroutine.
const (
	recRequest  = 'q'
	recAnswer   = 'a'
	recChanPush = 'p'
	recUserPush = 'u'
	recMoved    = 'x'
	recEnded    = 'e'
)

const (
	answerOK      = 0
	answerRefused = 1
	answerNotHere = 2
	remoteTimeout = 10 * time.Second // an answer that never comes
	movePatience  = 20 * time.Second // how long a request follows a moving shard
	// rejoinPatience is how long a session waits to join its channel again
	// where it is served next: a dead node's shards may take a JetStream
	// election and more to be served again.
	rejoinPatience = 2 * time.Minute
	moveRetryPause = 50 * time.Millisecond
)

// remoteOp runs a request on the node serving its shard; answer is called
// once (on any goroutine) with the result (JSON-encoded) or a refusal.
type remoteOp func(n *Node, from string, app string, payload []byte, answer func(res any, e *wire.Error))

// remoteOps is filled by the files of each area (remote_*.go).
var remoteOps = map[byte]remoteOp{}

type pending struct {
	node     string
	deadline time.Time
	reply    func(status byte, payload []byte)
}

// remote is the node's side of the cluster protocol.
type remote struct {
	ids     atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]*pending
	workers map[int]*shardWorker
}

func newRemote() *remote {
	return &remote{pending: make(map[uint64]*pending), workers: make(map[int]*shardWorker)}
}

// appendName writes a length-prefixed string.
func appendName(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var errShortRecord = errors.New("cluster record: truncated")

func readName(b []byte) (string, []byte, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return "", nil, errShortRecord
	}
	return string(b[k : k+int(n)]), b[k+int(n):], nil
}

func readUvarint(b []byte) (uint64, []byte, error) {
	v, k := binary.Uvarint(b)
	if k <= 0 {
		return 0, nil, errShortRecord
	}
	return v, b[k:], nil
}

// ask runs op on the node serving the shard of (app, name): local() when
// it is this one, else a request whose answer goes to reply. A shard that is
// moving is followed until it is served again (or movePatience has passed).
func (n *Node) ask(app, name string, op byte, payload any, local func(), reply func(raw []byte, e *wire.Error)) {
	n.askWithin(movePatience, app, name, op, payload, local, reply)
}

// askWithin is ask, following a moving shard for as long as patience.
func (n *Node) askWithin(patience time.Duration, app, name string, op byte, payload any, local func(), reply func(raw []byte, e *wire.Error)) {
	body, err := json.Marshal(payload)
	if err != nil {
		reply(nil, internal(err))
		return
	}
	n.askAt(app, name, op, body, time.Now().Add(patience), local, reply)
}

func (n *Node) askAt(app, name string, op byte, body []byte, until time.Time, local func(), reply func([]byte, *wire.Error)) {
	k, node, here := n.place(app, name)
	if here {
		local()
		return
	}
	if node == "" {
		n.retryAsk(app, name, op, body, until, local, reply)
		return
	}
	n.sendRequest(node, k, app, op, body, func(status byte, payload []byte) {
		switch status {
		case answerOK:
			reply(payload, nil)
		case answerNotHere:
			n.retryAsk(app, name, op, body, until, local, reply)
		default:
			reply(nil, refusal(node, payload))
		}
	})
}

// refusal decodes a refused request's error.
func refusal(node string, payload []byte) *wire.Error {
	var e wire.Error
	if err := json.Unmarshal(payload, &e); err != nil {
		return wire.Errf(wire.General, "bad answer from %s: %v", node, err)
	}
	return &e
}

// sendRequest sends request op to node, for shard k (−1: any: a call the
// node holds), and waits for its answer; reply gets the status and payload.
func (n *Node) sendRequest(node string, k int, app string, op byte, body []byte, reply func(status byte, payload []byte)) {
	id := n.rem.ids.Add(1)
	n.rem.mu.Lock()
	n.rem.pending[id] = &pending{node: node, deadline: time.Now().Add(remoteTimeout), reply: reply}
	n.rem.mu.Unlock()
	rec := []byte{recRequest}
	rec = binary.AppendUvarint(rec, id)
	rec = append(rec, op)
	rec = binary.AppendUvarint(rec, uint64(k+1))
	rec = appendName(rec, app)
	n.peers.Send(node, append(rec, body...))
}

// retryAsk asks again once the shard is served, or gives up at until.
func (n *Node) retryAsk(app, name string, op byte, body []byte, until time.Time, local func(), reply func([]byte, *wire.Error)) {
	if time.Now().After(until) {
		reply(nil, wire.Errf(wire.General, "the server of %s is not reachable: try again", name))
		return
	}
	time.AfterFunc(moveRetryPause, func() { n.askAt(app, name, op, body, until, local, reply) })
}

// PeerMessage handles a record from node from (on the transport's
// goroutine: it must not wait).
func (n *Node) PeerMessage(from string, rec []byte) {
	if len(rec) == 0 {
		return
	}
	var err error
	switch rec[0] {
	case recRequest:
		err = n.onRequest(from, rec[1:])
	case recAnswer:
		err = n.onAnswer(rec[1:])
	case recChanPush:
		err = n.onChanPush(from, rec[1:])
	case recUserPush:
		err = n.onUserPush(rec[1:])
	case recMoved:
		err = n.onMoved(rec[1:])
	case recEnded:
		err = n.onEnded(from, rec[1:])
	case recSettled:
		err = n.onSettled(from, rec[1:])
	case recPresence:
		err = n.onPresence(from, rec[1:])
	default:
		n.log.Warn("cluster: unknown record", "from", from, "kind", rec[0])
	}
	if err != nil {
		n.log.Warn("cluster: bad record", "from", from, "kind", string(rec[0]), "err", err)
	}
}

func (n *Node) onRequest(from string, b []byte) error {
	id, b, err := readUvarint(b)
	if err != nil || len(b) == 0 {
		return errShortRecord
	}
	op := b[0]
	k64, b, err := readUvarint(b[1:])
	if err != nil {
		return err
	}
	k := int(k64) - 1 // −1: about no shard
	app, body, err := readName(b)
	if err != nil {
		return err
	}
	answer := func(res any, e *wire.Error) {
		out := []byte{recAnswer}
		out = binary.AppendUvarint(out, id)
		switch {
		case e == errNotHere:
			out = append(out, answerNotHere)
		case e != nil:
			raw, _ := json.Marshal(e)
			out = append(append(out, answerRefused), raw...)
		default:
			raw, err := json.Marshal(res)
			if err != nil {
				raw, _ = json.Marshal(internal(err))
				out = append(append(out, answerRefused), raw...)
				break
			}
			out = append(append(out, answerOK), raw...)
		}
		n.peers.Send(from, out)
	}
	fn := remoteOps[op]
	if fn == nil {
		answer(nil, wire.Errf(wire.GeneralWrongParam, "unknown cluster request %q", op))
		return nil
	}
	body = append([]byte(nil), body...) // the transport's buffer is reused
	n.rem.worker(n, k).add(func() {
		if k >= 0 {
			if _, local := n.peers.Owner(k); !local || n.peers.Store(k) == nil {
				answer(nil, errNotHere)
				return
			}
		}
		fn(n, from, app, body, answer)
	})
	return nil
}

// errNotHere answers a request for a shard this node does not serve.
var errNotHere = &wire.Error{Code: wire.General, Msg: "not served here"}

func (n *Node) onAnswer(b []byte) error {
	id, b, err := readUvarint(b)
	if err != nil || len(b) == 0 {
		return errShortRecord
	}
	n.rem.mu.Lock()
	p := n.rem.pending[id]
	delete(n.rem.pending, id)
	n.rem.mu.Unlock()
	if p != nil {
		p.reply(b[0], append([]byte(nil), b[1:]...))
	}
	return nil
}

// PeerGone fails what this node waits for from node (it died, or restarted)
// and forgets what node held here: its sessions' channel memberships and
// calls end.
func (n *Node) PeerGone(node string) {
	n.failPending(func(p *pending) bool { return p.node == node }, "the server of the other party is gone")
	n.dropRemoteMembers(node)
	n.settledBy(node, -1)
	n.dropRemoteParties(node)
	n.announceGone(node)
}

// sweepRemote fails the requests whose answer is late (the janitor calls it).
func (n *Node) sweepRemote(now time.Time) {
	n.failPending(func(p *pending) bool { return now.After(p.deadline) }, "no answer from the server of the other party")
	if n.peers != nil {
		n.present.takePending(-1, n.peers.Shards(), now) // drops the stale ones
	}
}

// failPending refuses, with a 1000 saying why, the requests to other nodes
// that match.
func (n *Node) failPending(match func(*pending) bool, why string) {
	n.rem.mu.Lock()
	var failed []*pending
	for id, p := range n.rem.pending {
		if match(p) {
			failed = append(failed, p)
			delete(n.rem.pending, id)
		}
	}
	n.rem.mu.Unlock()
	if len(failed) == 0 {
		return
	}
	raw, _ := json.Marshal(wire.Errf(wire.General, "%s", why))
	for _, p := range failed {
		p.reply(answerRefused, raw)
	}
}

// shardWorker runs one shard's requests, in order, off the transport.
type shardWorker struct {
	mu   sync.Mutex
	jobs []func()
	busy bool
}

func (r *remote) worker(n *Node, k int) *shardWorker {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.workers[k]
	if w == nil {
		w = &shardWorker{}
		r.workers[k] = w
	}
	return w
}

// add queues job; a goroutine runs the queue while it is not empty.
func (w *shardWorker) add(job func()) {
	w.mu.Lock()
	w.jobs = append(w.jobs, job)
	if w.busy {
		w.mu.Unlock()
		return
	}
	w.busy = true
	w.mu.Unlock()
	go w.run()
}

func (w *shardWorker) run() {
	for {
		w.mu.Lock()
		jobs := w.jobs
		w.jobs = nil
		if len(jobs) == 0 {
			w.busy = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
		for _, j := range jobs {
			j()
		}
	}
}

// decodeJSON decodes a request's payload, refusing a malformed one.
func decodeJSON(b []byte, v any) *wire.Error {
	if err := json.Unmarshal(b, v); err != nil {
		return wire.Errf(wire.GeneralWrongParam, "cluster request: %v", err)
	}
	return nil
}
