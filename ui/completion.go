package ui

import (
	"sort"
	"strings"

	"github.com/xinling/xinling/themes"
)

// --- completion ----------------------------------------------------------

// completion cycles through the candidates for the word before the cursor.
type completion struct {
	items []string
	idx   int
	start int    // rune offset where the completed word starts
	base  string // the composer's text before completion began
}

// complete completes the word before the cursor; repeated calls cycle.
func (m *Model) complete() {
	if len(m.composer.comp.items) > 0 {
		m.composer.comp.idx = (m.composer.comp.idx + 1) % len(m.composer.comp.items)
		m.applyCompletion()
		return
	}
	text := string(m.composer.buf[:m.composer.pos])
	start := strings.LastIndexAny(text, " \n") + 1
	word := text[start:]
	prev := strings.Fields(text[:start])
	var cands []string
	switch {
	case len(prev) == 0 && strings.HasPrefix(word, "/"):
		for _, c := range commands {
			cands = append(cands, "/"+c.name)
		}
	case len(prev) > 0 && strings.HasPrefix(prev[0], "/"):
		cmd := findCommand(strings.TrimPrefix(prev[0], "/"))
		argN := len(prev) - 1
		if cmd != nil && argN < len(cmd.args) {
			switch cmd.args[argN] {
			case argAccount:
				cands = m.knownAccounts()
			case argChannel:
				cands = m.knownChannels()
			case argTheme:
				cands = themes.Names()
			case argWord:
				cands = cmd.words
			case argInvoke:
				cands = invokeNames
			}
			if cmd.name == "uattr" && argN == 1 && (len(prev) < 2 || prev[1] == "set") {
				cands = nil
			}
		}
	default:
		// a bare word: accounts (nick completion) and #channels
		if strings.HasPrefix(word, "#") {
			for _, c := range m.knownChannels() {
				cands = append(cands, "#"+c)
			}
		} else {
			cands = m.knownAccounts()
		}
	}
	var match []string
	for _, c := range cands {
		if strings.HasPrefix(strings.ToLower(c), strings.ToLower(word)) && c != "" {
			match = append(match, c)
		}
	}
	sort.Strings(match)
	if len(match) == 0 {
		m.setNotice("no completion for "+quoteEmpty(word), false)
		return
	}
	m.composer.comp = completion{items: match, start: len([]rune(text[:start])), base: m.composer.Value()}
	m.applyCompletion()
}

func quoteEmpty(s string) string {
	if s == "" {
		return "an empty word"
	}
	return `"` + s + `"`
}

func (m *Model) applyCompletion() {
	base := []rune(m.composer.comp.base)
	// the word being completed ends at the first space after start (or the end)
	end := m.composer.comp.start
	for end < len(base) && base[end] != ' ' && base[end] != '\n' {
		end++
	}
	item := m.composer.comp.items[m.composer.comp.idx]
	suffix := " "
	if end < len(base) {
		suffix = ""
	}
	nb := string(base[:m.composer.comp.start]) + item + suffix + string(base[end:])
	m.composer.buf = []rune(nb)
	m.composer.pos = m.composer.comp.start + len([]rune(item)) + len([]rune(suffix))
	if len(m.composer.comp.items) == 1 {
		m.composer.comp = completion{}
		if c := findCommand(strings.TrimPrefix(strings.TrimSpace(item), "/")); c != nil && strings.HasPrefix(item, "/") {
			m.setNotice(c.usage+" — "+c.help, false)
		}
	}
}

// commandHint is the usage of the command being typed, for the composer.
func (m *Model) commandHint() string {
	v := m.composer.Value()
	if !strings.HasPrefix(v, "/") {
		return ""
	}
	name, _, _ := strings.Cut(v[1:], " ")
	if c := findCommand(name); c != nil {
		return c.usage + " — " + c.help
	}
	var names []string
	for _, c := range commands {
		if strings.HasPrefix(c.name, name) {
			names = append(names, "/"+c.name)
		}
	}
	if len(names) == 0 {
		return "no such command — /help"
	}
	return strings.Join(names, " ")
}
