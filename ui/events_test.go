package ui

import (
	"strings"
	"testing"
)

// An inspector line is cut to fit; enter on it shows the whole callback.
func TestEventDetailShowsTheWholeCallback(t *testing.T) {
	m, _, _ := newTestModel(t)
	long := `{"members":["` + strings.Repeat("someone-with-a-long-name", 20) + `"],"end":"THE-END"}`
	send(m, Event{Name: "InvokeRet", MsgID: "call1", Value: long},
		Event{Name: "Log", Value: "a later line"})
	press(m, "ctrl+e")
	scr := screenText(t, m, 120, 40)
	mustSee(t, scr, "onInvokeRet(value={\"members\"", "…")
	for _, row := range strings.Split(scr, "\n") {
		if strings.Contains(row, "onInvokeRet") && strings.Contains(row, "THE-END") {
			t.Fatalf("the inspector line is not cut: %q", row)
		}
	}
	press(m, "up") // from the newest (the log line) to the invoke result
	press(m, "enter")
	d, ok := m.topDialog().(*eventDialog)
	if !ok || d.e.ev.Name != "InvokeRet" {
		t.Fatalf("detail of %T %+v", m.topDialog(), d)
	}
	scr = screenText(t, m, 120, 40)
	mustSee(t, scr, "onInvokeRet", "id: call1", `"end": "THE-END"`)
	press(m, "esc")
	if m.topDialog() != nil {
		t.Fatal("esc left the detail open")
	}
}
