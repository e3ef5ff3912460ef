package decide

import (
	"strings"
)

// plainNames maps the names marketers write in the plain condition form onto
// the profile fields expressions see.
var plainNames = map[string]string{
	"purchase_history.last_month_total": "purchases.total_30d",
	"purchase_history.total_30d":        "purchases.total_30d",
	"purchase_history.count":            "purchases.count",
	"purchase_history.last":             "purchases.last",
	"cart_value":                        "cart.value",
	"cart_items":                        "cart.items",
	"cart_updated_at":                   "cart.updated_at",
}

// rewritePlain turns the plain condition form into expr syntax:
//
//	purchase_history.last_month_total > 500 AND browsing_category = "electronics"
//	purchases.total_30d > 500 and browsing_category == "electronics"
//
// AND, OR and NOT become and, or and not; a single = becomes == and <>
// becomes !=; the names of plainNames are mapped. Text inside string
// literals is never touched, and neither is the = of a let declaration, so
// an expression already in expr syntax comes out unchanged.
func rewritePlain(src string) string {
	out, _ := rewritePlainMap(src)
	return out
}

// rewritePlainMap is rewritePlain that also returns, for each byte of the
// result, the offset in src of the byte it came from, so that an error's
// position in the result can be given in the text the operator wrote.
func rewritePlainMap(src string) (string, []int) {
	var b strings.Builder
	b.Grow(len(src) + 8)
	from := make([]int, 0, len(src)+8)
	// emit writes s, which stands for src[i:], and maps its bytes onto
	// src from i on, the extra ones onto its last byte.
	emit := func(s string, i, n int) {
		b.WriteString(s)
		for k := range len(s) {
			from = append(from, i+min(k, max(n-1, 0)))
		}
	}
	var prev, prev2 string // the last two words, to recognise "let x ="
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			j := i + 1
			for j < len(src) && src[j] != c {
				if src[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			j = min(j+1, len(src))
			emit(src[i:j], i, j-i)
			i = j
			prev2, prev = prev, "\"\""
		case isIdentStart(c):
			j := i
			for j < len(src) && (isIdentPart(src[j]) || (src[j] == '.' && j+1 < len(src) && isIdentStart(src[j+1]))) {
				j++
			}
			word := src[i:j]
			switch {
			case word == "AND":
				word = "and"
			case word == "OR":
				word = "or"
			case word == "NOT":
				word = "not"
			case plainNames[word] != "":
				word = plainNames[word]
			}
			if word == src[i:j] {
				emit(word, i, j-i)
			} else {
				// A renamed word: every byte of it points at the word's
				// start, where an error about it begins.
				emit(word, i, 1)
			}
			i = j
			prev2, prev = prev, word
		case c == '=':
			next := byte(0)
			if i+1 < len(src) {
				next = src[i+1]
			}
			before := byte(0)
			if i > 0 {
				before = src[i-1]
			}
			if next == '=' || strings.IndexByte("=!<>", before) >= 0 || prev2 == "let" {
				emit("=", i, 1)
			} else {
				emit("==", i, 1)
			}
			i++
			prev2, prev = prev, "="
		case c == '<' && i+1 < len(src) && src[i+1] == '>':
			emit("!=", i, 2)
			i += 2
			prev2, prev = prev, "!="
		default:
			emit(src[i:i+1], i, 1)
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				prev2, prev = prev, string(c)
			}
			i++
		}
	}
	return b.String(), from
}

func isIdentStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentPart(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }
