package ui

import (
	"time"

	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// dialog is a modal on the dialog stack: the top one gets every key.
type dialog interface {
	title() string
	view(m *Model, maxW, maxH int) []string
	update(m *Model, msg tea.KeyPressMsg) tea.Cmd
	paste(m *Model, s string)
}

func (m *Model) pushDialog(d dialog) { m.dialogs = append(m.dialogs, d) }

func (m *Model) popDialog() {
	if len(m.dialogs) > 0 {
		m.dialogs = m.dialogs[:len(m.dialogs)-1]
	}
}

func (m *Model) topDialog() dialog {
	if len(m.dialogs) == 0 {
		return nil
	}
	return m.dialogs[len(m.dialogs)-1]
}

func isLogin(d dialog) bool { _, ok := d.(*loginDialog); return ok }

// field is a labelled editor in a form.
type field struct {
	label string
	ed    editor
	hint  string
}

// form is a stack of fields with a focused one.
type form struct {
	fields []*field
	cur    int
}

func (f *form) view(m *Model, w int, rowsFor func(i int) int) []string {
	var out []string
	for i, fl := range f.fields {
		focused := i == f.cur
		ls := m.st.Muted
		if focused {
			ls = m.st.Accent
		}
		out = append(out, ls.Render(fl.label))
		rows := 1
		if rowsFor != nil {
			rows = rowsFor(i)
		}
		for _, l := range fl.ed.Render(w-2, rows, focused, m.st.Input, m.st.Cursor, m.st.Hint, fl.hint) {
			out = append(out, "  "+l)
		}
	}
	return out
}

// key handles field navigation and editing; true when used.
func (f *form) key(m *Model, msg tea.KeyPressMsg) bool {
	d := m.keys.Dialog
	switch {
	case key.Matches(msg, d.NextField):
		f.cur = (f.cur + 1) % len(f.fields)
	case key.Matches(msg, d.PrevField):
		f.cur = (f.cur + len(f.fields) - 1) % len(f.fields)
	case key.Matches(msg, d.Newline):
		f.fields[f.cur].ed.Newline()
	case msg.String() == "up" && !f.fields[f.cur].ed.multiline:
		f.cur = (f.cur + len(f.fields) - 1) % len(f.fields)
	case msg.String() == "down" && !f.fields[f.cur].ed.multiline:
		f.cur = (f.cur + 1) % len(f.fields)
	default:
		return editKey(&f.fields[f.cur].ed, msg)
	}
	return true
}

func (f *form) paste(s string) { f.fields[f.cur].ed.Insert(s) }

func (f *form) value(i int) string { return strings.TrimSpace(f.fields[i].ed.Value()) }

func newField(label, value, hint string) *field {
	fl := &field{label: label, hint: hint}
	fl.ed.Set(value)
	return fl
}

// --- login -------------------------------------------------------------------

type loginDialog struct {
	form
	err string
}

func newLoginDialog(m *Model, errText string) *loginDialog {
	d := &loginDialog{err: errText}
	d.fields = []*field{
		newField("Account", m.account, "your name, e.g. alice (no spaces)"),
		newField("Server", m.opt.Server, "ws://host:port"),
		newField("App ID", m.opt.App, "any app id on an open server"),
		newField("Token", m.opt.Token, "_no_need_token unless the app has a certificate"),
	}
	d.fields[3].ed.mask = m.opt.Token != "" && m.opt.Token != "_no_need_token"
	return d
}

func (d *loginDialog) title() string { return "Log in to xinling" }

func (d *loginDialog) view(m *Model, w, h int) []string {
	out := []string{m.st.Muted.Render("Who are you? Enter logs in; tab moves between fields.")}
	if d.err != "" {
		out = append(out, m.st.Error.Render("✗ "+d.err))
	}
	out = append(out, "")
	out = append(out, d.form.view(m, min(w-4, 56), nil)...)
	out = append(out, "", m.st.Hint.Render("enter log in · tab next field · esc cancel · ctrl+c quit"))
	return out
}

func (d *loginDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Dialog.Confirm):
		acc := d.value(0)
		if acc == "" || strings.ContainsAny(acc, " \t\n") {
			d.err = "the account is 1–128 characters without spaces"
			d.cur = 0
			return nil
		}
		srv, app, tok := d.value(1), d.value(2), d.value(3)
		if app == "" {
			app = m.opt.App
		}
		if tok == "" {
			tok = "_no_need_token"
		}
		if m.opt.OnLogin != nil {
			m.opt.OnLogin(srv, app, acc, tok)
		}
		if srv != m.opt.Server && srv != "" {
			m.info("the server can only be changed at start-up: run xinling --server " + srv)
		}
		m.opt.App, m.opt.Token = app, tok
		if m.status != 0 && m.account != acc {
			m.c.Logout()
		}
		m.account = acc
		m.popDialog()
		m.login()
		return nil
	case key.Matches(msg, m.keys.Dialog.Cancel):
		m.popDialog()
		if m.account == "" {
			m.info("not logged in — /login opens the form again")
		}
		return nil
	}
	d.form.key(m, msg)
	return nil
}

