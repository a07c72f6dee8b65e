package ui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// eventDialog shows one line of the inspector in full: every argument of
// the callback on its own lines, JSON indented, nothing cut.
type eventDialog struct {
	e   logEvent
	top int
}

func (d *eventDialog) title() string {
	if d.e.ev == nil {
		return "Event"
	}
	return "on" + d.e.ev.Name
}

func (d *eventDialog) lines(m *Model, w int) []string {
	out := []string{m.st.Muted.Render(d.e.At.Format("2006-01-02 15:04:05.000"))}
	if d.e.ev == nil {
		for _, l := range wrapText(d.e.Text, w) {
			out = append(out, m.st.Base.Render(l))
		}
		return out
	}
	for _, f := range d.e.ev.fields() {
		v := sanitize(prettyJSON(f[1]))
		if !strings.Contains(v, "\n") && len(f[0])+2+len(v) <= w {
			out = append(out, m.st.Key.Render(f[0]+": ")+m.st.Base.Render(v))
			continue
		}
		out = append(out, m.st.Key.Render(f[0]+":"))
		for _, l := range wrapText(v, w-2) {
			out = append(out, "  "+m.st.Base.Render(l))
		}
	}
	return out
}

func (d *eventDialog) view(m *Model, w, h int) []string {
	all := d.lines(m, w-4)
	rows := max(h-4, 3)
	d.top = clampInt(d.top, 0, max(len(all)-rows+1, 0))
	end := min(d.top+rows-1, len(all))
	out := append([]string(nil), all[d.top:end]...)
	more := ""
	if end < len(all) {
		more = fmt.Sprintf(" · %d more ↓", len(all)-end)
	}
	return append(out, m.st.Hint.Render("↑↓ scroll · esc close"+more))
}

func (d *eventDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc", "enter", "q":
		m.popDialog()
	case "up", "k":
		d.top = max(d.top-1, 0)
	case "down", "j":
		d.top++
	case "pgup":
		d.top = max(d.top-10, 0)
	case "pgdown", "space", " ":
		d.top += 10
	}
	return nil
}

func (d *eventDialog) paste(*Model, string) {}
