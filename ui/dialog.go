package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
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

// removeDialog takes d off the stack wherever it is.
func (m *Model) removeDialog(d dialog) {
	kept := m.dialogs[:0]
	for _, o := range m.dialogs {
		if o != d {
			kept = append(kept, o)
		}
	}
	m.dialogs = kept
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
		out = append(out, fieldLabel(m, fl.label, focused))
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

// fieldLabel is a field's label, marked when the field has the focus (a
// marker, not only a colour, so it shows on any terminal).
func fieldLabel(m *Model, label string, focused bool) string {
	if focused {
		return m.st.Accent.Render("▸ " + label)
	}
	return m.st.Muted.Render("  " + label)
}

// button is a dialog's button; the focused one is marked ▸ ◂ as well as
// highlighted, so which one enter presses never depends on colour.
func button(m *Model, label string, focused bool) string {
	if focused {
		return m.st.Selected.Render("▸ " + label + " ◂")
	}
	return m.st.Base.Render("  " + label + "  ")
}
