package ui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/sdk"
)

// session is the state of the login: what the status bar says.
type session struct {
	status     int // sdk.Status*
	reconnectN int
	note       string // why it is offline
}

func (m *Model) login() {
	if m.c == nil {
		return
	}
	m.session.status = sdk.StatusLoggingIn
	m.c.Login(m.opt.App, m.account, m.opt.Token, 0, "")
}

// sessionReducers apply the login and connection events.
var sessionReducers = reducers{
	"LoginSuccess": (*Model).loggedIn,
	"LoginFailed":  (*Model).loginFailed,
	"Logout":       (*Model).loggedOut,
	"Reconnecting": (*Model).reconnecting,
	"Reconnected":  (*Model).reconnected,
}

func (m *Model) loggedIn(Event) tea.Cmd {
	m.session = session{status: sdk.StatusLoggedIn}
	m.info(fmt.Sprintf("logged in as %s", m.account))
	m.attrs.userOf(m.account)
	m.c.GetAttrAll()
	if ch := m.opt.Channel; ch != "" && m.channel.joined == "" && m.channel.joining == "" {
		m.joinChannel(ch)
	}
	return nil
}

func (m *Model) loginFailed(e Event) tea.Cmd {
	if e.Code == int(sdk.LoginAlready) {
		return nil
	}
	m.session.status = sdk.StatusLoggedOut
	why := loginFailure(e.Code)
	m.session.note = "login failed: " + why
	m.fail("login failed: " + why)
	if !isLogin(m.topDialog()) {
		m.pushDialog(newLoginDialog(m, "login failed: "+why))
	}
	return nil
}

func (m *Model) loggedOut(e Event) tea.Cmd {
	m.session.status = sdk.StatusLoggedOut
	m.channel.members = map[string]uint32{}
	if c := m.joinedConv(); c != nil {
		m.sysMsg(c, "left #"+m.channel.joined+" (logged out)")
	}
	m.channel.joined, m.channel.joining = "", ""
	switch e.Code {
	case int(sdk.LogoutUser), int(sdk.LogoutAlready):
		m.session.note = ""
		m.info("logged out")
	case int(sdk.LogoutKicked):
		m.session.note = "kicked: this account logged in elsewhere"
		m.fail("logged out: " + m.account + " logged in somewhere else (LOGOUT_E_KICKED) — /login to take it back")
	default:
		m.session.note = "logged out: " + codeName(e.Code)
		m.fail("logged out: " + codeName(e.Code) + " — /login to try again")
	}
	return nil
}

func (m *Model) reconnecting(e Event) tea.Cmd {
	m.session.status, m.session.reconnectN = sdk.StatusReconnecting, e.Num
	return nil
}

func (m *Model) reconnected(Event) tea.Cmd {
	m.session.status, m.session.reconnectN = sdk.StatusLoggedIn, 0
	m.info("reconnected")
	return nil
}

func loginFailure(code int) string {
	switch code {
	case int(sdk.LoginNet):
		return "cannot reach the server (LOGIN_E_NET)"
	case int(sdk.LoginTokenWrong):
		return "wrong token (LOGIN_E_TOKENWRONG)"
	case int(sdk.LoginTokenExpired):
		return "token expired (LOGIN_E_TOKENEXPIRED)"
	case int(sdk.LoginInvalidUser):
		return "invalid account name (LOGIN_E_INVALID_USER): 1–128 bytes, no spaces"
	case int(sdk.LoginFailed):
		return "refused by the server (LOGIN_E_FAILED)"
	}
	return codeName(code)
}
