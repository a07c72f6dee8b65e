package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// The message pane draws only the messages in view. Each message caches
// its wrapped, styled lines for one (width, style generation, send state);
// the view position is a message index and a line in it, so scrolling
// through 100,000 messages wraps only the messages it passes.

const tsWidth = 6 // "15:04 "

func (m *Model) messagesTitle() string {
	c := m.chats.active
	if c == nil {
		return "messages"
	}
	t := c.Key()
	if c.Kind == convChannel {
		switch {
		case m.channel.joined == c.Name:
			t += fmt.Sprintf(" · %d here", len(m.channel.members))
		case m.channel.joining == c.Name:
			t += " · joining…"
		default:
			t += " · not joined"
		}
	}
	if c.Kind == convSystem {
		t = "xinling · system log"
	}
	if !c.Follow {
		if c.Unread > 0 {
			t += fmt.Sprintf(" · ↓ %d new (end)", c.Unread)
		} else {
			t += " · scrolled (end resumes)"
		}
	}
	return t
}

func (m *Model) renderMessages(w, h int) []string {
	c := m.chats.active
	if c == nil || len(c.Msgs) == 0 {
		return []string{m.st.Hint.Render("no messages yet")}
	}
	lines := m.visibleLines(c, w, h)
	if c.Follow && len(lines) < h { // bottom-align
		pad := make([]string, h-len(lines), h)
		lines = append(pad, lines...)
	}
	return lines
}

func (m *Model) messagesKey(msg tea.KeyPressMsg) {
	k := m.keys.Messages
	c := m.chats.active
	switch {
	case key.Matches(msg, k.Up):
		m.scrollMessages(-1)
	case key.Matches(msg, k.Down):
		m.scrollMessages(1)
	case key.Matches(msg, k.PageUp):
		m.scrollMessages(-m.pageSize())
	case key.Matches(msg, k.PageDown):
		m.scrollMessages(m.pageSize())
	case key.Matches(msg, k.Top):
		c.Follow, c.Top, c.TopLine = false, 0, 0
		m.normalizeScroll(c)
	case key.Matches(msg, k.Bottom):
		c.Follow = true
		c.Unread, c.Mentions = 0, 0
	default:
		// typing while the messages have focus goes to the composer
		if msg.Text != "" && msg.Mod&(tea.ModCtrl|tea.ModAlt) == 0 {
			m.focus = focusComposer
			m.composer.Insert(msg.Text)
		}
	}
}

// msgLines returns a message's lines at width w, from the cache when it
// can.
func (m *Model) msgLines(msg *Message, w int) []string {
	if msg.cacheW == w && msg.cacheGen == m.gen && msg.cacheSt == msg.State && msg.lines != nil {
		return msg.lines
	}
	msg.lines = m.renderMsg(msg, w)
	msg.cacheW, msg.cacheGen, msg.cacheSt = w, m.gen, msg.State
	return msg.lines
}

func (m *Model) renderMsg(msg *Message, w int) []string {
	st := m.st
	ts := st.Timestamp.Render(msg.At.Format("15:04")) + " "
	indent := strings.Repeat(" ", tsWidth)
	body := w - tsWidth
	if body < 4 {
		body = 4
	}
	var out []string
	switch msg.Kind {
	case kindSystem, kindError:
		mark, style := "· ", st.System
		if msg.Kind == kindError {
			mark, style = "✗ ", st.Error
		}
		for i, row := range wrapText(mark+msg.Text, body) {
			pre := indent
			if i == 0 {
				pre = ts
			}
			out = append(out, pre+style.Render(row))
		}
		return out
	}
	nick := msg.From
	ns := st.Nick(nick)
	if msg.Own {
		ns = st.OwnNick
	}
	rows := wrapText(nick+" "+msg.Text, body)
	for i, row := range rows {
		pre := indent
		if i == 0 {
			pre = ts
			if strings.HasPrefix(row, nick) {
				row = ns.Render(nick) + st.Base.Render(row[len(nick):])
			} else {
				row = st.Base.Render(row)
			}
		} else {
			row = st.Base.Render(row)
		}
		out = append(out, pre+row)
	}
	if msg.Own {
		var mark string
		switch msg.State {
		case stateSending:
			mark = st.Muted.Render(" ⋯ sending")
		case stateSent:
			mark = st.OK.Render(" ✓")
		}
		if mark != "" {
			last := out[len(out)-1]
			if ansi.StringWidth(last)+ansi.StringWidth(mark) <= w {
				out[len(out)-1] = last + mark
			} else {
				out = append(out, indent+mark)
			}
		}
		if msg.State == stateFailed {
			for _, row := range wrapText("✗ not sent: "+msg.Reason, body) {
				out = append(out, indent+st.Error.Render(row))
			}
		}
	}
	return out
}

