// Package themes holds xinling's semantic palettes (dark, light,
// high-contrast, and a colourless one for NO_COLOR) and turns a palette into
// the Styles the terminal client draws with. A palette names what a colour
// means (accent, error, own message…), never where it is used; Styles maps
// those meanings onto the client's parts.
package themes

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"image/color"
	"os"
	"sort"
	"strings"

	"charm.land/lipgloss/v2"
)

// Palette is a theme: colours by meaning, as "#rrggbb" or an ANSI index
// ("0"–"255"). An empty colour means the terminal's default. NoColor
// palettes draw with attributes only (bold, reverse, underline).
type Palette struct {
	Name    string `json:"name"`
	Dark    bool   `json:"dark"`     // meant for a dark background
	NoColor bool   `json:"no_color"` // ignore every colour; attributes only

	Fg        string   `json:"fg"`         // ordinary text
	Muted     string   `json:"muted"`      // timestamps, hints, inactive chrome
	Subtle    string   `json:"subtle"`     // borders of unfocused panes
	Accent    string   `json:"accent"`     // focus, selection, titles
	AccentFg  string   `json:"accent_fg"`  // text drawn on Accent
	Selection string   `json:"selection"`  // background of a selected row
	StatusBg  string   `json:"status_bg"`  // status bar
	StatusFg  string   `json:"status_fg"`  // status bar text
	OK        string   `json:"ok"`         // online, sent, accepted
	Warn      string   `json:"warn"`       // reconnecting, ringing, pending
	Error     string   `json:"error"`      // failures
	Flash     string   `json:"flash"`      // background of a row that just changed
	Own       string   `json:"own"`        // your own name
	Nicks     []string `json:"nicks"`      // the colours other accounts are drawn in
	DialogBg  string   `json:"dialog_bg"`  // modal background
	DialogBor string   `json:"dialog_bor"` // modal border
}

// Dark is the default palette for dark terminals.
var Dark = Palette{
	Name: "dark", Dark: true,
	Fg: "#d8dee9", Muted: "#7b8496", Subtle: "#4c566a", Accent: "#88c0d0", AccentFg: "#1d2128",
	Selection: "#3b4252", StatusBg: "#2e3440", StatusFg: "#d8dee9",
	OK: "#a3be8c", Warn: "#ebcb8b", Error: "#ff6b6b", Flash: "#5e4b1e", Own: "#b48ead",
	Nicks:    []string{"#8fbcbb", "#ebcb8b", "#a3be8c", "#d08770", "#81a1c1", "#e5a0c6", "#c9d66f", "#6fc3df", "#f2a65a", "#9aa5ff"},
	DialogBg: "", DialogBor: "#88c0d0",
}

// Light is the default palette for light terminals.
var Light = Palette{
	Name: "light", Dark: false,
	Fg: "#24292f", Muted: "#6e7781", Subtle: "#afb8c1", Accent: "#0969da", AccentFg: "#ffffff",
	Selection: "#ddf4ff", StatusBg: "#d0d7de", StatusFg: "#24292f",
	OK: "#1a7f37", Warn: "#9a6700", Error: "#cf222e", Flash: "#fff8c5", Own: "#8250df",
	Nicks:    []string{"#0550ae", "#953800", "#116329", "#8250df", "#bf3989", "#0a3069", "#6639ba", "#9a6700", "#1b7c83", "#a40e26"},
	DialogBg: "", DialogBor: "#0969da",
}

// HighContrast uses the 16 basic ANSI colours at full strength, for low
// vision and poor terminals.
var HighContrast = Palette{
	Name: "high-contrast", Dark: true,
	Fg: "15", Muted: "7", Subtle: "7", Accent: "11", AccentFg: "0",
	Selection: "4", StatusBg: "15", StatusFg: "0",
	OK: "10", Warn: "11", Error: "9", Flash: "5", Own: "13",
	Nicks:    []string{"14", "11", "10", "13", "12", "15"},
	DialogBg: "", DialogBor: "15",
}

