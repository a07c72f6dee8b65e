package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	History *int                `json:"history,omitempty"` // messages of scrollback kept per chat (default 1000; 0 none)
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
		return c, fmt.Errorf("config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// SaveConfig writes a config file (creating its directory).
func SaveConfig(path string, c Config) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// rememberAccount records the account the login form submitted in the
// config file, so the next start logs in without asking.
func rememberAccount(path, app, account string) {
	if path == "" {
		return
	}
	c, err := LoadConfig(path)
	if err != nil || c.Account == account {
		return
	}
	c.Account = account
	if c.App == "" && app != "xinling" {
		c.App = app
	}
	_ = SaveConfig(path, c)
}
