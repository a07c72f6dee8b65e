package server

import (
	"fmt"
	"testing"
	"time"
)

func TestKicksForgetTheOldestAndTheExpired(t *testing.T) {
	k := newKicks(time.Minute, 3)
	t0 := time.Unix(1000, 0)
	for i := range 4 {
		k.add(fmt.Sprint(i), t0.Add(time.Duration(i)*time.Second))
	}
	now := t0.Add(4 * time.Second)
	if k.has("0", now) {
		t.Error("the oldest of 4 was kept with room for 3")
	}
	for _, id := range []string{"1", "2", "3"} {
		if !k.has(id, now) {
			t.Errorf("%s was forgotten", id)
		}
	}
	if k.has("1", t0.Add(time.Minute+2*time.Second)) {
		t.Error("an entry older than the memory still counts")
	}
	k.add("4", t0.Add(time.Minute+3*time.Second)) // prunes 1 and 2 by age
	if len(k.ids) != 2 || len(k.order) != 2 {
		t.Errorf("kept %d ids, %d in order after expiry, want 2", len(k.ids), len(k.order))
	}
}
