package ui

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/themes"
)

// argKind tells the completer what a command's next argument is.
type argKind int

const (
	argNone argKind = iota
	argAccount
	argChannel
	argTheme
	argWord // one of the command's subcommands
	argInvoke
)

// command is one slash command.
type command struct {
	name  string
	usage string
	help  string
	args  []argKind // completion of successive arguments
	words []string  // subcommands, for argWord
	run   func(m *Model, args string) tea.Cmd
}

var commands []command

func init() {
	commands = []command{
		{"join", "/join CHANNEL", "join a channel (leaves the current one: one at a time)", []argKind{argChannel}, nil, cmdJoin},
		{"leave", "/leave", "leave the current channel", nil, nil, cmdLeave},
		{"msg", "/msg ACCOUNT TEXT", "send a peer message (without switching to it)", []argKind{argAccount}, nil, cmdMsg},
		{"query", "/query ACCOUNT", "open a conversation with a peer", []argKind{argAccount}, nil, cmdQuery},
		{"invite", "/invite ACCOUNT [EXTRA-JSON]", "call someone (channel: the current one, or call-YOU-THEM)", []argKind{argAccount}, nil, cmdInvite},
		{"accept", "/accept [EXTRA]", "accept the ringing call", nil, nil, cmdAccept},
		{"refuse", "/refuse [EXTRA]", "refuse the ringing call", nil, nil, cmdRefuse},
		{"end", "/end", "end the current call", nil, nil, cmdEnd},
		{"dtmf", "/dtmf DIGITS", "send DTMF digits (0-9 * #) on the live call", nil, nil, cmdDTMF},
		{"phone", "/phone NUMBER [EXTRA]", "call a phone number through the server's gateway", nil, nil, cmdPhone},
		{"attr", "/attr set NAME VALUE | del NAME | clear | edit [NAME] | get", "channel attributes of the current channel", []argKind{argWord}, []string{"set", "del", "clear", "edit", "get"}, cmdAttr},
		{"uattr", "/uattr set NAME VALUE | get [ACCOUNT] NAME | all [ACCOUNT]", "user attributes (yours, or anyone's to read)", []argKind{argWord, argAccount}, []string{"set", "get", "all"}, cmdUAttr},
		{"who", "/who", "list the members of the current channel", nil, nil, cmdWho},
		{"count", "/count [CHANNEL]", "ask the server how many are in a channel", []argKind{argChannel}, nil, cmdCount},
		{"status", "/status ACCOUNT", "is ACCOUNT online?", []argKind{argAccount}, nil, cmdStatus},
		{"invoke", "/invoke NAME JSON", "call a server RPC, e.g. /invoke io.agora.signal.channel_query_num {\"name\":\"lobby\"}", []argKind{argInvoke}, nil, cmdInvoke},
		{"force", "/force TEXT", "send to the current channel without being a member", nil, nil, cmdForce},
		{"theme", "/theme NAME", "switch theme: " + strings.Join(themes.Names(), ", "), []argKind{argTheme}, nil, cmdTheme},
		{"events", "/events", "show or hide the events inspector", nil, nil, func(m *Model, _ string) tea.Cmd { m.showEvents = !m.showEvents; m.fixFocus(); return nil }},
		{"login", "/login", "log in (again), with the login form", nil, nil, cmdLogin},
		{"logout", "/logout", "log out", nil, nil, func(m *Model, _ string) tea.Cmd { m.c.Logout(); return nil }},
		{"version", "/version", "SDK version", nil, nil, cmdVersion},
		{"help", "/help", "list the commands and keys", nil, nil, func(m *Model, _ string) tea.Cmd { m.pushDialog(newHelpDialog(m)); return nil }},
		{"quit", "/quit", "leave xinling", nil, nil, func(m *Model, _ string) tea.Cmd { m.quit = true; return tea.Quit }},
	}
}

func findCommand(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

// invokeNames are the RPCs of SPEC §4, for completion.
var invokeNames = []string{
	"io.agora.signal.user_query_user_status", "io.agora.signal.user_set_attr", "io.agora.signal.user_get_attr",
	"io.agora.signal.user_get_attr_all", "io.agora.signal.channel_query_num", "io.agora.signal.channel_query_user_isin",
	"io.agora.signal.channel_query_userlist", "io.agora.signal.channel_set_attr", "io.agora.signal.channel_del_attr",
	"io.agora.signal.channel_clear_attr",
}

// submit handles what the user entered in the composer.
func (m *Model) submit(line string) tea.Cmd {
	if strings.TrimSpace(line) == "" {
		return nil
	}
	if len(m.history) == 0 || m.history[len(m.history)-1] != line {
		m.history = append(m.history, line)
		if len(m.history) > 500 {
			m.history = m.history[len(m.history)-500:]
		}
	}
	m.histIdx = len(m.history)
	m.actionConv = m.active.Key()
	if strings.HasPrefix(line, "/") && !strings.HasPrefix(line, "//") {
		name, args, _ := strings.Cut(strings.TrimSpace(line[1:]), " ")
		args = strings.TrimSpace(args)
		cmd := findCommand(strings.ToLower(name))
		if cmd == nil {
			m.fail(fmt.Sprintf("unknown command /%s — /help lists them", name))
			return nil
		}
		return cmd.run(m, args)
	}
	if strings.HasPrefix(line, "//") {
		line = line[1:]
	}
	m.sendText(line)
	return nil
}

func (m *Model) joinChannel(ch string) {
	m.joining = ch
	c := m.conv(convChannel, ch)
	m.actionConv = c.Key()
	m.switchTo(c)
	m.c.ChannelJoin(ch)
}

func cmdJoin(m *Model, args string) tea.Cmd {
	ch := strings.TrimPrefix(firstWord(args), "#")
	if ch == "" {
		if m.active.Kind == convChannel {
			ch = m.active.Name
		} else {
			m.fail("usage: /join CHANNEL")
			return nil
		}
	}
	m.joinChannel(ch)
	return nil
}

func cmdLeave(m *Model, args string) tea.Cmd {
	ch := strings.TrimPrefix(firstWord(args), "#")
	if ch == "" {
		ch = m.joined
	}
	if ch == "" {
		m.fail("you are not in a channel")
		return nil
	}
	m.c.ChannelLeave(ch)
	return nil
}

func cmdMsg(m *Model, args string) tea.Cmd {
	to, text, _ := strings.Cut(args, " ")
	to = strings.TrimPrefix(to, "@")
	if to == "" || strings.TrimSpace(text) == "" {
		m.fail("usage: /msg ACCOUNT TEXT")
		return nil
	}
	c := m.conv(convPeer, to)
	m.sendTo(c, text, false)
	if c != m.active {
		m.info(fmt.Sprintf("→ %s: %s (in @%s)", to, oneLine(text, 60), to))
	}
	return nil
}

func cmdQuery(m *Model, args string) tea.Cmd {
	to := strings.TrimPrefix(firstWord(args), "@")
	if to == "" {
		m.fail("usage: /query ACCOUNT")
		return nil
	}
	m.switchTo(m.conv(convPeer, to))
	return nil
}

// callChannel is the channel an invite from here uses.
func (m *Model) callChannel(peer string) string {
	if m.active.Kind == convChannel {
		return m.active.Name
	}
	return "call-" + m.account + "-" + peer
}

func cmdInvite(m *Model, args string) tea.Cmd {
	peer, extra, _ := strings.Cut(args, " ")
	peer = strings.TrimPrefix(peer, "@")
	if peer == "" {
		m.pushDialog(newOutgoingDialog(m, ""))
		return nil
	}
	m.invite(peer, m.callChannel(peer), strings.TrimSpace(extra))
	return nil
}

// invite places a call.
func (m *Model) invite(peer, ch, extra string) {
	if extra != "" && !json.Valid([]byte(extra)) {
		m.fail(`invite extra must be JSON, e.g. {"_timeout":20}`)
		return
	}
	now := m.now()
	c := &Call{Channel: ch, Peer: peer, State: "calling", Extra: extra, Started: now, Deadline: now.Add(inviteTimeout(extra))}
	m.calls = append(m.calls, c)
	m.accounts[peer] = true
	m.c.ChannelInviteUser2(ch, peer, extra)
	m.info(fmt.Sprintf("calling %s (channel %s) — /end or x in the calls pane hangs up", peer, ch))
}

func cmdAccept(m *Model, args string) tea.Cmd {
	m.acceptCall(m.ringingIncoming(), args)
	return nil
}

func cmdRefuse(m *Model, args string) tea.Cmd {
	m.refuseCall(m.ringingIncoming(), args)
	return nil
}

func cmdEnd(m *Model, _ string) tea.Cmd {
	m.endCall(m.liveCall())
	return nil
}

func cmdDTMF(m *Model, args string) tea.Cmd {
	digits := strings.ReplaceAll(args, " ", "")
	c := m.liveCall()
	if c == nil {
		m.fail("no live call for DTMF")
		return nil
	}
	if digits == "" {
		m.pushDialog(&keypadDialog{call: c})
		return nil
	}
	m.sendDTMF(c, digits)
	return nil
}

func (m *Model) sendDTMF(c *Call, digits string) {
	m.c.ChannelInviteDTMF(c.Channel, c.Peer, digits)
	c.DTMF += digits
}

func cmdPhone(m *Model, args string) tea.Cmd {
	num, extra, _ := strings.Cut(args, " ")
	if num == "" {
		m.fail("usage: /phone NUMBER [EXTRA]")
		return nil
	}
	ch := m.callChannel(num)
	now := m.now()
	m.calls = append(m.calls, &Call{Channel: ch, Peer: num, State: "calling", Extra: extra, Started: now, Deadline: now.Add(defaultInviteExpiry)})
	m.c.ChannelInvitePhone3(ch, num, "", strings.TrimSpace(extra))
	m.info("calling phone " + num)
	return nil
}

// attrChannel is the channel /attr works on.
func (m *Model) attrChannel() string {
	if m.active.Kind == convChannel {
		return m.active.Name
	}
	return m.joined
}

func cmdAttr(m *Model, args string) tea.Cmd {
	sub, rest, _ := strings.Cut(args, " ")
	rest = strings.TrimSpace(rest)
	ch := m.attrChannel()
	if ch == "" {
		m.fail("/attr works on the current channel: /join one first")
		return nil
	}
	switch sub {
	case "set":
		name, value, _ := strings.Cut(rest, " ")
		if name == "" {
			m.fail("usage: /attr set NAME VALUE")
			return nil
		}
		m.c.ChannelSetAttr(ch, name, compactJSON(value))
	case "del", "delete", "rm":
		if rest == "" {
			m.fail("usage: /attr del NAME")
			return nil
		}
		m.c.ChannelDelAttr(ch, firstWord(rest))
	case "clear":
		m.pushDialog(newConfirmDialog(fmt.Sprintf("Clear every attribute of #%s?", ch), "Built-in attributes (_…) stay.", func(m *Model) {
			m.c.ChannelClearAttr(ch)
		}))
	case "edit", "":
		name := firstWord(rest)
		val := ""
		if a, ok := m.attrs.Items[name]; ok && m.attrs.Channel == ch {
			val = a.Value
		}
		m.pushDialog(newAttrDialog(m, ch, name, val))
	case "get":
		// the pane shows them; also print the table where the user asked
		user, builtin := m.attrs.Sorted()
		var parts []string
		for _, a := range append(user, builtin...) {
			parts = append(parts, a.Name+"="+a.Value)
		}
		m.info(fmt.Sprintf("#%s attributes: %s", ch, strings.Join(parts, ", ")))
	default:
		m.fail("usage: " + findCommand("attr").usage)
	}
	return nil
}

func cmdUAttr(m *Model, args string) tea.Cmd {
	sub, rest, _ := strings.Cut(args, " ")
	rest = strings.TrimSpace(rest)
	switch sub {
	case "set":
		name, value, _ := strings.Cut(rest, " ")
		if name == "" {
			m.fail("usage: /uattr set NAME VALUE (empty VALUE deletes)")
			return nil
		}
		m.c.SetAttr(name, compactJSON(value))
		m.c.GetAttrAll()
	case "get":
		f := strings.Fields(rest)
		switch len(f) {
		case 1:
			m.c.GetAttr(f[0])
		case 2:
			m.c.GetUserAttr(strings.TrimPrefix(f[0], "@"), f[1])
		default:
			m.fail("usage: /uattr get [ACCOUNT] NAME")
		}
	case "all", "":
		acc := strings.TrimPrefix(firstWord(rest), "@")
		if acc == "" || acc == m.account {
			m.c.GetAttrAll()
			if acc == "" && sub == "" {
				m.focusPane(focusAttrs)
			}
		} else {
			m.c.GetUserAttrAll(acc)
		}
	default:
		m.fail("usage: " + findCommand("uattr").usage)
	}
	return nil
}

func cmdWho(m *Model, _ string) tea.Cmd {
	if m.joined == "" {
		m.fail("you are not in a channel")
		return nil
	}
	list := m.memberList()
	m.info(fmt.Sprintf("%d in #%s: %s", len(list), m.joined, strings.Join(list, ", ")))
	return nil
}

func cmdCount(m *Model, args string) tea.Cmd {
	ch := strings.TrimPrefix(firstWord(args), "#")
	if ch == "" {
		ch = m.attrChannel()
	}
	if ch == "" {
		m.fail("usage: /count CHANNEL")
		return nil
	}
	m.c.ChannelQueryUserNum(ch)
	return nil
}

func cmdStatus(m *Model, args string) tea.Cmd {
	acc := strings.TrimPrefix(firstWord(args), "@")
	if acc == "" {
		if m.active.Kind == convPeer {
			acc = m.active.Name
		} else {
			m.fail("usage: /status ACCOUNT")
			return nil
		}
	}
	m.c.QueryUserStatus(acc)
	return nil
}

func cmdInvoke(m *Model, args string) tea.Cmd {
	name, req, _ := strings.Cut(args, " ")
	req = strings.TrimSpace(req)
	if name == "" {
		m.fail("usage: /invoke NAME JSON")
		return nil
	}
	if req == "" {
		req = "{}"
	}
	m.invokeN++
	id := fmt.Sprintf("call%d", m.invokeN)
	m.invokes[id] = m.active.Key()
	m.c.Invoke(name, req, id)
	return nil
}

func cmdForce(m *Model, args string) tea.Cmd {
	if args == "" {
		m.fail("usage: /force TEXT")
		return nil
	}
	if m.active.Kind != convChannel {
		m.fail("/force sends to a channel: open one first (ctrl+k, or /join)")
		return nil
	}
	m.sendTo(m.active, args, true)
	return nil
}

func cmdTheme(m *Model, args string) tea.Cmd {
	p, ok := themes.Builtin(args)
	if !ok {
		if args != "" {
			if lp, err := themes.Load(args); err == nil {
				m.opt.AutoTheme = false
				m.setPalette(lp)
				m.info("theme " + lp.Name)
				return nil
			}
		}
		m.fail(fmt.Sprintf("unknown theme %q: %s, or a theme file path", args, strings.Join(themes.Names(), ", ")))
		return nil
	}
	m.opt.AutoTheme = false
	m.setPalette(p)
	m.info("theme " + p.Name)
	return nil
}

func cmdLogin(m *Model, _ string) tea.Cmd {
	m.pushDialog(newLoginDialog(m, ""))
	return nil
}

func cmdVersion(m *Model, _ string) tea.Cmd {
	v := m.c.GetSdkVersion()
	m.info(fmt.Sprintf("SDK version %d (API level 1.4.0), status %d, online %v", v, m.c.GetStatus(), m.c.IsOnline()))
	return nil
}

func firstWord(s string) string {
	f := strings.Fields(s)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// --- completion ----------------------------------------------------------

// completion cycles through the candidates for the word before the cursor.
type completion struct {
	items []string
	idx   int
	start int    // rune offset where the completed word starts
	base  string // the composer's text before completion began
}

// complete completes the word before the cursor; repeated calls cycle.
func (m *Model) complete() {
	if len(m.comp.items) > 0 {
		m.comp.idx = (m.comp.idx + 1) % len(m.comp.items)
		m.applyCompletion()
		return
	}
	text := string(m.composer.buf[:m.composer.pos])
	start := strings.LastIndexAny(text, " \n") + 1
	word := text[start:]
	prev := strings.Fields(text[:start])
	var cands []string
	switch {
	case len(prev) == 0 && strings.HasPrefix(word, "/"):
		for _, c := range commands {
			cands = append(cands, "/"+c.name)
		}
	case len(prev) > 0 && strings.HasPrefix(prev[0], "/"):
		cmd := findCommand(strings.TrimPrefix(prev[0], "/"))
		argN := len(prev) - 1
		if cmd != nil && argN < len(cmd.args) {
			switch cmd.args[argN] {
			case argAccount:
				cands = m.knownAccounts()
			case argChannel:
				cands = m.knownChannels()
			case argTheme:
				cands = themes.Names()
			case argWord:
				cands = cmd.words
			case argInvoke:
				cands = invokeNames
			}
			if cmd.name == "uattr" && argN == 1 && (len(prev) < 2 || prev[1] == "set") {
				cands = nil
			}
		}
	default:
		// a bare word: accounts (nick completion) and #channels
		if strings.HasPrefix(word, "#") {
			for _, c := range m.knownChannels() {
				cands = append(cands, "#"+c)
			}
		} else {
			cands = m.knownAccounts()
		}
	}
	var match []string
	for _, c := range cands {
		if strings.HasPrefix(strings.ToLower(c), strings.ToLower(word)) && c != "" {
			match = append(match, c)
		}
	}
	sort.Strings(match)
	if len(match) == 0 {
		m.setNotice("no completion for "+quoteEmpty(word), false)
		return
	}
	m.comp = completion{items: match, start: len([]rune(text[:start])), base: m.composer.Value()}
	m.applyCompletion()
}

func quoteEmpty(s string) string {
	if s == "" {
		return "an empty word"
	}
	return `"` + s + `"`
}

func (m *Model) applyCompletion() {
	base := []rune(m.comp.base)
	// the word being completed ends at the first space after start (or the end)
	end := m.comp.start
	for end < len(base) && base[end] != ' ' && base[end] != '\n' {
		end++
	}
	item := m.comp.items[m.comp.idx]
	suffix := " "
	if end < len(base) {
		suffix = ""
	}
	nb := string(base[:m.comp.start]) + item + suffix + string(base[end:])
	m.composer.buf = []rune(nb)
	m.composer.pos = m.comp.start + len([]rune(item)) + len([]rune(suffix))
	if len(m.comp.items) == 1 {
		m.comp = completion{}
		if c := findCommand(strings.TrimPrefix(strings.TrimSpace(item), "/")); c != nil && strings.HasPrefix(item, "/") {
			m.setNotice(c.usage+" — "+c.help, false)
		}
	}
}

// commandHint is the usage of the command being typed, for the composer.
func (m *Model) commandHint() string {
	v := m.composer.Value()
	if !strings.HasPrefix(v, "/") {
		return ""
	}
	name, _, _ := strings.Cut(v[1:], " ")
	if c := findCommand(name); c != nil {
		return c.usage + " — " + c.help
	}
	var names []string
	for _, c := range commands {
		if strings.HasPrefix(c.name, name) {
			names = append(names, "/"+c.name)
		}
	}
	if len(names) == 0 {
		return "no such command — /help"
	}
	return strings.Join(names, " ")
}

// sdkStatusName names a GetStatus value.
func sdkStatusName(s int) string {
	switch s {
	case sdk.StatusLoggedIn:
		return "online"
	case sdk.StatusLoggingIn:
		return "logging in"
	case sdk.StatusReconnecting:
		return "reconnecting"
	}
	return "offline"
}
