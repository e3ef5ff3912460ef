package inject

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// html5libDocs returns every document of the shared html5lib tree-construction
// files, or skips the test when they are absent.
func html5libDocs(tb testing.TB) [][]byte {
	tb.Helper()
	docs, err := loadHTML5Lib()
	if err != nil {
		tb.Fatal(err)
	}
	if len(docs) == 0 {
		tb.Skipf("shared test data not available at %s; it lives beside the repository in CI", sharedTestdata)
	}
	return docs
}

// html5libDocsIfPresent is html5libDocs for seeding: nil when absent.
func html5libDocsIfPresent() [][]byte {
	docs, _ := loadHTML5Lib()
	return docs
}

// loadHTML5Lib reads the documents of the html5lib .dat files: the lines
// between "#data" and "#errors".
func loadHTML5Lib() ([][]byte, error) {
	files, _ := filepath.Glob(filepath.Join(sharedTestdata, "html5lib", "*.dat"))
	var docs [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(string(b), "\n")
		for i := 0; i < len(lines); i++ {
			if lines[i] != "#data" {
				continue
			}
			j := i + 1
			for j < len(lines) && lines[j] != "#errors" {
				j++
			}
			docs = append(docs, []byte(strings.Join(lines[i+1:j], "\n")))
			i = j
		}
	}
	return docs, nil
}

// tagTrace lists the tags our lexer finds, with raw text states switched on
// as the tree builder would outside foreign content.
func tagTrace(body []byte) []string {
	var z lexer
	z.reset(body, 0)
	var out []string
	for {
		switch z.next() {
		case tokEOF:
			return out
		case tokStartTag:
			out = append(out, fmt.Sprintf("<%d-%d %s>", z.start, z.end, bytes.ToLower(z.name())))
			if k, n := rawKindOf(lookupAtom(z.name())); k != rawNone {
				z.setRaw(k, n)
			}
		case tokEndTag:
			out = append(out, fmt.Sprintf("</%d-%d %s>", z.start, z.end, bytes.ToLower(z.name())))
		}
	}
}

// refTagTrace is tagTrace computed with golang.org/x/net/html's tokenizer.
func refTagTrace(body []byte) []string {
	z := html.NewTokenizer(bytes.NewReader(body))
	var out []string
	off := 0
	for {
		tt := z.Next()
		n := len(z.Raw())
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				return append(out, "error "+z.Err().Error())
			}
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			out = append(out, fmt.Sprintf("<%d-%d %s>", off, off+n, name))
		case html.EndTagToken:
			name, _ := z.TagName()
			out = append(out, fmt.Sprintf("</%d-%d %s>", off, off+n, name))
		}
		off += n
	}
}

// TestLexerMatchesReference compares tag boundaries with x/net/html's
// tokenizer on the html5lib corpus. Documents with foreign content are left
// out: there the reference tokenizer needs its parser to switch states.
func TestLexerMatchesReference(t *testing.T) {
	docs := html5libDocs(t)
	diffs := 0
	for i, d := range docs {
		if bytes.Contains(bytes.ToLower(d), []byte("<svg")) || bytes.Contains(bytes.ToLower(d), []byte("<math")) ||
			bytes.Contains(d, []byte{0}) {
			continue
		}
		got, want := tagTrace(d), refTagTrace(d)
		if !slices.Equal(got, want) {
			diffs++
			if diffs <= 5 {
				t.Errorf("doc %d %q:\n got %q\nwant %q", i, d, got, want)
			}
		}
	}
	if diffs > 0 {
		t.Errorf("%d documents tokenized differently", diffs)
	}
}

func TestLexerEdgeCases(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`<a b='>'>`, []string{"<0-9 a>"}},
		{`<a b=">"c>`, []string{"<0-10 a>"}},
		{`<a/b>`, []string{"<0-5 a>"}},
		{`<a =b>`, []string{"<0-6 a>"}},
		{`</ a><b>`, []string{"<5-8 b>"}},
		{`</><b>`, []string{"<3-6 b>"}},
		{`<!-- --!><b>`, []string{"<9-12 b>"}},
		{`<!---><b>-->`, []string{"<6-9 b>"}},
		{`<!--<b>--->`, nil},
		{`<script><!--<script></script>x</script><b>`, []string{"<0-8 script>", "</30-39 script>", "<39-42 b>"}},
		{`<title><b></title ><b>`, []string{"<0-7 title>", "</10-19 title>", "<19-22 b>"}},
		{`<textarea></textareax></textarea>`, []string{"<0-10 textarea>", "</22-33 textarea>"}},
		{`<b`, nil},
		{`<b c="`, nil},
		{`a<1<b>`, []string{"<3-6 b>"}},
	}
	for _, tt := range tests {
		if got := tagTrace([]byte(tt.in)); !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.in, got, tt.want)
		}
	}
}
