package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/xinling/xinling/demo"
	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/ui"
)

// clientCmd is `xinling` with no command: the terminal client, in three
// steps — parse the flags and config, build what the client talks to (an
// embedded server and demo peers when asked for, the SDK client), run it.
func clientCmd(args []string) error {
	s, err := ui.ParseArgs(args, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	c, err := buildClient(s)
	if err != nil {
		return err
	}
	defer c.Close()
	return ui.Run(c.Options)
}

// client is everything the terminal client runs on: its SDK instance and,
// when it started them, an embedded server and the demo's peers.
type client struct {
	Options ui.Options
	sdk     *sdk.Client
	emb     *Embedded
	demo    *demo.Demo
}

// buildClient starts what the settings ask for: an embedded server, the
// SDK instance, the demo's peers.
func buildClient(s ui.Settings) (*client, error) {
	c := &client{}
	emb, notes, err := embed(s)
	if err != nil {
		return nil, err
	}
	note := ""
	if emb != nil {
		c.emb, s.Server = emb, emb.URL()
		note = "Started an embedded server on " + emb.URL() + " (in-memory; it stops when you quit)"
		if emb.Addr == "127.0.0.1:9470" {
			note += "; run `xinling --account bob` in another terminal to join it"
		}
	}
	q := ui.NewQueue(4096)
	// A comma-separated list names the nodes of a cluster: the SDK fails over between them.
	c.sdk = sdk.NewInstance(s.App, sdk.WithServers(sdk.SplitServers(s.Server)...))
	c.sdk.CallbackSet(&ui.Bridge{Q: q})
	if s.Demo {
		c.demo = demo.Start(demo.Config{Server: s.Server, App: s.App, You: s.Account, Tick: s.DemoTick})
	}
	s.Notes = append(notes, s.Notes...)
	c.Options = s.Options(c.sdk, q, note)
	return c, nil
}

// embed starts an embedded server when the settings call for one: with the
// default server and nothing listening there, on that address, so a second
// client can join; for the demo, on a free port when that address is
// taken, rather than fill someone's server. The notes say what failed.
func embed(s ui.Settings) (*Embedded, []string, error) {
	if s.NoEmbed || (!s.Demo && s.Server != sdk.DefaultServer) {
		return nil, nil, nil
	}
	var notes []string
	if hp := hostPort(s.Server); !listening(hp) {
		emb, err := StartEmbedded(hp)
		if err == nil {
			return emb, nil, nil
		}
		if !s.Demo {
			notes = append(notes, "could not start an embedded server on "+hp+": "+err.Error())
		}
	}
	if s.Demo && !s.ServerSet {
		emb, err := StartEmbedded("127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("demo: %w", err)
		}
		return emb, notes, nil
	}
	return nil, notes, nil
}

// Close stops the demo's peers, the SDK instance and the embedded server,
// in that order: the peers and the client log out before the server goes.
func (c *client) Close() {
	if c.demo != nil {
		c.demo.Stop()
	}
	c.sdk.Destroy()
	if c.emb != nil {
		c.emb.Stop()
	}
}
