package ui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/xinling/xinling/sdk"
)

// geom is the screen's layout at the current size.
type geom struct {
	wide                 bool
	leftW, rightW        int // wide: side columns (outer)
	centerW              int
	bodyH                int // everything but the status bar
	msgOuter, msgW, msgH int
	compOuter, compRows  int
	eventsOuter          int // wide, when the inspector shows
	tabsOuter            int // narrow: the tab panel
	peersOuter           int // wide: right column split
	attrsOuter           int
	callsOuter           int
}

func (m *Model) layout() geom {
	W, H := m.width, m.height
	g := geom{wide: W >= wideMin, bodyH: H - 1}
	if g.wide {
		g.leftW = 22
		g.rightW = 34
		if W >= 140 {
			g.leftW, g.rightW = 26, 44
		}
		g.centerW = W - g.leftW - g.rightW
	} else {
		g.centerW = W
	}
	g.compRows = clampInt(m.composer.Lines(g.centerW-3), 1, 6)
	g.compOuter = g.compRows + 2
	rest := g.bodyH - g.compOuter
	if g.wide {
		if m.showEvents {
			g.eventsOuter = clampInt(rest/3, 4, rest-5)
		}
		g.msgOuter = rest - g.eventsOuter
		g.peersOuter = clampInt(g.bodyH/4, 4, 12)
		g.callsOuter = clampInt(g.bodyH/4, 5, 12)
		g.attrsOuter = g.bodyH - g.peersOuter - g.callsOuter
	} else {
		g.tabsOuter = clampInt(rest/3, 5, 14)
		if rest-g.tabsOuter < 5 {
			g.tabsOuter = max(rest-5, 3)
		}
		g.msgOuter = rest - g.tabsOuter
	}
	g.msgW = g.centerW - 2
	g.msgH = max(g.msgOuter-2, 1)
	return g
}

