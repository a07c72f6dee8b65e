package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

type outgoingDialog struct{ form }

func newOutgoingDialog(m *Model, peer string) *outgoingDialog {
	d := &outgoingDialog{}
	ch := ""
	if peer != "" {
		ch = m.callChannel(peer)
	}
	d.fields = []*field{
		newField("Call (account)", peer, "who to call"),
		newField("Channel", ch, "the call's channel (default call-YOU-THEM)"),
		newField("Extra (JSON, optional)", "", `e.g. {"_timeout":30}`),
	}
	if peer != "" {
		d.cur = 2
	}
	return d
}

func (d *outgoingDialog) title() string { return "☎ Call someone" }

func (d *outgoingDialog) view(m *Model, w, h int) []string {
	out := d.form.view(m, min(w-4, 56), nil)
	return append(out, "", m.st.Hint.Render("enter call · tab next field · esc cancel"))
}

func (d *outgoingDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Dialog.Confirm):
		peer := strings.TrimPrefix(d.value(0), "@")
		if peer == "" {
			d.cur = 0
			return nil
		}
		ch := d.value(1)
		if ch == "" {
			ch = m.callChannel(peer)
		}
		m.popDialog()
		m.actionConv = m.chats.active.Key()
		m.invite(peer, ch, d.value(2))
		return nil
	case key.Matches(msg, m.keys.Dialog.Cancel):
		m.popDialog()
		return nil
	}
	d.form.key(m, msg)
	return nil
}

func (d *outgoingDialog) paste(m *Model, s string) { d.form.paste(s) }
