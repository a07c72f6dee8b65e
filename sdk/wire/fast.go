package wire

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// The envelope of every frame is encoded and decoded here by hand: through
// encoding/json it cost a fifth of a busy server's CPU (reflection, and the
// payload scanned again as a RawMessage and compacted). Only the common shape
// takes the fast way; anything else — an "err", an escaped or non-ASCII op,
// a key in another case, a duplicate, bad JSON — goes through encoding/json,
// so both ways give the same frame or the same error (FuzzParseFrame).

// Append appends f's encoding, byte for byte what json.Marshal gives: fields
// in order, the empty ones left out. D must be compact JSON, as json.Marshal
// makes it.
func (f *Frame) Append(b []byte) []byte {
	if b == nil {
		b = make([]byte, 0, len(f.D)+len(f.Op)+64)
	}
	b = append(b, '{')
	if f.ID != 0 {
		b = append(b, `"id":`...)
		b = strconv.AppendUint(b, f.ID, 10)
		b = append(b, ',')
	}
	b = append(b, `"op":`...)
	b = appendString(b, f.Op)
	if f.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, f.Seq, 10)
	}
	if f.Off != 0 {
		b = append(b, `,"off":`...)
		b = strconv.AppendUint(b, f.Off, 10)
	}
	if len(f.D) > 0 {
		b = append(b, `,"d":`...)
		b = append(b, f.D...)
	}
	if f.Err != nil {
		e, _ := json.Marshal(f.Err) // a code and a string: cannot fail
		b = append(b, `,"err":`...)
		b = append(b, e...)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string the way encoding/json writes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// parseFrame decodes one frame's JSON the fast way; false means "not the
// common shape", and encoding/json decides.
func parseFrame(line []byte) (Frame, bool) {
	var f Frame
	var seen uint8
	p := parser{b: line}
	ok := p.members(func(key []byte) bool {
		var bit uint8
		ok := false
		switch string(key) {
		case "id":
			bit = 1
			f.ID, ok = p.uint()
		case "op":
			bit = 2
			var op []byte
			if op, ok = p.plainBytes(); ok {
				if f.Op, ok = knownOps[string(op)]; !ok {
					f.Op, ok = string(op), true
				}
			}
		case "seq":
			bit = 4
			f.Seq, ok = p.uint()
		case "off":
			bit = 8
			f.Off, ok = p.uint()
		case "d":
			bit = 16
			start := p.i
			if ok = p.value(0) && !bytes.Equal(line[start:p.i], []byte("null")); ok {
				f.D = bytes.Clone(line[start:p.i])
			}
		}
		if !ok || seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	})
	return f, ok
}

type parser struct {
	b []byte
	i int
}

func (p *parser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end: only whitespace may follow the object.
func (p *parser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// members reads a whole object (then only whitespace) whose keys are plain
// (see plainBytes), calling member with each key once the parser stands at
// its value; member reads the value, or returns false to decline.
func (p *parser) members(member func(key []byte) bool) bool {
	p.ws()
	if !p.eat('{') {
		return false
	}
	p.ws()
	if p.eat('}') {
		return p.end()
	}
	for {
		p.ws()
		key, ok := p.plainBytes()
		if !ok {
			return false
		}
		p.ws()
		if !p.eat(':') {
			return false
		}
		p.ws()
		if !member(key) {
			return false
		}
		p.ws()
		if p.eat('}') {
			return p.end()
		}
		if !p.eat(',') {
			return false
		}
	}
}

// plainBytes reads a string of printable ASCII without escapes; the bytes
// alias the input.
func (p *parser) plainBytes() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return p.b[start : p.i-1], true
		case c < 0x20 || c >= utf8.RuneSelf || c == '\\':
			return nil, false
		}
		p.i++
	}
	return nil, false
}

// knownOps gives the ops' names without allocating a string per frame.
var knownOps = func() map[string]string {
	m := make(map[string]string)
	for _, op := range []string{OpLogin, OpLogout, OpPeerSend, OpChannelJoin, OpChannelLeave, OpChannelCount,
		OpChannelSend, OpChannelSetAttr, OpChannelDelAttr, OpChannelClear, OpUserSetAttr, OpUserGetAttr,
		OpUserGetAttrAll, OpUserStatus, OpInvoke, OpResult, OpPing, OpPong, PushPeerMsg, PushChannelMsg, PushUserJoined,
		PushUserLeft, PushAttrUpdated, PushChannelGone, PushKicked, PushGoAway, PushLog, PushChannelSnap} {
		m[op] = op
	}
	return m
}()

// uint reads a JSON integer that fits a uint64.
func (p *parser) uint() (uint64, bool) {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	digits := p.b[start:p.i]
	if len(digits) == 0 || len(digits) > 1 && digits[0] == '0' {
		return 0, false
	}
	if p.i < len(p.b) {
		if c := p.b[p.i]; c == '.' || c == 'e' || c == 'E' {
			return 0, false // a number, but not an integer: encoding/json's error
		}
	}
	v, err := strconv.ParseUint(string(digits), 10, 64)
	return v, err == nil
}

