package ui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// helpDialog is the keys (from the key map) and the commands, in sections
// that tab jumps between; long lines wrap to the dialog's width.
type helpDialog struct {
	start string // the section it opens at
	top   int
	w     int      // the width lines were built for
	lines []string // built for w
	secs  []int    // the first line of each section
}

func newHelpDialog(m *Model, section string) *helpDialog {
	return &helpDialog{start: section, top: -1}
}

func (d *helpDialog) title() string { return "Help — keys and commands" }

// build lays the help out at width w.
func (d *helpDialog) build(m *Model, w int) {
	d.w, d.lines, d.secs = w, nil, nil
	section := func(title string) {
		if len(d.lines) > 0 {
			d.lines = append(d.lines, "")
		}
		d.secs = append(d.secs, len(d.lines))
		d.lines = append(d.lines, m.st.Accent.Render(title))
	}
	// item is a key or usage, then what it does: beside it when both fit,
	// else wrapped under it
	item := func(k, desc string, kw int) {
		if ansi.StringWidth(k) < kw && kw+2+ansi.StringWidth(desc) <= w {
			d.lines = append(d.lines, "  "+m.st.Key.Render(fit(k, kw))+m.st.Base.Render(desc))
			return
		}
		for _, l := range wrapText(k, w-2) {
			d.lines = append(d.lines, "  "+m.st.Key.Render(l))
		}
		for _, l := range wrapText(desc, w-6) {
			d.lines = append(d.lines, "      "+m.st.Muted.Render(l))
		}
	}
	section("Getting started")
	for _, l := range []string{
		"Type a message and press enter: it goes to the conversation shown.",
		"/join CHANNEL joins a channel, /query ACCOUNT opens a chat, ctrl+k switches.",
		"A call rings: enter or a accepts, r refuses; ctrl+y / ctrl+r and /accept, /refuse work whatever is open.",
		"tab moves between panes (the focused one has a heavy border); esc comes back to the composer.",
		"The mouse: click a pane to focus it (a chat to open it); the wheel scrolls what is under it.",
	} {
		for _, r := range wrapText(l, w-2) {
			d.lines = append(d.lines, "  "+m.st.Base.Render(r))
		}
	}
	for _, sec := range m.keys.Help() {
		section(sec.Title)
		for _, b := range sec.Bindings {
			h := b.Help()
			item(h.Key, h.Desc, 14)
		}
	}
	section("Commands")
	for _, c := range commands {
		item(c.usage, c.help, 24)
	}
	d.lines = append(d.lines, "")
	for _, l := range wrapText(`Keys can be changed in the config file ("keys": {"global.quit": ["ctrl+q"]}).`, w) {
		d.lines = append(d.lines, m.st.Muted.Render(l))
	}
}

func (d *helpDialog) view(m *Model, w, h int) []string {
	if d.w != w-4 || d.lines == nil {
		d.build(m, w-4)
	}
	if d.top < 0 { // first view: open at the section asked for
		d.top = 0
		if d.start == "commands" {
			d.top = d.secs[len(d.secs)-1]
		}
	}
	rows := max(h-4, 3)
	d.top = clampInt(d.top, 0, max(len(d.lines)-rows+1, 0))
	end := min(d.top+rows-1, len(d.lines))
	out := append([]string(nil), d.lines[d.top:end]...)
	if len(out) > 0 {
		out[0] = fit(out[0], w-4) // a steady width while scrolling
	}
	more := ""
	if end < len(d.lines) {
		more = fmt.Sprintf(" · %d more ↓", len(d.lines)-end)
	}
	hint := "tab next section · ↑↓ pgup pgdn scroll · esc close" + more
	if ansi.StringWidth(hint) > w-4 {
		hint = "tab section · ↑↓ scroll · esc" + more
	}
	return append(out, m.st.Hint.Render(ansi.Truncate(hint, w-4, "…")))
}

func (d *helpDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc", "q", "?", "f1", "enter":
		m.popDialog()
	case "up", "k":
		d.top = max(d.top-1, 0)
	case "down", "j":
		d.top++
	case "pgup", "b":
		d.top = max(d.top-10, 0)
	case "pgdown", "space", " ":
		d.top += 10
	case "home", "g":
		d.top = 0
	case "tab":
		d.jump(1)
	case "shift+tab":
		d.jump(-1)
	}
	return nil
}

// jump scrolls to the start of the next (d 1) or previous (d -1) section.
func (d *helpDialog) jump(dir int) {
	if dir > 0 {
		for _, s := range d.secs {
			if s > d.top {
				d.top = s
				return
			}
		}
		return
	}
	for i := len(d.secs) - 1; i >= 0; i-- {
		if d.secs[i] < d.top {
			d.top = d.secs[i]
			return
		}
	}
}

func (d *helpDialog) paste(*Model, string) {}

// helpFor is a command's usage and help, for /help NAME.
func helpFor(name string) (string, bool) {
	c := findCommand(strings.TrimPrefix(strings.ToLower(name), "/"))
	if c == nil {
		return "", false
	}
	return c.usage + " — " + c.help, true
}
