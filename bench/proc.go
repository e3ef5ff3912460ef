package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ,
// which is 100 on every Linux architecture Go supports (sysconf(_SC_CLK_TCK)).
const clockTick = 10 * time.Millisecond

// ErrNoProc is returned where /proc is not available (not Linux).
var ErrNoProc = errors.New("bench: /proc not available; CPU time is measured on Linux only")

// CPUTime is CPU time used by a process, split between its own code (User)
// and the kernel working for it (Sys): for a proxy, Sys is mostly moving
// bytes through sockets, a cost every proxy pays alike.
type CPUTime struct {
	User, Sys time.Duration
}

// Total is User plus Sys.
func (c CPUTime) Total() time.Duration { return c.User + c.Sys }

// Sub returns c minus d, field by field.
func (c CPUTime) Sub(d CPUTime) CPUTime { return CPUTime{c.User - d.User, c.Sys - d.Sys} }

// Add returns c plus d, field by field.
func (c CPUTime) Add(d CPUTime) CPUTime { return CPUTime{c.User + d.User, c.Sys + d.Sys} }

// ProcessCPU returns the user and system CPU time the process pid has used
// so far, all its threads together, from /proc/PID/stat. Its resolution is
// one clock tick (10 ms); measure windows long enough for that to vanish.
func ProcessCPU(pid int) (CPUTime, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat("/proc/self/stat"); serr != nil {
				return CPUTime{}, ErrNoProc
			}
		}
		return CPUTime{}, fmt.Errorf("bench: CPU time of %d: %w", pid, err)
	}
	f, err := statFields(data)
	if err != nil {
		return CPUTime{}, fmt.Errorf("bench: CPU time of %d: %w", pid, err)
	}
	// After the command: state(3) ppid(4) … utime(14) stime(15).
	ut, err1 := strconv.ParseUint(f[14-3], 10, 64)
	st, err2 := strconv.ParseUint(f[15-3], 10, 64)
	if err1 != nil || err2 != nil {
		return CPUTime{}, fmt.Errorf("bench: CPU time of %d: bad utime %q or stime %q", pid, f[14-3], f[15-3])
	}
	return CPUTime{User: time.Duration(ut) * clockTick, Sys: time.Duration(st) * clockTick}, nil
}

// statFields splits /proc/PID/stat after the parenthesised command name,
// which may hold spaces and parentheses itself: field 3 (state) comes first.
func statFields(data []byte) ([]string, error) {
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, errors.New("malformed stat")
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 15-3+1 {
		return nil, errors.New("short stat")
	}
	return f, nil
}

// TreeCPU returns the CPU time of pid and of its direct children, for
// servers such as nginx whose master forks the workers that do the work.
func TreeCPU(pid int) (CPUTime, error) {
	total, err := ProcessCPU(pid)
	if err != nil {
		return CPUTime{}, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return CPUTime{}, ErrNoProc
	}
	want := strconv.Itoa(pid)
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // exited meanwhile
		}
		f, err := statFields(data)
		if err != nil || f[4-3] != want {
			continue
		}
		if d, err := ProcessCPU(child); err == nil {
			total = total.Add(d)
		}
	}
	return total, nil
}

// Metrics are the counters of a marquee process's /metrics that the bench
// reads before and after a measurement.
type Metrics struct {
	// Mallocs is go_memstats_mallocs_total: heap objects allocated so far.
	Mallocs float64
	// Outcomes is marquee_proxy_requests_total by outcome label, summed
	// over any other labels.
	Outcomes map[string]float64
}

// ScrapeMetrics reads the Prometheus text at url (the admin listener's
// /metrics). A document that is not valid exposition text is an error.
func ScrapeMetrics(ctx context.Context, c *http.Client, url string) (Metrics, error) {
	m := Metrics{Outcomes: map[string]float64{}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return m, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return m, fmt.Errorf("bench: metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return m, fmt.Errorf("bench: metrics: %s", resp.Status)
	}
	return parseMetrics(resp.Body, m)
}

// parseMetrics reads the counters of m from r, Prometheus text exposition
// format, into m. Series are found by metric name and label values, so the
// order of labels, labels the bench does not know, HELP and TYPE lines and
// other families do not matter; a document that does not parse is an error.
func parseMetrics(r io.Reader, m Metrics) (Metrics, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(r)
	if err != nil {
		return m, fmt.Errorf("bench: metrics: %w", err)
	}
	mf, ok := fams["go_memstats_mallocs_total"]
	if !ok {
		return m, errors.New("bench: metrics: no go_memstats_mallocs_total")
	}
	mallocSeries, err := seriesOf(mf)
	if err != nil {
		return m, err
	}
	var mallocs float64
	for _, s := range mallocSeries {
		mallocs += s.value
	}
	byOutcome := map[string]float64{}
	// Without the family, no outcomes.
	if mf, ok := fams["marquee_proxy_requests_total"]; ok {
		reqs, err := seriesOf(mf)
		if err != nil {
			return m, err
		}
		for _, s := range reqs {
			o, ok := s.labels["outcome"]
			if !ok {
				return m, fmt.Errorf("bench: metrics: %s%s has no outcome label", mf.GetName(), s.labels)
			}
			// Summed over any other labels, as PromQL's sum by (outcome).
			byOutcome[string(o)] += s.value
		}
	}
	m.Mallocs = mallocs
	for o, v := range byOutcome {
		m.Outcomes[o] = v
	}
	return m, nil
}

// series is one sample line of a counter: its labels and value.
type series struct {
	labels model.LabelSet
	value  float64
}

// seriesOf returns the series of mf, which must be a counter, a gauge or
// untyped (a family without a TYPE line). The same labels twice, which the
// text format does not allow, are an error.
func seriesOf(mf *dto.MetricFamily) ([]series, error) {
	out := make([]series, 0, len(mf.GetMetric()))
	seen := make(map[string]bool, len(mf.GetMetric()))
	for _, s := range mf.GetMetric() {
		var v float64
		switch mf.GetType() {
		case dto.MetricType_COUNTER:
			v = s.GetCounter().GetValue()
		case dto.MetricType_GAUGE:
			v = s.GetGauge().GetValue()
		case dto.MetricType_UNTYPED:
			v = s.GetUntyped().GetValue()
		default:
			return nil, fmt.Errorf("bench: metrics: %s is a %s, not a counter", mf.GetName(), mf.GetType())
		}
		labels := make(model.LabelSet, len(s.GetLabel()))
		for _, l := range s.GetLabel() {
			labels[model.LabelName(l.GetName())] = model.LabelValue(l.GetValue())
		}
		key := labels.String() // sorted by label name
		if seen[key] {
			return nil, fmt.Errorf("bench: metrics: %s%s appears twice", mf.GetName(), key)
		}
		seen[key] = true
		out = append(out, series{labels, v})
	}
	return out, nil
}

// SystemCPU returns the CPU time all processes on the machine have used
// so far (every CPU's non-idle time in /proc/stat), to tell how much other
// work shared the machine during a measurement.
func SystemCPU() (time.Duration, error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, ErrNoProc
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0, errors.New("bench: malformed /proc/stat")
	}
	var busy uint64
	// user nice system idle iowait irq softirq (guest is in user; steal
	// is the hypervisor's, not this machine's processes').
	for i, v := range f[1:min(len(f), 8)] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: malformed /proc/stat: %q", v)
		}
		busy += n
	}
	return time.Duration(busy) * clockTick, nil
}
