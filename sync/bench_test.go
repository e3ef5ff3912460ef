package sync

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/marquee-proxy/marquee/profile"
	"github.com/tidwall/buntdb"
)

func benchStore(b *testing.B, dir string) *Store {
	b.Helper()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkApplyEvent applies one event per transaction, as the events API
// does for a one-event call, on disk.
func BenchmarkApplyEvent(b *testing.B) {
	s := benchStore(b, b.TempDir())
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := s.ApplyEvent(Event{ID: "e" + strconv.Itoa(i), Type: EventView, Visitor: "v" + strconv.Itoa(i%10000), Category: "electronics", TS: now})
		if r.Status != EventAccepted {
			b.Fatal(r.Status, r.Err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkApplyEventsBatched applies 100 events per transaction, as a
// batch call or an import does.
func BenchmarkApplyEventsBatched(b *testing.B) {
	s := benchStore(b, b.TempDir())
	now := time.Now()
	const batch = 100
	evs := make([]Event, batch)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for j := range evs {
			evs[j] = Event{ID: "e" + strconv.Itoa(n), Type: EventView, Visitor: "v" + strconv.Itoa(n%10000), Category: "electronics", TS: now}
			n++
		}
		s.ApplyEvents(evs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkApplyObserved is the proxy's own page views: no dedup record.
func BenchmarkApplyObserved(b *testing.B) {
	s := benchStore(b, b.TempDir())
	now := time.Now()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s.ApplyObserved([]Event{{Type: EventView, Visitor: "v" + strconv.Itoa(i%10000), Category: "electronics", TS: now}})
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func profileLines(n int) []byte {
	var buf bytes.Buffer
	for i := range n {
		fmt.Fprintf(&buf, `{"id":"cust-%d","attrs":{"tier":"gold","name":"Customer %d","city":"Oslo"},"scores":{"propensity":0.%d}}`+"\n", i, i, i%100)
	}
	return buf.Bytes()
}

// BenchmarkImport streams NDJSON profiles into a store on disk.
func BenchmarkImport(b *testing.B) {
	data := profileLines(b.N)
	s := benchStore(b, b.TempDir())
	b.SetBytes(int64(len(data)) / int64(max(b.N, 1)))
	b.ResetTimer()
	st, err := s.Import(bytes.NewReader(data), ImportOptions{})
	if err != nil || st.Imported != b.N {
		b.Fatalf("import: %+v, %v", st, err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "profiles/s")
}

// BenchmarkDigest compares what a push/pull costs a node with 100k
// profiles and 10k tombstones, 1k of them past the retention cutoff but
// not yet collected: the digest kept up to date by writes, the digest read
// from the whole store, and the entries of one differing bucket.
func BenchmarkDigest(b *testing.B) {
	const n = 100_000
	s, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Import(bytes.NewReader(profileLines(n)), ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	cutoff := profile.VersionAt(now.Add(-30 * 24 * time.Hour))
	for i := range 10_000 {
		at := now.Add(-24 * time.Hour)
		if i%10 == 0 {
			at = now.Add(-31 * 24 * time.Hour)
		}
		if _, err := s.MergeTombstone("gone-"+strconv.Itoa(i), profile.VersionAt(at)); err != nil {
			b.Fatal(err)
		}
	}
	one := make([]bool, DefaultDigestBuckets)
	one[7] = true
	for _, bc := range []struct {
		name string
		run  func() error
	}{
		{"live", func() error { _, err := s.Digest(DefaultDigestBuckets, cutoff); return err }},
		{"live-none-past-cutoff", func() error { _, err := s.Digest(DefaultDigestBuckets, 0); return err }},
		{"scan", func() error { _, err := s.Digest(DefaultDigestBuckets+1, cutoff); return err }},
		{"entries-1-bucket", func() error { _, err := s.Entries(one, cutoff); return err }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if err := bc.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/profile")
		})
	}
}

// TestMillionProfiles measures import rate, resident memory and restart
// time with 1 million profiles on disk. It takes about a minute:
//
//	MARQUEE_BIG=1 go test ./sync/ -run TestMillionProfiles -v
func TestMillionProfiles(t *testing.T) {
	if testing.Short() || os.Getenv("MARQUEE_BIG") == "" {
		t.Skip("set MARQUEE_BIG=1 (and not -short) to run the 1M-profile measurement")
	}
	const n = 1_000_000
	dir := t.TempDir()
	data := profileLines(n)
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	st, err := s.Import(bytes.NewReader(data), ImportOptions{})
	if err != nil || st.Imported != n {
		t.Fatalf("import: %+v, %v", st, err)
	}
	el := time.Since(start)
	t.Logf("import: %d profiles in %s = %.0f profiles/s", n, el.Round(time.Millisecond), n/el.Seconds())
	data = nil
	s.Close()
	fi, _ := os.Stat(dir + "/profiles.db")
	t.Logf("store file: %d MiB", fi.Size()>>20)

	start = time.Now()
	s, err = Open(Options{Dir: dir, DigestBuckets: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("restart without a live digest: reopened %d profiles in %s", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	s.Digest(DefaultDigestBuckets, 0)
	t.Logf("digest read from the store: %s", time.Since(start).Round(time.Millisecond))
	s.Close()

	runtime.GC()
	debug.FreeOSMemory()
	base := rss()
	start = time.Now()
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t.Logf("restart: reopened %d profiles in %s", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	s.Digest(DefaultDigestBuckets, 0)
	t.Logf("digest kept up to date: %s", time.Since(start))
	runtime.GC()
	debug.FreeOSMemory()
	t.Logf("resident memory with 1M profiles loaded: %d MiB (process before open: %d MiB)", rss()>>20, base>>20)
	// A lookup of every profile fills the decoded cache: the worst case.
	start = time.Now()
	for i := 0; i < n; i++ {
		if p, _ := s.Get("cust-" + strconv.Itoa(i)); p == nil {
			t.Fatalf("profile %d missing after restart", i)
		}
	}
	t.Logf("first Get of every profile: %s", time.Since(start).Round(time.Millisecond))
	runtime.GC()
	debug.FreeOSMemory()
	t.Logf("resident memory with 1M profiles loaded and decoded in the cache: %d MiB", rss()>>20)

	// How long a write waits for a scan of every key (a digest of a bucket
	// count the store does not keep), read in one transaction or in chunks.
	for _, chunk := range []int{n + 1, scanChunk} {
		s.chunk = chunk
		waited := make(chan time.Duration)
		go func() {
			time.Sleep(50 * time.Millisecond)
			start := time.Now()
			s.Update("cust-1", func(p *profile.Profile) error { p.Sessions++; return nil })
			waited <- time.Since(start)
		}()
		start = time.Now()
		s.Digest(DefaultDigestBuckets+1, 0)
		took := time.Since(start)
		t.Logf("full scan in chunks of %d keys: %s; a write issued during it took %s",
			chunk, took.Round(time.Millisecond), (<-waited).Round(10*time.Microsecond))
	}
}

// rss reads this process's resident set size from /proc.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// benchProfile is a profile of the size a busy visitor reaches: attributes,
// scores, consent, a cart, purchases, a month of views in four categories.
func benchProfile(id string) *profile.Profile {
	yes := true
	p := &profile.Profile{ID: id, Attrs: map[string]any{"tier": "gold", "city": "Oslo", "age": 41.0},
		Scores: map[string]float64{"propensity": 0.42}, Consent: profile.Consent{Personalization: &yes}}
	p.Cart.Items = []profile.CartItem{{Product: "sku-1", Qty: 1, Price: 19.9}, {Product: "sku-2", Qty: 2, Price: 5}}
	for i := range 3 {
		p.Purchases = append(p.Purchases, profile.Purchase{ID: "o" + strconv.Itoa(i), Value: 50, At: time.Unix(int64(1_700_000_000+i*86400), 0).UTC()})
	}
	p.Views = map[string][]profile.DayCount{}
	for _, c := range []string{"books", "garden", "electronics", "toys"} {
		for d := range 30 {
			p.Views[c] = append(p.Views[c], profile.DayCount{Day: int32(20000 + d), Count: int32(d%5 + 1)})
		}
	}
	p.Recent = []string{"sku-1", "sku-2", "sku-3"}
	p.Sessions = 12
	return p
}

// BenchmarkGetBytesHit is the request path: a cached profile by a byte id.
func BenchmarkGetBytesHit(b *testing.B) {
	s, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	want := benchProfile("v1")
	if _, err := s.Update("v1", func(p *profile.Profile) error { *p = *want.Clone(); return nil }); err != nil {
		b.Fatal(err)
	}
	id := []byte("v1")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if p, _ := s.GetBytes(id); p == nil {
			b.Fatal("no profile")
		}
	}
}

// BenchmarkGetMiss reads a profile the cache does not hold: one decode.
func BenchmarkGetMiss(b *testing.B) {
	s, err := Open(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"v1", "v2"} {
		want := benchProfile(id)
		if _, err := s.Update(id, func(p *profile.Profile) error { *p = *want.Clone(); return nil }); err != nil {
			b.Fatal(err)
		}
	}
	ids := [2][]byte{[]byte("v1"), []byte("v2")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s.cache.remove(string(ids[i&1]))
		if p, _ := s.GetBytes(ids[i&1]); p == nil {
			b.Fatal("no profile")
		}
	}
}

// BenchmarkOpenCheck sets the read Open does before loading a store file
// beside the load itself, on a file of 100,000 profiles: check is
// scanFile's framing pass, load is buntdb's Open and Close.
func BenchmarkOpenCheck(b *testing.B) {
	dir := b.TempDir()
	s := benchStore(b, dir)
	recs := make([]ProfileRecord, 0, 1000)
	for i := range 100_000 {
		recs = append(recs, ProfileRecord{ID: "visitor-" + strconv.Itoa(i), Attrs: map[string]any{"tier": "gold", "city": "Lisbon"}, Scores: map[string]float64{"electronics": float64(i % 17)}})
		if len(recs) == cap(recs) {
			if err := s.ImportProfiles(recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	s.Close()
	path := dir + "/" + storeFile
	b.Run("check", func(b *testing.B) {
		for b.Loop() {
			if rep, _, err := scanFile(path, false); err != nil || rep.DamageCount > 0 {
				b.Fatal(rep, err)
			}
		}
		b.ReportMetric(float64(fileSize(path))/1e6, "MB")
	})
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			db, err := buntdb.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			db.Close()
		}
	})
}
