package personalize_test

import (
	"path/filepath"
	"testing"

	"github.com/marquee-proxy/marquee/internal/personalizetest"
	"github.com/marquee-proxy/marquee/personalize"
	msync "github.com/marquee-proxy/marquee/sync"
	"github.com/tidwall/buntdb"
)

// A visitor whose stored profile cannot be decoded is decided for as a
// new one, not answered 500.
func TestDecideUndecodableProfile(t *testing.T) {
	dir := t.TempDir()
	st, err := msync.Open(msync.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	vid := ""
	{
		env := personalizetest.Start(t, "campaigns:\n  - {id: promo, slot: hero, template: '<b>PROMO</b>'}\n", "<p></p>", personalize.Options{})
		vid = string(env.Pers.Signer().AppendMint(nil))
	}
	db, err := buntdb.Open(filepath.Join(dir, "profiles.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *buntdb.Tx) error {
		_, _, err := tx.Set("p:"+vid[:personalize.VisitorIDLen], `{"attrs":`, nil)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if st, err = msync.Open(msync.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env := personalizetest.Start(t, "campaigns:\n  - {id: promo, slot: hero, template: '<b>PROMO</b>'}\n", "<p></p>", personalize.Options{Store: st})
	r := env.Proxy.Get(t, "GET", "/_marquee/decide?slots=hero", "Cookie: mq_vid="+vid)
	if r.StatusCode() != 200 {
		t.Fatalf("decide: %d %s", r.StatusCode(), r.Body())
	}
}
