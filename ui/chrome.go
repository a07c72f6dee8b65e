package ui

import (
	"strings"

	"charm.land/lipgloss/v2"

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

// frame is a border's look: rounded for a pane, heavy for the focused
// pane (so focus shows without colour), rounded in the accent for a dialog.
type frame struct {
	tl, tr, bl, br, h, v string
	border, title        lipgloss.Style
}

func (m *Model) paneFrame(focused bool) frame {
	if focused {
		return frame{"┏", "┓", "┗", "┛", "━", "┃", m.st.BorderFocused, m.st.PaneTitleFocused}
	}
	return frame{"╭", "╮", "╰", "╯", "─", "│", m.st.Border, m.st.PaneTitle}
}

func (m *Model) dialogFrame() frame {
	return frame{"╭", "╮", "╰", "╯", "─", "│", m.st.BorderFocused, m.st.PaneTitleFocused}
}

// box frames body lines in a pane's border with a title.
func (m *Model) box(title string, focused bool, w, h int, body []string) []string {
	return m.framed(m.paneFrame(focused), title, w, h, body)
}

func (m *Model) framed(f frame, title string, w, h int, body []string) []string {
	if h <= 0 {
		return nil
	}
	out := make([]string, 0, h)
	inner := w - 2
	out = append(out, f.top(title, inner, true))
	side := f.border.Render(f.v)
	for i := 0; i < h-2; i++ {
		line := ""
		if i < len(body) {
			line = body[i]
		}
		out = append(out, side+fit(line, inner)+side)
	}
	if h >= 2 {
		out = append(out, f.bottom(inner, ""))
	}
	return out
}

// top is the top border with a title (styled as one when styleTitle; a
// tab strip comes styled already), cut to fit.
func (f frame) top(title string, inner int, styleTitle bool) string {
	t := ""
	if title != "" && inner > 4 {
		if styleTitle {
			t = f.title.Render(ansi.Truncate(" "+strings.ReplaceAll(title, "\n", "⏎")+" ", inner-2, "… "))
		} else {
			t = ansi.Truncate(title, inner-2, "…")
		}
	}
	return f.border.Render(f.tl+f.h) + t + f.border.Render(strings.Repeat(f.h, max(inner-1-ansi.StringWidth(t), 0))+f.tr)
}

// bottom is the bottom border, with a note in it when there is room.
func (f frame) bottom(inner int, note string) string {
	if note == "" || inner < 6 {
		return f.border.Render(f.bl + strings.Repeat(f.h, max(inner, 0)) + f.br)
	}
	note = ansi.Truncate(strings.ReplaceAll(note, "\n", "⏎"), inner-3, "…")
	nw := ansi.StringWidth(note)
	return f.border.Render(f.bl+f.h) + note + f.border.Render(strings.Repeat(f.h, max(inner-1-nw, 0))+f.br)
}

func (m *Model) boxBottom(w int, focused bool, note string) string {
	return m.paneFrame(focused).bottom(w-2, note)
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
	boxed := m.framed(m.dialogFrame(), d.title(), bw+4, min(len(lines)+2, maxH), padLines(lines, bw))
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
		want := m.width - x - lw
		right := ansi.Cut(row, x+lw, m.width)
		for k := 1; ansi.StringWidth(right) > want && k <= 2; k++ {
			// a wide character straddles the dialog's right edge: drop it
			right = ansi.Cut(row, x+lw+k, m.width)
		}
		if d := want - ansi.StringWidth(right); d > 0 {
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
