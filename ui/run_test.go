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
