package ui

import (
	"fmt"

	"github.com/charmbracelet/x/ansi"

	"github.com/xinling/xinling/sdk"
)

// --- status bar ----------------------------------------------------------

func (m *Model) renderStatus(w int) string {
	st := m.st
	var state string
	switch m.session.status {
	case sdk.StatusLoggedIn:
		state = "● online"
	case sdk.StatusLoggingIn:
		state = "◌ logging in"
	case sdk.StatusReconnecting:
		state = fmt.Sprintf("⟳ reconnecting (attempt %d)", m.session.reconnectN)
	default:
		state = "○ offline"
		if m.session.note != "" {
			state += " — " + m.session.note
		}
	}
	// most important first; what does not fit is left out from the end
	parts := []string{state}
	if c := m.calls.ringingIncoming(); c != nil {
		parts = append(parts, "☎ "+c.Peer+" calling: ctrl+y/ctrl+r")
	} else if c := m.calls.live(); c != nil && c.State == "accepted" {
		parts = append(parts, "☎ "+c.Peer+" "+fmtDur(m.now().Sub(c.Answered)))
	}
	if n := m.chats.totalUnread(); n > 0 {
		parts = append(parts, fmt.Sprintf("✉ %d unread: ctrl+n", n))
	}
	if m.account != "" {
		parts = append(parts, m.account+"@"+m.opt.App)
	}
	// where you are: the conversation shown (the system log shows the
	// channel you are in)
	if a := m.chats.active; a.Kind != convSystem {
		parts = append(parts, a.Key())
	} else if m.channel.joined != "" {
		parts = append(parts, "#"+m.channel.joined)
	}
	srv := m.opt.Server
	if m.opt.Embedded != "" {
		srv += " (embedded)"
	}
	parts = append(parts, srv)
	if m.events.dropped > 0 {
		parts = append(parts, fmt.Sprintf("⚠ %d dropped", m.events.dropped))
	}
	right := "? help "
	if w >= 100 {
		right = "? help · ctrl+k switch · ctrl+c quit "
	}
	if m.focus != focusComposer {
		right = "[" + m.focus.String() + "] esc · " + right
	}
	rw := ansi.StringWidth(right)
	left := ""
	for i, p := range parts {
		next := left + " │ " + p
		if i == 0 {
			next = " " + p
		}
		if ansi.StringWidth(next)+rw+1 > w && i > 0 {
			continue // try the shorter ones that follow
		}
		left = next
	}
	if ansi.StringWidth(left)+rw+1 > w {
		right, rw = "", 0
	}
	line := fit(left, w-rw) + right
	return st.StatusBar.Render(fit(line, w))
}
