package sdk

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultServer is the server used when neither WithServer / WithServers
// nor $XINLING_SERVER names one.
const DefaultServer = "ws://127.0.0.1:9470"

// Option configures an instance at creation.
type Option func(*config)

type config struct {
	servers         []string // as given; normalised and checked by NewInstance
	reconnectWindow time.Duration
	requestTimeout  time.Duration
	dialer          *websocket.Dialer
	tls             *tls.Config

	// Unexported tunables; tests in this package shorten them.
	heartbeat   time.Duration // ping interval; 0 = what the server asks for
	backoffBase time.Duration // first retry delay
	backoffCap  time.Duration // largest retry delay
	closeWait   time.Duration // how long a graceful close may take
}

func defaultConfig() config {
	servers := SplitServers(os.Getenv("XINLING_SERVER"))
	if len(servers) == 0 {
		servers = []string{DefaultServer}
	}
	return config{
		servers:         servers,
		reconnectWindow: 2 * time.Minute,
		requestTimeout:  10 * time.Second,
		backoffBase:     250 * time.Millisecond,
		backoffCap:      5 * time.Second,
		closeWait:       time.Second,
	}
}

// WithServer sets the server URL: "ws://host:port" or "wss://host:port",
// path optional ("/ws" when none is given). "http(s)://" is taken as
// "ws(s)://", and a bare "host:port" as "ws://host:port". It is
// WithServers with one URL.
func WithServer(u string) Option {
	return func(c *config) { c.servers = []string{u} }
}

// WithServers sets several URLs of one server cluster, each as WithServer
// takes it. A login tries them in order from the first; a failed dial
// (refused, timed out, upgrade refused) moves on to the next at once, and
// only when every URL failed does the attempt count as failed and back off.
// A reconnect tries the URL the session was on first, then the others in
// turn; after the server's goaway it starts with another URL. Without this
// option (or WithServer) the SDK uses $XINLING_SERVER, which may hold a
// comma-separated list, else DefaultServer. A URL that is not valid (and an
// empty list) makes Login fail with onLoginFailed(201) and an onLog line
// naming it.
func WithServers(urls ...string) Option {
	return func(c *config) { c.servers = slices.Clone(urls) }
}

// SplitServers splits a comma-separated list of server URLs (as
// $XINLING_SERVER may hold), trimming spaces and dropping empty entries.
func SplitServers(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// WithReconnectWindow sets how long the SDK keeps trying to restore a lost
// connection before giving up with onLogout(102). Default 2 minutes.
func WithReconnectWindow(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.reconnectWindow = d
		}
	}
}

// WithRequestTimeout sets how long a request may wait for the server's
// answer (and a login attempt for the login answer). Default 10 s.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.requestTimeout = d
		}
	}
}

// WithDialer sets the WebSocket dialer (TLS configuration, proxy, …). The
// SDK copies it; nil means a default dialer.
func WithDialer(d *websocket.Dialer) Option {
	return func(c *config) { c.dialer = d }
}

// WithTLSConfig sets the TLS configuration for wss:// servers, e.g. a
// RootCAs pool that trusts a private CA. It applies on top of WithDialer.
func WithTLSConfig(t *tls.Config) Option {
	return func(c *config) { c.tls = t }
}

// serverURL normalises a WithServer argument; one that is not valid is
// returned trimmed, unchanged otherwise.
func serverURL(s string) string {
	u, err := parseServerURL(s)
	if err != nil {
		return strings.TrimSpace(s)
	}
	return u
}

// parseServerURL normalises a WithServer argument and checks it: a ws or
// wss URL (http and https taken as such) with a host and a valid port.
func parseServerURL(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("empty")
	}
	if !strings.Contains(s, "://") {
		s = "ws://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is named by the caller
		}
		return "", err
	}
	switch strings.ToLower(u.Scheme) {
	case "ws", "wss":
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("scheme %q is not ws, wss, http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return "", errors.New("no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("port %q out of range", p)
		}
	}
	if u.Path == "" {
		u.Path = "/ws"
	}
	return u.String(), nil
}

// serverURLs normalises and checks a list of server URLs. On error the
// list holds what could be normalised (the others as given) and the error
// names the first bad URL.
func serverURLs(list []string) ([]string, error) {
	if len(list) == 0 {
		return nil, errors.New("no server URL given")
	}
	out := make([]string, len(list))
	var first error
	for i, s := range list {
		u, err := parseServerURL(s)
		if err != nil {
			u = strings.TrimSpace(s)
			if first == nil {
				first = fmt.Errorf("bad server URL %q: %v", s, err)
			}
		}
		out[i] = u
	}
	return out, first
}

