// Package wire is the protocol spoken between the xinling SDK and server:
// JSON frames over a WebSocket, documented in docs/PROTOCOL.md.
//
// One WebSocket text message carries one or more frames separated by '\n'
// (a server that is behind packs queued frames into one message). A frame is
// a JSON object:
//
//	{"id":7,"op":"ch.join","d":{"ch":"lobby"}}          request (client → server)
//	{"id":7,"op":"res","d":{...}}                        its answer
//	{"id":7,"op":"res","err":{"code":1004,"msg":"..."}}  or its error
//	{"op":"peer.msg","seq":12,"d":{...}}                 push on the user stream
//	{"op":"ch.msg","off":340,"d":{...}}                  push on the channel stream
//
// Every request is answered exactly once, in any order relative to other
// answers, but after every push that the request caused for the requester.
package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version a client announces in its login request.
const Version = 1

// MaxFrameBytes bounds one WebSocket message in either direction. The
// largest legal request (an 8 KB attribute value, JSON-escaped up to six
// bytes per byte, plus names) stays well below it.
const MaxFrameBytes = 128 << 10

// Frame is the envelope of everything sent on the wire.
type Frame struct {
	ID  uint64          `json:"id,omitempty"`
	Op  string          `json:"op"`
	Seq uint64          `json:"seq,omitempty"` // user-stream sequence of a push
	Off uint64          `json:"off,omitempty"` // channel-stream offset of a push
	D   json.RawMessage `json:"d,omitempty"`
	Err *Error          `json:"err,omitempty"`
}

// Error is a request's failure: a code of SPEC.md §3 and a reason a person can read.
type Error struct {
	Code Code   `json:"code"`
	Msg  string `json:"msg"`
}

func (e *Error) Error() string { return fmt.Sprintf("%s (%d): %s", e.Code, int(e.Code), e.Msg) }

// Errf builds an Error.
func Errf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Encode marshals a frame with payload d (nil for none).
func Encode(id uint64, op string, d any) ([]byte, error) {
	f := Frame{ID: id, Op: op}
	if d != nil {
		raw, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", op, err)
		}
		f.D = raw
	}
	return f.Append(nil), nil
}

// MustEncode is Encode for payloads that cannot fail to marshal (plain structs
// of strings and numbers).
func MustEncode(id uint64, op string, d any) []byte {
	b, err := Encode(id, op, d)
	if err != nil {
		panic(err)
	}
	return b
}

// EncodeError marshals the error answer to request id.
func EncodeError(id uint64, e *Error) []byte {
	f := Frame{ID: id, Op: OpResult, Err: e}
	return f.Append(nil)
}

// WriteFrames writes the leading frames of q to w as one message's body,
// '\n'-separated, while they fit in max bytes (the first always fits), and
// returns how many it wrote. It stops at a nil frame.
func WriteFrames(w io.Writer, q [][]byte, max int) (int, error) {
	n, size := 0, 0
	for n < len(q) && q[n] != nil && (n == 0 || size+len(q[n]) < max) {
		if n > 0 {
			if _, err := w.Write(newline); err != nil {
				return n, err
			}
		}
		if _, err := w.Write(q[n]); err != nil {
			return n, err
		}
		size += len(q[n]) + 1
		n++
	}
	return n, nil
}

var newline = []byte{'\n'}

// ErrEmptyMessage is returned by Split for a message with no frame in it.
var ErrEmptyMessage = errors.New("wire: empty message")

// Split decodes every frame of one WebSocket message. A line that is not a
// valid frame is skipped; the error then describes the first such line, and
// the frames around it are still returned.
func Split(msg []byte) ([]Frame, error) {
	var out []Frame
	var bad error
	for len(msg) > 0 {
		line := msg
		if i := bytes.IndexByte(msg, '\n'); i >= 0 {
			line, msg = msg[:i], msg[i+1:]
		} else {
			msg = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		f, ok := parseFrame(line)
		var err error
		if !ok {
			f = Frame{}
			err = json.Unmarshal(line, &f)
		}
		if err != nil {
			if bad == nil {
				bad = fmt.Errorf("wire: bad frame: %w", err)
			}
			continue
		}
		if f.Op == "" {
			if bad == nil {
				bad = errors.New("wire: frame without op")
			}
			continue
		}
		out = append(out, f)
	}
	if bad != nil {
		return out, bad
	}
	if len(out) == 0 {
		return nil, ErrEmptyMessage
	}
	return out, nil
}

// Decode unmarshals a frame's payload into v, strictly: unknown fields are
// allowed (newer clients), wrong types are not, and every string is taken
// byte-exact or refused (a *TextError; see text.go).
func (f *Frame) Decode(v any) error {
	if len(f.D) == 0 {
		return nil
	}
	if fd, ok := v.(interface{ decodeFast([]byte) bool }); ok && fd.decodeFast(f.D) {
		return nil
	}
	if te := checkText(f.D); te != nil {
		return fmt.Errorf("bad payload for %s: %w", f.Op, te)
	}
	if err := json.Unmarshal(f.D, v); err != nil {
		return fmt.Errorf("bad payload for %s: %w", f.Op, err)
	}
	return nil
}
