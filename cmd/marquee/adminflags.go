package main

import (
	"flag"
	"fmt"
	"os"
)

// Environment variables the commands that call the admin API read the
// token from when -token is not given. oldTokenEnv is the name earlier
// releases read, still honoured so that scripts keep working.
const (
	adminTokenEnv = "MARQUEE_ADMIN_TOKEN"
	oldTokenEnv   = "MARQUEE_TOKEN"
)

// defaultAdminURL is where demo and a default serve put the admin API.
const defaultAdminURL = "http://127.0.0.1:9000"

// adminFlags are the flags of every command that calls a running node's
// admin API: one name for each, everywhere.
type adminFlags struct {
	url   string
	token string
}

// addAdminFlags registers -admin and -token on fs, and each of oldNames
// as another name for -admin, which a command accepted before.
func addAdminFlags(fs *flag.FlagSet, oldNames ...string) *adminFlags {
	a := &adminFlags{}
	fs.StringVar(&a.url, "admin", defaultAdminURL, "admin API base `URL` of a running node")
	for _, n := range oldNames {
		fs.StringVar(&a.url, n, defaultAdminURL, "old name of -admin `URL`")
	}
	// The default is read after parsing, not shown as the flag's default,
	// so that -h never prints a token.
	fs.StringVar(&a.token, "token", "", "admin bearer `token` (default $"+adminTokenEnv+")")
	return a
}

// bearer returns the token to send: -token, else the environment's.
func (a *adminFlags) bearer() string {
	if a.token != "" {
		return a.token
	}
	if t := os.Getenv(adminTokenEnv); t != "" {
		return t
	}
	return os.Getenv(oldTokenEnv)
}

// unauthorized is the error for a 401 answer: how to give a token when
// none was sent, that the one sent was refused otherwise.
func unauthorized(token string) error {
	if token == "" {
		return fmt.Errorf("the admin API answered 401: give the token with -token TOKEN or %s=TOKEN", adminTokenEnv)
	}
	return fmt.Errorf("the admin API answered 401: it refused the token given (with -token or %s)", adminTokenEnv)
}
