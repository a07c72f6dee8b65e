package ui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/sdk"
)

// reducers map SDK events (by callback name) to what they change. Each
// area of the client has its own: a new callback is one entry in one table.
type reducers map[string]func(m *Model, e Event) tea.Cmd

// byEvent is every area's reducers.
var byEvent = merge(sessionReducers, chatReducers, channelReducers, attrReducers, callReducers, resultReducers)

func merge(tables ...reducers) reducers {
	out := reducers{}
	for _, t := range tables {
		for name, r := range t {
			if _, dup := out[name]; dup {
				panic("ui: two reducers for " + name)
			}
			out[name] = r
		}
	}
	return out
}

// applyBatch applies a batch of SDK events to the state.
func (m *Model) applyBatch(b sdkBatchMsg) tea.Cmd {
	var cmds []tea.Cmd
	if b.Dropped > 0 {
		m.dropped(b.Dropped)
	}
	for _, e := range b.Events {
		m.events.log.add(logEvent{At: e.At, Text: e.String(), ev: &e})
		if cmd := m.apply(e); cmd != nil {
			cmds = append(cmds, cmd)
		}
	}
	m.flushHistory()
	return tea.Batch(cmds...)
}

// apply applies one SDK event.
func (m *Model) apply(e Event) tea.Cmd {
	if r, ok := byEvent[e.Name]; ok {
		return r(m, e)
	}
	return nil
}

// dropped says that the queue dropped n events under load: in the
// inspector, and in the channel whose messages they most likely were.
func (m *Model) dropped(n int) {
	m.events.dropped += n
	m.events.log.add(logEvent{At: m.now(), Text: fmt.Sprintf("⚠ %d events dropped under load (channel messages, log lines); %d in all", n, m.events.dropped)})
	if c := m.joinedConv(); c != nil {
		m.sysMsg(c, fmt.Sprintf("… %d channel messages or log lines were dropped because they came faster than the screen could show them", n))
	}
}

func codeName(code int) string {
	return fmt.Sprintf("%s (%d)", sdk.Code(code).String(), code)
}
