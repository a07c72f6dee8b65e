package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
)

type keypadDialog struct {
	call *Call
	r, c int
}

var keypad = [4][3]string{{"1", "2", "3"}, {"4", "5", "6"}, {"7", "8", "9"}, {"*", "0", "#"}}

func (d *keypadDialog) title() string { return "DTMF keypad — " + d.call.Peer }

func (d *keypadDialog) view(m *Model, w, h int) []string {
	out := []string{m.st.Muted.Render("call on " + d.call.Channel + " · " + d.call.State)}
	for r := range keypad {
		var row []string
		for c, k := range keypad[r] {
			if r == d.r && c == d.c {
				row = append(row, m.st.Selected.Render(" "+k+" "))
			} else {
				row = append(row, m.st.Base.Render("["+k+"]"))
			}
		}
		out = append(out, "   "+strings.Join(row, " "))
	}
	sent := d.call.DTMF
	if sent == "" {
		sent = "—"
	}
	out = append(out, m.st.Muted.Render("sent: ")+m.st.Bold.Render(sent))
	return append(out, "", m.st.Hint.Render("type 0-9 * # or arrows+enter · x hang up · esc close"))
}

func (d *keypadDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	s := msg.String()
	switch s {
	case "esc":
		m.popDialog()
	case "up":
		d.r = (d.r + 3) % 4
	case "down":
		d.r = (d.r + 1) % 4
	case "left":
		d.c = (d.c + 2) % 3
	case "right":
		d.c = (d.c + 1) % 3
	case "enter", "space":
		m.sendDTMF(d.call, keypad[d.r][d.c])
	case "x":
		m.popDialog()
		m.endCall(d.call)
	default:
		if len(msg.Text) == 1 && strings.Contains("0123456789*#", msg.Text) {
			m.sendDTMF(d.call, msg.Text)
		}
	}
	return nil
}

func (d *keypadDialog) paste(*Model, string) {}