func (d *loginDialog) paste(m *Model, s string) { d.form.paste(s) }

// --- incoming invite ---------------------------------------------------------

type inviteDialog struct {
	call   *Call
	extra  editor
	cur    int       // 0 accept, 1 refuse, 2 extra field
	opened time.Time // keys typed just before it popped up must not answer the call
}

// inviteArming is how long after an incoming call's dialog opens it ignores
// enter and letters: someone typing a message when the call arrives keeps
// typing into the composer instead of answering by accident.
const inviteArming = time.Second

func (d *inviteDialog) title() string { return "☎ Incoming call" }

func (d *inviteDialog) view(m *Model, w, h int) []string {
	c := d.call
	left := c.Deadline.Sub(m.now())
	if left < 0 {
		left = 0
	}
	out := []string{
		m.st.Nick(c.Peer).Render(c.Peer) + m.st.Base.Render(" is calling you"),
		m.st.Muted.Render("channel " + c.Channel + " · rings for " + fmtDur(left)),
	}
	if c.Extra != "" {
		out = append(out, m.st.Muted.Render("extra: "+oneLine(c.Extra, 60)))
	}
	out = append(out, "")
	btn := func(i int, label string) string {
		if d.cur == i {
			return m.st.Selected.Render(" " + label + " ")
		}
		return m.st.Base.Render("[" + label + "]")
	}
	out = append(out, btn(0, "Accept (a)")+"  "+btn(1, "Refuse (r)"))
	if c.Deadline.IsZero() || m.now().Sub(d.opened) < inviteArming {
		out = append(out, m.st.Hint.Render("(typing goes to the composer for a second)"))
	}
	out = append(out, "")
	ls := m.st.Muted
	if d.cur == 2 {
		ls = m.st.Accent
	}
	out = append(out, ls.Render("Reply extra (optional JSON):"))
	for _, l := range d.extra.Render(min(w-4, 48), 1, d.cur == 2, m.st.Input, m.st.Cursor, m.st.Hint, `e.g. {"note":"on my way"}`) {
		out = append(out, "  "+l)
	}
	out = append(out, "", m.st.Hint.Render("enter choose · tab move · esc later (calls pane)"))
	return out
}

