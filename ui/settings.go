package ui

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/xinling/xinling/keymap"
	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/themes"
)

// Usage is the client's part of `xinling -h`.
const Usage = `  xinling [--server URL] [--app ID] [--account A] [--token T] [--channel C] [--demo]
      the terminal client. With the default server and nothing listening there,
      it starts an embedded server on 127.0.0.1:9470 that other clients can join.
`

// Settings are the client's flags and config file, resolved: what to
// connect to, as whom, and how to look. ParseArgs makes them; package main
// builds the server side (embedded server, demo peers) from them and runs
// the client with Options.
type Settings struct {
	ConfigPath string
	Server     string // a URL, or a comma-separated list of a cluster's nodes
	ServerSet  bool   // --server was given
	App        string
	Account    string // "" → the login form opens
	Token      string
	Channel    string // joined after login ("" none)

	Demo     bool // simulated peers on an embedded server
	NoEmbed  bool // never start an embedded server
	DemoTick time.Duration

	Palette   themes.Palette
	AutoTheme bool
	NoColor   bool
	Keys      keymap.KeyMap
	Notify    bool
	Tmux      bool // $TMUX is set

	// HistoryDir is where each chat's scrollback is kept ("" none: the
	// demo, or "history": 0), HistoryMax messages a chat.
	HistoryDir string
	HistoryMax int

	// Notes are problems with the config that did not stop the client
	// (an unknown theme, a bad key binding); the client shows them.
	Notes []string
}

// flags are the client's command-line flags.
type flags struct {
	config, server, app, account, token, channel, theme string
	demo, noEmbed                                       bool
	demoTick                                            time.Duration
	set                                                 map[string]bool
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("xinling", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.config, "config", DefaultConfigPath(), "config file (JSON)")
	fs.StringVar(&f.server, "server", "", "server URL, or a comma-separated list of a cluster's nodes (default $XINLING_SERVER, else "+sdk.DefaultServer+")")
	fs.StringVar(&f.app, "app", "", "app ID (default xinling)")
	fs.StringVar(&f.account, "account", "", "your account; without one a login form opens")
	fs.StringVar(&f.token, "token", "", "SignalingToken (default _no_need_token)")
	fs.StringVar(&f.channel, "channel", "", `channel to join after login (default lobby; "-" for none)`)
	fs.StringVar(&f.theme, "theme", "", "auto, "+strings.Join(themes.Names(), ", ")+", or a theme file (JSON)")
	fs.BoolVar(&f.demo, "demo", false, "run simulated peers (alice, bob, carol, dave) on an embedded server")
	fs.BoolVar(&f.noEmbed, "no-embed", false, "never start an embedded server")
	fs.DurationVar(&f.demoTick, "demo-tick", 3*time.Second, "pace of the demo's peers")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage:\n%s\nFlags:\n", Usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q (commands: serve, token)", fs.Arg(0))
	}
	f.set = map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f, nil
}

// ParseArgs reads the command line and the config file it names into
// Settings: a flag wins over the config, the config over the default.
// -h gives flag.ErrHelp.
func ParseArgs(args []string, stderr io.Writer) (Settings, error) {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return Settings{}, err
	}
	cfg, err := LoadConfig(f.config)
	if err != nil {
		return Settings{}, err
	}
	return resolve(f, cfg), nil
}

// pick is the flag's value, else the config's, else the default.
func pick(flagV, cfgV, def string) string {
	if flagV != "" {
		return flagV
	}
	if cfgV != "" {
		return cfgV
	}
	return def
}

func resolve(f flags, cfg Config) Settings {
	defServer := os.Getenv("XINLING_SERVER")
	if defServer == "" {
		defServer = sdk.DefaultServer
	}
	s := Settings{
		ConfigPath: f.config,
		Server:     pick(f.server, cfg.Server, defServer),
		ServerSet:  f.set["server"],
		App:        pick(f.app, cfg.App, "xinling"),
		Account:    pick(f.account, cfg.Account, ""),
		Token:      pick(f.token, cfg.Token, "_no_need_token"),
		Channel:    resolveChannel(f, cfg),
		Demo:       f.demo,
		NoEmbed:    f.noEmbed,
		DemoTick:   f.demoTick,
		Notify:     cfg.Notify == nil || *cfg.Notify,
		NoColor:    themes.NoColorEnv(),
		Tmux:       os.Getenv("TMUX") != "",
	}
	if s.Demo && s.Account == "" {
		s.Account = demoAccount()
	}
	s.HistoryMax = 1000
	if cfg.History != nil {
		s.HistoryMax = *cfg.History
	}
	if !s.Demo && s.HistoryMax > 0 { // the demo's chats are made up: nothing to keep
		s.HistoryDir = DefaultHistoryDir()
	}
	s.resolveTheme(f, cfg)
	s.Keys = keymap.Default()
	if err := s.Keys.Apply(cfg.Keys); err != nil {
		s.Notes = append(s.Notes, "config: "+err.Error())
	}
	return s
}

func resolveChannel(f flags, cfg Config) string {
	channel := "lobby"
	if cfg.Channel != nil {
		channel = *cfg.Channel
	}
	if f.set["channel"] {
		channel = f.channel
	}
	if channel == "-" {
		return ""
	}
	return channel
}

// resolveTheme picks the palette: a built-in or a theme file by name, or
// auto (follow the terminal's background); NO_COLOR means plain unless a
// theme is asked for on the command line.
func (s *Settings) resolveTheme(f flags, cfg Config) {
	s.Palette, s.AutoTheme = themes.Dark, true
	name := pick(f.theme, cfg.Theme, "auto")
	if s.NoColor && !f.set["theme"] {
		name = "plain"
	}
	if name == "auto" || name == "" {
		return
	}
	if p, ok := themes.Builtin(name); ok {
		s.Palette, s.AutoTheme = p, false
	} else if p, err := themes.Load(name); err == nil {
		s.Palette, s.AutoTheme = p, false
	} else {
		s.Notes = append(s.Notes, "theme: "+err.Error())
	}
}

// demoAccount is the account the demo logs you in as: your login name when
// it makes a valid account, else "guest".
func demoAccount() string {
	u := os.Getenv("USER")
	if u == "" || u == "root" || strings.ContainsAny(u, " \t\n") || len(u) > 32 {
		return "guest"
	}
	return u
}
