package sipgw

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"

	"github.com/xinling/xinling/server/gateway"
)

// newInvite builds the INVITE for a call. Everything that comes from a user
// (number, caller, source, channel) is checked or escaped here: sipgo
// writes header values as given.
func (g *Gateway) newInvite(c gateway.Call) (*sip.Request, error) {
	number, err := normalizeNumber(c.Number)
	if err != nil {
		return nil, err
	}
	if !validHeaderValue(c.Channel) {
		return nil, fmt.Errorf("sipgw: channel %q has control characters", c.Channel)
	}
	who := strings.TrimSpace(c.Source)
	if who == "" {
		who = strings.TrimSpace(c.Caller)
	}
	if who == "" {
		who = "anonymous"
	}

	req := sip.NewRequest(sip.INVITE, sip.Uri{
		Scheme: "sip",
		User:   escapeUser(number),
		Host:   uriHost(g.proxyHost),
		Port:   g.proxyPort,
	})
	req.SetTransport("UDP")

	from := &sip.FromHeader{
		DisplayName: quoteDisplay(who),
		Address:     sip.Uri{Scheme: "sip", User: escapeUser(who), Host: uriHost(g.cfg.Domain)},
		Params:      sip.NewParams(),
	}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	// To is built from the Request-URI by sipgo; set Call-ID here so the
	// call's log lines carry it from the start.
	callID := sip.CallIDHeader(sip.GenerateTagN(24) + "@" + g.cfg.Domain)
	req.AppendHeader(&callID)
	req.AppendHeader(g.dua.ContactHDR.Clone())
	if c.Channel != "" {
		req.AppendHeader(sip.NewHeader("X-Xinling-Channel", c.Channel))
	}
	req.AppendHeader(sip.NewHeader("User-Agent", userAgent))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, INFO, OPTIONS"))
	ct := sip.ContentTypeHeader("application/sdp")
	req.AppendHeader(&ct)
	req.SetBody(g.sdpOffer())
	return req, nil
}

// sdpOffer is a minimal audio offer: PCMU to a port nobody listens on.
func (g *Gateway) sdpOffer() []byte {
	ipv := "IP4"
	if strings.Contains(g.advHost, ":") {
		ipv = "IP6"
	}
	id := strconv.FormatInt(time.Now().Unix(), 10)
	return []byte("v=0\r\n" +
		"o=xinling " + id + " " + id + " IN " + ipv + " " + g.advHost + "\r\n" +
		"s=xinling\r\n" +
		"c=IN " + ipv + " " + g.advHost + "\r\n" +
		"t=0 0\r\n" +
		"m=audio " + strconv.Itoa(dummyRTPPort) + " RTP/AVP 0\r\n" +
		"a=rtpmap:0 PCMU/8000\r\n" +
		"a=sendrecv\r\n")
}

// normalizeNumber accepts a phone number: digits, * and #, an optional
// leading +, and the visual separators of RFC 3966 (space - . ( )), which
// it drops.
func normalizeNumber(s string) (string, error) {
	var b strings.Builder
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r == '*', r == '#':
			b.WriteRune(r)
			digits++
		case r == '+' && b.Len() == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", fmt.Errorf("sipgw: invalid phone number %q", s)
		}
	}
	if digits == 0 {
		return "", fmt.Errorf("sipgw: invalid phone number %q", s)
	}
	if digits > 32 {
		return "", errors.New("sipgw: phone number too long")
	}
	return b.String(), nil
}

// escapeUser percent-encodes s for the user part of a SIP URI (RFC 3261
// 25.1), keeping only characters every parser takes as they are.
func escapeUser(s string) string {
	const keep = "-_.!~*'()+&=$,"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch < utf8.RuneSelf && (ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte(keep, ch) >= 0) {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}

// quoteDisplay makes s the inside of a quoted-string display name: control
// characters dropped, quote and backslash escaped.
func quoteDisplay(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r):
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// validHeaderValue rejects what could break out of a header line.
func validHeaderValue(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' {
			return false
		}
	}
	return true
}