func (d *inviteDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	if d.opened.IsZero() {
		d.opened = m.now()
	}
	armed := m.now().Sub(d.opened) >= inviteArming
	if !armed && (key.Matches(msg, m.keys.Dialog.Confirm) || len(msg.Text) > 0) {
		editKey(&m.composer, msg) // still typing: it goes where it was meant to
		return nil
	}
	m.actionConv = m.active.Key()
	extra := strings.TrimSpace(d.extra.Value())
	switch {
	case key.Matches(msg, m.keys.Dialog.Cancel):
		m.popDialog()
		return nil
	case key.Matches(msg, m.keys.Dialog.NextField), msg.String() == "right" && d.cur < 2:
		d.cur = (d.cur + 1) % 3
		return nil
	case key.Matches(msg, m.keys.Dialog.PrevField), msg.String() == "left" && d.cur < 2:
		d.cur = (d.cur + 2) % 3
		return nil
	case key.Matches(msg, m.keys.Dialog.Confirm):
		if d.cur == 1 {
			m.refuseCall(d.call, extra)
		} else {
			m.acceptCall(d.call, extra)
		}
		return nil
	}
	if d.cur == 2 {
		editKey(&d.extra, msg)
		return nil
	}
	switch msg.String() {
	case "a", "y":
		m.acceptCall(d.call, extra)
	case "r", "n":
		m.refuseCall(d.call, extra)
	}
	return nil
}

func (d *inviteDialog) paste(m *Model, s string) {
	d.cur = 2
	d.extra.Insert(s)
}

// --- outgoing invite ---------------------------------------------------------

type outgoingDialog struct{ form }

func newOutgoingDialog(m *Model, peer string) *outgoingDialog {
	d := &outgoingDialog{}
	ch := ""
	if peer != "" {
		ch = m.callChannel(peer)
	}
	d.fields = []*field{
		newField("Call (account)", peer, "who to call"),
		newField("Channel", ch, "the call's channel (default call-YOU-THEM)"),
		newField("Extra (JSON, optional)", "", `e.g. {"_timeout":30}`),
	}
	if peer != "" {
		d.cur = 2
	}
	return d
}

func (d *outgoingDialog) title() string { return "☎ Call someone" }

func (d *outgoingDialog) view(m *Model, w, h int) []string {
	out := d.form.view(m, min(w-4, 56), nil)
	return append(out, "", m.st.Hint.Render("enter call · tab next field · esc cancel"))
}

func (d *outgoingDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Dialog.Confirm):
		peer := strings.TrimPrefix(d.value(0), "@")
		if peer == "" {
			d.cur = 0
			return nil
		}
		ch := d.value(1)
		if ch == "" {
			ch = m.callChannel(peer)
		}
		m.popDialog()
		m.actionConv = m.active.Key()
		m.invite(peer, ch, d.value(2))
		return nil
	case key.Matches(msg, m.keys.Dialog.Cancel):
		m.popDialog()
		return nil
	}
	d.form.key(m, msg)
	return nil
}

func (d *outgoingDialog) paste(m *Model, s string) { d.form.paste(s) }

// --- confirm -----------------------------------------------------------------

type confirmDialog struct {
	question, detail string
	yes              func(m *Model)
	onNo             bool
}

func newConfirmDialog(q, detail string, yes func(m *Model)) *confirmDialog {
	return &confirmDialog{question: q, detail: detail, yes: yes, onNo: true}
}

func (d *confirmDialog) title() string { return "Confirm" }

func (d *confirmDialog) view(m *Model, w, h int) []string {
	out := []string{m.st.Bold.Render(d.question)}
	if d.detail != "" {
		out = append(out, m.st.Muted.Render(d.detail))
	}
	yes, no := m.st.Base.Render("[Yes (y)]"), m.st.Base.Render("[No (n)]")
	if d.onNo {
		no = m.st.Selected.Render(" No (n) ")
	} else {
		yes = m.st.Selected.Render(" Yes (y) ")
	}
	return append(out, "", yes+"  "+no)
}

func (d *confirmDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "y":
		m.popDialog()
		d.yes(m)
	case "n", "esc":
		m.popDialog()
	case "left", "right", "tab", "shift+tab", "h", "l":
		d.onNo = !d.onNo
	case "enter":
		m.popDialog()
		if !d.onNo {
			d.yes(m)
		}
	}
	return nil
}

