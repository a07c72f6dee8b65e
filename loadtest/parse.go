package loadtest

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	"github.com/xinling/xinling/sdk/wire"
)

// A benchmark message's text is "P.S.T.R." — publisher index, sequence
// number (from 1), send time in Unix nanoseconds, the run's id — padded
// with 'x' to --size bytes. It needs no JSON escaping, so it reads back
// byte for byte. The run's id tells this run's messages from those an
// earlier run left queued for the same accounts (with --data they are
// delivered at the next login, as they should be).

// runID names this process's run.
var runID = func() uint64 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return uint64(binary.BigEndian.Uint32(b[:]))
}()

func appendText(b []byte, pub int, seq uint64, ts int64, size int) []byte {
	start := len(b)
	b = strconv.AppendInt(b, int64(pub), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, runID, 10)
	b = append(b, '.')
	for len(b)-start < size {
		b = append(b, 'x')
	}
	return b
}

// parseText reads "P.S.T.R." at the start of s; ok is false for a text
// that is not this run's.
func parseText(s []byte) (pub int, seq uint64, ts int64, ok bool) {
	var p, q, t, r uint64
	if p, s, ok = parseUint(s); !ok || len(s) == 0 || s[0] != '.' {
		return 0, 0, 0, false
	}
	if q, s, ok = parseUint(s[1:]); !ok || len(s) == 0 || s[0] != '.' {
		return 0, 0, 0, false
	}
	if t, s, ok = parseUint(s[1:]); !ok || len(s) == 0 || s[0] != '.' {
		return 0, 0, 0, false
	}
	if r, s, ok = parseUint(s[1:]); !ok || len(s) == 0 || s[0] != '.' || r != runID {
		return 0, 0, 0, false
	}
	if p > 1<<30 {
		return 0, 0, 0, false
	}
	return int(p), q, int64(t), true
}

// parseUint reads leading decimal digits.
func parseUint(s []byte) (uint64, []byte, bool) {
	var v uint64
	i := 0
	for ; i < len(s) && i < 20; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + uint64(c-'0')
	}
	if i == 0 {
		return 0, s, false
	}
	return v, s[i:], true
}

// event is what a reader needs of one frame.
type event struct {
	kind   int
	id     uint64 // evRes
	num    uint64 // evChMsg: off; evPeerMsg: seq
	text   []byte // evChMsg, evPeerMsg: the message text
	resErr *wire.Error
	op     string // evOther, evFatal
}

const (
	evOther   = iota // a frame the scenario does not care about
	evChMsg          // ch.msg push
	evPeerMsg        // peer.msg push
	evRes            // an answer
	evPong           // pong
	evFatal          // kicked, goaway, or an id-less error: the connection is done for
)

var (
	prefixChMsg   = []byte(`{"op":"ch.msg","off":`)
	prefixPeerMsg = []byte(`{"op":"peer.msg","seq":`)
	prefixRes     = []byte(`{"id":`)
	tailResOK     = []byte(`,"op":"res","d":{}}`)
	keyMsg        = []byte(`"msg":"`)
	linePong      = []byte(`{"op":"pong"}`)
	tailChMsg     = []byte(`"}}`)
)

// classify fills ev from one line. The hot shapes — exactly what the
// server's encoding/json writes for ch.msg, peer.msg, an empty success
// answer and pong — are recognised in place without allocating; any other
// line (and every line when strict) goes through wire.Split and a payload
// decode.
func classify(line []byte, strict bool, ev *event) error {
	*ev = event{}
	if !strict && classifyFast(line, ev) {
		return nil
	}
	*ev = event{}
	frames, err := wire.Split(line)
	if errors.Is(err, wire.ErrEmptyMessage) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %.200q", err, line)
	}
	if len(frames) != 1 {
		return fmt.Errorf("%d frames in one line: %.200q", len(frames), line)
	}
	return classifyFrame(&frames[0], ev)
}

// classifyFast recognises the hot shapes in place.
func classifyFast(line []byte, ev *event) bool {
	switch {
	case bytes.HasPrefix(line, prefixChMsg):
		return fastChMsg(line[len(prefixChMsg):], ev)
	case bytes.HasPrefix(line, prefixPeerMsg):
		return fastPeerMsg(line[len(prefixPeerMsg):], ev)
	case bytes.HasPrefix(line, prefixRes):
		id, rest, ok := parseUint(line[len(prefixRes):])
		if ok && bytes.Equal(rest, tailResOK) {
			ev.kind, ev.id = evRes, id
			return true
		}
	case bytes.Equal(line, linePong):
		ev.kind = evPong
		return true
	}
	return false
}

// fastChMsg reads N,"d":{…,"msg":"TEXT"}} after the ch.msg prefix: TEXT is
// the tail; a benchmark text has no quote or backslash, so the last quote
// before the closing `"}}` opens it.
func fastChMsg(b []byte, ev *event) bool {
	off, rest, ok := parseUint(b)
	if !ok || len(rest) == 0 || rest[0] != ',' || !bytes.HasSuffix(rest, tailChMsg) {
		return false
	}
	body := rest[:len(rest)-len(tailChMsg)]
	q := bytes.LastIndexByte(body, '"')
	if q < len(keyMsg)-1 || !bytes.Equal(body[q-len(keyMsg)+1:q+1], keyMsg) || bytes.IndexByte(body[q+1:], '\\') >= 0 {
		return false
	}
	ev.kind, ev.num, ev.text = evChMsg, off, body[q+1:]
	return true
}

// fastPeerMsg reads N,…"msg":"TEXT"… after the peer.msg prefix.
func fastPeerMsg(b []byte, ev *event) bool {
	seq, rest, ok := parseUint(b)
	j := bytes.Index(rest, keyMsg)
	if !ok || j < 0 {
		return false
	}
	text := rest[j+len(keyMsg):]
	k := bytes.IndexByte(text, '"')
	if k < 0 || bytes.IndexByte(text[:k], '\\') >= 0 {
		return false
	}
	ev.kind, ev.num, ev.text = evPeerMsg, seq, text[:k]
	return true
}

// classifyFrame fills ev from a decoded frame.
func classifyFrame(f *wire.Frame, ev *event) error {
	switch f.Op {
	case wire.PushChannelMsg:
		var d wire.ChannelMsg
		if err := f.Decode(&d); err != nil {
			return err
		}
		ev.kind, ev.num, ev.text = evChMsg, f.Off, []byte(d.Msg)
	case wire.PushPeerMsg:
		var d wire.PeerMsg
		if err := f.Decode(&d); err != nil {
			return err
		}
		ev.kind, ev.num, ev.text = evPeerMsg, f.Seq, []byte(d.Msg)
	case wire.OpResult:
		if f.ID == 0 && f.Err != nil {
			ev.kind, ev.op, ev.resErr = evFatal, "error", f.Err
			return nil
		}
		ev.kind, ev.id, ev.resErr = evRes, f.ID, f.Err
	case wire.OpPong:
		ev.kind = evPong
	case wire.PushKicked, wire.PushGoAway:
		ev.kind, ev.op = evFatal, f.Op
		ev.resErr = &wire.Error{Msg: string(f.D)}
	default:
		ev.kind, ev.op = evOther, f.Op
	}
	return nil
}