// Plain draws without colour (NO_COLOR, https://no-color.org).
var Plain = Palette{Name: "plain", Dark: true, NoColor: true}

var builtin = map[string]Palette{"dark": Dark, "light": Light, "high-contrast": HighContrast, "plain": Plain}

// Names lists the built-in themes.
func Names() []string {
	out := make([]string, 0, len(builtin))
	for n := range builtin {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Builtin returns the built-in palette called name ("hc" and "contrast" are
// taken for "high-contrast", "none" and "nocolor" for "plain").
func Builtin(name string) (Palette, bool) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "hc", "contrast", "highcontrast":
		name = "high-contrast"
	case "none", "nocolor", "no-color", "mono":
		name = "plain"
	}
	p, ok := builtin[strings.ToLower(strings.TrimSpace(name))]
	return p, ok
}

// Load reads a user palette from a JSON file. Colours it leaves out are
// taken from the built-in palette named by its "base" field ("dark" when
// none, or "light" when "dark" is false and no base is given).
func Load(path string) (Palette, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Palette{}, err
	}
	var probe struct {
		Base string `json:"base"`
		Dark *bool  `json:"dark"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return Palette{}, fmt.Errorf("theme %s: %w", path, err)
	}
	base := Dark
	if probe.Base != "" {
		p, ok := Builtin(probe.Base)
		if !ok {
			return Palette{}, fmt.Errorf("theme %s: unknown base %q (have %s)", path, probe.Base, strings.Join(Names(), ", "))
		}
		base = p
	} else if probe.Dark != nil && !*probe.Dark {
		base = Light
	}
	p := base
	p.Nicks = nil
	if err := json.Unmarshal(b, &p); err != nil {
		return Palette{}, fmt.Errorf("theme %s: %w", path, err)
	}
	if len(p.Nicks) == 0 {
		p.Nicks = base.Nicks
	}
	if p.Name == "" || p.Name == base.Name {
		p.Name = strings.TrimSuffix(baseName(path), ".json")
	}
	for _, c := range append([]string{p.Fg, p.Muted, p.Subtle, p.Accent, p.AccentFg, p.Selection, p.StatusBg, p.StatusFg, p.OK, p.Warn, p.Error, p.Flash, p.Own, p.DialogBg, p.DialogBor}, p.Nicks...) {
		if c != "" && !validColor(c) {
			return Palette{}, fmt.Errorf("theme %s: bad colour %q (want #rrggbb or 0-255)", path, c)
		}
	}
	return p, nil
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

func validColor(c string) bool {
	if strings.HasPrefix(c, "#") {
		if len(c) != 7 && len(c) != 4 {
			return false
		}
		for _, r := range c[1:] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
		return true
	}
	n := 0
	for _, r := range c {
		if r < '0' || r > '9' {
			return false
		}
		n = n*10 + int(r-'0')
		if n > 255 {
			return false
		}
	}
	return c != ""
}

// Auto picks dark or light for a terminal background, or plain when
// NO_COLOR is set (noColor).
func Auto(darkBackground, noColor bool) Palette {
	if noColor {
		return Plain
	}
	if darkBackground {
		return Dark
	}
	return Light
}

// NoColorEnv reports whether the NO_COLOR convention asks for no colour.
func NoColorEnv() bool { return os.Getenv("NO_COLOR") != "" }

// Styles is a palette mapped onto the client's parts.
type Styles struct {
	Palette Palette

	Base, Muted, Bold, Accent, Error, Warn, OK lipgloss.Style

	PaneTitle, PaneTitleFocused  lipgloss.Style
	Border, BorderFocused        lipgloss.Style // colour of a pane's frame
	Selected, SelectedUnfocused  lipgloss.Style
	Tab, TabActive               lipgloss.Style
	StatusBar, StatusKey, Status lipgloss.Style

	Timestamp, OwnNick, System, Ruler, Unread, Mention lipgloss.Style
	Flash, BuiltinAttr, Key, Hint                      lipgloss.Style
	Dialog, DialogTitle, Input, Cursor                 lipgloss.Style

	nicks []lipgloss.Style
}

func col(c string) color.Color {
	if c == "" {
		return nil
	}
	return lipgloss.Color(c)
}

func fg(s lipgloss.Style, p Palette, c string) lipgloss.Style {
	if p.NoColor || c == "" {
		return s
	}
	return s.Foreground(col(c))
}

func bg(s lipgloss.Style, p Palette, c string) lipgloss.Style {
	if p.NoColor || c == "" {
		return s
	}
	return s.Background(col(c))
}

// NewStyles maps a palette onto the client's parts.
func NewStyles(p Palette) *Styles {
	n := lipgloss.NewStyle()
	s := &Styles{Palette: p}
	s.Base = fg(n, p, p.Fg)
	s.Muted = fg(n, p, p.Muted)
	if p.NoColor {
		s.Muted = n.Faint(true)
	}
	s.Bold = s.Base.Bold(true)
	s.Accent = fg(n, p, p.Accent).Bold(true)
	s.Error = fg(n, p, p.Error).Bold(true)
	s.Warn = fg(n, p, p.Warn)
	s.OK = fg(n, p, p.OK)
	s.PaneTitle = fg(n, p, p.Muted).Bold(true)
	s.PaneTitleFocused = fg(n, p, p.Accent).Bold(true)
	if p.NoColor {
		s.PaneTitleFocused = n.Bold(true).Reverse(true)
	}
	s.Border = fg(n, p, p.Subtle)
	s.BorderFocused = fg(n, p, p.Accent)
	if p.NoColor {
		s.BorderFocused = n.Bold(true)
	}
	s.Selected = bg(fg(n, p, p.AccentFg), p, p.Accent)
	s.SelectedUnfocused = bg(fg(n, p, p.Fg), p, p.Selection)
	if p.NoColor {
		s.Selected = n.Reverse(true)
		s.SelectedUnfocused = n.Underline(true)
	}
	s.Tab = fg(n, p, p.Muted)
	s.TabActive = s.Selected.Bold(true)
	s.StatusBar = bg(fg(n, p, p.StatusFg), p, p.StatusBg)
	if p.NoColor {
		s.StatusBar = n.Reverse(true)
	}
	s.StatusKey = s.StatusBar.Bold(true)
	s.Status = s.StatusBar
	s.Timestamp = s.Muted
	s.OwnNick = fg(n, p, p.Own).Bold(true)
	s.System = s.Muted.Italic(true)
	s.Ruler = s.Error
	s.Unread = s.Accent
	s.Mention = s.Accent.Bold(true).Reverse(true)
	s.Flash = bg(fg(n, p, p.Fg), p, p.Flash).Bold(true)
	if p.NoColor {
		s.Flash = n.Reverse(true)
	}
	s.BuiltinAttr = s.Muted
	s.Key = s.Accent
	s.Hint = s.Muted
	s.Dialog = bg(n, p, p.DialogBg)
	s.DialogTitle = s.Accent
	s.Input = s.Base
	s.Cursor = n.Reverse(true)
	for _, c := range p.Nicks {
		s.nicks = append(s.nicks, fg(n, p, c).Bold(true))
	}
	if len(s.nicks) == 0 {
		s.nicks = []lipgloss.Style{n.Bold(true)}
	}
	return s
}

// Nick is the stable style of an account: the same account always gets the
// same colour, in every session.
func (s *Styles) Nick(account string) lipgloss.Style {
	h := fnv.New32a()
	h.Write([]byte(account))
	return s.nicks[int(h.Sum32()%uint32(len(s.nicks)))]
}
