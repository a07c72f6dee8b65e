package ui

// geom is the screen's layout at the current size.
type geom struct {
	wide                 bool
	leftW, rightW        int // wide: side columns (outer)
	centerW              int
	bodyH                int // everything but the status bar
	msgOuter, msgW, msgH int
	compOuter, compRows  int
	eventsOuter          int // wide, when the inspector shows
	tabsOuter            int // narrow: the tab panel
	peersOuter           int // wide: right column split
	attrsOuter           int
	callsOuter           int
}

func (m *Model) layout() geom {
	W, H := m.width, m.height
	g := geom{wide: W >= wideMin, bodyH: H - 1}
	if g.wide {
		g.leftW = 22
		g.rightW = 34
		if W >= 140 {
			g.leftW, g.rightW = 26, 44
		}
		g.centerW = W - g.leftW - g.rightW
	} else {
		g.centerW = W
	}
	g.compRows = clampInt(m.composer.Lines(g.centerW-3), 1, 6)
	g.compOuter = g.compRows + 2
	rest := g.bodyH - g.compOuter
	if g.wide {
		if m.events.show {
			g.eventsOuter = clampInt(rest/3, 4, rest-5)
		}
		g.msgOuter = rest - g.eventsOuter
		g.peersOuter = clampInt(g.bodyH/4, 4, 12)
		g.callsOuter = clampInt(g.bodyH/4, 5, 12)
		g.attrsOuter = g.bodyH - g.peersOuter - g.callsOuter
	} else {
		g.tabsOuter = clampInt(rest/3, 5, 14)
		if rest-g.tabsOuter < 5 {
			g.tabsOuter = max(rest-5, 3)
		}
		g.msgOuter = rest - g.tabsOuter
	}
	g.msgW = g.centerW - 2
	g.msgH = max(g.msgOuter-2, 1)
	return g
}

func clampInt(v, lo, hi int) int {
	if hi < lo {
		hi = lo
	}
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}
