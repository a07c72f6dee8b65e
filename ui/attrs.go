package ui

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Attr is one channel attribute.
type Attr struct {
	Name    string
	Value   string
	Changed time.Time // for the flash
	By      string
}

// AttrChange is one line of the change log.
type AttrChange struct {
	At    time.Time
	Typ   string
	Name  string
	Value string
	By    string
	byOK  bool // the author arrived
}

// Attrs is the current channel's attribute table and change log.
type Attrs struct {
	Channel string
	Items   map[string]*Attr
	Log     []AttrChange
}

// Sorted returns user attributes then built-in ("_") ones, each by name.
func (a *Attrs) Sorted() (user, builtin []*Attr) {
	for _, it := range a.Items {
		if strings.HasPrefix(it.Name, "_") {
			builtin = append(builtin, it)
		} else {
			user = append(user, it)
		}
	}
	sort.Slice(user, func(i, j int) bool { return user[i].Name < user[j].Name })
	sort.Slice(builtin, func(i, j int) bool { return builtin[i].Name < builtin[j].Name })
	return
}

// attrsPane is the attributes pane: the channel's live table and change
// log, then your own user attributes and any you looked up.
type attrsPane struct {
	ch        Attrs
	user      map[string]map[string]string // account → name → value
	userOrder []string
	sel       int
}

// userOf returns (creating) the user attribute map of an account.
func (p *attrsPane) userOf(account string) map[string]string {
	a, ok := p.user[account]
	if !ok {
		a = map[string]string{}
		p.user[account] = a
		p.userOrder = append(p.userOrder, account)
	}
	return a
}

// flashFor is how long a changed attribute stays highlighted.
const flashFor = 2 * time.Second

// attrChannel is the channel /attr works on.
func (m *Model) attrChannel() string {
	if m.chats.active.Kind == convChannel {
		return m.chats.active.Name
	}
	return m.channel.joined
}

// attrRows are the attribute pane's selectable rows: user attributes, then
// built-in ones.
func (m *Model) attrRows() []*Attr {
	if m.attrs.ch.Channel != m.attrChannel() {
		return nil
	}
	u, b := m.attrs.ch.Sorted()
	return append(u, b...)
}

// --- events ----------------------------------------------------------------

// attrReducers apply the attribute events to the attributes pane.
var attrReducers = reducers{
	"ChannelAttrUpdated":   (*Model).channelAttr,
	"ChannelAttrChangedBy": (*Model).channelAttrBy,
	"UserAttrResult":       (*Model).userAttr,
	"UserAttrAllResult":    (*Model).userAttrAll,
}

