package ui

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// inviteDialog answers an incoming call. Accept has the focus when it
// opens: an accidental accept can be hung up at once, an accidental refuse
// tells the caller no and cannot be taken back. ctrl+y / ctrl+r (any
// dialog open or not) and /accept, /refuse typed in the composer answer
// too, so every way the help teaches works while it is up.
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

func (d *inviteDialog) armed(m *Model) bool { return m.now().Sub(d.opened) >= inviteArming }

// typing reports whether the person is writing a command in the composer
// (its text starts with "/"): the keys are the composer's until it runs or
// is erased.
func (d *inviteDialog) typing(m *Model, msg tea.KeyPressMsg) bool {
	v := m.composer.Value()
	return strings.HasPrefix(v, "/") || (v == "" && msg.Text == "/")
}

func (d *inviteDialog) view(m *Model, w, h int) []string {
	c := d.call
	out := []string{
		m.st.Nick(c.Peer).Render(c.Peer) + m.st.Base.Render(" is calling you"),
		m.st.Muted.Render("channel " + c.Channel + " · rings for " + fmtDur(max(c.Deadline.Sub(m.now()), 0))),
	}
	if c.Extra != "" {
		out = append(out, m.st.Muted.Render("extra: "+oneLine(c.Extra, 60)))
	}
	out = append(out, "", button(m, "Accept (a)", d.cur == 0)+"  "+button(m, "Refuse (r)", d.cur == 1))
	if !d.armed(m) {
		out = append(out, m.st.Hint.Render("(typing goes to the composer for a second)"))
	}
	out = append(out, "", fieldLabel(m, "Reply extra (optional JSON):", d.cur == 2))
	for _, l := range d.extra.Render(min(w-4, 48), 1, d.cur == 2, m.st.Input, m.st.Cursor, m.st.Hint, `e.g. {"note":"on my way"}`) {
		out = append(out, "  "+l)
	}
	if v := m.composer.Value(); strings.HasPrefix(v, "/") {
		out = append(out, "", m.st.Accent.Render("› ")+m.st.Input.Render(oneLine(v, min(w-8, 60)))+m.st.Hint.Render("  enter runs it"))
	}
	enter := "enter accepts"
	switch d.cur {
	case 1:
		enter = "enter refuses"
	case 2:
		enter = "enter accepts with this reply"
	}
	out = append(out, "")
	for _, h := range []string{enter + " · a accept · r refuse · tab move · esc later", "or type /accept or /refuse; ctrl+y / ctrl+r work anywhere"} {
		for _, l := range wrapText(h, min(w-4, 64)) {
			out = append(out, m.st.Hint.Render(l))
		}
	}
	return out
}

func (d *inviteDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	if d.opened.IsZero() {
		d.opened = m.now()
	}
	dk := m.keys.Dialog
	if key.Matches(msg, dk.Cancel) {
		m.popDialog()
		return nil
	}
	if d.typing(m, msg) {
		m.focus = focusComposer
		return m.composerKey(msg)
	}
	if !d.armed(m) && (key.Matches(msg, dk.Confirm) || len(msg.Text) > 0) {
		// still typing: letters go where they were meant to, and an enter
		// meant for that text neither sends it nor answers the call
		if len(msg.Text) > 0 {
			return m.beneath(d, msg)
		}
		return nil
	}
	m.actionConv = m.chats.active.Key()
	extra := strings.TrimSpace(d.extra.Value())
	switch {
	case key.Matches(msg, dk.NextField), msg.String() == "right" && d.cur < 2:
		d.cur = (d.cur + 1) % 3
	case key.Matches(msg, dk.PrevField), msg.String() == "left" && d.cur < 2:
		d.cur = (d.cur + 2) % 3
	case key.Matches(msg, dk.Confirm):
		if d.cur == 1 {
			m.refuseCall(d.call, extra)
		} else {
			m.acceptCall(d.call, extra)
		}
	case d.cur == 2:
		editKey(&d.extra, msg)
	case msg.String() == "a" || msg.String() == "y":
		m.acceptCall(d.call, extra)
	case msg.String() == "r" || msg.String() == "n":
		m.refuseCall(d.call, extra)
	}
	return nil
}

func (d *inviteDialog) paste(m *Model, s string) {
	d.cur = 2
	d.extra.Insert(s)
}

// beneath handles a key as if the call dialog were not there (the dialog
// under it, else the panes), then puts the dialog back on top while the
// call still rings.
func (m *Model) beneath(d *inviteDialog, msg tea.KeyPressMsg) tea.Cmd {
	m.removeDialog(d)
	var cmd tea.Cmd
	if below := m.topDialog(); below != nil {
		cmd = below.update(m, msg)
	} else {
		m.focus = focusComposer
		editKey(&m.composer.editor, msg)
	}
	if d.call.Incoming && d.call.Ringing() {
		m.removeDialog(d)
		m.pushDialog(d)
	}
	return cmd
}
