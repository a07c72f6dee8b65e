package docs

// These tests read PROTOCOL.md's tables and compare them with the code, so
// that the document a client is written from cannot drift from what the
// server speaks: every op and push, every payload field and its JSON type,
// every code, every limit, and every flag or Config field the document
// names. When one fails, fix whichever side is wrong; the message says
// which table row or Go declaration disagrees.

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xinling/xinling/sdk/wire"
)

const (
	protocolDoc = "PROTOCOL.md"
	wireDir     = "../sdk/wire"
	serverDir   = "../server"
	serveFile   = "../serve.go"
	tokenFile   = "../tokencmd.go"
	configFile  = "../server/config.go"
)

// wireConsts returns the literal constants of package wire.
func wireConsts(t *testing.T) []goConst {
	return constants(parseDir(t, wireDir))
}

// opsIn returns the op names in the code spans of one column of a table.
func opsIn(tb *mdTable, col string) []string {
	var out []string
	for _, r := range tb.rows {
		out = append(out, codeSpans(r[col])...)
	}
	return out
}

// sameSet reports the differences between what the document and the code
// hold, naming where each one is missing.
func sameSet(t *testing.T, what string, doc, code []string) {
	t.Helper()
	in := func(xs []string, x string) bool { return slices.Contains(xs, x) }
	for _, x := range doc {
		if !in(code, x) {
			t.Errorf("%s: %q is in %s but not in the code", what, x, protocolDoc)
		}
	}
	for _, x := range code {
		if !in(doc, x) {
			t.Errorf("%s: %q is in the code but not in %s", what, x, protocolDoc)
		}
	}
	seen := map[string]bool{}
	for _, x := range doc {
		if seen[x] {
			t.Errorf("%s: %q is listed twice in %s", what, x, protocolDoc)
		}
		seen[x] = true
	}
}

func TestProtocolOpsMatchWire(t *testing.T) {
	doc := readDoc(t, protocolDoc)
	var requests, pushes, invitePushes []string
	for _, c := range wireConsts(t) {
		switch {
		case strings.HasPrefix(c.name, "Op") && c.value != wire.OpResult && c.value != wire.OpPong:
			requests = append(requests, c.value)
		case strings.HasPrefix(c.name, "PushInvite"):
			invitePushes = append(invitePushes, c.value)
			pushes = append(pushes, c.value)
		case strings.HasPrefix(c.name, "Push"):
			pushes = append(pushes, c.value)
		}
	}
	if len(requests) == 0 || len(pushes) == 0 {
		t.Fatalf("found no Op/Push constants in %s", wireDir)
	}
	sameSet(t, "requests (§8 Summary)", opsIn(doc.table(t, "8. Requests reference > Summary", "op"), "op"), requests)
	sameSet(t, "pushes (§9)", opsIn(doc.table(t, "9. Pushes reference", "op"), "op"), pushes)
	sameSet(t, "call pushes (§12 Pushes)", opsIn(doc.table(t, "12. The call system > Pushes", "op"), "op"), invitePushes)
	text := strings.Join(doc.lines, "\n")
	for _, op := range []string{wire.OpResult, wire.OpPong} {
		if !strings.Contains(text, `"op":"`+op+`"`) {
			t.Errorf("%s never shows a frame with op %q", protocolDoc, op)
		}
	}
}

