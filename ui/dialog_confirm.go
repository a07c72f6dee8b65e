package ui

import (
	tea "charm.land/bubbletea/v2"
)

type confirmDialog struct {
	question, detail string
	yes              func(m *Model)
	onNo             bool
}

func newConfirmDialog(q, detail string, yes func(m *Model)) *confirmDialog {
	return &confirmDialog{question: q, detail: detail, yes: yes, onNo: true}
}

func (d *confirmDialog) title() string { return "Confirm" }

func (d *confirmDialog) view(m *Model, w, h int) []string {
	out := []string{m.st.Bold.Render(d.question)}
	if d.detail != "" {
		out = append(out, m.st.Muted.Render(d.detail))
	}
	enter := "enter: no"
	if !d.onNo {
		enter = "enter: yes"
	}
	return append(out, "", button(m, "Yes (y)", !d.onNo)+"  "+button(m, "No (n)", d.onNo), "", m.st.Hint.Render(enter+" · y yes · n/esc no · tab switch"))
}

func (d *confirmDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "y":
		m.popDialog()
		d.yes(m)
	case "n", "esc":
		m.popDialog()
	case "left", "right", "tab", "shift+tab", "h", "l":
		d.onNo = !d.onNo
	case "enter":
		m.popDialog()
		if !d.onNo {
			d.yes(m)
		}
	}
	return nil
}

func (d *confirmDialog) paste(*Model, string) {}