// int reads a JSON integer that fits an int64.
func (p *parser) int() (int64, bool) {
	neg := p.eat('-')
	u, ok := p.uint()
	switch {
	case !ok:
		return 0, false
	case neg && u <= 1<<63:
		return int64(-u), true // -(1<<63) wraps to itself: the smallest int64
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// maxDepth bounds the nesting the fast way follows; deeper goes the slow way.
const maxDepth = 64

// value skips one JSON value, checking its grammar as encoding/json does.
func (p *parser) value(depth int) bool {
	if p.i >= len(p.b) || depth > maxDepth {
		return false
	}
	switch c := p.b[p.i]; {
	case c == '{':
		p.i++
		p.ws()
		if p.eat('}') {
			return true
		}
		for {
			p.ws()
			if !p.str() {
				return false
			}
			p.ws()
			if !p.eat(':') {
				return false
			}
			p.ws()
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			if p.eat('}') {
				return true
			}
			if !p.eat(',') {
				return false
			}
		}
	case c == '[':
		p.i++
		p.ws()
		if p.eat(']') {
			return true
		}
		for {
			p.ws()
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			if p.eat(']') {
				return true
			}
			if !p.eat(',') {
				return false
			}
		}
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	default:
		for _, lit := range []string{"true", "false", "null"} {
			if bytes.HasPrefix(p.b[p.i:], []byte(lit)) {
				p.i += len(lit)
				return true
			}
		}
		return false
	}
}

// str skips a JSON string: no control characters, valid escapes. Other
// bytes, invalid UTF-8 included, are kept as they are, as encoding/json
// keeps them in a RawMessage.
func (p *parser) str() bool {
	if !p.eat('"') {
		return false
	}
	for p.i < len(p.b) {
		c := p.b[p.i]
		p.i++
		switch {
		case c == '"':
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if p.i >= len(p.b) {
				return false
			}
			e := p.b[p.i]
			p.i++
			switch e {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if p.i+4 > len(p.b) {
					return false
				}
				for _, h := range p.b[p.i : p.i+4] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return false
					}
				}
				p.i += 4
			default:
				return false
			}
		}
	}
	return false
}

// number skips a JSON number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *parser) number() bool {
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.i < len(p.b) && p.b[p.i] >= '1' && p.b[p.i] <= '9':
		p.digits()
	default:
		return false
	}
	if p.eat('.') && !p.digits() {
		return false
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if !p.digits() {
			return false
		}
	}
	return true
}

// digits skips one or more digits.
func (p *parser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// flatField is one field of a flat payload: a string or an unsigned integer.
type flatField struct {
	name string
	str  *string
	num  *uint64
	i64  *int64
}

// decodeFlat decodes an object whose keys are exactly some of fields'
// names, each once, with plain values: strings without escapes (UTF-8 as
// it is), integers. Anything else is declined for encoding/json to decide.
func decodeFlat(data []byte, fields []flatField) bool {
	p := parser{b: data}
	var seen uint32
	return p.members(func(key []byte) bool {
		i := 0
		for i < len(fields) && fields[i].name != string(key) {
			i++
		}
		if i == len(fields) || seen&(1<<i) != 0 {
			return false
		}
		seen |= 1 << i
		// Written as they come, as encoding/json does: should the fast
		// way decline further on, encoding/json writes the same again.
		var ok bool
		switch f := fields[i]; {
		case f.str != nil:
			*f.str, ok = p.utf8String()
		case f.num != nil:
			*f.num, ok = p.uint()
		default:
			*f.i64, ok = p.int()
		}
		return ok
	})
}

// utf8String reads a string without escapes or control characters whose
// bytes are valid UTF-8: encoding/json decodes it to those very bytes.
func (p *parser) utf8String() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start, ascii := p.i, true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c < 0x20 || c == '\\':
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		p.i++
	}
	return "", false
}

// The payloads of the busiest requests decode the fast way.

func (r *PeerSendReq) decodeFast(d []byte) bool {
	return decodeFlat(d, []flatField{{name: "to", str: &r.To}, {name: "msg", str: &r.Msg}, {name: "mid", str: &r.MID}})
}

func (r *PingReq) decodeFast(d []byte) bool {
	return decodeFlat(d, []flatField{{name: "ack", num: &r.Ack}})
}

func (r *ChannelSendReq) decodeFast(d []byte) bool {
	return decodeFlat(d, []flatField{{name: "ch", str: &r.Channel}, {name: "msg", str: &r.Msg}, {name: "mid", str: &r.MID}})
}

func (r *PeerMsg) decodeFast(d []byte) bool {
	return decodeFlat(d, []flatField{{name: "from", str: &r.From}, {name: "msg", str: &r.Msg}, {name: "mid", str: &r.MID}, {name: "ts", i64: &r.TS}, {name: "key", num: &r.Key}})
}
