package themes

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltinsAndAliases(t *testing.T) {
	for _, n := range []string{"dark", "light", "high-contrast", "hc", "plain", "none"} {
		if _, ok := Builtin(n); !ok {
			t.Errorf("no theme %s", n)
		}
	}
	if _, ok := Builtin("sparkly"); ok {
		t.Fatal("unknown theme found")
	}
	if Auto(true, false).Name != "dark" || Auto(false, false).Name != "light" || Auto(false, true).Name != "plain" {
		t.Fatal("Auto picks wrongly")
	}
}

func TestNoColorDrawsWithoutColour(t *testing.T) {
	s := NewStyles(Plain)
	out := s.Error.Render("x") + s.Nick("bob").Render("bob") + s.Selected.Render("sel") + s.StatusBar.Render("bar")
	// only attribute SGRs (bold 1, faint 2, reverse 7, underline 4), never 3x/4x/38/48 colours
	for _, bad := range []string{"38;", "48;", "[3", "[4"} {
		if strings.Contains(out, bad) && !strings.Contains(out, "[4m") {
			t.Fatalf("plain theme emits a colour (%q): %q", bad, out)
		}
	}
	if !strings.Contains(out, "7m") {
		t.Fatalf("plain selection is not reverse video: %q", out)
	}
}

func TestNickColoursStable(t *testing.T) {
	a, b := NewStyles(Dark), NewStyles(Dark)
	for _, n := range []string{"alice", "bob", "carol", "宽"} {
		if a.Nick(n).Render(n) != b.Nick(n).Render(n) {
			t.Fatalf("%s changes colour", n)
		}
	}
	seen := map[string]bool{}
	for _, n := range []string{"alice", "bob", "carol", "dave", "erin", "frank"} {
		seen[a.Nick(n).Render("x")] = true
	}
	if len(seen) < 3 {
		t.Fatalf("six accounts share %d colours", len(seen))
	}
}

func TestLoadUserTheme(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sunset.json")
	os.WriteFile(p, []byte(`{"base":"light","accent":"#ff8800","nicks":["#111111","200"]}`), 0o600)
	th, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if th.Name != "sunset" || th.Accent != "#ff8800" || th.Fg != Light.Fg || len(th.Nicks) != 2 || th.Dark {
		t.Fatalf("theme = %+v", th)
	}
	os.WriteFile(p, []byte(`{"accent":"orange"}`), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "orange") {
		t.Fatalf("bad colour error = %v", err)
	}
	os.WriteFile(p, []byte(`{"base":"nope"}`), 0o600)
	if _, err := Load(p); err == nil {
		t.Fatal("unknown base accepted")
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file accepted")
	}
}
