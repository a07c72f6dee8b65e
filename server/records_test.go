package server

import (
	"testing"

	"github.com/xinling/xinling/server/store"
)

func TestPeerEnqueueRecordRoundTripsAndRefusesTruncation(t *testing.T) {
	q := store.Queued{From: "alice", Msg: "你好, 世界", MID: "m-1", TS: 1764790000123}
	b := appendPeerEnqueue(nil, "bob", q)
	to, got, err := readPeerEnqueue(b)
	if err != nil || to != "bob" || got != q {
		t.Fatalf("read back %q %+v %v, want bob %+v", to, got, err, q)
	}
	for i := range len(b) {
		if _, _, err := readPeerEnqueue(b[:i]); err == nil {
			t.Fatalf("a record cut to %d of %d bytes was read without an error", i, len(b))
		}
	}
}
