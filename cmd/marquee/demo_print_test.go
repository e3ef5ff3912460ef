package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/marquee-proxy/marquee/internal/demo"
)

// numberWords spell the counts "demo -h" may use.
var numberWords = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}

// TestDemoPrintout checks that "demo -h" and what the demo prints tell one
// story: a curl line per named visitor, as many as -h says, each with its
// own cookie, a profile edit that uses the reader's own visitor id, not a
// named visitor's, and the console's address.
func TestDemoPrintout(t *testing.T) {
	n := startTestNode(t, demo.NewShop(), string(demo.Config()))
	named := demo.NamedSeeds()
	var out bytes.Buffer
	printDemo(&out, n, "127.0.0.1:1", named, len(named))
	text := out.String()

	var help, stdout bytes.Buffer
	if code := run([]string{"demo", "-h"}, &stdout, &help); code != 0 {
		t.Fatalf("demo -h: exit %d", code)
	}
	helpText := strings.Join(strings.Fields(help.String()), " ")
	if len(named) >= len(numberWords) || !strings.Contains(helpText, numberWords[len(named)]+" curl lines, one per named visitor") {
		t.Errorf("demo -h does not say %d curl lines, one per named visitor:\n%s", len(named), help.String())
	}

	cookies := regexp.MustCompile(`(?m)^  # (\w+)\n  curl -s -b 'mq_vid=([^']+)'`).FindAllStringSubmatch(text, -1)
	if len(cookies) != len(named) {
		t.Fatalf("%d curl lines with a cookie, want %d:\n%s", len(cookies), len(named), text)
	}
	for i, m := range cookies {
		if m[1] != named[i].Name || !strings.HasPrefix(m[2], named[i].ID+".") {
			t.Errorf("curl line %d: %s with cookie %s, want %s's", i, m[1], m[2], named[i].Name)
		}
	}
	if want := "operator console      " + n.adminURL() + "/ "; !strings.Contains(text, want) {
		t.Errorf("the printout does not point at the console (%q):\n%s", want, text)
	}
	puts := regexp.MustCompile(`curl -s -X PUT \S+/v1/profiles/(\S+) `).FindAllStringSubmatch(text, -1)
	if len(puts) != 1 || puts[0][1] != "VISITOR" {
		t.Errorf("profile edits %q, want one, of VISITOR:\n%s", puts, text)
	}
}