// payloads maps each request op to the Go types of its payload and answer
// (nil: the answer is {}). A new op must be added here, which makes its
// author document its fields.
var payloads = map[string]struct{ req, res any }{
	wire.OpLogin:          {wire.LoginReq{}, wire.LoginRes{}},
	wire.OpLogout:         {wire.PingReq{}, nil},
	wire.OpPing:           {wire.PingReq{}, noAnswer{}},
	wire.OpPeerSend:       {wire.PeerSendReq{}, nil},
	wire.OpChannelJoin:    {wire.ChannelReq{}, wire.JoinRes{}},
	wire.OpChannelLeave:   {wire.ChannelReq{}, nil},
	wire.OpChannelCount:   {wire.ChannelReq{}, wire.CountRes{}},
	wire.OpChannelSend:    {wire.ChannelSendReq{}, nil},
	wire.OpChannelSetAttr: {wire.ChannelAttrReq{}, nil},
	wire.OpChannelDelAttr: {wire.ChannelAttrReq{}, nil},
	wire.OpChannelClear:   {wire.ChannelReq{}, nil},
	wire.OpUserSetAttr:    {wire.UserAttrReq{}, nil},
	wire.OpUserGetAttr:    {wire.UserAttrReq{}, wire.UserAttrRes{}},
	wire.OpUserGetAttrAll: {wire.UserAttrReq{}, wire.UserAttrAllRes{}},
	wire.OpUserStatus:     {wire.UserAttrReq{}, wire.StatusRes{}},
	wire.OpInvoke:         {wire.InvokeReq{}, wire.InvokeRes{}},
	wire.OpInvite:         {wire.InviteReq{}, nil},
	wire.OpInviteAck:      {wire.InviteRef{}, nil},
	wire.OpInviteAccept:   {wire.InviteReply{}, nil},
	wire.OpInviteRefuse:   {wire.InviteReply{}, nil},
	wire.OpInviteEnd:      {wire.InviteRef{}, nil},
	wire.OpInviteDTMF:     {wire.InviteDTMF{}, nil},
}

// noAnswer marks ping, answered by a pong frame rather than a result.
type noAnswer struct{}

// pushPayloads maps each push to its payload type and the fields of it the
// push leaves out.
var pushPayloads = map[string]struct {
	typ  any
	drop []string
}{
	wire.PushPeerMsg:         {wire.PeerMsg{}, nil},
	wire.PushChannelMsg:      {wire.ChannelMsg{}, nil},
	wire.PushUserJoined:      {wire.ChannelUser{}, nil},
	wire.PushUserLeft:        {wire.ChannelUser{}, nil},
	wire.PushAttrUpdated:     {wire.AttrUpdate{}, nil},
	wire.PushChannelGone:     {wire.ChannelGone{}, nil},
	wire.PushKicked:          {wire.Kicked{}, nil},
	wire.PushGoAway:          {wire.GoAway{}, nil},
	wire.PushLog:             {wire.LogLine{}, nil},
	wire.PushChannelSnap:     {wire.JoinRes{}, []string{"left"}},
	wire.PushInviteRecv:      {wire.InviteEvent{}, nil},
	wire.PushInviteDelivered: {wire.InviteEvent{}, nil},
	wire.PushInviteAccepted:  {wire.InviteEvent{}, nil},
	wire.PushInviteRefused:   {wire.InviteEvent{}, nil},
	wire.PushInviteFailed:    {wire.InviteEvent{}, nil},
	wire.PushInviteEnded:     {wire.InviteEvent{}, nil},
	wire.PushInviteMsg:       {wire.InviteEvent{}, nil},
}

// objects are the nested objects of §8's second table.
var objects = map[string]any{
	"Resume": wire.Resume{},
	"Cursor": wire.Cursor{},
	"Member": wire.Member{},
	"Attr":   wire.Attr{},
	"Error":  wire.Error{},
}

var rawJSON = reflect.TypeOf(json.RawMessage(nil))

