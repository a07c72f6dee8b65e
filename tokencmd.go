package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/xinling/xinling/token"
)

func tokenCmd(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	app := fs.String("app", "", "app ID")
	cert := fs.String("cert", "", "the app's certificate")
	account := fs.String("account", "", "the account the token is for")
	expire := fs.Duration("expire", 24*time.Hour, "how long the token is valid")
	at := fs.Int64("expired-ts", 0, "exact expiry as Unix seconds (overrides --expire)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *app == "" || *cert == "" || *account == "" {
		return errors.New("token: --app, --cert and --account are required")
	}
	ts := *at
	if ts == 0 {
		ts = time.Now().Add(*expire).Unix()
	}
	_, err := fmt.Fprintln(out, token.Make(*app, *cert, *account, ts))
	return err
}
