package httpfield

// FormByte returns the byte of a form-encoded query component (as
// application/x-www-form-urlencoded reads it: "+" is a space, "%XX" a
// byte) that starts at raw[i], and the index after it. A "%" not followed
// by two hex digits stands for itself.
func FormByte(raw []byte, i int) (c byte, next int) {
	c = raw[i]
	switch {
	case c == '+':
		return ' ', i + 1
	case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
		return unhex(raw[i+1])<<4 | unhex(raw[i+2]), i + 3
	}
	return c, i + 1
}

// AppendFormUnescaped appends raw, form-decoded byte by byte, to dst.
func AppendFormUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		var c byte
		c, i = FormByte(raw, i)
		dst = append(dst, c)
	}
	return dst
}

// FormEqual reports whether raw, form-decoded, equals s.
func FormEqual(raw []byte, s string) bool {
	j := 0
	for i := 0; i < len(raw); j++ {
		var c byte
		c, i = FormByte(raw, i)
		if j >= len(s) || s[j] != c {
			return false
		}
	}
	return j == len(s)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}
