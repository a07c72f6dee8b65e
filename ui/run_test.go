package ui

import (
	"io"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "xinling", "config.json")
	c, err := LoadConfig(p)
	if err != nil || c.Account != "" {
		t.Fatalf("missing config: %+v, %v", c, err)
	}
	none := ""
	want := Config{Server: "ws://h:1", Account: "amy", Channel: &none, Theme: "light", Keys: map[string][]string{"global.quit": {"ctrl+q"}}}
	if err := SaveConfig(p, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(p)
	if err != nil || got.Account != "amy" || got.Channel == nil || *got.Channel != "" || got.Keys["global.quit"][0] != "ctrl+q" {
		t.Fatalf("loaded %+v, %v", got, err)
	}
}

func TestParseFlags(t *testing.T) {
	f, err := parseFlags([]string{"--account", "bob", "--demo", "--channel", "-"}, io.Discard)
	if err != nil || f.account != "bob" || !f.demo || f.channel != "-" || !f.set["channel"] || f.set["server"] {
		t.Fatalf("flags %+v, %v", f, err)
	}
	if _, err := parseFlags([]string{"serv"}, io.Discard); err == nil || !strings.Contains(err.Error(), "serve") {
		t.Fatalf("stray argument: %v", err)
	}
}

func TestTypingInAListGoesToTheComposer(t *testing.T) {
	m, f, _ := newTestModel(t)
	m.focusPane(focusAttrs)
	typeText(m, "hello") // h is not an attributes key; e would be
	if m.focus != focusComposer || m.composer.Value() != "hello" || m.topDialog() != nil {
		t.Fatalf("focus %v composer %q dialog %T", m.focus, m.composer.Value(), m.topDialog())
	}
	wantCalls(t, f)
}

func TestParseArgsResolvesFlagsOverConfig(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	t.Setenv("XINLING_SERVER", "")
	t.Setenv("XDG_STATE_HOME", t.TempDir())
	p := filepath.Join(t.TempDir(), "config.json")
	none := ""
	if err := SaveConfig(p, Config{Server: "ws://cfg:1", Account: "amy", Channel: &none, Theme: "light",
		Keys: map[string][]string{"global.nope": {"x"}}}); err != nil {
		t.Fatal(err)
	}
	s, err := ParseArgs([]string{"--config", p, "--account", "bob"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if s.Server != "ws://cfg:1" || s.Account != "bob" || s.Channel != "" || s.App != "xinling" || s.Token != "_no_need_token" ||
		s.Palette.Name != "light" || s.AutoTheme || !s.Notify {
		t.Fatalf("settings %+v", s)
	}
	if s.HistoryMax != 1000 || s.HistoryDir == "" {
		t.Fatalf("history %q %d", s.HistoryDir, s.HistoryMax)
	}
	if len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "unknown key actions global.nope") {
		t.Fatalf("notes %q", s.Notes)
	}
	// NO_COLOR means plain unless a theme is asked for on the command line
	t.Setenv("NO_COLOR", "1")
	if s, _ := ParseArgs([]string{"--config", p}, io.Discard); s.Palette.Name != "plain" {
		t.Fatalf("NO_COLOR: theme %s", s.Palette.Name)
	}
	if s, _ := ParseArgs([]string{"--config", p, "--theme", "dark"}, io.Discard); s.Palette.Name != "dark" {
		t.Fatalf("NO_COLOR with --theme dark: %s", s.Palette.Name)
	}
	// the demo makes up an account when none is given
	s, _ = ParseArgs([]string{"--config", filepath.Join(t.TempDir(), "none.json"), "--demo"}, io.Discard)
	if s.Account == "" || !s.Demo || s.HistoryDir != "" {
		t.Fatalf("demo settings %+v", s)
	}
}
