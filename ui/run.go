package ui

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/demo"
	"github.com/xinling/xinling/keymap"
	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
	"github.com/xinling/xinling/themes"
)

// Config is the client's config file (JSON), in
// os.UserConfigDir()/xinling/config.json. Flags override it.
type Config struct {
	Server  string              `json:"server,omitempty"`
	App     string              `json:"app,omitempty"`
	Account string              `json:"account,omitempty"`
	Token   string              `json:"token,omitempty"`
	Channel *string             `json:"channel,omitempty"` // joined after login; "" none (default "lobby")
	Theme   string              `json:"theme,omitempty"`   // auto, dark, light, high-contrast, plain, or a theme file
	Notify  *bool               `json:"notify,omitempty"`  // bell and desktop notifications (default true)
	Keys    map[string][]string `json:"keys,omitempty"`    // action → keys, e.g. "global.quit": ["ctrl+q"]
}

// DefaultConfigPath is where the config file lives.
func DefaultConfigPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "xinling", "config.json")
}

// LoadConfig reads a config file; a missing file is an empty config.
func LoadConfig(path string) (Config, error) {
	var c Config
	if path == "" {
		return c, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// SaveConfig writes a config file (creating its directory).
func SaveConfig(path string, c Config) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o600)
}

// Usage is the client's part of `xinling -h`.
const Usage = `  xinling [--server URL] [--app ID] [--account A] [--token T] [--channel C] [--demo]
      the terminal client. With the default server and nothing listening there,
      it starts an embedded server on 127.0.0.1:9470 that other clients can join.
`

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

// Embedded is a server started inside the client.
type Embedded struct {
	Addr string
	node *server.Node
	st   store.Store
	done chan error
}

// StartEmbedded serves on addr with an in-memory store.
func StartEmbedded(addr string) (*Embedded, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	st := store.Memory()
	e := &Embedded{Addr: l.Addr().String(), st: st, done: make(chan error, 1)}
	e.node = server.New(server.Config{Store: st, Logger: slog.New(slog.DiscardHandler)})
	go func() { e.done <- e.node.Serve(l) }()
	return e, nil
}

// Stop shuts the embedded server down.
func (e *Embedded) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = e.node.Shutdown(ctx)
	<-e.done
	_ = e.st.Close()
}

// URL is the embedded server's WebSocket URL.
func (e *Embedded) URL() string { return "ws://" + e.Addr }

// listening reports whether something accepts connections at addr.
func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func hostPort(server string) string {
	s := server
	if !strings.Contains(s, "://") {
		s = "ws://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Host
}

// Main runs the terminal client with the command line's arguments.
func Main(args []string) error {
	f, err := parseFlags(args, os.Stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	cfg, err := LoadConfig(f.config)
	if err != nil {
		return err
	}
	pick := func(flagV, cfgV, def string) string {
		if flagV != "" {
			return flagV
		}
		if cfgV != "" {
			return cfgV
		}
		return def
	}
	defServer := os.Getenv("XINLING_SERVER")
	if defServer == "" {
		defServer = sdk.DefaultServer
	}
	srv := pick(f.server, cfg.Server, defServer)
	app := pick(f.app, cfg.App, "xinling")
	account := pick(f.account, cfg.Account, "")
	token := pick(f.token, cfg.Token, "_no_need_token")
	channel := "lobby"
	if cfg.Channel != nil {
		channel = *cfg.Channel
	}
	if f.set["channel"] {
		channel = f.channel
	}
	if channel == "-" {
		channel = ""
	}
	notifyOn := cfg.Notify == nil || *cfg.Notify

	var notes []string
	// an embedded server when the default one is not running
	var emb *Embedded
	if !f.noEmbed && (f.demo || srv == sdk.DefaultServer) {
		hp := hostPort(srv)
		switch {
		case !listening(hp):
			if emb, err = StartEmbedded(hp); err != nil {
				if !f.demo {
					notes = append(notes, "could not start an embedded server on "+hp+": "+err.Error())
				}
			}
		}
		if emb == nil && f.demo && !f.set["server"] {
			// the demo gets a server of its own rather than fill someone's
			if emb, err = StartEmbedded("127.0.0.1:0"); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
		}
		if emb != nil {
			defer emb.Stop()
			srv = emb.URL()
		}
	}
	embNote := ""
	if emb != nil {
		embNote = "Started an embedded server on " + emb.URL() + " (in-memory; it stops when you quit)"
		if emb.Addr == "127.0.0.1:9470" {
			embNote += "; run `xinling --account bob` in another terminal to join it"
		}
	}

	if f.demo && account == "" {
		account = demoAccount()
	}

	pal, auto := themes.Dark, true
	noColor := themes.NoColorEnv()
	themeName := pick(f.theme, cfg.Theme, "auto")
	if noColor && !f.set["theme"] {
		themeName = "plain"
	}
	switch themeName {
	case "auto", "":
	default:
		if p, ok := themes.Builtin(themeName); ok {
			pal, auto = p, false
		} else if p, err := themes.Load(themeName); err == nil {
			pal, auto = p, false
		} else {
			notes = append(notes, "theme: "+err.Error())
		}
	}
	keys := keymap.Default()
	if err := keys.Apply(cfg.Keys); err != nil {
		notes = append(notes, "config: "+err.Error())
	}

	q := NewQueue(4096)
	// A comma-separated list names the nodes of a cluster: the SDK fails over between them.
	client := sdk.NewInstance(app, sdk.WithServers(sdk.SplitServers(srv)...))
	client.CallbackSet(&Bridge{Q: q})
	defer client.Destroy()

	var dm *demo.Demo
	if f.demo {
		dm = demo.Start(demo.Config{Server: srv, App: app, You: account, Tick: f.demoTick})
		defer dm.Stop()
	}

	cfgPath := f.config
	m := New(Options{
		Client: client, Queue: q, Server: srv, App: app, Account: account, Token: token, Channel: channel,
		Embedded: embNote, Demo: f.demo, Palette: pal, AutoTheme: auto, NoColor: noColor, Keys: keys, Notify: notifyOn,
		OnLogin: func(server, app, account, token string) {
			if cfgPath == "" || f.demo {
				return
			}
			c, err := LoadConfig(cfgPath)
			if err != nil || c.Account == account {
				return
			}
			c.Account = account
			if c.App == "" && app != "xinling" {
				c.App = app
			}
			_ = SaveConfig(cfgPath, c)
		},
	})
	defer m.Close()
	for _, n := range notes {
		m.errMsg(m.active, n)
	}
	p := tea.NewProgram(m)
	_, err = p.Run()
	client.Logout()
	return err
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
