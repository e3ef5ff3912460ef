package inject

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// fallbacks returns "name:mode=replaced bytes" for every slot.
func fallbacks(p *Plan, body []byte) []string {
	var out []string
	for i := 0; i < p.NumSlots(); i++ {
		s := p.Slot(i)
		out = append(out, s.Name+":"+s.Mode.String()+"="+string(body[s.Start:s.End]))
	}
	return out
}

func TestScanRules(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // name:mode=replaced bytes
		err  error
	}{
		{"double quoted", `<div data-marquee-slot="a">x</div>`, []string{"a:inner=x"}, nil},
		{"single quoted", `<div data-marquee-slot='a'>x</div>`, []string{"a:inner=x"}, nil},
		{"unquoted", `<div data-marquee-slot=a>x</div>`, []string{"a:inner=x"}, nil},
		{"unquoted then slash", `<div data-marquee-slot=a/>x</div>`, []string{"a/:inner=x"}, nil},
		{"upper-case attribute", `<DIV DATA-MARQUEE-SLOT="a">x</DIV>`, []string{"a:inner=x"}, nil},
		{"mixed-case attribute", `<div Data-Marquee-Slot="a" class=c>x</div>`, []string{"a:inner=x"}, nil},
		{"spaces around equals", "<div data-marquee-slot \n= \t'a'>x</div>", []string{"a:inner=x"}, nil},
		{"first duplicate wins", `<div data-marquee-slot=a data-marquee-slot=b>x</div>`, []string{"a:inner=x"}, nil},
		{"empty name ignored", `<div data-marquee-slot="">x</div>`, nil, nil},
		{"no value ignored", `<div data-marquee-slot>x</div>`, nil, nil},
		{"nested same tag", `<div data-marquee-slot=a><div>1</div><div><div>2</div></div></div><div>after</div>`,
			[]string{"a:inner=<div>1</div><div><div>2</div></div>"}, nil},
		{"self-closing non-void is a start tag", `<div data-marquee-slot=a/>x</div>y`, []string{"a/:inner=x"}, nil},
		{"self-closing non-void quoted", `<div data-marquee-slot="a"/>x</div>y`, []string{"a:inner=x"}, nil},
		{"void default is outer", `<p><img data-marquee-slot=i src=x.png>t</p>`, []string{"i:outer=<img data-marquee-slot=i src=x.png>"}, nil},
		{"void self-closing outer", `<img data-marquee-slot=i src=x.png/>`, []string{"i:outer=<img data-marquee-slot=i src=x.png/>"}, nil},
		{"void after", `<br data-marquee-slot=i data-marquee-mode=after>t`, []string{"i:after="}, nil},
		{"void append ignored", `<input data-marquee-slot=i data-marquee-mode=append>`, nil, nil},
		{"mode outer", `<p>a<span data-marquee-slot=s data-marquee-mode=outer>b</span>c</p>`, []string{"s:outer=<span data-marquee-slot=s data-marquee-mode=outer>b</span>"}, nil},
		{"mode before", `<div data-marquee-slot=s data-marquee-mode=BEFORE>b</div>`, []string{"s:before="}, nil},
		{"mode unknown ignored", `<div data-marquee-slot=s data-marquee-mode=sideways>b</div>`, nil, nil},
		{"marker in comment", `<!-- <div data-marquee-slot=a>x</div> --><p>y</p>`, nil, nil},
		{"marker in comment dash bang", `<!-- a --!> <div data-marquee-slot=a>x</div>`, []string{"a:inner=x"}, nil},
		{"marker after abrupt comment", `<!--><div data-marquee-slot=a>x</div>-->`, []string{"a:inner=x"}, nil},
		{"marker in bogus comment", `<? <div data-marquee-slot=a>x</div>`, nil, nil},
		{"marker in script", `<script>"<div data-marquee-slot=a>x</div>"</script>`, nil, nil},
		{"marker in escaped script", `<script><!--<script></script><div data-marquee-slot=a>x</div>--></script>`, nil, nil},
		{"marker after escaped script", `<script><!--</script><div data-marquee-slot=a>x</div>`, []string{"a:inner=x"}, nil},
		{"marker in style", `<style>/*<div data-marquee-slot=a>x</div>*/</style>`, nil, nil},
		{"marker in textarea", `<textarea><div data-marquee-slot=a>x</div></textarea>`, nil, nil},
		{"marker in title", `<title><div data-marquee-slot=a>x</div></title>`, nil, nil},
		{"marker in noscript", `<noscript><div data-marquee-slot=a>x</div></noscript>`, nil, nil},
		{"marker in xmp", `<xmp><div data-marquee-slot=a>x</div></xmp>`, nil, nil},
		{"marker in template", `<template><div data-marquee-slot=a>x</div></template>`, nil, nil},
		{"marker after template", `<template><p>t</template><div data-marquee-slot=a>x</div>`, []string{"a:inner=x"}, nil},
		{"marker in attribute value", `<a title='<div data-marquee-slot=a>x</div>'>l</a>`, nil, nil},
		{"unquoted value ends at space", `<a title=<div data-marquee-slot=a>x</div>`, nil, ErrMisnested},
		{"marker in plaintext", `<plaintext><div data-marquee-slot=a>x</div>`, nil, nil},
		{"marker in svg", `<svg><g data-marquee-slot=a>x</g></svg>`, nil, nil},
		{"cdata in svg", `<svg><![CDATA[<div data-marquee-slot=a>x</div>]]></svg><p data-marquee-slot=b>y</p>`, []string{"b:inner=y"}, nil},
		{"cdata in html is a bogus comment", `<![CDATA[<div data-marquee-slot=a>x</div>]]>`, nil, nil},
		{"after cdata in html", `<![CDATA[ x ]]><div data-marquee-slot=a>x</div>`, []string{"a:inner=x"}, nil},
		{"style in svg is not raw", `<svg><style></svg><div data-marquee-slot=a>x</div>`, []string{"a:inner=x"}, nil},
		{"slot after svg", `<svg><path d="M0"/><title>t</title></svg><div data-marquee-slot=a>x</div>`, []string{"a:inner=x"}, nil},
		{"svg inside slot", `<div data-marquee-slot=a><svg><path/><g><rect/></g></svg></div>`, []string{"a:inner=<svg><path/><g><rect/></g></svg>"}, nil},
		{"script inside slot", `<div data-marquee-slot=a><script>"</div>"</script></div>`, []string{`a:inner=<script>"</div>"</script>`}, nil},
		{"slot on script", `<script data-marquee-slot=a>var x = "<p>";</script>`, nil, ErrRawTextSlot},
		{"slot on textarea", `<textarea data-marquee-slot=a></div></textarea>`, nil, ErrRawTextSlot},
		{"nested slot ignored", `<div data-marquee-slot=a><p data-marquee-slot=b>x</p></div>`, []string{"a:inner=<p data-marquee-slot=b>x</p>"}, nil},
		{"duplicate names", `<i data-marquee-slot=a>1</i><i data-marquee-slot=a>2</i>`, []string{"a:inner=1", "a:inner=2"}, nil},
		{"optional end tags inside", `<div data-marquee-slot=a><ul><li>1<li>2</ul><p>x</div>`, []string{"a:inner=<ul><li>1<li>2</ul><p>x"}, nil},
		{"void inside", `<div data-marquee-slot=a>x<br>y<img src=z></div>`, []string{"a:inner=x<br>y<img src=z>"}, nil},
		{"end br inside", `<div data-marquee-slot=a>x</br>y</div>`, []string{"a:inner=x</br>y"}, nil},
		{"custom element", `<my-card data-marquee-slot=a><my-card>x</MY-CARD></my-card>`, []string{"a:inner=<my-card>x</MY-CARD>"}, nil},
		{"table slot", `<table data-marquee-slot=a><tr><td>1</td></tr></table>`, []string{"a:inner=<tr><td>1</td></tr>"}, nil},
		{"unclosed slot", `<div data-marquee-slot=a>x`, nil, ErrUnclosedSlot},
		{"unclosed nested", `<div data-marquee-slot=a><div>x</div>`, nil, ErrUnclosedSlot},
		{"slot end in comment", `<div data-marquee-slot=a>x<!--</div>-->`, nil, ErrUnclosedSlot},
		{"misnested formatting", `<b data-marquee-slot=a>x<i>y</b>z</i>`, nil, ErrMisnested},
		{"misnested close through span", `<div data-marquee-slot=a><span>x</div>`, nil, ErrMisnested},
		{"stray end tag closes ancestor", `<section><div data-marquee-slot=a>x</section></div>`, nil, ErrMisnested},
		{"block inside p slot", `<p data-marquee-slot=a>x<div>y</div></p>`, nil, ErrMisnested},
		{"block inside span inside open p", `<p><span data-marquee-slot=a><div>y</div></span></p>`, nil, ErrMisnested},
		{"li closes li slot", `<ul><li data-marquee-slot=a>x<li>y</ul>`, nil, ErrMisnested},
		{"nested list in li slot", `<ul><li data-marquee-slot=a>x<ul><li>y</li></ul></li></ul>`, []string{"a:inner=x<ul><li>y</li></ul>"}, nil},
		{"a inside a", `<a data-marquee-slot=a href=1>x<a href=2>y</a></a>`, nil, ErrMisnested},
		{"foster parenting", `<table data-marquee-slot=a><div>x</div></table>`, nil, ErrMisnested},
		{"td closes slot in cell", `<table><tr><td><div data-marquee-slot=a>1<td>2</table>`, nil, ErrMisnested},
		{"marker on td", `<table><tr><td data-marquee-slot=a>1</td></tr></table>`, []string{"a:inner=1"}, nil},
		{"marker on a stray td ignored", `<div><td data-marquee-slot=a>1</td></div>`, nil, nil},
		{"body inside slot", `<div data-marquee-slot=a><body>x</div>`, nil, ErrMisnested},
		{"option in select", `<select><option data-marquee-slot=a>x</option></select>`, []string{"a:inner=x"}, nil},
		{"div in select ignored", `<select><div data-marquee-slot=a>x</div></select>`, nil, nil},
		{"style in select", `<select><style>x</style></select><div data-marquee-slot=a>x</div>`, nil, ErrAmbiguous},
		{"marker on body ignored", `<body data-marquee-slot=a>x</body>`, nil, nil},
		{"tag cut by eof", `<div data-marquee-slot=a`, nil, nil},
		{"attribute value cut by eof", `<div data-marquee-slot="a>x</div>`, nil, nil},
		{"lt text", `a < b <div data-marquee-slot=a>x</div> <3`, []string{"a:inner=x"}, nil},
		{"marker on end tag ignored", `<div>x</div data-marquee-slot=a>`, nil, nil},
		{"crlf whitespace", "<div\r\ndata-marquee-slot\r\n=\r\na>x</div>", []string{"a:inner=x"}, nil},
		{"end tag with attributes", `<div data-marquee-slot=a>x</div class="y">`, []string{"a:inner=x"}, nil},
		{"uppercase end tag", `<div data-marquee-slot=a>x</DIV >`, []string{"a:inner=x"}, nil},
		{"script end needs delimiter", `<script></scripts><div data-marquee-slot=a>x</div></script>`, nil, nil},
	}
	c, err := NewCompiler(nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.in)
			p, err := c.Compile(body, "text/html; charset=utf-8")
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("got error %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got := fallbacks(p, body); !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			checkInvariant(t, p, body)
		})
	}
}

