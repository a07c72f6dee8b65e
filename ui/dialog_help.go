package ui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

type helpDialog struct {
	lines []string
	top   int
}

func newHelpDialog(m *Model) *helpDialog {
	d := &helpDialog{}
	for _, sec := range m.keys.Help() {
		d.lines = append(d.lines, m.st.Accent.Render(sec.Title))
		for _, b := range sec.Bindings {
			h := b.Help()
			d.lines = append(d.lines, "  "+m.st.Key.Render(fit(h.Key, 14))+m.st.Base.Render(h.Desc))
		}
		d.lines = append(d.lines, "")
	}
	d.lines = append(d.lines, m.st.Accent.Render("Commands"))
	for _, c := range commands {
		d.lines = append(d.lines, "  "+m.st.Key.Render(c.usage))
		d.lines = append(d.lines, "      "+m.st.Muted.Render(c.help))
	}
	d.lines = append(d.lines, "", m.st.Muted.Render("Keys can be changed in the config file (\"keys\": {\"global.quit\": [\"ctrl+q\"]})."))
	return d
}

func (d *helpDialog) title() string { return "Help — keys and commands" }

func (d *helpDialog) view(m *Model, w, h int) []string {
	rows := max(h-4, 3)
	if d.top > len(d.lines)-rows {
		d.top = max(len(d.lines)-rows, 0)
	}
	end := min(d.top+rows-1, len(d.lines))
	out := make([]string, 0, rows)
	for _, l := range d.lines[d.top:end] {
		out = append(out, ansi.Truncate(l, w-4, "…"))
	}
	more := ""
	if end < len(d.lines) {
		more = fmt.Sprintf(" · %d more ↓", len(d.lines)-end)
	}
	return append(out, m.st.Hint.Render("↑↓/pgup/pgdn scroll · esc close"+more))
}

func (d *helpDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc", "q", "?", "f1", "enter":
		m.popDialog()
	case "up", "k":
		if d.top > 0 {
			d.top--
		}
	case "down", "j":
		d.top++
	case "pgup", "b":
		d.top = max(d.top-10, 0)
	case "pgdown", "space", " ":
		d.top += 10
	case "home", "g":
		d.top = 0
	}
	return nil
}

func (d *helpDialog) paste(*Model, string) {}