// jsonType is how PROTOCOL.md writes the JSON type of a Go field.
func jsonType(ty reflect.Type) []string {
	if ty == rawJSON {
		return []string{"JSON", "object"} // the document may say which
	}
	switch ty.Kind() {
	case reflect.String:
		return []string{"string"}
	case reflect.Bool:
		return []string{"bool"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return []string{"int"}
	case reflect.Map:
		return []string{"object"}
	case reflect.Pointer:
		return jsonType(ty.Elem())
	case reflect.Struct:
		return []string{ty.Name()}
	case reflect.Slice:
		return []string{"[" + jsonType(ty.Elem())[0] + "]"}
	}
	return []string{ty.String()}
}

// jsonFields returns a struct's JSON field names and their document types.
func jsonFields(v any) map[string][]string {
	out := map[string][]string{}
	ty := reflect.TypeOf(v)
	for i := range ty.NumField() {
		f := ty.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonType(f.Type)
	}
	return out
}

// checkFields compares a documented field list with a Go type. exact: the
// document lists every field (answers, pushes); otherwise it may list a
// subset, and the fields it lists are returned.
func checkFields(t *testing.T, where, cell string, v any, drop []string, exact bool) []string {
	t.Helper()
	fs, ok := fieldList(cell)
	if !ok {
		t.Errorf("%s: %q is not a field list (`name` type, …)", where, cell)
		return nil
	}
	want := jsonFields(v)
	for _, d := range drop {
		delete(want, d)
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.name)
		types, ok := want[f.name]
		switch {
		case !ok:
			t.Errorf("%s: field %q is not in %T", where, f.name, v)
		case !slices.Contains(types, f.typ):
			t.Errorf("%s: field %q is documented as %s, but %T has %s", where, f.name, f.typ, v, strings.Join(types, " or "))
		}
	}
	if exact {
		for name := range want {
			if !slices.Contains(names, name) {
				t.Errorf("%s: %T has field %q, which the document does not list", where, v, name)
			}
		}
	}
	return names
}

func TestProtocolPayloadsMatchWire(t *testing.T) {
	doc := readDoc(t, protocolDoc)
	summary := doc.table(t, "8. Requests reference > Summary", "op")
	reqCols := slices.IndexFunc(summary.header, func(h string) bool { return strings.HasPrefix(h, "request") })
	resCols := slices.IndexFunc(summary.header, func(h string) bool { return strings.HasPrefix(h, "answer") })
	if reqCols < 0 || resCols < 0 {
		t.Fatalf("§8 Summary: want columns `request d` and `answer d`, have %q", summary.header)
	}
	reqCol, resCol := summary.header[reqCols], summary.header[resCols]
	documented := map[reflect.Type][]string{} // request fields documented per Go type
	seen := map[string]bool{}
	for _, r := range summary.rows {
		for _, op := range codeSpans(r["op"]) {
			seen[op] = true
			p, ok := payloads[op]
			if !ok {
				t.Errorf("§8 Summary: op %q has no entry in this test's payloads map: add its Go types", op)
				continue
			}
			where := fmt.Sprintf("§8 Summary, %s", op)
			names := checkFields(t, where+" request", r[reqCol], p.req, nil, false)
			ty := reflect.TypeOf(p.req)
			documented[ty] = append(documented[ty], names...)
			switch p.res.(type) {
			case nil:
				if r[resCol] != "`{}`" {
					t.Errorf("%s answer: the server answers {}, the document says %q", where, r[resCol])
				}
			case noAnswer:
			default:
				checkFields(t, where+" answer", r[resCol], p.res, nil, true)
			}
		}
	}
	for op := range payloads {
		if !seen[op] {
			t.Errorf("§8 Summary: op %q is missing", op)
		}
	}
	// A field added to a request type must be documented for some op.
	for ty, names := range documented {
		for name := range jsonFields(reflect.New(ty).Elem().Interface()) {
			if !slices.Contains(names, name) {
				t.Errorf("§8 Summary: field %q of %s is documented for no op", name, ty)
			}
		}
	}

	objs := doc.table(t, "8. Requests reference > Summary", "object")
	seen = map[string]bool{}
	for _, r := range objs.rows {
		for _, name := range codeSpans(r["object"]) {
			seen[name] = true
			v, ok := objects[name]
			if !ok {
				t.Errorf("§8 objects: %q has no entry in this test's objects map", name)
				continue
			}
			checkFields(t, "§8 objects, "+name, r["fields"], v, nil, true)
		}
	}
	for name := range objects {
		if !seen[name] {
			t.Errorf("§8 objects: %s is missing", name)
		}
	}

	pushes := doc.table(t, "9. Pushes reference", "op")
	seen = map[string]bool{}
	for _, r := range pushes.rows {
		for _, op := range codeSpans(r["op"]) {
			seen[op] = true
			p, ok := pushPayloads[op]
			if !ok {
				t.Errorf("§9: push %q has no entry in this test's pushPayloads map", op)
				continue
			}
			checkFields(t, "§9 "+op, r["payload `d`"], p.typ, p.drop, true)
		}
	}
	for op := range pushPayloads {
		if !seen[op] {
			t.Errorf("§9: push %q is missing", op)
		}
	}
}

