package wire

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

var frameSeeds = []string{
	`{"id":7,"op":"ch.join","d":{"ch":"lobby"}}`,
	`{"op":"peer.msg","seq":12,"d":{"from":"a","msg":"hi \"there\" \u00e9\\n","ts":1.5e3,"x":[true,false,null,-0.25,{}]}}`,
	`{"id":7,"op":"res","err":{"code":1004,"msg":"no"}}`,
	`{"op":"ch.msg","off":340,"d":[]}`,
	` { "id" : 1 , "op" : "x" } `,
	`{}`, `{"op":""}`, `{"op":"x","op":"y"}`, `{"ID":1,"op":"x"}`, `{"id":01,"op":"x"}`,
	`{"id":-1,"op":"x"}`, `{"id":1.0,"op":"x"}`, `{"id":1e2,"op":"x"}`, `{"id":18446744073709551616,"op":"x"}`,
	`{"op":"x","d":null}`, `{"op":"x","d":nul}`, `{"op":"x","d":"\x"}`, `{"op":"x","d":"a` + "\x01" + `"}`,
	`{"op":"x","d":"\ud800"}`, `{"op":"\u0078"}`, `{"op":"é"}`, `{"op":"x",}`, `{"op":"x"}x`, `{"op":"x","d":01}`,
	`{"op":"x","d":-}`, `{"op":"x","d":1.}`, `{"op":"x","d":1e}`, `{"op":"x","d":[1,]}`, `{"op":"x","d":{"a":1,}}`,
	`{"op":"x","d":` + "\"\xff\xfe\"" + `}`, `{"op":"x","d":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`,
	`[]`, `"op"`, `{"op":"x","unknown":1}`, `{"op":"x","seq":null}`,
}

// FuzzParseFrame: where the fast way decodes a frame, encoding/json decodes
// the same frame; where encoding/json fails, the fast way declines.
func FuzzParseFrame(f *testing.F) {
	for _, s := range frameSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		fast, ok := parseFrame(line)
		var ref Frame
		err := json.Unmarshal(line, &ref)
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("%q: the fast way took what encoding/json refuses (%v)", line, err)
		}
		if !reflect.DeepEqual(fast, ref) {
			t.Fatalf("%q: fast %+v, encoding/json %+v", line, fast, ref)
		}
	})
}

// TestParseFrameTakesTheCommonShape: the frames and payloads a client sends
// take the fast way.
func TestParseFrameTakesTheCommonShape(t *testing.T) {
	for _, s := range frameSeeds[:2] {
		if _, ok := parseFrame([]byte(s)); !ok {
			t.Errorf("%s: not taken the fast way", s)
		}
	}
	var peer PeerSendReq
	var ping PingReq
	if !peer.decodeFast([]byte(`{"to":"鲍勃","msg":"你好","mid":"m1"}`)) || !ping.decodeFast([]byte(`{"ack":42}`)) {
		t.Error("a peer message or a ping not taken the fast way")
	}
	for _, s := range []string{`{"id":7,"op":"res","err":{"code":1004,"msg":"no"}}`, `{"op":"x","op":"y"}`, `{"op":"x","d":null}`} {
		if _, ok := parseFrame([]byte(s)); ok {
			t.Errorf("%s: taken the fast way", s)
		}
	}
}

// FuzzAppend: Append writes what json.Marshal writes.
func FuzzAppend(f *testing.F) {
	f.Add(uint64(7), "ch.join", uint64(0), uint64(0), "lobby", false)
	f.Add(uint64(0), "peer.msg", uint64(12), uint64(0), "hi <b>&\"\n\x00é\xff", false)
	f.Add(uint64(1), "res", uint64(0), uint64(3), "", true)
	f.Add(uint64(0), "<&>\"", uint64(0), uint64(0), "", false)
	f.Fuzz(func(t *testing.T, id uint64, op string, seq, off uint64, d string, withErr bool) {
		fr := Frame{ID: id, Op: op, Seq: seq, Off: off}
		if d != "" {
			fr.D, _ = json.Marshal(map[string]any{"s": d, "n": len(d)})
		}
		if withErr {
			fr.Err = &Error{Code: LoginFailed, Msg: d}
		}
		want, err := json.Marshal(&fr)
		if err != nil {
			t.Fatal(err)
		}
		if got := fr.Append(nil); !bytes.Equal(got, want) {
			t.Fatalf("Append %s, json.Marshal %s", got, want)
		}
	})
}

// FuzzDecodeFast: where a payload decodes the fast way, encoding/json
// decodes it to the same value, into a value that held something before too.
func FuzzDecodeFast(f *testing.F) {
	for _, s := range []string{
		`{"to":"bob","msg":"hi","mid":"m1"}`, `{"to":"鲍勃","msg":"你好 \"x\"","mid":""}`, `{"ack":42}`, `{"ack":-1}`,
		`{"ch":"lobby","msg":"x","mid":"m","force":true}`, `{"from":"a","msg":"b","ts":1700000000000}`, `{"ts":-9223372036854775808}`,
		`{"ts":9223372036854775808}`, `{"to":"a","to":"b"}`, `{"TO":"a"}`, `{"to":null}`, `{"to":1}`, `{}`, `{"to":"a"} x`,
		`{"msg":"` + "\xff" + `"}`, `{"msg":"a` + "\x7f" + `b"}`, `{"ack":1.5}`, `{"ack":01}`, `[]`, `null`, `{"to":"a",}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, d []byte) {
		type fast interface{ decodeFast([]byte) bool }
		for _, mk := range []func() any{
			func() any { return &PeerSendReq{To: "t", Msg: "m", MID: "i"} },
			func() any { return &PingReq{Ack: 9} },
			func() any { return &ChannelSendReq{Channel: "c", Msg: "m", MID: "i", Force: true} },
			func() any { return &PeerMsg{From: "f", Msg: "m", MID: "i", TS: -5} },
		} {
			got, want := mk(), mk()
			if !got.(fast).decodeFast(d) {
				continue
			}
			if err := json.Unmarshal(d, want); err != nil {
				t.Fatalf("%T %q: the fast way took what encoding/json refuses (%v)", got, d, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%T %q: fast %+v, encoding/json %+v", got, d, got, want)
			}
		}
	})
}

// BenchmarkFrames: a peer message's frame through the hand-written envelope
// and payload decoding, against encoding/json doing all of it.
func BenchmarkFrames(b *testing.B) {
	line := []byte(`{"id":12345,"op":"peer.send","d":{"to":"pb17","msg":"p17 000042 1764130000000000000 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx","mid":"m42"}}`)
	push := PeerMsg{From: "pa17", Msg: "p17 000042 1764130000000000000 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", TS: 1764130000000}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			fs, err := Split(line)
			var req PeerSendReq
			if err != nil || fs[0].Decode(&req) != nil {
				b.Fatal("bad frame")
			}
		}
	})
	b.Run("decode-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var f Frame
			var req PeerSendReq
			if json.Unmarshal(line, &f) != nil || json.Unmarshal(f.D, &req) != nil {
				b.Fatal("bad frame")
			}
		}
	})
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, _ := json.Marshal(&push)
			f := Frame{Op: PushPeerMsg, Seq: 42, D: raw}
			_ = f.Append(nil)
		}
	})
	b.Run("encode-encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, _ := json.Marshal(&push)
			_, _ = json.Marshal(&Frame{Op: PushPeerMsg, Seq: 42, D: raw})
		}
	})
}
