package inject

import (
	"errors"
	"strings"
	"testing"
)

// rawTextHosts are the elements whose content is raw text to the tokenizer.
var rawTextHosts = []string{"script", "style", "textarea", "title", "xmp", "iframe", "noscript", "noembed", "noframes", "plaintext"}

// mixedCase spells name with alternating case: "sCrIpT".
func mixedCase(name string) string {
	b := []byte(name)
	for i := range b {
		if i%2 == 1 {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// An offer is escaped as HTML text; a slot whose content is script, style or
// other raw text would run it. Such markers make the page pass through.
func TestRawTextMarkerRefused(t *testing.T) {
	c, err := NewCompiler(nil, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range rawTextHosts {
		for _, spelled := range []string{name, strings.ToUpper(name), mixedCase(name)} {
			for _, attr := range []string{`data-marquee-slot="x"`, `data-marquee-slot=x`, `DATA-Marquee-SLOT=x data-marquee-mode=outer`, `data-marquee-slot='x' data-marquee-mode=append`} {
				body := "<!doctype html><html><head></head><body><div data-marquee-slot=ok>fb</div><" + spelled + " " + attr + ">var a = 1;</" + spelled + "><p>after</p></body></html>"
				p, err := c.Compile([]byte(body), "text/html")
				if !errors.Is(err, ErrRawTextSlot) {
					t.Errorf("%s: got plan %+v, error %v; want %v", body, p, err, ErrRawTextSlot)
				}
				// The cached path answers the same.
				if _, err := c.Plan([]byte(body), "text/html"); !errors.Is(err, ErrRawTextSlot) {
					t.Errorf("%s: Plan error %v, want %v", body, err, ErrRawTextSlot)
				}
			}
		}
	}
}

// Markers that are not elements stay ignored: inside raw text, a template or
// an attribute value they are not slots, and the page still compiles.
func TestRawTextMarkerInsideIsNotRefused(t *testing.T) {
	c, _ := NewCompiler(nil, testOptions)
	for _, body := range []string{
		`<script>"<div data-marquee-slot=x>a</div>"</script><div data-marquee-slot=ok>fb</div>`,
		`<template><script data-marquee-slot=x>a</script></template><div data-marquee-slot=ok>fb</div>`,
		`<svg><script data-marquee-slot=x>a</script></svg><div data-marquee-slot=ok>fb</div>`,
		`<div data-marquee-slot=ok><span>fb</span></div><p title="<script data-marquee-slot=x>">`,
	} {
		p, err := c.Compile([]byte(body), "text/html")
		if err != nil || p.NumSlots() != 1 || p.Slot(0).Name != "ok" {
			t.Errorf("%s: got %v, %v; want the one slot ok", body, p, err)
		}
	}
}

// A selector naming a raw text element is refused when the rules are
// compiled; one that matches such an element only on some page makes that
// page pass through.
func TestRawTextSelector(t *testing.T) {
	for _, sel := range []string{
		"script", "STYLE", "body > TextArea", "head title", "xmp.promo", "#a iframe[src]", "noscript, div",
		"div, noembed:first-child", "section  ~ noframes", "plaintext", "* > sCrIpT#hero", "*", "body > *",
		":not(div)", "head > *",
	} {
		_, err := NewCompiler([]SlotRule{{Name: "s", Selector: sel}}, testOptions)
		if !errors.Is(err, ErrRawTextSlot) {
			t.Errorf("selector %q: got %v, want %v", sel, err, ErrRawTextSlot)
		}
	}
	for _, sel := range []string{"#hero", "div.promo", "[data-slot=x]", "p:contains(\"script\")", "a[title='script']", "div > p, span"} {
		if _, err := NewCompiler([]SlotRule{{Name: "s", Selector: sel}}, testOptions); err != nil {
			t.Errorf("selector %q: %v", sel, err)
		}
	}
	c, err := NewCompiler([]SlotRule{{Name: "s", Selector: "#hero"}}, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range rawTextHosts {
		for _, spelled := range []string{name, strings.ToUpper(name), mixedCase(name)} {
			body := "<html><head></head><body><" + spelled + " id=hero>var a = 1;</" + spelled + "></body></html>"
			if _, err := c.Compile([]byte(body), "text/html"); !errors.Is(err, ErrRawTextSlot) {
				t.Errorf("%s: got %v, want %v", body, err, ErrRawTextSlot)
			}
		}
	}
	if p, err := c.Compile([]byte(`<div id=hero>x</div>`), "text/html"); err != nil || p.NumSlots() != 1 {
		t.Errorf("div#hero: %v %v", p, err)
	}
}
