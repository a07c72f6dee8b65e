package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

type loginDialog struct {
	form
	err string
}

func newLoginDialog(m *Model, errText string) *loginDialog {
	d := &loginDialog{err: errText}
	d.fields = []*field{
		newField("Account", m.account, "your name, e.g. alice (no spaces)"),
		newField("Server", m.opt.Server, "ws://host:port"),
		newField("App ID", m.opt.App, "any app id on an open server"),
		newField("Token", m.opt.Token, "_no_need_token unless the app has a certificate"),
	}
	d.fields[3].ed.mask = m.opt.Token != "" && m.opt.Token != "_no_need_token"
	return d
}

func (d *loginDialog) title() string { return "Log in to xinling" }

func (d *loginDialog) view(m *Model, w, h int) []string {
	out := []string{m.st.Muted.Render("Who are you? Enter logs in; tab moves between fields.")}
	if d.err != "" {
		out = append(out, m.st.Error.Render("✗ "+d.err))
	}
	out = append(out, "")
	out = append(out, d.form.view(m, min(w-4, 56), nil)...)
	out = append(out, "", m.st.Hint.Render("enter log in · tab next field · esc cancel · ctrl+c quit"))
	return out
}

func (d *loginDialog) update(m *Model, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Dialog.Confirm):
		acc := d.value(0)
		if acc == "" || strings.ContainsAny(acc, " \t\n") {
			d.err = "the account is 1–128 characters without spaces"
			d.cur = 0
			return nil
		}
		srv, app, tok := d.value(1), d.value(2), d.value(3)
		if app == "" {
			app = m.opt.App
		}
		if tok == "" {
			tok = "_no_need_token"
		}
		if m.opt.OnLogin != nil {
			m.opt.OnLogin(srv, app, acc, tok)
		}
		if srv != m.opt.Server && srv != "" {
			m.info("the server can only be changed at start-up: run xinling --server " + srv)
		}
		m.opt.App, m.opt.Token = app, tok
		if m.session.status != 0 && m.account != acc {
			m.c.Logout()
		}
		m.account = acc
		m.popDialog()
		m.login()
		return nil
	case key.Matches(msg, m.keys.Dialog.Cancel):
		m.popDialog()
		if m.account == "" {
			m.info("not logged in — /login opens the form again")
		}
		return nil
	}
	d.form.key(m, msg)
	return nil
}

func (d *loginDialog) paste(m *Model, s string) { d.form.paste(s) }
