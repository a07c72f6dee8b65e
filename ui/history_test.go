package ui

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/xinling/xinling/keymap"
	"github.com/xinling/xinling/themes"
)

// historyModel is a model logged in as alice in #lobby, keeping history
// under dir.
func historyModel(t *testing.T, dir string, max int) (*Model, *fakeSDK) {
	t.Helper()
	f := &fakeSDK{}
	ck := newClock()
	m := New(Options{Client: f, Server: "ws://test", App: "app", Account: "alice", Channel: "lobby",
		Palette: themes.Dark, Keys: keymap.Default(), Now: ck.now, HistoryDir: dir, HistoryMax: max})
	t.Cleanup(m.Close)
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	m.login()
	send(m, ev("LoginSuccess"))
	send(m, Event{Name: "ChannelJoined", Channel: "lobby"})
	f.took()
	return m, f
}

// What was said in a chat is there again in the next run, after a note of
// where it comes from; nothing of it counts as unread.
func TestHistoryAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	m, _ := historyModel(t, dir, 1000)
	send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: "hello 你好 👋"},
		Event{Name: "MessageInstantReceive", Account: "carol", Value: "psst, line one\nline two"})
	typeText(m, "my own words")
	press(m, "enter")
	own := lastMsg(m.chats.active)
	send(m, Event{Name: "MessageSendSuccess", MsgID: own.ID})
	m.Close()

	m2, _ := historyModel(t, dir, 1000)
	scr := screenText(t, m2, 120, 40)
	mustSee(t, scr, "bob hello 你好 👋", "alice my own words", "earlier messages, from the history of #lobby", "@ carol")
	if c := m2.chats.byKey["@carol"]; c == nil || c.Unread != 0 || len(c.Msgs) < 2 {
		t.Fatalf("@carol from history: %+v", c)
	}
	m2.switchTo(m2.chats.byKey["@carol"])
	mustSee(t, screenText(t, m2, 120, 40), "carol psst, line one", "line two")
	// the files are the user's only, under the app and account
	fi, err := os.Stat(filepath.Join(dir, "app", "alice", "c-lobby.jsonl"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("history file: %v %v", fi, err)
	}
}

// A chat's file keeps the newest messages: at most twice the bound while
// running, the bound once read again.
func TestHistoryIsBounded(t *testing.T) {
	dir := t.TempDir()
	m, _ := historyModel(t, dir, 5)
	for i := 0; i < 23; i++ {
		send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: fmt.Sprintf("m%02d", i)})
		if n := lineCount(t, filepath.Join(dir, "app", "alice", "c-lobby.jsonl")); n > 10 {
			t.Fatalf("after %d messages the file has %d lines", i+1, n)
		}
	}
	m2, _ := historyModel(t, dir, 5)
	c := m2.chats.byKey["#lobby"]
	var got []string
	for _, msg := range c.Msgs {
		if msg.Kind == kindChat {
			got = append(got, msg.Text)
		}
	}
	if strings.Join(got, ",") != "m18,m19,m20,m21,m22" {
		t.Fatalf("history %v", got)
	}
}

// Names with slashes, dots and any script make safe file names that read
// back.
func TestHistoryFileNames(t *testing.T) {
	dir := t.TempDir()
	m, _ := historyModel(t, dir, 10)
	for _, who := range []string{"../etc", "a/b", "张伟", ".hidden"} {
		send(m, Event{Name: "MessageInstantReceive", Account: who, Value: "hi from " + who})
	}
	m2, _ := historyModel(t, dir, 10)
	for _, who := range []string{"../etc", "a/b", "张伟", ".hidden"} {
		if c := m2.chats.byKey["@"+who]; c == nil || len(c.Msgs) == 0 {
			t.Fatalf("@%s not restored", who)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "app", "alice"))
	for _, e := range ents {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			t.Fatalf("unsafe history file %q", e.Name())
		}
	}
}

// A history that cannot be written says so once and stops; the chat goes on.
func TestHistoryWriteFailureIsSaid(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "app"), []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _ := historyModel(t, dir, 10)
	send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: "one"},
		Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: "two"})
	send(m, Event{Name: "MessageChannelReceive", Channel: "lobby", Account: "bob", Value: "three"})
	m.switchTo(m.chats.byKey["xinling"])
	mustSee(t, screenText(t, m, 200, 50), "not a directory — scrollback is")
	n := 0
	for _, msg := range m.chats.active.Msgs {
		if strings.Contains(msg.Text, "scrollback is not kept") {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("said %d times", n)
	}
}

func lineCount(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	for sc := bufio.NewScanner(f); sc.Scan(); {
		n++
	}
	return n
}
