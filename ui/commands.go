package ui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/sdk/wire"
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
		{"events", "/events", "show or hide the events inspector", nil, nil, func(m *Model, _ string) tea.Cmd { m.events.show = !m.events.show; m.fixFocus(); return nil }},
		{"login", "/login", "log in (again), with the login form", nil, nil, cmdLogin},
		{"logout", "/logout", "log out", nil, nil, func(m *Model, _ string) tea.Cmd { m.c.Logout(); return nil }},
		{"version", "/version", "SDK version", nil, nil, cmdVersion},
		{"help", "/help [COMMAND]", "list the commands and keys, or say what one command does", nil, nil, cmdHelp},
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
	m.composer.remember(line)
	m.actionConv = m.chats.active.Key()
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

func cmdJoin(m *Model, args string) tea.Cmd {
	ch := strings.TrimPrefix(firstWord(args), "#")
	if ch == "" {
		if m.chats.active.Kind == convChannel {
			ch = m.chats.active.Name
		} else {
			m.fail("usage: /join CHANNEL")
			return nil
		}
	}
	if !m.badName("channel", ch) {
		m.joinChannel(ch)
	}
	return nil
}

// badName refuses a name the server would refuse, before a conversation is
// made for it: the reason is said, nothing is opened.
func (m *Model) badName(what, name string) bool {
	if err := wire.CheckName(what, name); err != nil {
		m.fail(err.Msg)
		return true
	}
	return false
}

func cmdLeave(m *Model, args string) tea.Cmd {
	ch := strings.TrimPrefix(firstWord(args), "#")
	if ch == "" {
		ch = m.channel.joined
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
	if m.badName("account", to) {
		return nil
	}
	c := m.conv(convPeer, to)
	m.sendTo(c, text, false)
	if c != m.chats.active {
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
	if !m.badName("account", to) {
		m.switchTo(m.conv(convPeer, to))
	}
	return nil
}

// callChannel is the channel an invite from here uses.
func (m *Model) callChannel(peer string) string {
	if m.chats.active.Kind == convChannel {
		return m.chats.active.Name
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

func cmdAccept(m *Model, args string) tea.Cmd {
	m.acceptCall(m.calls.ringingIncoming(), args)
	return nil
}

func cmdRefuse(m *Model, args string) tea.Cmd {
	m.refuseCall(m.calls.ringingIncoming(), args)
	return nil
}

func cmdEnd(m *Model, _ string) tea.Cmd {
	m.endCall(m.calls.live())
	return nil
}

func cmdDTMF(m *Model, args string) tea.Cmd {
	digits := strings.ReplaceAll(args, " ", "")
	c := m.calls.live()
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

func cmdPhone(m *Model, args string) tea.Cmd {
	num, extra, _ := strings.Cut(args, " ")
	if num == "" {
		m.fail("usage: /phone NUMBER [EXTRA]")
		return nil
	}
	ch := m.callChannel(num)
	now := m.now()
	m.calls.list = append(m.calls.list, &Call{Channel: ch, Peer: num, State: "calling", Extra: extra, Started: now, Deadline: now.Add(defaultInviteExpiry)})
	m.c.ChannelInvitePhone3(ch, num, "", strings.TrimSpace(extra))
	m.info("calling phone " + num)
	return nil
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
		if a, ok := m.attrs.ch.Items[name]; ok && m.attrs.ch.Channel == ch {
			val = a.Value
		}
		m.pushDialog(newAttrDialog(m, ch, name, val))
	case "get":
		// the pane shows them; also print the table where the user asked
		user, builtin := m.attrs.ch.Sorted()
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
	if m.channel.joined == "" {
		m.fail("you are not in a channel")
		return nil
	}
	list := m.channel.memberList()
	m.info(fmt.Sprintf("%d in #%s: %s", len(list), m.channel.joined, strings.Join(list, ", ")))
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
		if m.chats.active.Kind == convPeer {
			acc = m.chats.active.Name
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
	m.invokes[id] = invocation{name: name, conv: m.chats.active.Key()}
	m.c.Invoke(name, req, id)
	return nil
}

func cmdForce(m *Model, args string) tea.Cmd {
	if args == "" {
		m.fail("usage: /force TEXT")
		return nil
	}
	if m.chats.active.Kind != convChannel {
		m.fail("/force sends to a channel: open one first (ctrl+k, or /join)")
		return nil
	}
	m.sendTo(m.chats.active, args, true)
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

func cmdHelp(m *Model, args string) tea.Cmd {
	if args == "" {
		m.pushDialog(newHelpDialog(m, "commands"))
		return nil
	}
	if h, ok := helpFor(firstWord(args)); ok {
		m.info(h)
	} else {
		m.fail(fmt.Sprintf("no command %q — /help lists them", firstWord(args)))
	}
	return nil
}
