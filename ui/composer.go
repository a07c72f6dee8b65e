package ui

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/sdk/wire"
)

// composerPane is where you write: the editor, what you entered before
// (up and down bring it back), the completion being cycled, and the
// notice its bottom edge shows.
type composerPane struct {
	editor
	history   []string
	histIdx   int
	histDraft string
	comp      completion
	notice    string
	noticeErr bool
	noticeAt  time.Time
}

func (m *Model) setNotice(text string, isErr bool) {
	m.composer.notice, m.composer.noticeErr, m.composer.noticeAt = text, isErr, m.now()
}

// remember adds an entered line to the history (the last 500).
func (p *composerPane) remember(line string) {
	if len(p.history) == 0 || p.history[len(p.history)-1] != line {
		p.history = append(p.history, line)
		if len(p.history) > 500 {
			p.history = p.history[len(p.history)-500:]
		}
	}
	p.histIdx = len(p.history)
}

func (p *composerPane) historyMove(d int) {
	if len(p.history) == 0 {
		return
	}
	if p.histIdx == len(p.history) && d < 0 {
		p.histDraft = p.Value()
	}
	i := p.histIdx + d
	if i < 0 || i > len(p.history) {
		return
	}
	p.histIdx = i
	if i == len(p.history) {
		p.Set(p.histDraft)
	} else {
		p.Set(p.history[i])
	}
}

func (m *Model) composerKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys.Composer
	p := &m.composer
	if !key.Matches(msg, k.Complete) {
		p.comp = completion{}
	}
	switch {
	case key.Matches(msg, k.Newline):
		p.Newline()
	case key.Matches(msg, k.Send):
		return m.send()
	case key.Matches(msg, k.Complete):
		m.complete()
	case key.Matches(msg, k.HistoryPrev):
		if !p.Up() {
			p.historyMove(-1)
		}
	case key.Matches(msg, k.HistoryNext):
		if !p.Down() {
			p.historyMove(1)
		}
	case key.Matches(msg, k.Home):
		p.Home()
	case key.Matches(msg, k.End):
		p.End()
	case key.Matches(msg, k.DeleteWord):
		p.DeleteWord()
	case key.Matches(msg, k.DeleteLine):
		p.DeleteToStart()
	default:
		editKey(&p.editor, msg)
	}
	return nil
}

// send submits what the composer holds. A line the client refuses at once
// (too long, a usage error, nothing to answer) stays in the composer to be
// fixed, with the reason under it: bad input loses nothing.
func (m *Model) send() tea.Cmd {
	p := &m.composer
	line := strings.TrimRight(p.Value(), "\n")
	if over := tooLong(line); over != "" {
		m.actionConv = m.chats.active.Key()
		m.fail(over)
		return nil
	}
	p.Reset()
	p.notice = ""
	fails := m.fails
	cmd := m.submit(line)
	if m.fails > fails && p.Empty() {
		p.Set(line)
	}
	return cmd
}

// messageText is the part of a composer line that is sent as a message
// ("" for a command that sends none).
func messageText(line string) string {
	switch {
	case strings.HasPrefix(line, "//"):
		return line[1:]
	case strings.HasPrefix(line, "/force "):
		return strings.TrimPrefix(line, "/force ")
	case strings.HasPrefix(line, "/msg "):
		if f := strings.SplitN(line, " ", 3); len(f) == 3 {
			return f[2]
		}
		return ""
	case strings.HasPrefix(line, "/"):
		return ""
	}
	return line
}

// tooLong says why a line cannot be sent as it is ("" when it can).
func tooLong(line string) string {
	n := len(messageText(line))
	if n <= wire.MaxMessageBytes {
		return ""
	}
	return fmt.Sprintf("not sent: the message is %s bytes, the limit is %s — shorten it by %s (it is still in the composer)",
		thousands(n), thousands(wire.MaxMessageBytes), thousands(n-wire.MaxMessageBytes))
}

// byteCounter is the composer's size note: from three quarters of the
// limit on, and as an error past it.
func (m *Model) byteCounter() (string, bool) {
	n := len(messageText(m.composer.Value()))
	if n < wire.MaxMessageBytes*3/4 {
		return "", false
	}
	s := fmt.Sprintf("%s / %s bytes", thousands(n), thousands(wire.MaxMessageBytes))
	if n > wire.MaxMessageBytes {
		return s + fmt.Sprintf(" — %s over: shorten it to send", thousands(n-wire.MaxMessageBytes)), true
	}
	return s, false
}

// thousands writes n with thousands separators: 10,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// editKey applies the basic editing keys to an editor; false when the key
// is not one of them.
func editKey(e *editor, msg tea.KeyPressMsg) bool {
	switch msg.String() {
	case "left", "ctrl+b":
		e.Left()
	case "right", "ctrl+f":
		e.Right()
	case "backspace", "ctrl+h":
		e.Backspace()
	case "delete", "ctrl+d":
		e.Delete()
	case "home", "ctrl+a":
		e.Home()
	case "end":
		e.End()
	case "ctrl+w", "alt+backspace":
		e.DeleteWord()
	case "ctrl+u":
		e.DeleteToStart()
	case "up":
		return e.Up()
	case "down":
		return e.Down()
	default:
		if msg.Text != "" && msg.Mod&(tea.ModCtrl|tea.ModAlt) == 0 {
			e.Insert(msg.Text)
			return true
		}
		return false
	}
	return true
}

// --- view ------------------------------------------------------------------

func (m *Model) composerTitle() string {
	c := m.chats.active
	switch {
	case c == nil || c.Kind == convSystem:
		return "command (/help)"
	case c.Kind == convChannel && m.channel.joined != c.Name:
		return "to " + c.Key() + " (not joined: /join)"
	default:
		return "to " + c.Key()
	}
}

func (m *Model) renderComposer(w, rows int) []string {
	a := m.chats.active
	ph := "message " + a.Key() + " — /help for commands, ? for keys"
	if a.Kind == convSystem {
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
// the size of a long message, the latest notice, or the command being typed.
func (m *Model) composerNote(w int) string {
	p := &m.composer
	if len(p.comp.items) > 1 {
		var parts []string
		for i, it := range p.comp.items {
			if i == p.comp.idx {
				parts = append(parts, m.st.Selected.Render(it))
			} else {
				parts = append(parts, m.st.Muted.Render(it))
			}
		}
		return " " + strings.Join(parts, " ") + " "
	}
	// the size of a long message matters more than the last notice, which
	// is in the conversation too
	if counter, over := m.byteCounter(); over {
		return " " + m.st.Error.Render("✗ "+counter) + " "
	} else if counter != "" {
		return " " + m.st.Warn.Render(counter) + " "
	}
	if p.notice != "" && m.now().Sub(p.noticeAt) < 20*time.Second {
		if p.noticeErr {
			return " " + m.st.Error.Render("✗ "+p.notice) + " "
		}
		return " " + m.st.Muted.Render(p.notice) + " "
	}
	if m.focus == focusComposer {
		if h := m.commandHint(); h != "" {
			return " " + m.st.Hint.Render(h) + " "
		}
	}
	return ""
}