// Client is one SDK instance. Create it with NewInstance or GetInstance; it
// implements API.
type Client struct {
	appID  string
	cfg    config
	url    string   // the first of urls ("" when none)
	urls   []string // the servers, normalised; never changed
	urlErr error    // a bad or missing URL: every Login fails with it

	// mu orders status changes: API methods that change the status (Login,
	// Logout, Destroy) do so and enqueue their command under it; the engine
	// changes it only for its current epoch (see transition). It is never
	// held during I/O or while a callback runs.
	mu     sync.Mutex
	epoch  uint64
	status atomic.Int32

	destroyed atomic.Bool
	cb        atomic.Pointer[cbHolder]

	cmds       *queue[item] // → engine goroutine
	disp       *dispatcher  // → callback goroutine
	wg         sync.WaitGroup
	engineDone chan struct{}
	eng        *engine
}

type cbHolder struct{ cb Callback }

// item is one unit of work for the engine goroutine. cleanup, when set, is
// run instead of fn if the instance was destroyed before fn could run; it
// releases what the item carries (a dialled socket).
type item struct {
	fn      func()
	cleanup func()
}

var _ API = (*Client)(nil)

// NewInstance creates a new, independent instance (createAgoraSDKInstanceWin).
// appID is used by Login when its own appID argument is empty.
func NewInstance(appID string, opts ...Option) *Client {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	urls, urlErr := serverURLs(cfg.servers)
	c := &Client{
		appID:      appID,
		cfg:        cfg,
		urls:       urls,
		urlErr:     urlErr,
		cmds:       newQueue[item](),
		engineDone: make(chan struct{}),
	}
	if len(urls) > 0 {
		c.url = urls[0]
	}
	c.disp = newDispatcher(c.callback)
	c.eng = newEngine(c, instancePrefix())
	go c.disp.run()
	go c.eng.run()
	return c
}

var shared struct {
	mu sync.Mutex
	c  *Client
}

// GetInstance returns the process's shared instance (getAgoraSDKInstanceWin),
// creating it with appID and opts on the first call; later calls return it
// and ignore their arguments. Destroy of the shared instance clears the
// slot, so the next GetInstance creates a new one.
func GetInstance(appID string, opts ...Option) *Client {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.c == nil {
		shared.c = NewInstance(appID, opts...)
	}
	return shared.c
}

// instancePrefix is the random part of the message IDs an instance makes.
func instancePrefix() string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "m" + hex.EncodeToString([]byte(time.Now().Format("150405.000000")))
	}
	return hex.EncodeToString(b[:])
}

// post hands fn to the engine goroutine; false once the instance is destroyed.
func (c *Client) post(fn func()) bool { return c.cmds.push(item{fn: fn}) }

// Destroy ends the session quietly — a best-effort logout to the server,
// no callbacks — and stops every goroutine of the instance. Callbacks not
// yet delivered are dropped. It is idempotent; methods called afterwards do
// nothing. It returns once the instance's goroutines are gone, except that
// when called from one of its own callbacks it does not wait for that
// callback goroutine, which ends as soon as the callback returns.
func (c *Client) Destroy() {
	if c.destroyed.CompareAndSwap(false, true) {
		c.mu.Lock()
		c.epoch++
		c.status.Store(StatusLoggedOut)
		c.cmds.push(item{fn: c.eng.destroy})
		c.mu.Unlock()

		shared.mu.Lock()
		if shared.c == c {
			shared.c = nil
		}
		shared.mu.Unlock()
	}
	<-c.engineDone
	c.disp.stopAndWait()
}

// CallbackSet sets the callback; nil means BaseCallback (events dropped).
func (c *Client) CallbackSet(cb Callback) { c.cb.Store(&cbHolder{cb}) }

// CallbackGet returns what CallbackSet last set (nil if nothing was set).
func (c *Client) CallbackGet() Callback {
	if h := c.cb.Load(); h != nil {
		return h.cb
	}
	return nil
}

// callback is the callback events are delivered to.
func (c *Client) callback() Callback {
	if h := c.cb.Load(); h != nil && h.cb != nil {
		return h.cb
	}
	return BaseCallback{}
}

// GetStatus returns 0 not logged in, 1 logging in, 2 logged in,
// 3 reconnecting. It never blocks.
func (c *Client) GetStatus() int { return int(c.status.Load()) }

// IsOnline reports GetStatus() == 2.
func (c *Client) IsOnline() bool { return c.GetStatus() == StatusLoggedIn }

// GetSdkVersion returns Version (1010400000 + build number).
func (c *Client) GetSdkVersion() int { return Version }

// transition sets the status to to if epoch is still the current one, that
// is, if no Login, Logout or Destroy happened since the engine's session
// began. On false the engine's session is stale and a queued command will
// end it.
func (c *Client) transition(epoch uint64, to int32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return false
	}
	c.status.Store(to)
	return true
}
