package docs

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// mdDoc is a Markdown document split into lines, enough to find a heading
// and the tables under it.
type mdDoc struct {
	path  string
	lines []string
}

func readDoc(t *testing.T, path string) *mdDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return &mdDoc{path: path, lines: strings.Split(string(b), "\n")}
}

// mdTable is one pipe table: its header cells and its rows, each a map from
// header cell to cell text.
type mdTable struct {
	header []string
	rows   []map[string]string
	line   int // 1-based line of the header, for messages
}

// section returns the lines under a heading, up to the next heading of the
// same or a higher level. heading is matched as a prefix of the heading's
// text; "A > B" means the heading B inside section A.
func (d *mdDoc) section(t *testing.T, heading string) (lines []string, first int) {
	t.Helper()
	lines, first = d.lines, 1
	for _, part := range strings.Split(heading, " > ") {
		var ok bool
		if lines, first, ok = findSection(lines, first, part); !ok {
			t.Fatalf("%s: no heading %q", d.path, heading)
		}
	}
	return lines, first
}

func findSection(lines []string, first int, heading string) ([]string, int, bool) {
	for i, l := range lines {
		level := len(l) - len(strings.TrimLeft(l, "#"))
		if level == 0 || !strings.HasPrefix(strings.TrimSpace(l[level:]), heading) {
			continue
		}
		end := len(lines)
		for j := i + 1; j < len(lines); j++ {
			if l2 := lines[j]; strings.HasPrefix(l2, "#") {
				if lv := len(l2) - len(strings.TrimLeft(l2, "#")); lv <= level {
					end = j
					break
				}
			}
		}
		return lines[i+1 : end], first + i + 1, true
	}
	return nil, 0, false
}

// table returns the first table in the section under heading whose first
// header cell is firstCol.
func (d *mdDoc) table(t *testing.T, heading, firstCol string) *mdTable {
	t.Helper()
	lines, first := d.section(t, heading)
	for i := 0; i+1 < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "|") || !strings.HasPrefix(lines[i+1], "|---") {
			continue
		}
		header := splitRow(lines[i])
		if header[0] != firstCol {
			continue
		}
		tb := &mdTable{header: header, line: first + i}
		for _, l := range lines[i+2:] {
			if !strings.HasPrefix(l, "|") {
				break
			}
			cells := splitRow(l)
			row := map[string]string{}
			for k, h := range header {
				if k < len(cells) {
					row[h] = cells[k]
				}
			}
			tb.rows = append(tb.rows, row)
		}
		return tb
	}
	t.Fatalf("%s: no table starting with column %q under %q", d.path, firstCol, heading)
	return nil
}

// splitRow splits a table row on the pipes outside code spans.
func splitRow(l string) []string {
	l = strings.TrimSpace(l)
	l = strings.TrimPrefix(l, "|")
	l = strings.TrimSuffix(l, "|")
	var cells []string
	var cur strings.Builder
	code := false
	for _, r := range l {
		switch {
		case r == '`':
			code = !code
		case r == '|' && !code:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
			continue
		}
		cur.WriteRune(r)
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// codeSpans returns the contents of the code spans of s.
func codeSpans(s string) []string {
	var out []string
	for _, m := range codeSpan.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// field is one entry of a field list such as "`ch` string, `msg` string".
type field struct{ name, typ string }

var fieldItem = regexp.MustCompile("^`([A-Za-z_]+)` (\\[?[A-Za-z]+\\]?)")

// fieldList parses a cell that lists fields with their JSON types, ignoring
// parenthesised and italic remarks. "`{}`" is the empty list; ok is false
// when the cell is not a field list at all.
func fieldList(cell string) (fs []field, ok bool) {
	cell = strings.TrimSpace(cell)
	if cell == "`{}`" {
		return nil, true
	}
	for _, item := range splitTop(cell) {
		m := fieldItem.FindStringSubmatch(strings.TrimSpace(item))
		if m == nil {
			return nil, false
		}
		fs = append(fs, field{m[1], m[2]})
	}
	return fs, len(fs) > 0
}

// splitTop splits s on the commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}
