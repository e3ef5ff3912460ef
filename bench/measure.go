package bench

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"
)

// measureRounds loads every target in turn for Rounds slices of
// Duration/Rounds each, in ABBA order (forward in even rounds, backward in
// odd ones), so that a change in the machine's background load during the
// run falls on all of them alike. rate > 0 loads at that fixed rate.
func (r *runner) measureRounds(ctx context.Context, targets []target, rate float64) ([]Result, error) {
	o := r.opts
	slice := max(o.Duration/time.Duration(o.Rounds), 100*time.Millisecond)
	samples := make([][]sample, len(targets))
	for round := range o.Rounds {
		for k := range targets {
			i := k
			if round%2 == 1 {
				i = len(targets) - 1 - k
			}
			s, err := r.measure(ctx, targets[i], rate, slice, round)
			if err != nil {
				return nil, err
			}
			samples[i] = append(samples[i], s)
		}
	}
	out := make([]Result, len(targets))
	for i, t := range targets {
		out[i] = combine(t, modeName(rate), samples[i])
		x := &out[i]
		r.progressf("%-22s %-12s %.0f req/s, p99 %.0f µs, %s µs proxy CPU/req, %d errors",
			t.name, x.Mode, x.RPS, x.P99US, fmtOpt(x.CPUPerReqUS), x.Errors)
	}
	return out, nil
}

func modeName(rate float64) string {
	if rate > 0 {
		return fmt.Sprintf("open %.0f/s", rate)
	}
	return "closed"
}

func fmtOpt(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}

// measure warms t up, then loads it for one slice and reads its CPU time
// and allocations around the slice.
func (r *runner) measure(ctx context.Context, t target, rate float64, slice time.Duration, round int) (sample, error) {
	o := r.opts
	mode := modeName(rate)
	lo := LoadOptions{
		URL:            t.url + requestPath,
		Connections:    o.Connections,
		Rate:           rate,
		CookieName:     o.CookieName,
		Cookies:        r.cookies,
		ZipfS:          o.ZipfS,
		AcceptEncoding: r.accept,
	}
	label := fmt.Sprintf("%-22s %-12s round %d/%d", t.name, mode, round+1, o.Rounds)
	if o.Warmup > 0 {
		r.progressf("%s warm-up %v", label, o.Warmup)
		lo.Duration = o.Warmup
		if _, err := Load(ctx, lo); err != nil {
			return sample{}, err
		}
	}
	lo.Duration = slice
	lo.Progress = func(done uint64, el time.Duration) {
		r.progressf("%s %4.0fs/%.0fs %9.0f req/s", label, el.Seconds(), slice.Seconds(), float64(done)/el.Seconds())
	}

	var s sample
	var before, after Metrics
	var err error
	if t.metrics != "" {
		if before, err = ScrapeMetrics(ctx, r.http, t.metrics); err != nil {
			return s, err
		}
	}
	cpu0, cpuErr := r.cpu(t)
	self0, selfErr := ProcessCPU(os.Getpid())
	sys0, sysErr := SystemCPU()
	lr, err := Load(ctx, lo)
	if err != nil {
		return s, err
	}
	cpu1, cpuErr1 := r.cpu(t)
	self1, selfErr1 := ProcessCPU(os.Getpid())
	sys1, sysErr1 := SystemCPU()
	if t.metrics != "" {
		if after, err = ScrapeMetrics(ctx, r.http, t.metrics); err != nil {
			return s, err
		}
	}
	s.load = *lr
	s.cpuOK = t.pid != 0 && cpuErr == nil && cpuErr1 == nil && selfErr == nil && selfErr1 == nil
	if s.cpuOK {
		s.cpu, s.self = cpu1.Sub(cpu0), self1.Sub(self0)
		if sysErr == nil && sysErr1 == nil {
			s.other = max(sys1-sys0-s.cpu.Total()-s.self.Total(), 0)
		}
	} else if selfErr == nil && selfErr1 == nil {
		s.self = self1.Sub(self0)
	}
	if t.metrics != "" {
		s.hasMetrics = true
		s.mallocs = after.Mallocs - before.Mallocs
		s.outcomes = map[string]float64{}
		for k, v := range after.Outcomes {
			s.outcomes[k] = v - before.Outcomes[k]
		}
	}
	return s, nil
}

// combine adds up the slices of one target into its result.
func combine(t target, mode string, ss []sample) Result {
	var lr LoadResult
	var cpu, self CPUTime
	var other time.Duration
	var mallocs float64
	outcomes := map[string]float64{}
	cpuOK, hasMetrics := true, false
	for i := range ss {
		s := &ss[i]
		lr.Requests += s.load.Requests
		lr.Errors += s.load.Errors
		lr.Bytes += s.load.Bytes
		lr.Hits += s.load.Hits
		lr.Late += s.load.Late
		lr.Elapsed += s.load.Elapsed
		lr.Latency.Merge(&s.load.Latency)
		cpu = cpu.Add(s.cpu)
		self = self.Add(s.self)
		other += s.other
		cpuOK = cpuOK && s.cpuOK
		if s.hasMetrics {
			hasMetrics = true
			mallocs += s.mallocs
			for k, v := range s.outcomes {
				outcomes[k] += v
			}
		}
	}
	res := newResult(t.name, mode, &lr)
	n := float64(lr.Requests)
	if n == 0 {
		return res
	}
	if t.cached {
		res.CacheHitRatio = math.Round(float64(lr.Hits)/n*10000) / 10000
	}
	perReq := func(d time.Duration) float64 { return math.Round(float64(d)/float64(time.Microsecond)/n*100) / 100 }
	res.BenchCPUPerReqUS = perReq(self.Total())
	if cpuOK {
		res.CPUPerReqUS = perReq(cpu.Total())
		res.SysPerReqUS = perReq(cpu.Sys)
		res.CPUCores = math.Round(cpu.Total().Seconds()/lr.Elapsed.Seconds()*100) / 100
		res.OtherCPUCores = math.Round(other.Seconds()/lr.Elapsed.Seconds()*100) / 100
	}
	if hasMetrics {
		res.AllocsPerReq = math.Round(mallocs/n*10) / 10
		var all float64
		for _, v := range outcomes {
			all += v
		}
		if all > 0 {
			res.RewrittenShare = math.Round(outcomes["rewritten"]/all*1000) / 1000
		}
	}
	return res
}

func (r *runner) cpu(t target) (CPUTime, error) {
	if t.pid == 0 {
		return CPUTime{}, ErrNoProc
	}
	if t.tree {
		return TreeCPU(t.pid)
	}
	return ProcessCPU(t.pid)
}
