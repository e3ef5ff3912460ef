package geo

// countries are the strings "AA" to "ZZ", so that a header's code becomes
// a string without allocating.
var countries = func() (t [26 * 26]string) {
	for i := range t {
		t[i] = string([]byte{byte('A' + i/26), byte('A' + i%26)})
	}
	return t
}()

// Country returns the ISO 3166-1 alpha-2 code a CDN's country header
// carries (Cloudflare's CF-IPCountry, CloudFront-Viewer-Country, …), upper
// case, or "" for anything else: an empty or malformed value, "XX"
// (unknown) or "T1" (Tor). The result never aliases v.
func Country(v []byte) string {
	v = trimOWS(v)
	if len(v) != 2 {
		return ""
	}
	a, b := upper(v[0]), upper(v[1])
	if a < 'A' || a > 'Z' || b < 'A' || b > 'Z' || a == 'X' && b == 'X' {
		return ""
	}
	return countries[int(a-'A')*26+int(b-'A')]
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// trimOWS trims the optional white space around a field value (RFC 9110
// §5.6.3).
func trimOWS(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}
