package ui

import (
	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/themes"
)

// Update routes one message.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case sdkBatchMsg:
		cmd := m.applyBatch(msg)
		return m, tea.Batch(cmd, m.q.waitCmd())
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 8)
		m.fixFocus()
	case tickMsg:
		return m, tick()
	case tea.BackgroundColorMsg:
		if m.opt.AutoTheme {
			m.setPalette(themes.Auto(msg.IsDark(), m.opt.NoColor))
		}
	case tea.FocusMsg:
		m.termFocused = true
	case tea.BlurMsg:
		m.termFocused = false
	case tea.PasteMsg:
		m.paste(msg.Content)
	case tea.MouseWheelMsg:
		m.wheel(msg)
	case tea.MouseClickMsg:
		m.click(msg)
	case tea.KeyPressMsg:
		return m, m.handleKey(msg)
	}
	return m, nil
}

// paste inserts pasted text where the keys go: the top dialog, the events
// filter, else the composer.
func (m *Model) paste(s string) {
	if d := m.topDialog(); d != nil {
		d.paste(m, s)
		return
	}
	if m.events.filtering {
		m.events.filter.Insert(s)
		return
	}
	m.focus = focusComposer
	m.composer.Insert(s)
	m.composer.comp = completion{}
}
