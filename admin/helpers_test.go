package admin

import (
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
