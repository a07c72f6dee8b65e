package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk"
	"github.com/xinling/xinling/server"
	"github.com/xinling/xinling/server/store"
)

// privateCA makes a CA and a certificate it signed for 127.0.0.1.
func privateCA(t *testing.T) (*x509.CertPool, tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "xinling test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestTLSWithPrivateCA(t *testing.T) {
	pool, cert := privateCA(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	node := server.New(server.Config{Store: store.Memory()})
	done := make(chan error, 1)
	go func() { done <- node.Serve(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}})) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = node.Shutdown(ctx)
		<-done
	})
	url := "wss://" + l.Addr().String()

	// Trusting the private CA: it works.
	c := sdk.NewInstance(testApp, sdk.WithServer(url), sdk.WithTLSConfig(&tls.Config{RootCAs: pool}))
	defer c.Destroy()
	r := newRec()
	c.CallbackSet(r)
	c.Login(testApp, "alice", "", 0, "")
	r.expect(t, "OnLoginSuccess(0)")
	c.SetAttr("k", "v")
	c.GetAttr("k")
	r.expect(t, "OnUserAttrResult(alice,k,v)")

	// Without it, the certificate is refused and the login fails as a network error.
	u := sdk.NewInstance(testApp, sdk.WithServer(url))
	defer u.Destroy()
	ru := newRec()
	u.CallbackSet(ru)
	u.Login2(testApp, "bob", "", 0, "", 5, 1)
	ru.expect(t, "OnLoginFailed(201)")
}
