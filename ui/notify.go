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

// notify raises a desktop notification titled xinling (OSC 9, and OSC 777
// for the terminals that speak that one instead). Under tmux the
// sequences are wrapped for its passthrough, which plain OSC 9 does not
// cross.
func (m *Model) notify(body string) tea.Cmd {
	return tea.Raw(notifySeq("xinling", body, m.opt.Tmux))
}

func notifySeq(title, body string, tmux bool) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || r == ';' {
				return ' '
			}
			return r
		}, s)
	}
	seq := "\x1b]9;" + clean(title+": "+body) + "\x07" + "\x1b]777;notify;" + clean(title) + ";" + clean(body) + "\x07"
	if tmux {
		seq = "\x1bPtmux;" + strings.ReplaceAll(seq, "\x1b", "\x1b\x1b") + "\x1b\\"
	}
	return seq
}
