package bench

import (
	"context"
	"testing"
	"time"
)

func TestLoadClosedAndOpen(t *testing.T) {
	o, err := StartOrigin(OriginOptions{Page: ListingPage})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	cookies := []string{"a", "b", "c"}

	res, err := Load(context.Background(), LoadOptions{
		URL: o.URL() + "/listing", Connections: 2, Duration: 5 * time.Second, MaxRequests: 200,
		CookieName: "mq_vid", Cookies: cookies,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 200 || res.Errors != 0 || res.Bytes != 200*uint64(len(ListingPage)) {
		t.Fatalf("closed loop: %d requests, %d errors, %d bytes", res.Requests, res.Errors, res.Bytes)
	}
	if res.Latency.Count() != 200 || res.Latency.Quantile(0.5) <= 0 {
		t.Errorf("latency: %d values, p50 %v", res.Latency.Count(), res.Latency.Quantile(0.5))
	}

	// Open loop: 200/s for 0.5 s is about 100 requests, whatever the
	// origin could do.
	res, err = Load(context.Background(), LoadOptions{URL: o.URL() + "/", Connections: 4, Duration: 500 * time.Millisecond, Rate: 200})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests < 90 || res.Requests > 102 {
		t.Errorf("open loop at 200/s for 0.5 s: %d requests", res.Requests)
	}
}

func TestLoadBadURL(t *testing.T) {
	if _, err := Load(context.Background(), LoadOptions{URL: "https://127.0.0.1:1/", Duration: time.Second}); err == nil {
		t.Error("https accepted")
	}
	if _, err := Load(context.Background(), LoadOptions{URL: "http://127.0.0.1:1/"}); err == nil {
		t.Error("no duration accepted")
	}
}

func TestPacer(t *testing.T) {
	p := newPacer()
	defer p.close()
	start := time.Now()
	for range 20 {
		p.sleep(100 * time.Microsecond)
	}
	p.sleep(0)
	if el := time.Since(start); el < 2*time.Millisecond || el > 2*time.Second {
		t.Errorf("20 sleeps of 100 µs took %v", el)
	}
}
