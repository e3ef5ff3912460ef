package config

import (
	"crypto/subtle"
	"strconv"
)

// MinAdminTokenBytes is the shortest accepted token of admin.tokens: a
// read token is handed to more people than the one edit token was, so it
// must not be guessable.
const MinAdminTokenBytes = 16

// Names of admin API callers that admin.tokens may not take.
const (
	// AdminTokenName is the name admin.token goes by.
	AdminTokenName = "admin"
	// AnonymousName is the caller on a loopback listener without tokens.
	AnonymousName = "anonymous"
)

// validateAdminTokens checks admin.tokens: names unique and not taken by
// admin.token or the anonymous caller, tokens long enough and unique
// across the list and admin.token, roles known. Messages never quote a
// token, since they end up in logs.
func (c *Config) validateAdminTokens() Errors {
	var errs Errors
	add := func(path, format string, args ...any) { errs = append(errs, c.Errorf(path, format, args...)) }
	names := map[string]int{}
	if c.Admin.Token != "" {
		names[AdminTokenName] = -1
	}
	for i, t := range c.Admin.Tokens {
		path := "admin.tokens[" + strconv.Itoa(i) + "]"
		switch prev, dup := names[t.Name]; {
		case t.Name == "":
			add(path+".name", "required: who holds the token, as the audit log names them")
		case !idRE.MatchString(t.Name):
			add(path+".name", "%q: use letters, digits and _.- (starting with a letter or digit)", t.Name)
		case t.Name == AnonymousName:
			add(path+".name", "%q is the name of callers without a token", t.Name)
		case dup && prev < 0:
			add(path+".name", "%q is the name admin.token goes by", t.Name)
		case dup:
			add(path+".name", "token name %q used twice (first at admin.tokens[%d])", t.Name, prev)
		default:
			names[t.Name] = i
		}
		switch {
		case t.Token == "":
			add(path+".token", "required")
		case len(t.Token) < MinAdminTokenBytes:
			add(path+".token", "token is %d bytes, want at least %d", len(t.Token), MinAdminTokenBytes)
		case sameToken(t.Token, c.Admin.Token):
			add(path+".token", "same token as admin.token")
		default:
			for j := range i {
				if sameToken(t.Token, c.Admin.Tokens[j].Token) {
					add(path+".token", "same token as admin.tokens[%d]", j)
					break
				}
			}
		}
		switch t.Role {
		case "read", "edit":
		case "":
			add(path+".role", "required: read or edit")
		default:
			add(path+".role", "unknown role %q; want read or edit", t.Role)
		}
	}
	return errs
}

// sameToken compares two tokens in constant time, as the admin API does.
func sameToken(a, b string) bool {
	return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
