package inject

import (
	"golang.org/x/net/html/charset"
)

// prescanWindow is how much of a body decides its encoding: the BOM, then the
// Content-Type parameter, then a <meta> in the first 1024 bytes (HTML
// standard §13.2.3.2).
const prescanWindow = 1024

// pageCharset determines the encoding of body as a browser would, with the
// Content-Type charset parameter winning over a <meta> in the body. It fails
// for encodings in which an ASCII byte is not always an ASCII character, since
// splicing ASCII markup into them would corrupt the page.
func pageCharset(body []byte, contentType string) (name string, ncr bool, err error) {
	_, name, _ = charset.DetermineEncoding(body, contentType)
	switch name {
	case "utf-8":
		return name, false, nil
	case "utf-16le", "utf-16be", "iso-2022-jp", "replacement", "":
		return name, false, ErrCharset
	}
	return name, true, nil
}
