package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const (
	viewerToken = "viewer-token-0123456789"
	editorToken = "editor-token-0123456789"
)

func TestAdminTokens(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []AdminToken
	}{
		{"list only, off loopback", "origin: http://o:1\nadmin:\n  listen: 0.0.0.0:9000\n  tokens:\n    - {name: viewer, token: " + viewerToken + ", role: read}\n",
			[]AdminToken{{Name: "viewer", Token: viewerToken, Role: "read"}}},
		{"with admin.token", "origin: http://o:1\nadmin:\n  token: short\n  tokens:\n    - {name: viewer, token: " + viewerToken + ", role: read}\n    - {name: ci.deploy, token: " + editorToken + ", role: edit}\n",
			[]AdminToken{{Name: "viewer", Token: viewerToken, Role: "read"}, {Name: "ci.deploy", Token: editorToken, Role: "edit"}}},
		{"none", "origin: http://o:1\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tt.yaml))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Admin.Tokens, tt.want) {
				t.Errorf("got %+v, want %+v", c.Admin.Tokens, tt.want)
			}
		})
	}
}

// TestAdminTokenErrors checks each problem of admin.tokens is reported at
// its line, and that no message quotes a token.
func TestAdminTokenErrors(t *testing.T) {
	const head = "origin: http://o:1\nadmin:\n  tokens:\n"
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"empty name", head + "    - {token: " + viewerToken + ", role: read}\n",
			[]string{`t.yaml:4: admin.tokens[0].name: required`}},
		{"bad name", head + "    - {name: 'the viewer', token: " + viewerToken + ", role: read}\n",
			[]string{`t.yaml:4: admin.tokens[0].name: "the viewer": use letters`}},
		{"duplicate name", head + "    - {name: viewer, token: " + viewerToken + ", role: read}\n    - name: viewer\n      token: " + editorToken + "\n      role: edit\n",
			[]string{`t.yaml:5: admin.tokens[1].name: token name "viewer" used twice (first at admin.tokens[0])`}},
		{"name of admin.token", "origin: http://o:1\nadmin:\n  token: s3cret\n  tokens:\n    - {name: admin, token: " + viewerToken + ", role: read}\n",
			[]string{`t.yaml:5: admin.tokens[0].name: "admin" is the name admin.token goes by`}},
		{"anonymous", head + "    - {name: anonymous, token: " + viewerToken + ", role: read}\n",
			[]string{`t.yaml:4: admin.tokens[0].name: "anonymous" is the name of callers without a token`}},
		{"duplicate token", head + "    - {name: a, token: " + viewerToken + ", role: read}\n    - name: b\n      token: " + viewerToken + "\n      role: edit\n",
			[]string{`t.yaml:6: admin.tokens[1].token: same token as admin.tokens[0]`}},
		{"same as admin.token", "origin: http://o:1\nadmin:\n  token: " + viewerToken + "\n  tokens:\n    - {name: a, token: " + viewerToken + ", role: read}\n",
			[]string{`t.yaml:5: admin.tokens[0].token: same token as admin.token`}},
		{"short token", head + "    - name: a\n      token: s3cret\n      role: read\n",
			[]string{`t.yaml:5: admin.tokens[0].token: token is 6 bytes, want at least 16`}},
		{"missing token", head + "    - {name: a, role: read}\n",
			[]string{`t.yaml:4: admin.tokens[0].token: required`}},
		{"unknown role", head + "    - name: a\n      token: " + viewerToken + "\n      role: admin\n",
			[]string{`t.yaml:6: admin.tokens[0].role: unknown role "admin"; want read or edit`}},
		{"missing role", head + "    - {name: a, token: " + viewerToken + "}\n",
			[]string{`t.yaml:4: admin.tokens[0].role: required: read or edit`}},
		{"unknown key", head + "    - {name: a, token: " + viewerToken + ", role: read, scope: all}\n",
			[]string{`t.yaml:4: admin.tokens[0].scope: unknown field "scope"`}},
		{"not a list", head + "    viewer: " + viewerToken + "\n",
			[]string{`t.yaml:4: admin.tokens: want a list`}},
		{"off loopback without any token", "origin: http://o:1\nadmin:\n  listen: 0.0.0.0:9000\n  tokens: []\n",
			[]string{`t.yaml:3: admin.token: required when admin.listen "0.0.0.0:9000" is not a loopback address`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tt.yaml))
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want config.Errors", err)
			}
			got := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("got errors\n%s\nwant one containing %q", got, w)
				}
			}
			if len(errs) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%s", len(errs), len(tt.want), got)
			}
			if strings.Contains(got, viewerToken) || strings.Contains(got, editorToken) {
				t.Errorf("an error quotes a token:\n%s", got)
			}
		})
	}
}