func clampInt(v, lo, hi int) int {
	if hi < lo {
		hi = lo
	}
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// View renders the whole screen.
func (m *Model) View() tea.View {
	v := tea.NewView(strings.Join(m.render(), "\n"))
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	v.ReportFocus = true
	title := "xinling"
	if m.account != "" {
		title += " — " + m.account
	}
	if m.active != nil && m.active.Kind != convSystem {
		title += " " + m.active.Key()
	}
	v.WindowTitle = title
	return v
}

// Render returns the screen as lines of exactly the terminal's width
// (styled), for View and for tests.
func (m *Model) render() []string {
	g := m.layout()
	var body []string
	center := m.renderCenter(g)
	if g.wide {
		left := m.box(m.chatsTitle(), m.focus == focusChats, g.leftW, g.bodyH, m.renderChats(g.leftW-2, g.bodyH-2))
		right := append(append(
			m.box(m.peersTitle(), m.focus == focusPeers, g.rightW, g.peersOuter, m.renderPeers(g.rightW-2, g.peersOuter-2)),
			m.box(m.attrsTitle(), m.focus == focusAttrs, g.rightW, g.attrsOuter, m.renderAttrs(g.rightW-2, g.attrsOuter-2))...),
			m.box(m.callsTitle(), m.focus == focusCalls, g.rightW, g.callsOuter, m.renderCalls(g.rightW-2, g.callsOuter-2))...)
		for i := 0; i < g.bodyH; i++ {
			body = append(body, left[i]+center[i]+right[i])
		}
	} else {
		body = center
	}
	body = append(body, m.renderStatus(m.width))
	for _, d := range m.dialogs {
		body = m.overlay(body, d)
	}
	return body
}

func (m *Model) renderCenter(g geom) []string {
	var out []string
	out = append(out, m.box(m.messagesTitle(), m.focus == focusMessages, g.centerW, g.msgOuter, m.renderMessages(g.msgW, g.msgH))...)
	if g.wide && g.eventsOuter > 0 {
		out = append(out, m.box(m.eventsTitle(), m.focus == focusEvents, g.centerW, g.eventsOuter, m.renderEvents(g.centerW-2, g.eventsOuter-2))...)
	}
	compose := m.box(m.composerTitle(), m.focus == focusComposer, g.centerW, g.compOuter, m.renderComposer(g.centerW-2, g.compRows))
	if n := m.composerNote(g.centerW - 4); n != "" {
		compose[len(compose)-1] = m.boxBottom(g.centerW, m.focus == focusComposer, n)
	}
	if g.wide {
		out = append(out, compose...)
		return out
	}
	out = append(out, compose...)
	out = append(out, m.renderTabs(g.centerW, g.tabsOuter)...)
	return out
}

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

// --- messages ------------------------------------------------------------

func (m *Model) messagesTitle() string {
	c := m.active
	if c == nil {
		return "messages"
	}
	t := c.Key()
	if c.Kind == convChannel {
		switch {
		case m.joined == c.Name:
			t += fmt.Sprintf(" · %d here", len(m.members))
		case m.joining == c.Name:
			t += " · joining…"
		default:
			t += " · not joined"
		}
	}
	if c.Kind == convSystem {
		t = "xinling · system log"
	}
	if !c.Follow {
		if c.Unread > 0 {
			t += fmt.Sprintf(" · ↓ %d new (end)", c.Unread)
		} else {
			t += " · scrolled (end resumes)"
		}
	}
	return t
}

func (m *Model) renderMessages(w, h int) []string {
	c := m.active
	if c == nil || len(c.Msgs) == 0 {
		return []string{m.st.Hint.Render("no messages yet")}
	}
	lines := m.visibleLines(c, w, h)
	if c.Follow && len(lines) < h { // bottom-align
		pad := make([]string, h-len(lines), h)
		lines = append(pad, lines...)
	}
	return lines
}

// --- composer ------------------------------------------------------------

func (m *Model) composerTitle() string {
	c := m.active
	switch {
	case c == nil || c.Kind == convSystem:
		return "command (/help)"
	case c.Kind == convChannel:
		if m.joined != c.Name {
			return "to " + c.Key() + " (not joined: /join)"
		}
		return "to " + c.Key()
	default:
		return "to " + c.Key()
	}
}

func (m *Model) renderComposer(w, rows int) []string {
	ph := "message " + m.active.Key() + " — /help for commands, ? for keys"
	if m.active.Kind == convSystem {
		ph = "/join CHANNEL, /query ACCOUNT, /help — or ctrl+k to switch"
	}
	prompt := m.st.Accent.Render("› ")
	lines := m.composer.Render(w-2, rows, m.focus == focusComposer, m.st.Input, m.st.Cursor, m.st.Hint, ph)
	for i := range lines {
		if i == 0 {
			lines[i] = prompt + lines[i]
		} else {
			lines[i] = "  " + lines[i]
		}
	}
	return lines
}

// composerNote is what the composer's bottom edge says: a completion list,
// the command being typed, or the latest notice.
func (m *Model) composerNote(w int) string {
	if len(m.comp.items) > 1 {
		var parts []string
		for i, it := range m.comp.items {
			if i == m.comp.idx {
				parts = append(parts, m.st.Selected.Render(it))
			} else {
				parts = append(parts, m.st.Muted.Render(it))
			}
		}
		return " " + strings.Join(parts, " ") + " "
	}
	if m.notice != "" && m.now().Sub(m.noticeAt) < 20*time.Second {
		if m.noticeErr {
			return " " + m.st.Error.Render("✗ "+m.notice) + " "
		}
		return " " + m.st.Muted.Render(m.notice) + " "
	}
	if m.focus == focusComposer {
		if h := m.commandHint(); h != "" {
			return " " + m.st.Hint.Render(h) + " "
		}
	}
	return ""
}

// --- chats ---------------------------------------------------------------

func (m *Model) chatsTitle() string {
	if n := m.totalUnread(); n > 0 {
		return fmt.Sprintf("chats · %d unread", n)
	}
	return "chats"
}

func (m *Model) renderChats(w, h int) []string {
	list := m.orderedConvs()
	sel := clampSel(m.sel[focusChats], len(list))
	var rows []string
	for i, c := range list {
		mark := "  "
		name := c.Key()
		switch c.Kind {
		case convChannel:
			switch {
			case m.joined == c.Name:
				mark = m.st.OK.Render("● ")
			case m.joining == c.Name:
				mark = m.st.Warn.Render("◌ ")
			default:
				mark = m.st.Muted.Render("○ ")
			}
		case convPeer:
			mark = m.st.Muted.Render("@ ")
			name = c.Name
		case convSystem:
			mark = m.st.Muted.Render("≡ ")
		}
		badge := ""
		if c.Unread > 0 {
			badge = m.st.Unread.Render(fmt.Sprintf(" %d", c.Unread))
		}
		if c.Mentions > 0 && c.Kind == convChannel {
			badge = m.st.Mention.Render(fmt.Sprintf(" @%d", c.Mentions)) + badge
		}
		nameStyle := m.st.Base
		if c == m.active {
			nameStyle = m.st.Bold
		}
		txt := mark + nameStyle.Render(ansi.Truncate(name, w-3-ansi.StringWidth(badge), "…"))
		row := fit(txt, w-ansi.StringWidth(badge)) + badge
		if i == sel && m.focus == focusChats {
			row = m.st.Selected.Render(ansi.Strip(row))
		}
		rows = append(rows, row)
	}
	return scrollRows(rows, sel, h)
}

// scrollRows keeps the selected row in a window of h rows.
func scrollRows(rows []string, sel, h int) []string {
	if len(rows) <= h || sel < 0 {
		if len(rows) > h {
			return rows[:h]
		}
		return rows
	}
	first := sel - h + 1
	if first < 0 {
		first = 0
	}
	return rows[first : first+h]
}

// --- peers ---------------------------------------------------------------

func (m *Model) peersTitle() string {
	if m.joined == "" {
		return "peers"
	}
	return fmt.Sprintf("peers · #%s · %d", m.joined, len(m.members))
}

func (m *Model) renderPeers(w, h int) []string {
	if m.joined == "" {
		return []string{m.st.Hint.Render("not in a channel"), m.st.Hint.Render("/join CHANNEL")}
	}
	list := m.memberList()
	sel := clampSel(m.sel[focusPeers], len(list))
	var rows []string
	for i, a := range list {
		name := m.st.Nick(a).Render(a)
		if a == m.account {
			name = m.st.OwnNick.Render(a) + m.st.Muted.Render(" (you)")
		}
		if c := m.liveCallWith(a); c != nil {
			name += " " + m.st.Warn.Render("☎ "+c.State)
		}
		row := fit("  "+name, w)
		if i == sel && m.focus == focusPeers {
			row = m.st.Selected.Render(fit(ansi.Strip("▸ "+ansi.Strip(name)), w))
		}
		rows = append(rows, row)
	}
	if m.focus == focusPeers && h > 2 {
		hint := m.st.Hint.Render("enter chat · i call · s status · u attrs")
		rows = scrollRows(rows, sel, h-1)
		return append(rows, hint)
	}
	return scrollRows(rows, sel, h)
}

func (m *Model) liveCallWith(peer string) *Call {
	for i := len(m.calls) - 1; i >= 0; i-- {
		if c := m.calls[i]; c.Peer == peer && c.Live() {
			return c
		}
	}
	return nil
}

// --- attributes ----------------------------------------------------------

func (m *Model) attrsTitle() string {
	ch := m.attrChannel()
	if ch == "" {
		return "attributes"
	}
	return "attributes · #" + ch
}

func (m *Model) renderAttrs(w, h int) []string {
	var rows []string
	ch := m.attrChannel()
	sel := -1
	if ch == "" {
		rows = append(rows, m.st.Hint.Render("join a channel to see its attributes"))
	} else if m.attrs.Channel != ch {
		rows = append(rows, m.st.Hint.Render("(attributes of #"+ch+" show once joined)"))
	} else {
		items := m.attrRows()
		sel = clampSel(m.sel[focusAttrs], len(items))
		user, builtin := m.attrs.Sorted()
		nameW := 0
		for _, a := range items {
			nameW = max(nameW, ansi.StringWidth(a.Name))
		}
		nameW = min(nameW, w/2)
		now := m.now()
		row := func(i int, a *Attr, base lipgloss.Style) string {
			name := fit(a.Name, nameW)
			val := oneLine(a.Value, 200)
			r := fit(name+" "+val, w)
			switch {
			case i == sel && m.focus == focusAttrs:
				return m.st.Selected.Render(r)
			case !a.Changed.IsZero() && now.Sub(a.Changed) < flashFor:
				return m.st.Flash.Render(r)
			}
			return base.Render(r)
		}
		if len(user) == 0 {
			rows = append(rows, m.st.Hint.Render("no attributes — n adds one"))
		}
		for i, a := range user {
			rows = append(rows, row(i, a, m.st.Base))
		}
		if len(builtin) > 0 {
			rows = append(rows, m.st.Muted.Render(fit("── built-in ", w-1)))
			for i, a := range builtin {
				rows = append(rows, row(len(user)+i, a, m.st.BuiltinAttr))
			}
		}
		if len(m.attrs.Log) > 0 {
			rows = append(rows, m.st.Muted.Render("── changes "))
			for i := len(m.attrs.Log) - 1; i >= 0 && i >= len(m.attrs.Log)-6; i-- {
				l := m.attrs.Log[i]
				what := l.Typ
				if l.Name != "" {
					what += " " + l.Name
				}
				by := ""
				if l.byOK {
					by = " by " + orServer(l.By)
				}
				rows = append(rows, m.st.Muted.Render(l.At.Format("15:04:05")+" ")+m.st.Base.Render(what)+m.st.Muted.Render(by))
			}
		}
	}
	// user attributes: yours, then any looked up
	accts := append([]string(nil), m.userAttrOrder...)
	sort.SliceStable(accts, func(i, j int) bool { return accts[i] == m.account && accts[j] != m.account })
	for _, acc := range accts {
		attrs := m.userAttrs[acc]
		label := "── user " + acc
		if acc == m.account {
			label = "── you (" + acc + ")"
		}
		rows = append(rows, m.st.Muted.Render(label+" "))
		if len(attrs) == 0 {
			rows = append(rows, m.st.Hint.Render("  none — /uattr set NAME VALUE"))
		}
		names := make([]string, 0, len(attrs))
		for n := range attrs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			rows = append(rows, m.st.Base.Render("  "+n+" "+oneLine(attrs[n], 200)))
		}
	}
	if m.focus == focusAttrs && h > 3 {
		rows = scrollRows(rows, sel, h-1)
		return append(rows, m.st.Hint.Render("n new · e edit · d delete · C clear"))
	}
	return scrollRows(rows, sel, h)
}