func (d *confirmDialog) paste(*Model, string) {}

// --- attribute editor ----------------------------------------------------------

type attrDialog struct {
	form
	channel string
	orig    string
	err     string
}

func newAttrDialog(m *Model, ch, name, value string) *attrDialog {
	d := &attrDialog{channel: ch, orig: name}
	d.fields = []*field{newField("Name", name, "e.g. topic"), newField("Value", prettyJSON(value), "text or JSON; empty deletes")}
	d.fields[1].ed.multiline = true
	if name != "" {
		d.cur = 1
	}
	return d
}

func (d *attrDialog) title() string {
	if d.orig == "" {
		return "New attribute of #" + d.channel
	}
	return "Edit " + d.orig + " of #" + d.channel
}

func (d *attrDialog) view(m *Model, w, h int) []string {
	fw := min(w-4, 64)
	rows := clampInt(d.fields[1].ed.Lines(fw-3), 3, max(h-10, 3))
	out := d.form.view(m, fw, func(i int) int {
		if i == 1 {
			return rows
		}
		return 1
	})
	// keep the value box a steady height
	for len(out) < 3+rows {
		out = append(out, "")
	}
	if d.err != "" {
		out = append(out, m.st.Error.Render("✗ "+d.err))
	}
	v := d.fields[1].ed.Value()
	note := fmt.Sprintf("%d bytes", len(v))
	if t := strings.TrimSpace(v); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		if json.Valid([]byte(t)) {
			note += " · JSON (saved compact)"
		} else {
			note += " · not valid JSON: saved as text"
		}
	}
	out = append(out, m.st.Muted.Render(note))
	return append(out, "", m.st.Hint.Render("enter save · alt+enter new line · tab field · esc cancel"))
}

func isJSON(s string) bool {
	return compactJSON(s) != s || strings.TrimSpace(s) == "{}" || strings.TrimSpace(s) == "[]"
}

func (d *attrDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Dialog.Confirm):
		name := d.value(0)
		if name == "" || strings.ContainsAny(name, " \t\n") {
			d.err = "the name is 1–128 characters without spaces"
			d.cur = 0
			return nil
		}
		if strings.HasPrefix(name, "_member_num") {
			d.err = "_member_num is maintained by the server"
			return nil
		}
		val := compactJSON(strings.TrimSpace(d.fields[1].ed.Value()))
		m.actionConv = m.active.Key()
		m.popDialog()
		if d.orig != "" && d.orig != name {
			m.c.ChannelDelAttr(d.channel, d.orig)
		}
		if val == "" {
			m.c.ChannelDelAttr(d.channel, name)
		} else {
			m.c.ChannelSetAttr(d.channel, name, val)
		}
		return nil
	case key.Matches(msg, m.keys.Dialog.Cancel):
		m.popDialog()
		return nil
	}
	d.form.key(m, msg)
	return nil
}

func (d *attrDialog) paste(m *Model, s string) { d.form.paste(s) }

// --- quick switcher --------------------------------------------------------------

type switchItem struct {
	label string
	conv  *Conversation
	kind  convKind
	name  string
}

type switcherDialog struct {
	q   editor
	sel int
}

func newSwitcherDialog(m *Model) *switcherDialog { return &switcherDialog{} }

func (d *switcherDialog) title() string { return "Switch to… (ctrl+k)" }

