// Package token makes and checks SignalingTokens, Agora's format:
// "1:" + appID + ":" + expiredTs + ":" + md5hex(account + appID + certificate + expiredTs).
package token

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Errors of Verify; the server maps them to login codes 206 and 204.
var (
	ErrWrong   = errors.New("token: wrong")
	ErrExpired = errors.New("token: expired")
)

// Make returns the token for account, valid until expiredTs (Unix seconds).
func Make(appID, certificate, account string, expiredTs int64) string {
	ts := strconv.FormatInt(expiredTs, 10)
	return "1:" + appID + ":" + ts + ":" + sign(appID, certificate, account, ts)
}

func sign(appID, certificate, account, ts string) string {
	sum := md5.Sum([]byte(account + appID + certificate + ts))
	return hex.EncodeToString(sum[:])
}

// Verify checks tok for account against the app's certificate at time now.
// The app ID inside the token must equal appID exactly.
func Verify(tok, appID, certificate, account string, now time.Time) error {
	parts := strings.Split(tok, ":")
	if len(parts) != 4 || parts[0] != "1" || parts[1] != appID {
		return ErrWrong
	}
	ts, ok := parseExpiry(parts[2])
	if !ok {
		return ErrWrong
	}
	want := sign(appID, certificate, account, parts[2])
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(parts[3])), []byte(want)) != 1 {
		return ErrWrong
	}
	if now.Unix() > ts {
		return ErrExpired
	}
	return nil
}

// parseExpiry reads expiredTs as documented: a non-negative decimal
// integer written as Make writes it (digits only, no sign, no leading zero).
// strconv.ParseInt alone also takes "+00<ts>", one expiry spelled many ways.
func parseExpiry(s string) (int64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	ts, err := strconv.ParseInt(s, 10, 64)
	return ts, err == nil
}
