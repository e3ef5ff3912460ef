package admin

import (
	"net/http"
	"testing"

	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"
)

const (
	slotPage   = personalizetest.SlotPage
	goldConfig = personalizetest.GoldConfig
)

func startPersonalized(t testing.TB, yaml, page string) *personalizetest.Env {
	t.Helper()
	return personalizetest.Start(t, yaml, page, personalize.Options{})
}

// mustNew is New for a test: it fails the test on an error.
func mustNew(t testing.TB, o Options) http.Handler {
	t.Helper()
	h, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