func orServer(by string) string {
	if by == "" {
		return "server"
	}
	return by
}

// --- calls ---------------------------------------------------------------

func (m *Model) callsTitle() string {
	n := 0
	for _, c := range m.calls {
		if c.Live() {
			n++
		}
	}
	if n > 0 {
		return fmt.Sprintf("calls · %d active", n)
	}
	return "calls"
}

func (m *Model) renderCalls(w, h int) []string {
	list := m.callRows()
	if len(list) == 0 {
		return []string{m.st.Hint.Render("no calls — /invite ACCOUNT")}
	}
	sel := clampSel(m.sel[focusCalls], len(list))
	now := m.now()
	var rows []string
	for i, c := range list {
		dir := "→ "
		if c.Incoming {
			dir = "← "
		}
		state := c.State
		style := m.st.Muted
		switch c.State {
		case "calling", "ringing":
			left := c.Deadline.Sub(now)
			if left < 0 {
				left = 0
			}
			state += " " + fmtDur(left)
			style = m.st.Warn
		case "accepted":
			state = "live " + fmtDur(now.Sub(c.Answered))
			style = m.st.OK
		case "failed":
			style = m.st.Error
			state += ": " + c.Detail
		default:
			if c.Detail != "" {
				state += " " + c.Detail
			}
		}
		txt := dir + m.st.Nick(c.Peer).Render(c.Peer) + " " + style.Render(state)
		if c.DTMF != "" && c.State == "accepted" {
			txt += m.st.Muted.Render(" ☏" + c.DTMF)
		}
		row := fit(txt, w)
		if i == sel && m.focus == focusCalls {
			row = m.st.Selected.Render(fit(ansi.Strip(txt), w))
		}
		rows = append(rows, row)
	}
	if m.focus == focusCalls && h > 2 {
		rows = scrollRows(rows, sel, h-1)
		return append(rows, m.st.Hint.Render("a accept · r refuse · x end · p keypad"))
	}
	return scrollRows(rows, sel, h)
}

