package display

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// VisibleToken returns a token's text with whitespace and invisible characters
// made visible, for labels and tooltips:
//
//	' '  → '␣' (so " cats" shows as "␣cats")
//	'\n' → '↵', '\r' → '␍', '\t' → '⇥'
//	other control characters → their Unicode "control pictures" (␀ … ␟, ␡)
//	other spaces, format characters, U+2028/U+2029 → \u escapes ("\u00a0", "\u2028")
//	bytes that are not valid UTF-8 (GPT-2 splits many characters, e.g. Cyrillic
//	letters, into byte tokens) → \x escapes ("\xd0")
//	the empty string → "∅"
//
// Everything else is kept as is. The result is plain text, not HTML: escape it
// before putting it into markup (the charts do).
func VisibleToken(tok string) string {
	return visibleToken(tok, false)
}

// visibleToken implements VisibleToken; static selects glyphs that the fonts
// embedded in gonum/plot (Liberation) have: '·' for a space and '¶' for a newline.
func visibleToken(tok string, static bool) string {
	if tok == "" {
		return "∅"
	}
	var b strings.Builder
	for i := 0; i < len(tok); {
		r, size := utf8.DecodeRuneInString(tok[i:])
		if r == utf8.RuneError && size <= 1 {
			fmt.Fprintf(&b, `\x%02x`, tok[i])
			i++
			continue
		}
		i += size
		switch {
		case r == ' ':
			if static {
				b.WriteRune('·')
			} else {
				b.WriteRune('␣')
			}
		case r == '\n':
			if static {
				b.WriteRune('¶')
			} else {
				b.WriteRune('↵')
			}
		case r == '\t':
			if static {
				b.WriteString(`\t`)
			} else {
				b.WriteRune('⇥')
			}
		case r == '\r':
			if static {
				b.WriteString(`\r`)
			} else {
				b.WriteRune('␍')
			}
		case r < 0x20 && !static:
			b.WriteRune(0x2400 + r)
		case r == 0x7f && !static:
			b.WriteRune('␡')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.Is(unicode.Zs, r) || unicode.Is(unicode.Zl, r) || unicode.Is(unicode.Zp, r) ||
			unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Co, r) ||
			r == 0xfeff || !unicode.IsPrint(r) && !unicode.IsGraphic(r):
			if r > 0xffff {
				fmt.Fprintf(&b, `\U%08x`, r)
			} else {
				fmt.Fprintf(&b, `\u%04x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// shorten cuts s to at most n runes, ending a cut string with '…'.
func shorten(s string, n int) string {
	if n <= 0 || utf8.RuneCountInString(s) <= n {
		return s
	}
	runes := []rune(s)
	if n == 1 {
		return "…"
	}
	return string(runes[:n-1]) + "…"
}

// plainText makes a one-line text of s (a title, a model or state name): control,
// format and other invisible characters become spaces, invalid UTF-8 becomes U+FFFD.
func plainText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if !unicode.IsGraphic(r) || unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
}
