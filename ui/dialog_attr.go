package ui

import (
	"encoding/json"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

type attrDialog struct {
	form
	channel string
	orig    string
	err     string
}

func newAttrDialog(m *Model, ch, name, value string) *attrDialog {
	d := &attrDialog{channel: ch, orig: name}
	d.fields = []*field{newField("Name", name, "e.g. topic"), newField("Value", prettyJSON(value), "text or JSON; empty deletes")}
	d.fields[1].ed.multiline = true
	if name != "" {
		d.cur = 1
	}
	return d
}

func (d *attrDialog) title() string {
	if d.orig == "" {
		return "New attribute of #" + d.channel
	}
	return "Edit " + d.orig + " of #" + d.channel
}

func (d *attrDialog) view(m *Model, w, h int) []string {
	fw := min(w-4, 64)
	rows := clampInt(d.fields[1].ed.Lines(fw-3), 3, max(h-10, 3))
	out := d.form.view(m, fw, func(i int) int {
		if i == 1 {
			return rows
		}
		return 1
	})
	// keep the value box a steady height
	for len(out) < 3+rows {
		out = append(out, "")
	}
	if d.err != "" {
		out = append(out, m.st.Error.Render("✗ "+d.err))
	}
	v := d.fields[1].ed.Value()
	note := fmt.Sprintf("%d bytes", len(v))
	if t := strings.TrimSpace(v); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		if json.Valid([]byte(t)) {
			note += " · JSON (saved compact)"
		} else {
			note += " · not valid JSON: saved as text"
		}
	}
	out = append(out, m.st.Muted.Render(note))
	return append(out, "", m.st.Hint.Render("enter save · alt+enter new line · tab field · esc cancel"))
}

func isJSON(s string) bool {
	return compactJSON(s) != s || strings.TrimSpace(s) == "{}" || strings.TrimSpace(s) == "[]"
}

func (d *attrDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Dialog.Confirm):
		name := d.value(0)
		if name == "" || strings.ContainsAny(name, " \t\n") {
			d.err = "the name is 1–128 characters without spaces"
			d.cur = 0
			return nil
		}
		if strings.HasPrefix(name, "_member_num") {
			d.err = "_member_num is maintained by the server"
			return nil
		}
		val := compactJSON(strings.TrimSpace(d.fields[1].ed.Value()))
		m.actionConv = m.chats.active.Key()
		m.popDialog()
		if d.orig != "" && d.orig != name {
			m.c.ChannelDelAttr(d.channel, d.orig)
		}
		if val == "" {
			m.c.ChannelDelAttr(d.channel, name)
		} else {
			m.c.ChannelSetAttr(d.channel, name, val)
		}
		return nil
	case key.Matches(msg, m.keys.Dialog.Cancel):
		m.popDialog()
		return nil
	}
	d.form.key(m, msg)
	return nil
}

func (d *attrDialog) paste(m *Model, s string) { d.form.paste(s) }
