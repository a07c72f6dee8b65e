// Command xinling is the xinling signaling system: `xinling serve` runs the
// server, `xinling token` makes SignalingTokens.
package main

import (
	"fmt"
	"os"
)

const usage = `xinling — self-hosted signaling (Agora Signaling SDK v1.4.0 compatible)

Usage:
  xinling serve [--listen ADDR] [--data DIR] [--app APPID:CERT]... [--closed]
  xinling token --app ID --cert CERT --account A [--expire 24h]

Run "xinling COMMAND -h" for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serveCmd(os.Args[2:])
	case "token":
		err = tokenCmd(os.Args[2:], os.Stdout)
	case "-h", "--help", "help":
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
