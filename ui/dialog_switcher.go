package ui

import (
	"fmt"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"
)

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
	convs := m.chats.ordered()
	sort.SliceStable(convs, func(i, j int) bool {
		if (convs[i].Unread > 0) != (convs[j].Unread > 0) {
			return convs[i].Unread > 0
		}
		return convs[i].LastActivity.After(convs[j].LastActivity)
	})
	for _, c := range convs {
		seen[c.Key()] = true
		if c == m.chats.active {
			continue // where you are is not a place to switch to
		}
		l := c.Key()
		if c.Kind == convChannel && c.Name != m.channel.joined && c.Name != m.channel.joining {
			l += " (join)"
		}
		if c.Unread > 0 {
			l += fmt.Sprintf(" (%d)", c.Unread)
		}
		all = append(all, switchItem{label: l, conv: c})
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
		case it.conv != nil && it.conv.Kind == convChannel && m.channel.joined != it.conv.Name && m.channel.joining != it.conv.Name:
			m.joinChannel(it.conv.Name)
		case it.conv != nil:
			m.switchTo(it.conv)
		case it.kind == convChannel:
			if !m.badName("channel", it.name) {
				m.joinChannel(it.name)
			}
		case !m.badName("account", it.name):
			m.switchTo(m.conv(convPeer, it.name))
		}
	default:
		editKey(&d.q, msg)
		d.sel = 0
	}
	return nil
}

func (d *switcherDialog) paste(m *Model, s string) { d.q.Insert(s) }
