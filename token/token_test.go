package token

import (
	"errors"
	"testing"
	"time"
)

// The public vectors from Agora's documentation.
var vectors = []struct {
	account, appID, cert string
	ts                   int64
	want                 string
}{
	{"2882341273", "970CA35de60c44645bbae8a215061b33", "5CFd2fd1755d40ecb72977518be15d3b", 1514219634,
		"1:970CA35de60c44645bbae8a215061b33:1514219634:82539e1f3973bcfe3f0d0c8993e6c051"},
	{"TestAccount", "970ca35de60c44645bbae8a215061b33", "5cfd2fd1755d40ecb72977518be15d3b", 1446455471,
		"1:970ca35de60c44645bbae8a215061b33:1446455471:4815d52c4fd440bac35b981c12798774"},
	{"test@agora.io", "C5D15F8FD394285DA5227B533302A518", "fe1a0437bf217bdd34cd65053fb0fe1d", 1546271999,
		"1:C5D15F8FD394285DA5227B533302A518:1546271999:2d572d6e3a75ebde5a06626f40fe9684"},
}

func TestMakeVectors(t *testing.T) {
	for _, v := range vectors {
		if got := Make(v.appID, v.cert, v.account, v.ts); got != v.want {
			t.Errorf("Make(%q) = %q, want %q", v.account, got, v.want)
		}
	}
}

func TestVerify(t *testing.T) {
	for _, v := range vectors {
		before := time.Unix(v.ts-1, 0)
		if err := Verify(v.want, v.appID, v.cert, v.account, before); err != nil {
			t.Errorf("Verify(%q) before expiry: %v", v.account, err)
		}
		if err := Verify(v.want, v.appID, v.cert, v.account, time.Unix(v.ts+1, 0)); !errors.Is(err, ErrExpired) {
			t.Errorf("Verify(%q) after expiry = %v, want ErrExpired", v.account, err)
		}
		if err := Verify(v.want, v.appID, v.cert, v.account+"x", before); !errors.Is(err, ErrWrong) {
			t.Errorf("Verify for another account = %v, want ErrWrong", err)
		}
		if err := Verify(v.want, v.appID, "0"+v.cert[1:], v.account, before); !errors.Is(err, ErrWrong) {
			t.Errorf("Verify with another certificate = %v, want ErrWrong", err)
		}
	}
	for _, bad := range []string{"", "_no_need_token", "1:a:b", "2:app:1:x", "1:other:99999999999:00", "1:app:notanumber:00"} {
		if err := Verify(bad, "app", "cert", "acc", time.Unix(0, 0)); !errors.Is(err, ErrWrong) {
			t.Errorf("Verify(%q) = %v, want ErrWrong", bad, err)
		}
	}
}

// TestVerifyTakesOnlyCanonicalExpiry: the expiry is the documented
// non-negative decimal integer, written as Make writes it. A sign, leading
// zeros, spaces or an out-of-range value are refused even when the signature
// was computed over exactly that text.
func TestVerifyTakesOnlyCanonicalExpiry(t *testing.T) {
	const app, cert, acct = "app", "cert", "acc"
	signed := func(ts string) string { return "1:" + app + ":" + ts + ":" + sign(app, cert, acct, ts) }
	now := time.Unix(1700000000, 0)
	if err := Verify(signed("1800000000"), app, cert, acct, now); err != nil {
		t.Fatalf("a canonical expiry was refused: %v", err)
	}
	if err := Verify(signed("0"), app, cert, acct, time.Unix(0, 0)); err != nil {
		t.Fatalf("expiry 0 at time 0 was refused: %v", err)
	}
	for _, ts := range []string{"+001800000000", "+1800000000", "01800000000", "00", "-0", " 1800000000", "1800000000 ",
		"1_800_000_000", "0x6B49D200", "1.8e9", "", "99999999999999999999", "९"} {
		if err := Verify(signed(ts), app, cert, acct, now); !errors.Is(err, ErrWrong) {
			t.Errorf("expiry %q: %v, want ErrWrong", ts, err)
		}
	}
}