func TestScanModes(t *testing.T) {
	const in = `<p>a</p><div data-marquee-slot=s data-marquee-mode=%s>fb</div><p>z</p>`
	tests := []struct {
		mode, want string
	}{
		{"inner", `<p>a</p><div data-marquee-slot=s data-marquee-mode=inner>OFFER</div><p>z</p>`},
		{"outer", `<p>a</p>OFFER<p>z</p>`},
		{"before", `<p>a</p>OFFER<div data-marquee-slot=s data-marquee-mode=before>fb</div><p>z</p>`},
		{"after", `<p>a</p><div data-marquee-slot=s data-marquee-mode=after>fb</div>OFFER<p>z</p>`},
		{"prepend", `<p>a</p><div data-marquee-slot=s data-marquee-mode=prepend>OFFERfb</div><p>z</p>`},
		{"append", `<p>a</p><div data-marquee-slot=s data-marquee-mode=append>fbOFFER</div><p>z</p>`},
	}
	c, _ := NewCompiler(nil, testOptions)
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			body := []byte(strings.Replace(in, "%s", tt.mode, 1))
			p, err := c.Plan(body, "text/html")
			if err != nil {
				t.Fatal(err)
			}
			got := string(p.AppendSplice(nil, body, [][]byte{[]byte("OFFER")}))
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if fb := string(p.AppendSplice(nil, body, [][]byte{nil})); fb != string(body) {
				t.Fatalf("fallback: got %q, want %q", fb, body)
			}
		})
	}
}
