package ui

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// History keeps each chat's scrollback across runs: one file of JSON lines
// per conversation, under a directory per app and account, each kept to
// its newest max messages (a file grows to twice that before it is cut
// back, so appending stays one write per batch).
type History struct {
	dir string
	max int
	out map[string][]histLine // written at the end of the batch, by conversation key
	n   map[string]int        // lines in each file as far as known
}

// histLine is one message in a history file.
type histLine struct {
	At   time.Time `json:"at"`
	From string    `json:"from"`
	Text string    `json:"text"`
	Own  bool      `json:"own,omitempty"`
}

// DefaultHistoryDir is where histories live: $XDG_STATE_HOME/xinling/history,
// else ~/.local/state/xinling/history.
func DefaultHistoryDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "xinling", "history")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".local", "state", "xinling", "history")
}

// openHistory is the history of one account of one app under root.
func openHistory(root, app, account string, max int) *History {
	return &History{dir: filepath.Join(root, escapeName(app), escapeName(account)), max: max,
		out: map[string][]histLine{}, n: map[string]int{}}
}

// escapeName makes a name a safe file name that reads back: only what a
// file system would take as a path (/ \ : % control characters, a leading
// dot) is %-escaped, so names in any script stay readable and short.
func escapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '/' || c == '\\' || c == ':' || c == '%' || c < 0x20 || c == 0x7f || (i == 0 && c == '.') {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// fileOf is the file of a conversation ("#lobby" → c-lobby.jsonl).
func (h *History) fileOf(key string) string {
	prefix := "p-"
	if strings.HasPrefix(key, "#") {
		prefix = "c-"
	}
	return filepath.Join(h.dir, prefix+escapeName(key[1:])+".jsonl")
}

// keys lists the conversations that have a history.
func (h *History) keys() []string {
	ents, _ := os.ReadDir(h.dir)
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !strings.HasSuffix(n, ".jsonl") || len(n) < 3 {
			continue
		}
		name, err := url.PathUnescape(strings.TrimSuffix(n[2:], ".jsonl"))
		if err != nil || name == "" {
			continue
		}
		switch n[:2] {
		case "c-":
			out = append(out, "#"+name)
		case "p-":
			out = append(out, "@"+name)
		}
	}
	return out
}

// load reads a conversation's history, the newest max messages, cutting the
// file back to them when it holds more.
func (h *History) load(key string) ([]histLine, error) {
	lines, err := h.read(key)
	if err != nil {
		return nil, err
	}
	if len(lines) > h.max {
		lines = lines[len(lines)-h.max:]
		if err := h.rewrite(key, lines); err != nil {
			return lines, err
		}
	}
	h.n[key] = len(lines)
	return lines, nil
}

func (h *History) read(key string) ([]histLine, error) {
	b, err := os.ReadFile(h.fileOf(key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var out []histLine
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l histLine
		if json.Unmarshal(sc.Bytes(), &l) == nil { // a torn last line is skipped
			out = append(out, l)
		}
	}
	return out, nil
}

// rewrite replaces a file with lines, atomically.
func (h *History) rewrite(key string, lines []histLine) error {
	var buf bytes.Buffer
	for _, l := range lines {
		b, _ := json.Marshal(l)
		buf.Write(append(b, '\n'))
	}
	f := h.fileOf(key)
	tmp := f + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if err := os.Rename(tmp, f); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}

// add queues a message for its conversation's file.
func (h *History) add(key string, l histLine) { h.out[key] = append(h.out[key], l) }

// flush appends what was queued, one write per file, and cuts back a file
// that passed twice its bound.
func (h *History) flush() error {
	if len(h.out) == 0 {
		return nil
	}
	if err := os.MkdirAll(h.dir, 0o700); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer clear(h.out)
	for key, lines := range h.out {
		if err := h.append(key, lines); err != nil {
			return err
		}
		if h.n[key] += len(lines); h.n[key] > 2*h.max {
			if _, err := h.load(key); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *History) append(key string, lines []histLine) error {
	var buf bytes.Buffer
	for _, l := range lines {
		b, _ := json.Marshal(l)
		buf.Write(append(b, '\n'))
	}
	f, err := os.OpenFile(h.fileOf(key), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	_, err = f.Write(buf.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}
