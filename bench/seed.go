package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// putProfiles stores one generated profile per id through the admin API's
// bulk import, in NDJSON batches: a million profiles load in seconds, where
// one PUT each would take minutes.
func (r *runner) putProfiles(ctx context.Context, adminURL string, ids []string) error {
	const batch = 50_000
	var body bytes.Buffer
	for start := 0; start < len(ids); start += batch {
		end := min(start+batch, len(ids))
		body.Reset()
		for i := start; i < end; i++ {
			// ProfileBody is an object; the import's lines also name the id.
			fmt.Fprintf(&body, "{\"id\":%q,%s\n", ids[i], ProfileBody(i)[1:])
		}
		if err := r.importProfiles(ctx, adminURL, &body, end-start); err != nil {
			return err
		}
	}
	return nil
}

// importProfiles posts one NDJSON batch of n profiles and checks that all
// were stored.
func (r *runner) importProfiles(ctx context.Context, adminURL string, body io.Reader, n int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, adminURL+"/v1/import?kind=profiles", body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := r.http.Do(req)
	if err != nil {
		return fmt.Errorf("bench: storing profiles: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("bench: storing profiles: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	var st struct {
		Imported int `json:"imported"`
		Rejected int `json:"rejected"`
	}
	if err := json.Unmarshal(msg, &st); err != nil {
		return fmt.Errorf("bench: storing profiles: %w", err)
	}
	if st.Imported != n || st.Rejected != 0 {
		return fmt.Errorf("bench: storing profiles: %d of %d imported, %d rejected: %s", st.Imported, n, st.Rejected, bytes.TrimSpace(msg))
	}
	return nil
}

// checkPersonalized asks for the page as the most frequent visitor (a gold
// member) and fails unless an offer was spliced in: a bench of a proxy
// that personalises nothing would measure the wrong thing.
func (r *runner) checkPersonalized(ctx context.Context, proxyURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, proxyURL+requestPath, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Cookie", r.opts.CookieName+"="+r.cookies[0])
	resp, err := r.http.Do(req) // net/http decodes gzip itself
	if err != nil {
		return fmt.Errorf("bench: checking personalisation: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("bench: checking personalisation: %w", err)
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Welcome back, Visitor 0")) {
		return fmt.Errorf("bench: the personalising proxy did not fill a slot for a gold visitor (status %d, %d bytes)", resp.StatusCode, len(body))
	}
	return nil
}

// countSubstitutions returns how many of nginx's replacements a page
// fetched from url carries.
func (r *runner) countSubstitutions(url string) int {
	resp, err := r.http.Get(url + requestPath)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return strings.Count(string(body), NginxReplacement)
}
