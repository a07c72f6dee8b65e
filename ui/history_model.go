package ui

import (
	"fmt"
	"strings"
)

// openHistory opens the logged-in account's history (once per account) and
// brings back every chat that has one, each with its scrollback.
func (m *Model) openHistory() {
	if m.opt.HistoryDir == "" || m.account == "" {
		return
	}
	if m.hist != nil && m.histAccount == m.account {
		return
	}
	m.hist, m.histAccount = openHistory(m.opt.HistoryDir, m.opt.App, m.account, m.opt.HistoryMax), m.account
	for _, c := range m.chats.convs {
		m.loadHistory(c)
	}
	for _, key := range m.hist.keys() {
		if _, ok := m.chats.byKey[key]; ok {
			continue
		}
		if strings.HasPrefix(key, "#") {
			m.conv(convChannel, key[1:])
		} else {
			m.conv(convPeer, key[1:])
		}
	}
}

// loadHistory puts a conversation's earlier messages before this run's,
// once, and says where they come from.
func (m *Model) loadHistory(c *Conversation) {
	if m.hist == nil || c.Kind == convSystem || c.histLoaded {
		return
	}
	c.histLoaded = true
	lines, err := m.hist.load(c.Key())
	if err != nil {
		m.historyFailed(err)
	}
	if len(lines) == 0 {
		return
	}
	old := make([]*Message, 0, len(lines)+1)
	for _, l := range lines {
		old = append(old, &Message{At: l.At, From: l.From, Text: sanitize(l.Text), Kind: kindChat, Own: l.Own})
	}
	note := fmt.Sprintf("↑ %d earlier messages, from the history of %s kept on this computer", len(lines), c.Key())
	old = append(old, &Message{At: lines[len(lines)-1].At, Kind: kindSystem, Text: note})
	c.Msgs = append(old, c.Msgs...)
	if c.Ruler >= 0 {
		c.Ruler += len(old)
	}
	if !c.Follow {
		c.Top += len(old)
	}
	if c.LastActivity.Before(lines[len(lines)-1].At) {
		c.LastActivity = lines[len(lines)-1].At
	}
}

// record queues a chat message for its conversation's history.
func (m *Model) record(key string, msg *Message) {
	if m.hist == nil || key == "" || msg.Kind != kindChat {
		return
	}
	m.hist.add(key, histLine{At: msg.At, From: msg.From, Text: msg.Text, Own: msg.Own})
}

// flushHistory writes what the batch added; a failure is said once and
// the history is kept no more this run.
func (m *Model) flushHistory() {
	if m.hist == nil {
		return
	}
	if err := m.hist.flush(); err != nil {
		m.historyFailed(err)
	}
}

func (m *Model) historyFailed(err error) {
	m.hist = nil
	text := fmt.Sprintf("%v — scrollback is not kept from now on", err)
	m.errMsg(m.chats.byKey["xinling"], text)
	m.setNotice(text, true)
}
