package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
)

// bell rings the terminal bell.
func bell(on bool) tea.Cmd {
	if !on {
		return nil
	}
	return tea.Raw("\a")
}

// notify sends a desktop notification (OSC 9, and OSC 777 for terminals
// that speak that one instead).
func notify(title, body string, ring bool) tea.Cmd {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || r == ';' {
				return ' '
			}
			return r
		}, s)
	}
	seq := "\x1b]9;" + clean(title+": "+body) + "\x07" + "\x1b]777;notify;" + clean(title) + ";" + clean(body) + "\x07"
	return tea.Raw(seq)
}