var codeList = regexp.MustCompile(`(\d+)(?:\s*[–-]\s*(\d+))?`)

// otherCodes parses the §15 sentence that lists the codes the server never
// sends: "The other codes of SPEC.md §3 (101, 102, 105–107, …)".
func otherCodes(t *testing.T, doc *mdDoc) []int {
	t.Helper()
	lines, _ := doc.section(t, "15. Codes the server sends")
	text := strings.Join(lines, " ")
	const lead = "The other codes of SPEC.md §3 ("
	i := strings.Index(text, lead)
	if i < 0 {
		t.Fatalf("§15: no sentence starting %q", lead)
	}
	list, _, _ := strings.Cut(text[i+len(lead):], ")")
	var out []int
	for _, m := range codeList.FindAllStringSubmatch(list, -1) {
		a, _ := strconv.Atoi(m[1])
		b := a
		if m[2] != "" {
			b, _ = strconv.Atoi(m[2])
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out
}

func TestProtocolCodesMatchWire(t *testing.T) {
	doc := readDoc(t, protocolDoc)
	byValue := map[int]string{} // code → Go constant
	var all []string
	for _, c := range wireConsts(t) {
		if c.typ == "Code" {
			v, _ := strconv.Atoi(c.value)
			byValue[v] = c.name
			all = append(all, c.value)
		}
	}
	if len(all) == 0 {
		t.Fatalf("found no Code constants in %s", wireDir)
	}
	refs := wireRefs(t, serverDir)

	var listed, sentCodes []string
	sent := doc.table(t, "15. Codes the server sends", "code")
	for _, r := range sent.rows {
		v, err := strconv.Atoi(r["code"])
		if err != nil {
			t.Errorf("§15: code %q is not a number", r["code"])
			continue
		}
		listed = append(listed, r["code"])
		sentCodes = append(sentCodes, r["code"])
		if got := wire.Code(v).String(); r["name"] != got {
			t.Errorf("§15: code %d is named %s in the document and %s by wire", v, r["name"], got)
		}
		if name, ok := byValue[v]; ok && !refs[name] {
			t.Errorf("§15: the document says the server sends %d, but no code under %s refers to wire.%s", v, serverDir, name)
		}
	}
	for _, v := range otherCodes(t, doc) {
		listed = append(listed, strconv.Itoa(v))
		if name, ok := byValue[v]; ok && refs[name] {
			t.Errorf("§15: the document says the server never sends %d, but %s refers to wire.%s: move it to the table", v, serverDir, name)
		}
	}
	sameSet(t, "codes (§15 table and its list of the other codes)", listed, all)

	// A login refusal (§5) is a code the server sends (§15): the two
	// tables once disagreed on the refused login rate (200 and 201).
	refusals := doc.table(t, "5. Login > Refusals", "condition")
	for _, r := range refusals.rows {
		code := strings.Trim(r["code"], "*")
		if !slices.Contains(sentCodes, code) {
			t.Errorf("§5 refusal %q answers %s, which §15 does not list as sent by the server", r["condition"], code)
		}
	}

	// Every code an op's row names is a code.
	summary := doc.table(t, "8. Requests reference > Summary", "op")
	for _, r := range summary.rows {
		for _, m := range regexp.MustCompile(`\b\d{3,4}\b`).FindAllString(r["other errors"], -1) {
			if v, _ := strconv.Atoi(m); byValue[v] == "" {
				t.Errorf("§8 Summary %s: %s is not a code", r["op"], m)
			}
		}
	}
}

func TestProtocolLimitsMatchWire(t *testing.T) {
	doc := readDoc(t, protocolDoc)
	limits := doc.table(t, "14. Limits", "limit")
	row := func(name string) map[string]string {
		for _, r := range limits.rows {
			if r["limit"] == name {
				return r
			}
		}
		t.Errorf("§14: no row %q", name)
		return map[string]string{}
	}
	// Each limit of package wire, and where the document gives it.
	checks := []struct {
		constant, row, want string
	}{
		{"MaxFrameBytes", "one WebSocket message, client → server", fmt.Sprintf("%d KiB", wire.MaxFrameBytes>>10)},
		{"MaxNameBytes", "account, channel, attribute name, app id", fmt.Sprintf("1–%d bytes", wire.MaxNameBytes)},
		{"MaxNameBytes", "DTMF digits", fmt.Sprintf("1–%d of", wire.MaxNameBytes)},
		{"MaxMessageBytes", "peer / channel message", fmt.Sprintf("%d bytes", wire.MaxMessageBytes)},
		{"MaxValueBytes", "attribute value (user and channel)", fmt.Sprintf("%d bytes", wire.MaxValueBytes)},
		{"MaxExtraBytes", "invite extra (invite, accept, refuse)", fmt.Sprintf("%d bytes", wire.MaxExtraBytes)},
		{"MaxAttrs", "attributes per channel, per account", strconv.Itoa(wire.MaxAttrs)},
	}
	covered := map[string]bool{}
	for _, c := range checks {
		covered[c.constant] = true
		if got := row(c.row)["default"]; !strings.HasPrefix(got, c.want) {
			t.Errorf("§14 %q: the default is %q; wire.%s says %q", c.row, got, c.constant, c.want)
		}
	}
	for _, c := range wireConsts(t) {
		if strings.HasPrefix(c.name, "Max") && !covered[c.name] {
			t.Errorf("wire.%s = %s is a limit the document does not give: add a §14 row and a check here", c.name, c.value)
		}
	}
	text := strings.Join(doc.lines, "\n")
	for _, want := range []string{
		fmt.Sprintf("%d bytes (%d KiB) per WebSocket message", wire.MaxFrameBytes, wire.MaxFrameBytes>>10), // §1
		fmt.Sprintf("must be `%d` (`wire.Version`)", wire.Version),                                         // §5
		fmt.Sprintf("# The xinling wire protocol (version %d)", wire.Version),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("%s does not say %q", protocolDoc, want)
		}
	}
}

func TestProtocolBuiltinsMatchWire(t *testing.T) {
	doc := readDoc(t, protocolDoc)
	var attrs, special []string
	for _, c := range wireConsts(t) {
		switch {
		case strings.HasPrefix(c.name, "Attr"):
			attrs = append(attrs, c.value)
		case c.name == "ChannelUserOnline" || c.name == "ChannelEvents":
			special = append(special, c.value)
		}
	}
	sameSet(t, "built-in attributes (§10)", opsIn(doc.table(t, "10. Channels > Built-in attributes", "name"), "name"), attrs)
	sameSet(t, "special channels (§10)", opsIn(doc.table(t, "10. Channels > Special channels", "channel"), "channel"), special)
}

var (
	flagRef   = regexp.MustCompile(`(?:^|[\s\[(])--([a-z][a-z0-9-]*)`)
	configRef = regexp.MustCompile(`\bConfig\.([A-Z][A-Za-z0-9]*)`)
	amount    = regexp.MustCompile(`(\d[\d,]*(?:\.\d+)?)(?:\s*(KiB|MiB|ms|s|min|h)\b)?`)
)

func TestProtocolSettingsMatchServe(t *testing.T) {
	doc := readDoc(t, protocolDoc)
	serve := flags(t, serveFile)
	all := map[string]flagDef{}
	for k, v := range flags(t, tokenFile) {
		all[k] = v
	}
	for k, v := range serve {
		all[k] = v
	}
	fromFlag := configFlags(t, serveFile, serve)
	fields := structFields(t, parseDir(t, serverDir), "Config")

	// Everywhere: a --flag the document names exists, and a Config field it
	// names exists and is not one that a flag sets (then name the flag).
	for i, l := range doc.lines {
		for _, span := range codeSpans(l) {
			for _, m := range flagRef.FindAllStringSubmatch(span, -1) {
				if _, ok := all[m[1]]; !ok {
					t.Errorf("%s:%d names --%s, which is not a flag of xinling serve or xinling token", protocolDoc, i+1, m[1])
				}
			}
		}
		for _, m := range configRef.FindAllStringSubmatch(l, -1) {
			switch flag, ok := fromFlag[m[1]]; {
			case !fields[m[1]]:
				t.Errorf("%s:%d names Config.%s, which server.Config does not have", protocolDoc, i+1, m[1])
			case ok:
				t.Errorf("%s:%d names Config.%s, which the operator sets with --%s: name the flag", protocolDoc, i+1, m[1], flag)
			}
		}
	}

	// The defaults of the tables with a setting column are the flags' defaults.
	for _, tb := range []*mdTable{
		doc.table(t, "6. Heartbeats, timeouts, logout, kick, goaway > Other timeouts", ""),
		doc.table(t, "14. Limits", "limit"),
	} {
		for _, r := range tb.rows {
			var fls []flagDef
			for _, span := range codeSpans(r["setting"]) {
				if m := flagRef.FindStringSubmatch(span); m != nil {
					fls = append(fls, all[m[1]])
				}
			}
			amounts := amount.FindAllStringSubmatch(r["default"], -1)
			for i, fd := range fls {
				if fd.kind != "Int" && fd.kind != "Duration" {
					continue
				}
				if i >= len(amounts) {
					t.Errorf("%s line %d: no default given for --%s", protocolDoc, tb.line, fd.name)
					continue
				}
				if msg := compareDefault(fd, amounts[i][1], amounts[i][2]); msg != "" {
					t.Errorf("%s, row %q: --%s %s", protocolDoc, r[tb.header[0]], fd.name, msg)
				}
			}
		}
	}
}

// compareDefault compares a flag's default with the number and unit the
// document gives; it returns what differs, or "".
func compareDefault(fd flagDef, num, unit string) string {
	n, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimRight(num, ","), ",", ""), 64)
	if err != nil {
		return fmt.Sprintf("default %q is not a number", num)
	}
	if fd.kind == "Int" {
		if unit != "" || int64(n) != fd.num {
			return fmt.Sprintf("defaults to %d; the document says %s %s", fd.num, num, unit)
		}
		return ""
	}
	units := map[string]time.Duration{"ms": time.Millisecond, "s": time.Second, "min": time.Minute, "h": time.Hour}
	u, ok := units[unit]
	if !ok || time.Duration(n*float64(u)) != fd.dur {
		return fmt.Sprintf("defaults to %v; the document says %s %s", fd.dur, num, unit)
	}
	return ""
}

// TestProtocolTablesParse guards the parsers above: a test that found no
// rows would check nothing.
func TestProtocolTablesParse(t *testing.T) {
	doc := readDoc(t, protocolDoc)
	for _, c := range []struct{ heading, col string }{
		{"8. Requests reference > Summary", "op"},
		{"8. Requests reference > Summary", "object"},
		{"9. Pushes reference", "op"},
		{"12. The call system > Pushes", "op"},
		{"14. Limits", "limit"},
		{"15. Codes the server sends", "code"},
	} {
		if n := len(doc.table(t, c.heading, c.col).rows); n < 4 {
			t.Errorf("%s: the table with column %q has %d rows", c.heading, c.col, n)
		}
	}
	if got := otherCodes(t, doc); len(got) < 10 || !sort.IntsAreSorted(got) {
		t.Errorf("§15: the list of codes the server never sends parsed as %v", got)
	}
}
