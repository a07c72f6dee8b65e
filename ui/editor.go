package ui

import (
	"strings"
	"unicode"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// editor is a small multi-line text editor: the composer and the dialogs'
// fields. It soft-wraps to its width and draws its own cursor.
type editor struct {
	buf       []rune
	pos       int // cursor, 0..len(buf)
	multiline bool
	mask      bool // draw • for each rune (tokens)
}

func (e *editor) Value() string { return string(e.buf) }

func (e *editor) Set(s string) {
	e.buf = []rune(s)
	e.pos = len(e.buf)
}

func (e *editor) Reset() { e.buf, e.pos = nil, 0 }

func (e *editor) Empty() bool { return len(e.buf) == 0 }

func (e *editor) Insert(s string) {
	if !e.multiline {
		s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	} else {
		s = strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s)
	}
	s = strings.Map(func(r rune) rune {
		if r == '\t' {
			return ' '
		}
		if r != '\n' && unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	rs := []rune(s)
	nb := make([]rune, 0, len(e.buf)+len(rs))
	nb = append(nb, e.buf[:e.pos]...)
	nb = append(nb, rs...)
	nb = append(nb, e.buf[e.pos:]...)
	e.buf = nb
	e.pos += len(rs)
}

func (e *editor) Newline() {
	if e.multiline {
		e.Insert("\n")
	}
}

func (e *editor) Backspace() {
	if e.pos > 0 {
		e.buf = append(e.buf[:e.pos-1], e.buf[e.pos:]...)
		e.pos--
	}
}

func (e *editor) Delete() {
	if e.pos < len(e.buf) {
		e.buf = append(e.buf[:e.pos], e.buf[e.pos+1:]...)
	}
}

func (e *editor) Left() {
	if e.pos > 0 {
		e.pos--
	}
}

func (e *editor) Right() {
	if e.pos < len(e.buf) {
		e.pos++
	}
}

func (e *editor) lineStart() int {
	i := e.pos
	for i > 0 && e.buf[i-1] != '\n' {
		i--
	}
	return i
}

func (e *editor) lineEnd() int {
	i := e.pos
	for i < len(e.buf) && e.buf[i] != '\n' {
		i++
	}
	return i
}

func (e *editor) Home() { e.pos = e.lineStart() }
func (e *editor) End()  { e.pos = e.lineEnd() }

// Up moves to the line above; false when already on the first line.
func (e *editor) Up() bool {
	st := e.lineStart()
	if st == 0 {
		return false
	}
	col := e.pos - st
	prevEnd := st - 1
	prevStart := prevEnd
	for prevStart > 0 && e.buf[prevStart-1] != '\n' {
		prevStart--
	}
	e.pos = min(prevStart+col, prevEnd)
	return true
}

// Down moves to the line below; false when already on the last line.
func (e *editor) Down() bool {
	end := e.lineEnd()
	if end == len(e.buf) {
		return false
	}
	col := e.pos - e.lineStart()
	nextStart := end + 1
	nextEnd := nextStart
	for nextEnd < len(e.buf) && e.buf[nextEnd] != '\n' {
		nextEnd++
	}
	e.pos = min(nextStart+col, nextEnd)
	return true
}

// DeleteWord deletes the word before the cursor.
func (e *editor) DeleteWord() {
	i := e.pos
	for i > 0 && unicode.IsSpace(e.buf[i-1]) {
		i--
	}
	for i > 0 && !unicode.IsSpace(e.buf[i-1]) {
		i--
	}
	e.buf = append(e.buf[:i], e.buf[e.pos:]...)
	e.pos = i
}

// DeleteToStart deletes from the start of the line to the cursor.
func (e *editor) DeleteToStart() {
	st := e.lineStart()
	e.buf = append(e.buf[:st], e.buf[e.pos:]...)
	e.pos = st
}

// Lines is how many rows the editor needs at width w.
func (e *editor) Lines(w int) int {
	rows, _, _ := e.layout(w)
	return len(rows)
}

// layout soft-wraps the buffer: each row is [start,end) in buf; it also
// returns the cursor's row and column.
func (e *editor) layout(w int) (rows [][2]int, crow, ccol int) {
	if w < 2 {
		w = 2
	}
	start, col := 0, 0
	crow, ccol = -1, 0
	for i := 0; i <= len(e.buf); i++ {
		if i == e.pos {
			if col >= w { // cursor past a full row: it opens the next one
				rows = append(rows, [2]int{start, i})
				start, col = i, 0
			}
			crow, ccol = len(rows), col
		}
		if i == len(e.buf) {
			break
		}
		r := e.buf[i]
		if r == '\n' {
			rows = append(rows, [2]int{start, i})
			start, col = i+1, 0
			continue
		}
		rw := runeWidth(r)
		if col+rw > w {
			rows = append(rows, [2]int{start, i})
			start, col = i, 0
			if i == e.pos {
				crow, ccol = len(rows), 0
			}
		}
		col += rw
	}
	rows = append(rows, [2]int{start, len(e.buf)})
	if crow < 0 {
		crow, ccol = len(rows)-1, col
	}
	return rows, crow, ccol
}

// runeWidth is the cells a rune takes. Printable ASCII needs no lookup:
// laying out a 10,000-character line on every key stays cheap.
func runeWidth(r rune) int {
	if r >= 0x20 && r < 0x7f {
		return 1
	}
	w := ansi.StringWidth(string(r))
	if w < 1 {
		return 1
	}
	return w
}

// Render draws at most maxRows rows of width w, scrolled so the cursor
// shows; the cursor is drawn only when focused. An empty editor shows the
// placeholder.
func (e *editor) Render(w, maxRows int, focused bool, text, cursor, placeholder lipgloss.Style, ph string) []string {
	if maxRows < 1 {
		maxRows = 1
	}
	if len(e.buf) == 0 {
		line := ""
		if focused {
			line = cursor.Render(" ")
			if ph != "" {
				line += placeholder.Render(ansi.Truncate(ph, w-1, "…"))
			}
		} else {
			line = placeholder.Render(ansi.Truncate(ph, w, "…"))
		}
		return []string{line}
	}
	rows, crow, ccol := e.layout(w - 1) // keep a cell for the cursor at a row's end
	first := 0
	if len(rows) > maxRows {
		first = crow - maxRows + 1
		if first < 0 {
			first = 0
		}
		if first+maxRows > len(rows) {
			first = len(rows) - maxRows
		}
	}
	var out []string
	for ri := first; ri < len(rows) && ri < first+maxRows; ri++ {
		seg := e.buf[rows[ri][0]:rows[ri][1]]
		if e.mask {
			seg = []rune(strings.Repeat("•", len(seg)))
		}
		if !focused || ri != crow {
			out = append(out, text.Render(string(seg)))
			continue
		}
		// split at the cursor column
		col, k := 0, 0
		for k < len(seg) && col < ccol {
			col += runeWidth(seg[k])
			k++
		}
		before := string(seg[:k])
		under, after := " ", ""
		if k < len(seg) {
			under, after = string(seg[k]), string(seg[k+1:])
		}
		out = append(out, text.Render(before)+cursor.Render(under)+text.Render(after))
	}
	return out
}
