package ui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

type inviteDialog struct {
	call   *Call
	extra  editor
	cur    int       // 0 accept, 1 refuse, 2 extra field
	opened time.Time // keys typed just before it popped up must not answer the call
}

// inviteArming is how long after an incoming call's dialog opens it ignores
// enter and letters: someone typing a message when the call arrives keeps
// typing into the composer instead of answering by accident.
const inviteArming = time.Second

func (d *inviteDialog) title() string { return "☎ Incoming call" }

func (d *inviteDialog) view(m *Model, w, h int) []string {
	c := d.call
	left := c.Deadline.Sub(m.now())
	if left < 0 {
		left = 0
	}
	out := []string{
		m.st.Nick(c.Peer).Render(c.Peer) + m.st.Base.Render(" is calling you"),
		m.st.Muted.Render("channel " + c.Channel + " · rings for " + fmtDur(left)),
	}
	if c.Extra != "" {
		out = append(out, m.st.Muted.Render("extra: "+oneLine(c.Extra, 60)))
	}
	out = append(out, "")
	btn := func(i int, label string) string {
		if d.cur == i {
			return m.st.Selected.Render(" " + label + " ")
		}
		return m.st.Base.Render("[" + label + "]")
	}
	out = append(out, btn(0, "Accept (a)")+"  "+btn(1, "Refuse (r)"))
	if c.Deadline.IsZero() || m.now().Sub(d.opened) < inviteArming {
		out = append(out, m.st.Hint.Render("(typing goes to the composer for a second)"))
	}
	out = append(out, "")
	ls := m.st.Muted
	if d.cur == 2 {
		ls = m.st.Accent
	}
	out = append(out, ls.Render("Reply extra (optional JSON):"))
	for _, l := range d.extra.Render(min(w-4, 48), 1, d.cur == 2, m.st.Input, m.st.Cursor, m.st.Hint, `e.g. {"note":"on my way"}`) {
		out = append(out, "  "+l)
	}
	out = append(out, "", m.st.Hint.Render("enter choose · tab move · esc later (calls pane)"))
	return out
}

func (d *inviteDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	if d.opened.IsZero() {
		d.opened = m.now()
	}
	armed := m.now().Sub(d.opened) >= inviteArming
	if !armed && (key.Matches(msg, m.keys.Dialog.Confirm) || len(msg.Text) > 0) {
		editKey(&m.composer.editor, msg) // still typing: it goes where it was meant to
		return nil
	}
	m.actionConv = m.chats.active.Key()
	extra := strings.TrimSpace(d.extra.Value())
	switch {
	case key.Matches(msg, m.keys.Dialog.Cancel):
		m.popDialog()
		return nil
	case key.Matches(msg, m.keys.Dialog.NextField), msg.String() == "right" && d.cur < 2:
		d.cur = (d.cur + 1) % 3
		return nil
	case key.Matches(msg, m.keys.Dialog.PrevField), msg.String() == "left" && d.cur < 2:
		d.cur = (d.cur + 2) % 3
		return nil
	case key.Matches(msg, m.keys.Dialog.Confirm):
		if d.cur == 1 {
			m.refuseCall(d.call, extra)
		} else {
			m.acceptCall(d.call, extra)
		}
		return nil
	}
	if d.cur == 2 {
		editKey(&d.extra, msg)
		return nil
	}
	switch msg.String() {
	case "a", "y":
		m.acceptCall(d.call, extra)
	case "r", "n":
		m.refuseCall(d.call, extra)
	}
	return nil
}

func (d *inviteDialog) paste(m *Model, s string) {
	d.cur = 2
	d.extra.Insert(s)
}
