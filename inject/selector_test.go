package inject

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestSelectorSlots(t *testing.T) {
	tests := []struct {
		name  string
		rules []SlotRule
		in    string
		want  []string
	}{
		{"id", []SlotRule{{Name: "hero", Selector: "#hero"}},
			`<div id=hero><p>fb</p></div>`, []string{"hero:inner=<p>fb</p>"}},
		{"class and mode", []SlotRule{{Name: "n", Selector: "nav.main", Mode: ModeAfter}},
			`<nav class="main x">m</nav><p>`, []string{"n:after="}},
		{"every match", []SlotRule{{Name: "c", Selector: "li.card", Mode: ModeAppend}},
			`<ul><li class=card>1</li><li>2</li><li class=card>3</li></ul>`, []string{"c:append=", "c:append="}},
		{"outermost wins", []SlotRule{{Name: "d", Selector: "div"}},
			`<div>a<div>b</div></div>`, []string{"d:inner=a<div>b</div>"}},
		{"marker wins", []SlotRule{{Name: "d", Selector: "div"}},
			`<div data-marquee-slot=m>a</div><div>b</div>`, []string{"m:inner=a", "d:inner=b"}},
		{"first rule wins", []SlotRule{{Name: "one", Selector: "p"}, {Name: "two", Selector: "p.x", Mode: ModeOuter}},
			`<p class=x>a</p>`, []string{"one:inner=a"}},
		{"implied element not a slot", []SlotRule{{Name: "b", Selector: "tbody"}},
			`<table><tr><td>1</td></tr></table>`, nil},
		{"void outer", []SlotRule{{Name: "i", Selector: "img.logo"}},
			`<p><img class=logo src=a.png></p>`, []string{"i:outer=<img class=logo src=a.png>"}},
		{"void prepend skipped", []SlotRule{{Name: "i", Selector: "img", Mode: ModePrepend}},
			`<img src=a.png>`, nil},
		{"not in template", []SlotRule{{Name: "t", Selector: ".x"}},
			`<template><div class=x>t</div></template><div class=x>y</div>`, []string{"t:inner=y"}},
		{"not in svg", []SlotRule{{Name: "t", Selector: "#s"}},
			`<svg><title id=s>s</title></svg>`, nil},
		{"not in comment", []SlotRule{{Name: "t", Selector: "#hero"}},
			`<!-- <div id=hero>x</div> --><div id=hero>y</div>`, []string{"t:inner=y"}},
		{"self-closing tag", []SlotRule{{Name: "t", Selector: "span"}},
			`<span/>x</span>`, []string{"t:inner=x"}},
		{"selector path with head", []SlotRule{{Name: "t", Selector: "h1"}},
			`<html><head><title>T</title></head><body><h1>H</h1></body></html>`, []string{"t:inner=H"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCompiler(tt.rules, testOptions)
			if err != nil {
				t.Fatal(err)
			}
			body := []byte(tt.in)
			p, err := c.Plan(body, "text/html")
			if err != nil {
				t.Fatal(err)
			}
			if got := fallbacks(p, body); !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			checkInvariant(t, p, body)
		})
	}
}

func TestNewCompilerErrors(t *testing.T) {
	tests := []struct {
		name  string
		rules []SlotRule
		err   error
	}{
		{"bad selector", []SlotRule{{Name: "a", Selector: "div"}, {Name: "b", Selector: "div[["}}, ErrSelector},
		{"empty selector", []SlotRule{{Name: "a", Selector: ""}}, ErrSelector},
		{"no name", []SlotRule{{Selector: "div"}}, ErrRule},
		{"bad mode", []SlotRule{{Name: "a", Selector: "div", Mode: Mode(9)}}, ErrRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCompiler(tt.rules, testOptions)
			if !errors.Is(err, tt.err) {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
		})
	}
}

func TestSelectorAttrs(t *testing.T) {
	tests := []struct {
		sel  string
		want []string
	}{
		{"div.x > p", nil},
		{`[data-slot="a"]`, []string{"data-slot"}},
		{`a[ HREF ^= "/x"], b[title]`, []string{"href", "title"}},
		{`li:first-child`, []string{"checked", "selected", "disabled", "lang", "href", "hidden", "open"}},
	}
	for _, tt := range tests {
		if got := selectorAttrs(tt.sel); !slices.Equal(got, tt.want) {
			t.Errorf("%q: got %q, want %q", tt.sel, got, tt.want)
		}
	}
}

// TestListingPage runs the standard page through both paths.
func TestListingPage(t *testing.T) {
	body := readShared(t, benchPage)
	tests := []struct {
		name  string
		rules []SlotRule
		want  []string
	}{
		{"markers", nil, []string{"hero", "offer", "recs"}},
		{"selectors", []SlotRule{{Name: "nav", Selector: "nav", Mode: ModeAfter}, {Name: "h2", Selector: "h2", Mode: ModeOuter}},
			[]string{"nav", "hero", "offer", "h2", "recs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCompiler(tt.rules, Options{CompileBudget: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			p, err := c.Plan(body, benchCType)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i := 0; i < p.NumSlots(); i++ {
				got = append(got, p.Slot(i).Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
			if p.Charset() != "utf-8" || p.EncodesOffers() {
				t.Fatalf("got charset %q (encode %v), want utf-8", p.Charset(), p.EncodesOffers())
			}
			checkInvariant(t, p, body)
		})
	}
}
