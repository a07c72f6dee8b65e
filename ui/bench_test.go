package ui

import (
	"fmt"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// benchModel is a model whose #lobby holds n messages.
func benchModel(b *testing.B, n int) *Model {
	m, _, _ := newTestModel(b)
	c := m.conv(convChannel, "lobby")
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	senders := []string{"alice", "bob", "carol", "dave", "erin"}
	for i := 0; i < n; i++ {
		text := fmt.Sprintf("message %d: the quick brown fox jumps over the lazy dog", i)
		if i%7 == 0 { // some long ones that wrap
			text += " — and then it kept going, on and on, well past the width of the pane so that it wraps onto more lines"
		}
		c.Msgs = append(c.Msgs, &Message{At: at.Add(time.Duration(i) * time.Second), From: senders[i%len(senders)], Text: text})
	}
	m.switchTo(c)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	return m
}

// BenchmarkView100k renders the whole screen with 100,000 messages in
// the conversation, following the newest.
func BenchmarkView100k(b *testing.B) {
	m := benchModel(b, 100000)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View()
	}
}

// BenchmarkView100kScrolling pages up through the history, so every frame
// wraps messages it has not drawn before.
func BenchmarkView100kScrolling(b *testing.B) {
	m := benchModel(b, 100000)
	m.focus = focusMessages
	b.ReportAllocs()
	for b.Loop() {
		press(m, "pgup")
		if m.chats.active.Top == 0 && m.chats.active.TopLine == 0 {
			press(m, "G")
		}
		_ = m.View()
	}
}

// BenchmarkView100kIncoming adds a message per frame (a busy channel).
func BenchmarkView100kIncoming(b *testing.B) {
	m := benchModel(b, 100000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		m.applyBatch(sdkBatchMsg{Events: []Event{{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: fmt.Sprint("new ", i)}}})
		_ = m.View()
	}
}

// BenchmarkTypeLongMessage types a 10,000-character message one key at a
// time, drawing the screen after each key as the terminal would.
func BenchmarkTypeLongMessage(b *testing.B) {
	m, _, _ := newTestModel(b)
	b.ReportAllocs()
	for b.Loop() {
		m.composer.Reset()
		for i := 0; i < 10000; i++ {
			m.Update(tea.KeyPressMsg{Code: 'x', Text: "x"})
			if i%100 == 0 {
				_ = m.View()
			}
		}
	}
}
