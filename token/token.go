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
	ts, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || ts < 0 {
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
