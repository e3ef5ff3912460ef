package admin

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	msync "github.com/marquee-proxy/marquee/sync"
	"github.com/tidwall/buntdb"
)

// corruptStore opens a store in a directory whose file holds, beside a
// good profile, undecodable records under ids, written through buntdb
// directly ("p:" is the store's key prefix of profiles).
func corruptStore(t *testing.T, ids ...string) (*httptest.Server, *msync.Store) {
	t.Helper()
	dir := t.TempDir()
	st, err := msync.Open(msync.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := buntdb.Open(filepath.Join(dir, "profiles.db"))
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *buntdb.Tx) error {
		for _, id := range ids {
			if _, _, err := tx.Set("p:"+id, `{"attrs":{"tier":`, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	return newAdminNode(t, msync.Options{Dir: dir}, Options{})
}

// An undecodable profile record reads as absent, a PUT replaces it, a
// DELETE erases it, and a batch with events about it applies them all.
func TestUndecodableProfile(t *testing.T) {
	srv, st := corruptStore(t, "bad-get", "bad-put", "bad-del", "bad-ev")

	if code, body := call(t, srv, "GET", "/v1/profiles/bad-get", "", ""); code != http.StatusNotFound {
		t.Errorf("GET: got %d %v, want 404", code, body)
	}
	if code, body := call(t, srv, "PUT", "/v1/profiles/bad-put", "", `{"attrs":{"tier":"gold"}}`); code != http.StatusOK {
		t.Errorf("PUT: got %d %v, want 200", code, body)
	}
	if p, err := st.Get("bad-put"); err != nil || p == nil || p.Attrs["tier"] != "gold" {
		t.Errorf("after PUT: %+v, %v", p, err)
	}
	if resp, data := adminDo(t, srv, "DELETE", "/v1/profiles/bad-del", "", ""); resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE: got %d %s, want 204", resp.StatusCode, data)
	}
	now := time.Now().UTC().Format(time.RFC3339)
	code, body := call(t, srv, "POST", "/v1/events", "",
		`[{"id":"e1","type":"view","visitor":"good","category":"shoes","ts":"`+now+`"},{"id":"e2","type":"view","visitor":"bad-ev","category":"hats","ts":"`+now+`"}]`)
	if code != http.StatusOK || body["accepted"] != float64(2) {
		t.Fatalf("events: got %d %v, want 200 with both accepted", code, body)
	}
	if p, err := st.Get("bad-ev"); err != nil || p == nil || p.Views["hats"] == nil {
		t.Errorf("bad-ev after events: %+v, %v", p, err)
	}
	if st.Undecodable() == 0 {
		t.Error("Undecodable: got 0")
	}
}
