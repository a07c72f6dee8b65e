package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// logEvent is one line of the events inspector.
type logEvent struct {
	At   time.Time
	Text string
	ev   *Event // the callback, for its detail (nil: a note of the client's)
}

// ring is a bounded list of the newest events.
type ring struct {
	items []logEvent
	start int
	max   int
}

func (r *ring) add(e logEvent) {
	if len(r.items) < r.max {
		r.items = append(r.items, e)
		return
	}
	r.items[r.start] = e
	r.start = (r.start + 1) % r.max
}

func (r *ring) len() int { return len(r.items) }

func (r *ring) at(i int) logEvent { return r.items[(r.start+i)%len(r.items)] }

// eventsPane is the events inspector: every SDK callback, newest last,
// with a filter.
type eventsPane struct {
	log       ring
	dropped   int // events the queue dropped under load, in all
	filter    editor
	filtering bool
	back      int // lines scrolled up from the newest
	cur       int // the selected line, counted from the newest
	show      bool
}

// --- events ----------------------------------------------------------------

// resultReducers apply the results of requests and the SDK's errors: they
// are said where the person acted.
var resultReducers = reducers{
	"Error":                 (*Model).sdkError,
	"InvokeRet":             (*Model).invokeResult,
	"QueryUserStatusResult": (*Model).userStatus,
}

func (m *Model) sdkError(e Event) tea.Cmd {
	m.fail(fmt.Sprintf("%s failed: %s — %s", e.Attr, codeName(e.Code), e.Typ))
	return nil
}

func (m *Model) invokeResult(e Event) tea.Cmd {
	target, what := m.chats.active, "invoke "+e.MsgID
	if inv, ok := m.invokes[e.MsgID]; ok {
		if c, ok := m.chats.byKey[inv.conv]; ok {
			target = c
		}
		what = fmt.Sprintf("invoke %s (%s)", inv.name, e.MsgID)
		delete(m.invokes, e.MsgID)
	}
	if e.Typ != "" {
		text := m.withReason(fmt.Sprintf("%s: error %s %s", what, e.Typ, e.Value), e.MsgID)
		m.errMsg(target, text)
		m.setNotice(text, true)
	} else {
		m.sysMsg(target, fmt.Sprintf("%s → %s", what, prettyJSON(e.Value)))
	}
	return nil
}

func (m *Model) userStatus(e Event) tea.Cmd {
	st := "offline"
	if e.Value == "1" {
		st = "online"
	}
	m.accounts[e.Account] = true
	m.info(fmt.Sprintf("%s is %s", e.Account, st))
	return nil
}

// --- keys ------------------------------------------------------------------

func (p *eventsPane) len(*Model) int { return p.log.len() }

func (p *eventsPane) uses(m *Model, msg tea.KeyPressMsg) bool {
	if key.Matches(msg, m.keys.List.Filter) {
		return true
	}
	return msg.Text != "" && strings.Contains("cgG", msg.Text)
}

// move moves the selection: up goes back in time (render keeps it in
// view and within the events).
func (p *eventsPane) move(m *Model, d int) {
	p.cur = max(p.cur-d, 0)
}

func (p *eventsPane) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.List.Filter):
		p.filtering = true
	case msg.String() == "c":
		p.log = ring{max: p.log.max}
		p.back, p.cur = 0, 0
	case msg.String() == "home" || msg.String() == "g":
		p.cur = p.log.len()
	case msg.String() == "end" || msg.String() == "G":
		p.back, p.cur = 0, 0
	case key.Matches(msg, m.keys.List.Open):
		f := strings.ToLower(p.filter.Value())
		if matched := p.matching(f, p.cur+1); len(matched) > 0 {
			m.pushDialog(&eventDialog{e: matched[min(p.cur, len(matched)-1)]})
		}
	}
	return nil
}

// filterKey edits the filter; enter keeps it, esc drops it.
func (p *eventsPane) filterKey(msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "enter", "esc":
		p.filtering = false
		if msg.String() == "esc" {
			p.filter.Reset()
		}
	default:
		editKey(&p.filter, msg)
	}
	p.back, p.cur = 0, 0
	return nil
}

// --- view ------------------------------------------------------------------

func (p *eventsPane) title() string {
	t := fmt.Sprintf("events · %d", p.log.len())
	if p.dropped > 0 {
		t += fmt.Sprintf(" · %d dropped", p.dropped)
	}
	if f := p.filter.Value(); f != "" {
		t += " · filter " + f
	}
	return t
}

func (p *eventsPane) render(m *Model, w, h int) []string {
	var rows []string
	if p.filtering || !p.filter.Empty() {
		f := p.filter.Render(w-9, 1, p.filtering, m.st.Input, m.st.Cursor, m.st.Hint, "type to filter")
		rows = append(rows, m.st.Accent.Render("filter: ")+f[0])
		h--
	}
	focused := m.focus == focusEvents
	var hint []string
	if focused && h > 3 {
		hint = m.paneHint(w, eventsHint)
		h -= len(hint)
	}
	f := strings.ToLower(p.filter.Value())
	matched := p.matching(f, max(h+p.back, p.cur+1))
	p.cur = min(p.cur, max(len(matched)-1, 0))
	// scroll so the selection shows
	p.back = max(clampInt(p.back, p.cur-h+1, p.cur), 0)
	p.back = min(p.back, len(matched))
	shown := matched[p.back:]
	if len(shown) > h {
		shown = shown[:h]
	}
	for i := len(shown) - 1; i >= 0; i-- {
		e := shown[i]
		row := m.st.Muted.Render(e.At.Format("15:04:05.000")+" ") + m.st.Base.Render(oneLine(e.Text, 400))
		if focused && p.back+i == p.cur {
			row = m.st.Selected.Render(fit(ansi.Strip(row), w))
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		none := "no events"
		if f != "" {
			none += " match"
		}
		rows = append(rows, m.st.Hint.Render(none))
	}
	rows = append(rows, hint...)
	return rows
}

// matching is up to n of the newest events whose text holds f, newest first.
func (p *eventsPane) matching(f string, n int) []logEvent {
	var out []logEvent
	for i := p.log.len() - 1; i >= 0 && len(out) < n; i-- {
		e := p.log.at(i)
		if f == "" || strings.Contains(strings.ToLower(e.Text), f) {
			out = append(out, e)
		}
	}
	return out
}