func fmtDur(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

// --- events --------------------------------------------------------------

func (m *Model) eventsTitle() string {
	t := fmt.Sprintf("events · %d", m.events.len())
	if m.dropped > 0 {
		t += fmt.Sprintf(" · %d dropped", m.dropped)
	}
	if f := m.filter.Value(); f != "" {
		t += " · filter " + f
	}
	return t
}

func (m *Model) renderEvents(w, h int) []string {
	var rows []string
	if m.filtering || !m.filter.Empty() {
		f := m.filter.Render(w-9, 1, m.filtering, m.st.Input, m.st.Cursor, m.st.Hint, "type to filter")
		rows = append(rows, m.st.Accent.Render("filter: ")+f[0])
		h--
	}
	f := strings.ToLower(m.filter.Value())
	var matched []logEvent
	need := h + m.eventsBack
	for i := m.events.len() - 1; i >= 0 && len(matched) < need; i-- {
		e := m.events.at(i)
		if f == "" || strings.Contains(strings.ToLower(e.Text), f) {
			matched = append(matched, e)
		}
	}
	if m.eventsBack > len(matched) {
		m.eventsBack = len(matched)
	}
	matched = matched[min(m.eventsBack, len(matched)):]
	if len(matched) > h {
		matched = matched[:h]
	}
	for i := len(matched) - 1; i >= 0; i-- {
		e := matched[i]
		rows = append(rows, m.st.Muted.Render(e.At.Format("15:04:05.000")+" ")+m.st.Base.Render(oneLine(e.Text, 400)))
	}
	if len(rows) == 0 {
		rows = append(rows, m.st.Hint.Render("no events"+map[bool]string{true: " match", false: ""}[f != ""]))
	}
	return rows
}

// --- narrow: tab panel ---------------------------------------------------

var tabLabels = map[focusArea]string{focusChats: "chats", focusPeers: "peers", focusAttrs: "attrs", focusCalls: "calls", focusEvents: "events"}

func (m *Model) renderTabs(w, h int) []string {
	cur := narrowTabs[m.tab]
	var labels []string
	for i, t := range narrowTabs {
		l := tabLabels[t]
		switch t {
		case focusChats:
			if n := m.totalUnread(); n > 0 {
				l += fmt.Sprintf(" %d", n)
			}
		case focusCalls:
			for _, c := range m.calls {
				if c.Ringing() {
					l += " ☎"
					break
				}
			}
		}
		if i == m.tab {
			labels = append(labels, m.st.TabActive.Render(" "+l+" "))
		} else {
			labels = append(labels, m.st.Tab.Render(" "+l+" "))
		}
	}
	title := strings.Join(labels, "")
	inner := h - 2
	var body []string
	switch cur {
	case focusChats:
		body = m.renderChats(w-2, inner)
	case focusPeers:
		body = append([]string{m.st.Muted.Render(m.peersTitle())}, m.renderPeers(w-2, inner-1)...)
	case focusAttrs:
		body = append([]string{m.st.Muted.Render(m.attrsTitle())}, m.renderAttrs(w-2, inner-1)...)
	case focusCalls:
		body = m.renderCalls(w-2, inner)
	case focusEvents:
		body = m.renderEvents(w-2, inner)
	}
	out := m.box("", m.focus == cur, w, h, body)
	// the tab strip replaces the top border's title
	bs := m.st.Border
	if m.focus == cur {
		bs = m.st.BorderFocused
	}
	tw := ansi.StringWidth(title)
	if tw > w-4 {
		title = ansi.Truncate(title, w-4, "…")
		tw = ansi.StringWidth(title)
	}
	out[0] = bs.Render("╭─") + title + bs.Render(strings.Repeat("─", max(w-3-tw, 0))+"╮")
	return out
}

// --- status bar ----------------------------------------------------------

func (m *Model) renderStatus(w int) string {
	st := m.st
	var state string
	switch m.status {
	case sdk.StatusLoggedIn:
		state = "● online"
	case sdk.StatusLoggingIn:
		state = "◌ logging in"
	case sdk.StatusReconnecting:
		state = fmt.Sprintf("⟳ reconnecting (attempt %d)", m.reconnectN)
	default:
		state = "○ offline"
		if m.statusNote != "" {
			state += " — " + m.statusNote
		}
	}
	// most important first; what does not fit is left out from the end
	parts := []string{state}
	if c := m.ringingIncoming(); c != nil {
		parts = append(parts, "☎ "+c.Peer+" calling: ctrl+y/ctrl+r")
	} else if c := m.liveCall(); c != nil && c.State == "accepted" {
		parts = append(parts, "☎ "+c.Peer+" "+fmtDur(m.now().Sub(c.Answered)))
	}
	if n := m.totalUnread(); n > 0 {
		parts = append(parts, fmt.Sprintf("✉ %d unread: ctrl+n", n))
	}
	if m.account != "" {
		parts = append(parts, m.account+"@"+m.opt.App)
	}
	if m.joined != "" {
		parts = append(parts, "#"+m.joined)
	}
	srv := m.opt.Server
	if m.opt.Embedded != "" {
		srv += " (embedded)"
	}
	parts = append(parts, srv)
	if m.dropped > 0 {
		parts = append(parts, fmt.Sprintf("⚠ %d dropped", m.dropped))
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
