package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// --- chrome --------------------------------------------------------------

// fit pads or truncates a styled line to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	sw := ansi.StringWidth(s)
	if sw > w {
		s = ansi.Truncate(s, w, "…")
		sw = ansi.StringWidth(s)
	}
	if sw < w {
		s += strings.Repeat(" ", w-sw)
	}
	return s
}

// box frames body lines in a rounded border with a title.
func (m *Model) box(title string, focused bool, w, h int, body []string) []string {
	if h <= 0 {
		return nil
	}
	bs := m.st.Border
	ts := m.st.PaneTitle
	if focused {
		bs, ts = m.st.BorderFocused, m.st.PaneTitleFocused
	}
	out := make([]string, 0, h)
	inner := w - 2
	t := ""
	if title != "" && inner > 4 {
		t = ansi.Truncate(" "+strings.ReplaceAll(title, "\n", "⏎")+" ", inner-2, "… ")
	}
	top := bs.Render("╭─") + ts.Render(t) + bs.Render(strings.Repeat("─", max(inner-1-ansi.StringWidth(t), 0))+"╮")
	out = append(out, top)
	side := bs.Render("│")
	for i := 0; i < h-2; i++ {
		line := ""
		if i < len(body) {
			line = body[i]
		}
		out = append(out, side+fit(line, inner)+side)
	}
	if h >= 2 {
		out = append(out, m.boxBottom(w, focused, ""))
	}
	return out
}

func (m *Model) boxBottom(w int, focused bool, note string) string {
	bs := m.st.Border
	if focused {
		bs = m.st.BorderFocused
	}
	inner := w - 2
	if note == "" || inner < 6 {
		return bs.Render("╰" + strings.Repeat("─", max(inner, 0)) + "╯")
	}
	note = ansi.Truncate(strings.ReplaceAll(note, "\n", "⏎"), inner-3, "…")
	nw := ansi.StringWidth(note)
	return bs.Render("╰─") + note + bs.Render(strings.Repeat("─", max(inner-1-nw, 0))+"╯")
}

// --- dialogs ---------------------------------------------------------------

// overlay draws a dialog centred over the screen.
func (m *Model) overlay(base []string, d dialog) []string {
	maxW := min(m.width-4, 76)
	maxH := m.height - 2
	lines := d.view(m, maxW, maxH)
	if len(lines) == 0 {
		return base
	}
	bw := 0
	for _, l := range lines {
		bw = max(bw, ansi.StringWidth(l))
	}
	bw = min(bw, maxW-4) // a line too wide for the screen is cut (fit marks it …), never wraps the terminal
	boxed := m.box(d.title(), true, bw+4, min(len(lines)+2, maxH), padLines(lines, bw))
	x := max((m.width-(bw+4))/2, 0)
	y := max((m.height-len(boxed))/2, 0)
	out := append([]string(nil), base...)
	for i, l := range boxed {
		r := y + i
		if r >= len(out) {
			break
		}
		row := out[r]
		lw := ansi.StringWidth(l)
		left := ansi.Cut(row, 0, x)
		if d := x - ansi.StringWidth(left); d > 0 { // a wide character straddled the edge
			left += strings.Repeat(" ", d)
		}
		right := ansi.Cut(row, x+lw, m.width)
		if d := m.width - x - lw - ansi.StringWidth(right); d > 0 {
			right = strings.Repeat(" ", d) + right
		}
		out[r] = left + l + right
	}
	return out
}

func padLines(lines []string, w int) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = " " + fit(l, w) + " "
	}
	return out
}
