package admin

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/opstate"
	msync "github.com/marquee-proxy/marquee/sync"
)

// importLine is one line of a streamed import answer.
type importLine struct {
	Progress *importProgress `json:"progress"`
	Reject   *struct {
		Line  int `json:"line"`
		Error struct {
			Code    string `json:"code"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"reject"`
	Error    *json.RawMessage `json:"error"`
	Kind     string           `json:"kind"`
	Imported *int             `json:"imported"`
	Rejected int              `json:"rejected"`
}

// TestImportStream: a client that accepts NDJSON sees the node's progress
// while it is still sending, every rejected line with its field, and the
// final counts; a chunked body larger than what an HTTP/1 server would
// discard once the answer has started arrives whole.
func TestImportStream(t *testing.T) {
	srv, st := newAdminTest(t, "")
	const first, second = 5000, 5000 // lines sent before and after the pause
	line := func(i int) string {
		switch i {
		case 10:
			return "{\"id\": nope\n"
		case 20:
			return `{"id":"bad id"}` + "\n"
		}
		return fmt.Sprintf(`{"id":"u%d","attrs":{"tier":"gold","pad":%q}}`+"\n", i, strings.Repeat("x", 60))
	}
	pr, pw := io.Pipe()
	// Runs before the server's cleanup, which waits for the handler.
	t.Cleanup(func() { pw.CloseWithError(errors.New("test over")) })
	req, err := http.NewRequest("POST", srv.URL+"/v1/import?kind=profiles", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/x-ndjson")
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		got <- result{resp, err}
	}()
	go func() {
		for i := 1; i <= first; i++ {
			if _, err := io.WriteString(pw, line(i)); err != nil {
				return
			}
		}
	}()
	var res result
	select {
	case res = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("no answer while the body is still being sent")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	defer res.resp.Body.Close()
	if ct := res.resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Fatalf("Content-Type %q", ct)
	}
	sc := bufio.NewScanner(res.resp.Body)
	next := func() importLine {
		t.Helper()
		if !sc.Scan() {
			t.Fatalf("answer ended: %v", sc.Err())
		}
		var l importLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Bytes(), err)
		}
		return l
	}
	// The body is paused after `first` lines: progress must say so
	// before any more is sent.
	var rejects []string
	for {
		l := next()
		if l.Reject != nil {
			rejects = append(rejects, fmt.Sprintf("%d %s %s", l.Reject.Line, l.Reject.Error.Code, l.Reject.Error.Field))
			continue
		}
		if l.Progress == nil {
			t.Fatalf("got %q before the body ended", sc.Bytes())
		}
		if l.Progress.Lines == first {
			break
		}
	}
	go func() {
		for i := first + 1; i <= first+second; i++ {
			if _, err := io.WriteString(pw, line(i)); err != nil {
				return
			}
		}
		pw.Close()
	}()
	var final importLine
	for {
		l := next()
		if l.Reject != nil {
			rejects = append(rejects, fmt.Sprintf("%d %s %s", l.Reject.Line, l.Reject.Error.Code, l.Reject.Error.Field))
			continue
		}
		if l.Progress == nil {
			final = l
			break
		}
	}
	if sc.Scan() {
		t.Errorf("a line after the summary: %q", sc.Bytes())
	}
	want := []string{"10 invalid_json ", "20 invalid_field id"}
	if fmt.Sprint(rejects) != fmt.Sprint(want) {
		t.Errorf("rejects %q, want %q", rejects, want)
	}
	if final.Imported == nil || *final.Imported != first+second-2 || final.Rejected != 2 || final.Kind != "profiles" {
		t.Errorf("summary %q, want %d imported and 2 rejected", sc.Bytes(), first+second-2)
	}
	if p, _ := st.Get(fmt.Sprintf("u%d", first+second)); p == nil {
		t.Error("the last line was not imported")
	}
}

// TestImportStreamError: a stream that breaks off ends the streamed
// answer with the error shape, after the status has gone out.
func TestImportStreamError(t *testing.T) {
	audit, err := opstate.OpenAudit("", opstate.AuditOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := newAdminNode(t, msync.Options{}, Options{Audit: audit})
	body := `{"id":"u1"}` + "\n" + `{"id":"` + strings.Repeat("x", 2<<20) + "\n"
	req, err := http.NewRequest("POST", srv.URL+"/v1/import", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json, application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var last importLine
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Error == nil || !strings.Contains(string(*last.Error), `"too_large"`) {
		t.Errorf("status %d, answer %q; want a last line with a too_large error", resp.StatusCode, out)
	}
	// The 200 went out first; the audit log has the outcome.
	es := audit.List(10, time.Time{})
	if len(es) != 1 || es[0].Status != http.StatusRequestEntityTooLarge || !strings.HasSuffix(es[0].Summary, ", then stopped") {
		t.Errorf("audit entries %+v, want one with status 413 and a summary ending \", then stopped\"", es)
	}
}