// wrapText word-wraps plain text to width w, breaking words longer than w.
func wrapText(s string, w int) []string {
	if w < 1 {
		w = 1
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		if ansi.StringWidth(para) <= w {
			out = append(out, para)
			continue
		}
		wrapped := ansi.Hardwrap(ansi.Wordwrap(para, w, ""), w, true)
		for _, l := range strings.Split(wrapped, "\n") {
			out = append(out, strings.TrimRight(l, " "))
		}
	}
	return out
}

// rulerLine is the "new messages" line.
func (m *Model) rulerLine(w int) string {
	label := " new "
	side := (w - len(label)) / 2
	if side < 1 {
		return m.st.Ruler.Render(strings.Repeat("─", max(w, 1)))
	}
	return m.st.Ruler.Render(strings.Repeat("─", side) + label + strings.Repeat("─", w-side-len(label)))
}

// lineCount is how many lines message i of c takes, the ruler included.
func (m *Model) lineCount(c *Conversation, i, w int) int {
	n := len(m.msgLines(c.Msgs[i], w))
	if i == c.Ruler {
		n++
	}
	return n
}

// linesOf returns message i's lines, the ruler first when it sits there.
func (m *Model) linesOf(c *Conversation, i, w int) []string {
	ls := m.msgLines(c.Msgs[i], w)
	if i == c.Ruler {
		return append([]string{m.rulerLine(w)}, ls...)
	}
	return ls
}

// msgView is the message pane's size, set by the layout.
type msgView struct{ w, h int }

func (m *Model) msgSize() msgView {
	l := m.layout()
	return msgView{w: l.msgW, h: l.msgH}
}

func (m *Model) pageSize() int {
	h := m.msgSize().h - 2
	if h < 1 {
		h = 1
	}
	return h
}

// visibleLines renders the h lines of c in view at width w.
func (m *Model) visibleLines(c *Conversation, w, h int) []string {
	if h <= 0 {
		return nil
	}
	if c.Follow {
		// bottom-up from the newest
		var rev [][]string
		n := 0
		for i := len(c.Msgs) - 1; i >= 0 && n < h; i-- {
			ls := m.linesOf(c, i, w)
			rev = append(rev, ls)
			n += len(ls)
		}
		out := make([]string, 0, n)
		for i := len(rev) - 1; i >= 0; i-- {
			out = append(out, rev[i]...)
		}
		if len(out) > h {
			out = out[len(out)-h:]
		}
		return out
	}
	out := make([]string, 0, h)
	for i := c.Top; i < len(c.Msgs) && len(out) < h; i++ {
		ls := m.linesOf(c, i, w)
		if i == c.Top {
			if c.TopLine < len(ls) {
				ls = ls[c.TopLine:]
			} else {
				ls = nil
			}
		}
		out = append(out, ls...)
	}
	if len(out) > h {
		out = out[:h]
	}
	return out
}

// topOfFollow finds the (message, line) at the top of the view when
// following the newest.
func (m *Model) topOfFollow(c *Conversation, w, h int) (int, int) {
	n := 0
	for i := len(c.Msgs) - 1; i >= 0; i-- {
		k := m.lineCount(c, i, w)
		if n+k >= h {
			return i, n + k - h
		}
		n += k
	}
	return 0, 0
}

// scrollMessages scrolls the active conversation by d lines (negative: up,
// to older messages). Reaching the newest resumes following.
func (m *Model) scrollMessages(d int) {
	c := m.chats.active
	if c == nil || len(c.Msgs) == 0 {
		return
	}
	v := m.msgSize()
	w, h := v.w, v.h
	if c.Follow {
		if d >= 0 {
			return
		}
		c.Top, c.TopLine = m.topOfFollow(c, w, h)
		c.Follow = false
	}
	for ; d < 0; d++ {
		if c.TopLine > 0 {
			c.TopLine--
		} else if c.Top > 0 {
			c.Top--
			c.TopLine = m.lineCount(c, c.Top, w) - 1
		} else {
			break
		}
	}
	for ; d > 0; d-- {
		c.TopLine++
		if c.TopLine >= m.lineCount(c, c.Top, w) {
			if c.Top+1 >= len(c.Msgs) {
				c.TopLine--
				break
			}
			c.Top++
			c.TopLine = 0
		}
	}
	m.normalizeScroll(c)
}

// normalizeScroll resumes following when the view reaches the newest line.
func (m *Model) normalizeScroll(c *Conversation) {
	if c.Follow {
		return
	}
	v := m.msgSize()
	n := 0
	for i := c.Top; i < len(c.Msgs); i++ {
		k := m.lineCount(c, i, v.w)
		if i == c.Top {
			k -= c.TopLine
		}
		n += k
		if n > v.h {
			return
		}
	}
	c.Follow = true
	if c == m.chats.active {
		c.Unread, c.Mentions = 0, 0
	}
}
