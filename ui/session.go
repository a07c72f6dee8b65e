package ui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/sdk"
)

// session is the state of the login: what the status bar says.
type session struct {
	status     int // sdk.Status*
	reconnectN int
	note       string   // why it is offline
	renewed    bool     // the SDK said the server started a new session: the reconnect lost the old one
	failLogs   []string // the SDK's latest "… failed: why" log lines
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
	"Log":          (*Model).sdkLog,
}

func (m *Model) loggedIn(Event) tea.Cmd {
	m.session = session{status: sdk.StatusLoggedIn}
	m.info(fmt.Sprintf("logged in as %s", m.account))
	m.openHistory()
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

// reconnecting: the connection dropped. Said once, where you are looking,
// with what happens to what you send meanwhile.
func (m *Model) reconnecting(e Event) tea.Cmd {
	if m.session.status != sdk.StatusReconnecting {
		m.sysMsg(m.chats.active, "the connection to the server dropped — reconnecting; what you send meanwhile waits (⋯ sending) and goes out once it is back")
		for _, c := range m.calls.list {
			if c.Live() {
				c.interrupted = true
			}
		}
	}
	m.session.status, m.session.reconnectN = sdk.StatusReconnecting, e.Num
	return nil
}

func (m *Model) reconnected(Event) tea.Cmd {
	m.session.status, m.session.reconnectN = sdk.StatusLoggedIn, 0
	if !m.session.renewed {
		m.sysMsg(m.chats.active, "reconnected: the session was resumed, nothing missed")
		return nil
	}
	m.session.renewed = false
	what := "logged in afresh"
	if ch := m.channel.joined; ch != "" {
		what += ", joining #" + ch + " again"
	}
	m.sysMsg(m.chats.active, "reconnected, but the server had not kept the session (it restarted, or the connection was down too long): "+what)
	m.callsLostWithSession()
	return nil
}

// sdkLog watches the SDK's log for what its callbacks do not say: that a
// reconnect got a new session (its onReconnected is the same either way).
func (m *Model) sdkLog(e Event) tea.Cmd {
	if strings.Contains(e.Value, "started a new session") {
		m.session.renewed = true
	}
	if strings.Contains(e.Value, " failed: ") {
		m.session.failLogs = append(m.session.failLogs, e.Value)
		if len(m.session.failLogs) > 8 {
			m.session.failLogs = m.session.failLogs[1:]
		}
	}
	return nil
}

// failureReason is the why of a failure the SDK reports with a bare code
// (onInviteFailed 700, onChannelJoinFailed, onMessageSendError): its log
// line "METHOD TARGET failed: WHY (CODE NAME)", the newest that names the
// target ("" none).
func (m *Model) failureReason(target string) string {
	logs := m.session.failLogs
	for i := len(logs) - 1; i >= 0; i-- {
		_, why, ok := strings.Cut(logs[i], " failed: ")
		if !ok || target == "" || !strings.Contains(logs[i], target) {
			continue
		}
		if j := strings.LastIndex(why, " ("); j > 0 {
			why = why[:j]
		}
		return why
	}
	return ""
}

// withReason adds the why of a failure to what is said of it.
func (m *Model) withReason(text, target string) string {
	if why := m.failureReason(target); why != "" {
		return text + " — " + why
	}
	return text
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
