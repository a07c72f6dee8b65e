package keymap

import (
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

func TestNewlineHasFallbacks(t *testing.T) {
	k := Default()
	for _, s := range []string{"shift+enter", "alt+enter", "ctrl+j"} {
		if !contains(k.Composer.Newline.Keys(), s) {
			t.Errorf("composer newline lacks %s", s)
		}
	}
	// alt+enter, as every terminal sends it
	if !key.Matches(tea.KeyPressMsg{Code: tea.KeyEnter, Mod: tea.ModAlt}, k.Composer.Newline) {
		t.Fatal("alt+enter does not match newline")
	}
}

func TestApplyOverrides(t *testing.T) {
	k := Default()
	err := k.Apply(map[string][]string{"global.quit": {"ctrl+q"}, "global.help": nil, "Composer.Send": {"ctrl+s"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Global.Quit.Keys(); len(got) != 1 || got[0] != "ctrl+q" || k.Global.Quit.Help().Key != "ctrl+q" {
		t.Fatalf("quit = %v (%q)", got, k.Global.Quit.Help().Key)
	}
	if k.Global.Help.Enabled() {
		t.Fatal("unbound help still enabled")
	}
	if !key.Matches(tea.KeyPressMsg{Code: 's', Mod: tea.ModCtrl}, k.Composer.Send) {
		t.Fatal("send not rebound (action names are case-insensitive)")
	}
	// the help leaves unbound keys out
	for _, sec := range k.Help() {
		for _, b := range sec.Bindings {
			if b.Help().Desc == "help" {
				t.Fatal("unbound help is listed")
			}
		}
	}
	err = k.Apply(map[string][]string{"global.nope": {"x"}, "list.up": {"w"}})
	if err == nil || !strings.Contains(err.Error(), "global.nope") || !strings.Contains(err.Error(), "global.quit") {
		t.Fatalf("unknown action error = %v", err)
	}
	if k.List.Up.Keys()[0] != "w" {
		t.Fatal("known entries are not applied alongside an unknown one")
	}
}

func TestHelpCoversEveryGroup(t *testing.T) {
	k := Default()
	secs := k.Help()
	if len(secs) != 5 {
		t.Fatalf("%d sections", len(secs))
	}
	for _, s := range secs {
		if len(s.Bindings) == 0 {
			t.Fatalf("section %s empty", s.Title)
		}
	}
	if len(k.Actions()) < 40 {
		t.Fatalf("only %d actions", len(k.Actions()))
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
