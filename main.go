// Command xinling is the xinling signaling system: with no command it runs
// the terminal client, `xinling serve` runs the server, `xinling token`
// makes SignalingTokens.
package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/xinling/xinling/loadtest"
	"github.com/xinling/xinling/ui"
)

const usage = `xinling — self-hosted signaling (Agora Signaling SDK v1.4.0 compatible)

Usage:
` + ui.Usage + `  xinling serve [--listen ADDR] [--data DIR] [--app APPID:CERT]... [--closed]
  xinling token --app ID --cert CERT --account A [--expire 24h]
  xinling bench fanout|p2p|logins|idle --server URL [--conns N] …   (the load tool; raw-server for its baseline)

Run "xinling COMMAND -h" for a command's flags ("xinling --client-help" for the client's).
`

func main() {
	var err error
	switch {
	case len(os.Args) < 2 || (strings.HasPrefix(os.Args[1], "-") && !isHelp(os.Args[1])):
		args := os.Args[1:]
		if len(args) == 1 && args[0] == "--client-help" {
			args = []string{"-h"}
		}
		err = clientCmd(args)
	case os.Args[1] == "serve":
		err = serveCmd(os.Args[2:])
	case os.Args[1] == "token":
		err = tokenCmd(os.Args[2:], os.Stdout)
	case os.Args[1] == "bench":
		err = loadtest.Main(os.Args[2:], os.Stdout, os.Stderr)
	case isHelp(os.Args[1]) || os.Args[1] == "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "xinling: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "xinling:", err)
		os.Exit(1)
	}
}

func isHelp(a string) bool { return a == "-h" || a == "--help" || a == "-help" }