func (d *switcherDialog) items(m *Model) []switchItem {
	seen := map[string]bool{}
	var all []switchItem
	// conversations with unread first, then the rest by recent activity
	convs := m.orderedConvs()
	sort.SliceStable(convs, func(i, j int) bool {
		if (convs[i].Unread > 0) != (convs[j].Unread > 0) {
			return convs[i].Unread > 0
		}
		return convs[i].LastActivity.After(convs[j].LastActivity)
	})
	for _, c := range convs {
		if c == m.active {
			continue
		}
		l := c.Key()
		if c.Unread > 0 {
			l += fmt.Sprintf(" (%d)", c.Unread)
		}
		all = append(all, switchItem{label: l, conv: c})
		seen[c.Key()] = true
	}
	for _, ch := range m.knownChannels() {
		if !seen["#"+ch] {
			all = append(all, switchItem{label: "#" + ch + " (join)", kind: convChannel, name: ch})
		}
	}
	for _, a := range m.knownAccounts() {
		if !seen["@"+a] && a != m.account {
			all = append(all, switchItem{label: "@" + a, kind: convPeer, name: a})
		}
	}
	q := strings.ToLower(d.q.Value())
	if q == "" {
		return all
	}
	var out []switchItem
	for _, it := range all {
		if fuzzy(strings.ToLower(it.label), strings.TrimLeft(q, "#@")) {
			out = append(out, it)
		}
	}
	if strings.HasPrefix(q, "#") && len(out) == 0 {
		out = append(out, switchItem{label: q + " (join)", kind: convChannel, name: q[1:]})
	} else if strings.HasPrefix(q, "@") && len(out) == 0 {
		out = append(out, switchItem{label: q, kind: convPeer, name: q[1:]})
	}
	return out
}

// fuzzy reports whether the letters of q appear in s in order.
func fuzzy(s, q string) bool {
	i := 0
	for _, r := range s {
		if i < len(q) && rune(q[i]) == r {
			i++
		}
	}
	return i >= len(q)
}

func (d *switcherDialog) view(m *Model, w, h int) []string {
	out := d.q.Render(min(w-4, 48), 1, true, m.st.Input, m.st.Cursor, m.st.Hint, "type a name; #new joins a channel, @name opens a chat")
	out[0] = m.st.Accent.Render("› ") + out[0]
	items := d.items(m)
	d.sel = clampSel(d.sel, len(items))
	maxRows := max(min(h-6, 12), 1)
	var rows []string
	for i, it := range items {
		r := it.label
		if i == d.sel {
			rows = append(rows, m.st.Selected.Render(fit(" "+r, min(w-4, 48))))
		} else {
			rows = append(rows, m.st.Base.Render(" "+r))
		}
	}
	if len(rows) == 0 {
		rows = append(rows, m.st.Hint.Render(" nothing matches"))
	}
	out = append(out, scrollRows(rows, d.sel, maxRows)...)
	return append(out, "", m.st.Hint.Render("enter open · ↑↓ choose · esc close"))
}

func (d *switcherDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	items := d.items(m)
	switch msg.String() {
	case "esc", "ctrl+k":
		m.popDialog()
	case "up", "ctrl+p":
		if d.sel > 0 {
			d.sel--
		}
	case "down", "ctrl+n", "tab":
		if d.sel < len(items)-1 {
			d.sel++
		}
	case "enter":
		m.popDialog()
		i := clampSel(d.sel, len(items))
		if i < 0 {
			return nil
		}
		it := items[i]
		m.focus = focusComposer
		switch {
		case it.conv != nil && it.conv.Kind == convChannel && m.joined != it.conv.Name && m.joining != it.conv.Name:
			m.joinChannel(it.conv.Name)
		case it.conv != nil:
			m.switchTo(it.conv)
		case it.kind == convChannel:
			m.joinChannel(it.name)
		default:
			m.switchTo(m.conv(convPeer, it.name))
		}
	default:
		editKey(&d.q, msg)
		d.sel = 0
	}
	return nil
}

func (d *switcherDialog) paste(m *Model, s string) { d.q.Insert(s) }

// --- help ----------------------------------------------------------------------

type helpDialog struct {
	lines []string
	top   int
}