func (m *Model) channelAttr(e Event) tea.Cmd {
	p := &m.attrs
	if e.Channel != p.ch.Channel && (p.ch.Channel == "" || m.channel.joined != e.Channel) {
		// a change to a channel we are not showing (set via /attr on another one)
		p.ch = Attrs{Channel: e.Channel, Items: map[string]*Attr{}}
	}
	now := m.now()
	switch e.Typ {
	case "update":
		a, ok := p.ch.Items[e.Attr]
		if !ok {
			a = &Attr{Name: e.Attr}
			p.ch.Items[e.Attr] = a
		}
		if a.Value != e.Value || !ok {
			a.Changed = now
		}
		a.Value, a.By = e.Value, ""
	case "del":
		delete(p.ch.Items, e.Attr)
	case "clear":
		for n := range p.ch.Items {
			if !strings.HasPrefix(n, "_") {
				delete(p.ch.Items, n)
			}
		}
	}
	p.ch.Log = append(p.ch.Log, AttrChange{At: now, Typ: e.Typ, Name: e.Attr, Value: e.Value})
	if len(p.ch.Log) > 500 {
		p.ch.Log = append([]AttrChange(nil), p.ch.Log[len(p.ch.Log)-400:]...)
	}
	return tea.Tick(flashFor+50*time.Millisecond, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// channelAttrBy names the author of the change just reported.
func (m *Model) channelAttrBy(e Event) tea.Cmd {
	p := &m.attrs
	for i := len(p.ch.Log) - 1; i >= 0 && i >= len(p.ch.Log)-8; i-- {
		l := &p.ch.Log[i]
		if !l.byOK && l.Name == e.Attr && l.Typ == e.Typ {
			l.By, l.byOK = e.Account, true
			break
		}
	}
	if a, ok := p.ch.Items[e.Attr]; ok && e.Channel == p.ch.Channel {
		a.By = e.Account
	}
	return nil
}

func (m *Model) userAttr(e Event) tea.Cmd {
	attrs := m.attrs.userOf(e.Account)
	attrs[e.Attr] = e.Value
	v := e.Value
	if v == "" {
		delete(attrs, e.Attr)
		v = "(unset)"
	}
	m.info(fmt.Sprintf("user attribute %s.%s = %s", e.Account, e.Attr, v))
	return nil
}

func (m *Model) userAttrAll(e Event) tea.Cmd {
	p := &m.attrs
	var all map[string]any
	if err := json.Unmarshal([]byte(e.Value), &all); err == nil {
		a := map[string]string{}
		for k, v := range all {
			if s, ok := v.(string); ok {
				a[k] = s
			} else {
				b, _ := json.Marshal(v)
				a[k] = string(b)
			}
		}
		if _, ok := p.user[e.Account]; !ok {
			p.userOrder = append(p.userOrder, e.Account)
		}
		p.user[e.Account] = a
	}
	if e.Account != m.account {
		m.info(fmt.Sprintf("user attributes of %s: %s", e.Account, e.Value))
	}
	return nil
}

// --- keys ------------------------------------------------------------------

func (p *attrsPane) len(m *Model) int { return len(m.attrRows()) }

func (p *attrsPane) uses(m *Model, msg tea.KeyPressMsg) bool {
	l := m.keys.List
	return key.Matches(msg, l.New, l.Edit, l.Delete, l.Clear)
}

func (p *attrsPane) key(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	l := m.keys.List
	ch := m.attrChannel()
	if ch == "" {
		return nil
	}
	items := m.attrRows()
	i := clampSel(p.sel, len(items))
	switch {
	case key.Matches(msg, l.New):
		m.pushDialog(newAttrDialog(m, ch, "", ""))
	case key.Matches(msg, l.Open), key.Matches(msg, l.Edit):
		if i >= 0 {
			m.pushDialog(newAttrDialog(m, ch, items[i].Name, items[i].Value))
		} else {
			m.pushDialog(newAttrDialog(m, ch, "", ""))
		}
	case key.Matches(msg, l.Delete):
		if i >= 0 {
			name := items[i].Name
			m.pushDialog(newConfirmDialog("Delete attribute "+name+" of #"+ch+"?", "", func(m *Model) { m.c.ChannelDelAttr(ch, name) }))
		}
	case key.Matches(msg, l.Clear):
		return cmdAttr(m, "clear")
	}
	return nil
}

// --- view ------------------------------------------------------------------

func (m *Model) attrsTitle() string {
	ch := m.attrChannel()
	if ch == "" {
		return "attributes"
	}
	return "attributes · #" + ch
}

func (p *attrsPane) render(m *Model, w, h int) []string {
	var rows []string
	sel := -1
	switch ch := m.attrChannel(); {
	case ch == "":
		rows = append(rows, m.st.Hint.Render("join a channel to see its attributes"))
	case p.ch.Channel != ch:
		rows = append(rows, m.st.Hint.Render("(attributes of #"+ch+" show once joined)"))
	default:
		sel = clampSel(p.sel, len(m.attrRows()))
		rows = append(rows, p.table(m, w, sel)...)
		rows = append(rows, p.changes(m)...)
	}
	rows = append(rows, p.userRows(m)...)
	if m.focus == focusAttrs && h > 3 {
		hint := m.paneHint(w, attrsHint)
		rows = scrollRows(rows, sel, max(h-len(hint), 1))
		return append(rows, hint...)
	}
	return scrollRows(rows, sel, h)
}

// table is the channel's attributes: yours, then the built-in ones; a
// changed one flashes.
func (p *attrsPane) table(m *Model, w, sel int) []string {
	var rows []string
	user, builtin := p.ch.Sorted()
	nameW := 0
	for _, a := range append(user, builtin...) {
		nameW = max(nameW, ansi.StringWidth(a.Name))
	}
	nameW = min(nameW, w/2)
	now := m.now()
	row := func(i int, a *Attr, base lipgloss.Style) string {
		r := fit(fit(a.Name, nameW)+" "+p.shown(m, a), w)
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
	return rows
}

// shown is an attribute's value as the table shows it. The server pushes
// _member_num only with _auto_update_num, so the join's count goes stale:
// the count of the peers pane is said beside it.
func (p *attrsPane) shown(m *Model, a *Attr) string {
	v := oneLine(a.Value, 200)
	if a.Name == "_member_num" && p.ch.Channel == m.channel.joined {
		if n := strconv.Itoa(len(m.channel.members)); n != a.Value && len(m.channel.members) > 0 {
			v += " · now " + n
		}
	}
	return v
}

// changes is the newest lines of the change log, with who made them.
func (p *attrsPane) changes(m *Model) []string {
	if len(p.ch.Log) == 0 {
		return nil
	}
	rows := []string{m.st.Muted.Render("── changes ")}
	for i := len(p.ch.Log) - 1; i >= 0 && i >= len(p.ch.Log)-6; i-- {
		l := p.ch.Log[i]
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
	return rows
}

// userRows are user attributes: yours first, then any looked up.
func (p *attrsPane) userRows(m *Model) []string {
	var rows []string
	accts := append([]string(nil), p.userOrder...)
	sort.SliceStable(accts, func(i, j int) bool { return accts[i] == m.account && accts[j] != m.account })
	for _, acc := range accts {
		attrs := p.user[acc]
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
	return rows
}

func orServer(by string) string {
	if by == "" {
		return "server"
	}
	return by
}
