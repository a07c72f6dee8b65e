package ui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/sdk"
)

// Options turns the settings into a model's options for an SDK client
// whose callback is a Bridge on q. embedded is the note for a server the
// client started itself ("" none).
func (s Settings) Options(client sdk.API, q *Queue, embedded string) Options {
	opt := Options{
		Client: client, Queue: q, Server: s.Server, App: s.App, Account: s.Account, Token: s.Token,
		Channel: s.Channel, Embedded: embedded, Demo: s.Demo, Palette: s.Palette, AutoTheme: s.AutoTheme,
		NoColor: s.NoColor, Keys: s.Keys, Notify: s.Notify, Tmux: s.Tmux, Notes: s.Notes,
		HistoryDir: s.HistoryDir, HistoryMax: s.HistoryMax,
	}
	if !s.Demo { // the demo's account is made up: keep it out of the config
		path := s.ConfigPath
		opt.OnLogin = func(_, app, account, _ string) { rememberAccount(path, app, account) }
	}
	return opt
}

// Run runs the client full-screen until the person quits, then logs out.
func Run(opt Options) error {
	m := New(opt)
	defer m.Close()
	_, err := tea.NewProgram(m).Run()
	if opt.Client != nil {
		opt.Client.Logout()
	}
	if err != nil {
		return fmt.Errorf("terminal: %w", err)
	}
	return nil
}
