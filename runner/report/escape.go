package report

import (
	"bufio"
	"strings"
	"unicode/utf8"
)

// visible returns s with every character that XML 1.0 forbids made visible
// rather than dropped: a C0 control character (other than tab, newline and
// carriage return) becomes its Control Pictures symbol (ESC is "␛", NUL
// "␀"), and bytes that are not UTF-8, U+FFFE and U+FFFF become U+FFFD. Model
// outputs carry such characters (terminal colours, stray NULs, cut-off
// multi-byte sequences); a report shows them instead of failing to load.
func visible(s string) string {
	return shown(s, func(r rune) rune {
		switch {
		case xmlChar(r):
			return r
		case r < 0x20:
			return 0x2400 + r
		}
		return utf8.RuneError
	})
}

// shown returns s with each character as show maps it, and each byte that is
// not UTF-8 as U+FFFD; s itself when show keeps every character.
func shown(s string, show func(rune) rune) string {
	clean := true
	for i, r := range s {
		if show(r) != r || r == utf8.RuneError && isBadByte(s, i) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		if r == utf8.RuneError && isBadByte(s, i) {
			b.WriteRune(utf8.RuneError)
			continue
		}
		b.WriteRune(show(r))
	}
	return b.String()
}

// isBadByte reports whether the U+FFFD decoded at s[i] stands for an invalid
// byte rather than a U+FFFD written in the text.
func isBadByte(s string, i int) bool {
	_, n := utf8.DecodeRuneInString(s[i:])
	return n == 1
}

// xmlChar reports whether r is a Char of XML 1.0 (section 2.2).
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// writeXMLText writes s as XML character data: markup characters become
// entities, a carriage return a character reference (a parser would turn a
// literal one into a newline), and characters XML forbids are made visible.
// Newlines and tabs stay as they are, so outputs read naturally.
func writeXMLText(w *bufio.Writer, s string) {
	writeXML(w, visible(s), false)
}

// writeXMLAttr writes s as the value of a double-quoted attribute. Newlines
// and tabs become character references too, since a parser would otherwise
// normalise them to spaces.
func writeXMLAttr(w *bufio.Writer, s string) {
	writeXML(w, visible(s), true)
}

func writeXML(w *bufio.Writer, s string, attr bool) {
	special := "&<>\r"
	if attr {
		special = "&<>\r\"\n\t"
	}
	for {
		i := strings.IndexAny(s, special)
		if i < 0 {
			w.WriteString(s)
			return
		}
		w.WriteString(s[:i])
		switch s[i] {
		case '&':
			w.WriteString("&amp;")
		case '<':
			w.WriteString("&lt;")
		case '>':
			w.WriteString("&gt;") // always, so that "]]>" never appears in text
		case '\r':
			w.WriteString("&#xD;")
		case '"':
			w.WriteString("&quot;")
		case '\n':
			w.WriteString("&#xA;")
		case '\t':
			w.WriteString("&#x9;")
		}
		s = s[i+1:]
	}
}

// mdCode writes s as a Markdown code span that is safe in a table cell: on
// one line, clipped to n characters, with characters XML forbids made
// visible. Nothing inside a code span is markup (no HTML, links, mentions or
// math), so model outputs cannot change the page; only the fence and the
// table's pipes need care.
func mdCode(s string, n int) string {
	s = clip(visible(s), n)
	if s == "" {
		return ""
	}
	// A pipe ends a table cell even inside a code span unless escaped. The
	// table parser reads "\\" as an escaped backslash, so a run of
	// backslashes right before a pipe is doubled for the pipe's own escape to
	// count (such a run shows doubled).
	if strings.Contains(s, "|") {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '|':
				b.WriteString(`\|`)
			case '\\':
				j := i
				for j < len(s) && s[j] == '\\' {
					j++
				}
				run := s[i:j]
				if j < len(s) && s[j] == '|' {
					run += run
				}
				b.WriteString(run)
				i = j - 1
			default:
				b.WriteByte(s[i])
			}
		}
		s = b.String()
	}
	// The fence is one backtick longer than the longest run inside; a space
	// pads content that starts or ends with a backtick (CommonMark 6.1).
	longest, run := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if s[0] == '`' || s[len(s)-1] == '`' || s[0] == ' ' && s[len(s)-1] == ' ' {
		s = " " + s + " "
	}
	return fence + s + fence
}

// mdText escapes s for Markdown text on one line: every ASCII punctuation
// character that could start markup is backslash-escaped (CommonMark 2.4),
// so a suite's name shows as written.
func mdText(s string) string {
	s = clip(visible(s), 200)
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>#!|~&$", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// termSafe returns s with what a terminal would act on made visible: C0
// controls (tab and newline included: a summary line stays one line) become
// their Control Pictures symbols, DEL "␡", and C1 controls (0x80-0x9F, such
// as the one-byte CSI) and invalid bytes U+FFFD. A model's output reaches the
// summary through failure reasons; printed raw, an escape sequence in it
// would recolour, retitle or rewrite the user's terminal.
func termSafe(s string) string {
	return shown(s, func(r rune) rune {
		switch {
		case r < 0x20:
			return 0x2400 + r
		case r == 0x7F:
			return 0x2421
		case r >= 0x80 && r <= 0x9F:
			return utf8.RuneError
		}
		return r
	})
}

// pageText returns s as the HTML report shows it: as termSafe, but for tab
// and newline, which stay, so that an output keeps its lines, and a carriage
// return before a newline, which goes (HTML would drop it); a lone one
// shows as "␍". U+FFFE and U+FFFF, which HTML forbids, become U+FFFD too.
// What is left is escaped by html/template: a model's escape sequences and
// markup show as text.
func pageText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return shown(s, func(r rune) rune {
		switch {
		case r == '\t' || r == '\n':
			return r
		case r < 0x20:
			return 0x2400 + r
		case r == 0x7F:
			return 0x2421
		case r >= 0x80 && r <= 0x9F, r == 0xFFFE, r == 0xFFFF:
			return utf8.RuneError
		}
		return r
	})
}