func newHelpDialog(m *Model) *helpDialog {
	d := &helpDialog{}
	for _, sec := range m.keys.Help() {
		d.lines = append(d.lines, m.st.Accent.Render(sec.Title))
		for _, b := range sec.Bindings {
			h := b.Help()
			d.lines = append(d.lines, "  "+m.st.Key.Render(fit(h.Key, 14))+m.st.Base.Render(h.Desc))
		}
		d.lines = append(d.lines, "")
	}
	d.lines = append(d.lines, m.st.Accent.Render("Commands"))
	for _, c := range commands {
		d.lines = append(d.lines, "  "+m.st.Key.Render(c.usage))
		d.lines = append(d.lines, "      "+m.st.Muted.Render(c.help))
	}
	d.lines = append(d.lines, "", m.st.Muted.Render("Keys can be changed in the config file (\"keys\": {\"global.quit\": [\"ctrl+q\"]})."))
	return d
}

func (d *helpDialog) title() string { return "Help — keys and commands" }

func (d *helpDialog) view(m *Model, w, h int) []string {
	rows := max(h-4, 3)
	if d.top > len(d.lines)-rows {
		d.top = max(len(d.lines)-rows, 0)
	}
	end := min(d.top+rows-1, len(d.lines))
	out := make([]string, 0, rows)
	for _, l := range d.lines[d.top:end] {
		out = append(out, ansi.Truncate(l, w-4, "…"))
	}
	more := ""
	if end < len(d.lines) {
		more = fmt.Sprintf(" · %d more ↓", len(d.lines)-end)
	}
	return append(out, m.st.Hint.Render("↑↓/pgup/pgdn scroll · esc close"+more))
}

func (d *helpDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch msg.String() {
	case "esc", "q", "?", "f1", "enter":
		m.popDialog()
	case "up", "k":
		if d.top > 0 {
			d.top--
		}
	case "down", "j":
		d.top++
	case "pgup", "b":
		d.top = max(d.top-10, 0)
	case "pgdown", "space", " ":
		d.top += 10
	case "home", "g":
		d.top = 0
	}
	return nil
}

func (d *helpDialog) paste(*Model, string) {}

// --- DTMF keypad ---------------------------------------------------------------

type keypadDialog struct {
	call *Call
	r, c int
}

var keypad = [4][3]string{{"1", "2", "3"}, {"4", "5", "6"}, {"7", "8", "9"}, {"*", "0", "#"}}

func (d *keypadDialog) title() string { return "DTMF keypad — " + d.call.Peer }

func (d *keypadDialog) view(m *Model, w, h int) []string {
	out := []string{m.st.Muted.Render("call on " + d.call.Channel + " · " + d.call.State)}
	for r := range keypad {
		var row []string
		for c, k := range keypad[r] {
			if r == d.r && c == d.c {
				row = append(row, m.st.Selected.Render(" "+k+" "))
			} else {
				row = append(row, m.st.Base.Render("["+k+"]"))
			}
		}
		out = append(out, "   "+strings.Join(row, " "))
	}
	sent := d.call.DTMF
	if sent == "" {
		sent = "—"
	}
	out = append(out, m.st.Muted.Render("sent: ")+m.st.Bold.Render(sent))
	return append(out, "", m.st.Hint.Render("type 0-9 * # or arrows+enter · x hang up · esc close"))
}

func (d *keypadDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	s := msg.String()
	switch s {
	case "esc":
		m.popDialog()
	case "up":
		d.r = (d.r + 3) % 4
	case "down":
		d.r = (d.r + 1) % 4
	case "left":
		d.c = (d.c + 2) % 3
	case "right":
		d.c = (d.c + 1) % 3
	case "enter", "space":
		m.sendDTMF(d.call, keypad[d.r][d.c])
	case "x":
		m.popDialog()
		m.endCall(d.call)
	default:
		if len(msg.Text) == 1 && strings.Contains("0123456789*#", msg.Text) {
			m.sendDTMF(d.call, msg.Text)
		}
	}
	return nil
}

func (d *keypadDialog) paste(*Model, string) {}
