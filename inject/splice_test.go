package inject

import (
	"testing"
)

func TestAppendNCR(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain <b>ascii</b>", "plain <b>ascii</b>"},
		{"café", "caf&#233;"},
		{"€5 – 日本", "&#8364;5 &#8211; &#26085;&#26412;"},
		{"😀", "&#128512;"},
		{"bad \xff byte", "bad &#65533; byte"},
	}
	for _, tt := range tests {
		if got := string(appendNCR(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestSpliceCharset(t *testing.T) {
	const page = `<html><head>%s</head><body><div data-marquee-slot=a>x</div></body></html>`
	tests := []struct {
		name, meta, ctype, wantCharset, want string
		err                                  error
	}{
		{"utf-8 header", "", "text/html; charset=utf-8", "utf-8", "<p>Café €</p>", nil},
		{"windows-1252 header", "", "text/html; charset=windows-1252", "windows-1252", "<p>Caf&#233; &#8364;</p>", nil},
		{"latin1 alias", "", "text/html; charset=ISO-8859-1", "windows-1252", "<p>Caf&#233; &#8364;</p>", nil},
		{"shift_jis meta", `<meta charset="Shift_JIS">`, "text/html", "shift_jis", "<p>Caf&#233; &#8364;</p>", nil},
		{"header wins over meta", `<meta charset="Shift_JIS">`, "text/html; charset=utf-8", "utf-8", "<p>Café €</p>", nil},
		{"meta http-equiv", `<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">`, "text/html", "windows-1252", "<p>Caf&#233; &#8364;</p>", nil},
		{"utf-16 refused", "", "text/html; charset=utf-16le", "", "", ErrCharset},
	}
	c, _ := NewCompiler(nil, testOptions)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(sprintf(page, tt.meta))
			p, err := c.Plan(body, tt.ctype)
			if tt.err != nil {
				if err != tt.err {
					t.Fatalf("got error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Charset() != tt.wantCharset {
				t.Fatalf("charset: got %q, want %q", p.Charset(), tt.wantCharset)
			}
			out := p.AppendSplice(nil, body, [][]byte{[]byte("<p>Café €</p>")})
			want := sprintf(page, tt.meta)
			want = want[:len(want)-len("x</div></body></html>")] + tt.want + "</div></body></html>"
			if string(out) != want {
				t.Fatalf("got %q, want %q", out, want)
			}
		})
	}
}

func TestSpliceWrongBody(t *testing.T) {
	c, _ := NewCompiler(nil, testOptions)
	body := []byte(`<div data-marquee-slot=a>x</div>`)
	p, err := c.Plan(body, "text/html")
	if err != nil {
		t.Fatal(err)
	}
	other := []byte(`<div data-marquee-slot=a>xyz</div>`)
	if got := string(p.AppendSplice(nil, other, [][]byte{[]byte("O")})); got != string(other) {
		t.Fatalf("got %q, want %q", got, other)
	}
	if got, want := p.SpliceSize([][]byte{[]byte("OFFER")}), len(body)+4; got != want {
		t.Fatalf("SpliceSize: got %d, want %d", got, want)
	}
	if s := p.Slot(5); s.Rule != -1 || s.Name != "" {
		t.Fatalf("Slot(5): got %+v, want the zero slot", s)
	}
}

func TestBufferPool(t *testing.T) {
	b := AcquireBuffer()
	b.B = append(b.B, "hello"...)
	ReleaseBuffer(b)
	ReleaseBuffer(nil)
	if b2 := AcquireBuffer(); len(b2.B) != 0 {
		t.Fatalf("got length %d, want 0", len(b2.B))
	}
}
