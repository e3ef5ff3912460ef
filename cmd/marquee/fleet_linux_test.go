package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The fleet test runs three marquee processes in network namespaces (see
// netns_linux_test.go), sends random writes to random nodes through the
// admin API and the public listener at a fixed rate, cuts node 1 off from
// the others in the middle of the run, heals, and then checks that every
// node holds the same profiles and that no acknowledged write was lost
// under the merge rules of the README:
//
//   - attributes and the personalisation consent are registers: the
//     acknowledged write with the latest stamp (version, then node) is
//     the value every node shows, a removal included;
//   - every acknowledged purchase is present;
//   - view counts equal the acknowledged view events and page views.
//
// MARQUEE_CLUSTER_BENCH=1 runs the longer variant (2 minutes of load, a
// 40 s partition).

const (
	fleetNodes    = 3
	fleetVisitors = 20
)

var fleetAttrKeys = []string{"tier", "color", "size"}
var fleetCategories = []string{"shoes", "books", "garden"}

type fleetOpKind int

const (
	opAttrSet fleetOpKind = iota
	opAttrRemove
	opConsent
	opPurchase
	opViewEvent
	opPageView
)

func (k fleetOpKind) String() string {
	return [...]string{"attr-set", "attr-remove", "consent", "purchase", "view-event", "page-view"}[k]
}

// fleetStamp is a register's write stamp as the admin API reports it.
type fleetStamp struct {
	v    uint64
	node string
}

func (s fleetStamp) after(o fleetStamp) bool { return s.v > o.v || s.v == o.v && s.node > o.node }
func (s fleetStamp) String() string          { return fmt.Sprintf("%d:%s", s.v, s.node) }

func parseFleetStamp(s string) (fleetStamp, bool) {
	v, node, ok := strings.Cut(s, ":")
	if !ok {
		return fleetStamp{}, false
	}
	n, err := strconv.ParseUint(v, 10, 64)
	return fleetStamp{n, node}, err == nil
}

// fleetOp is one operation and what came of it.
type fleetOp struct {
	seq     int
	kind    fleetOpKind
	node    int // 1-based
	visitor string
	key     string // attribute name, "consent", purchase or event id, category
	value   any    // attribute value (nil: removal) or consent bool
	sent    time.Time
	acked   time.Time
	// outcome: "ack" (2xx, applied), "rejected" (an answer saying it was
	// not applied), "uncertain" (no answer: it may or may not be applied).
	outcome string
	stamp   fleetStamp // registers: the stamp the answer reports
	detail  string
}

// register is the key of one register: visitor and field ("a:tier",
// "c:p").
type fleetRegister struct{ visitor, field string }

func (op *fleetOp) register() fleetRegister {
	if op.kind == opConsent {
		return fleetRegister{op.visitor, "c:p"}
	}
	return fleetRegister{op.visitor, "a:" + op.key}
}

func TestFleetLostWrites(t *testing.T) {
	bin := buildMarquee(t)
	l := newNetlab(t, fleetNodes)

	load, partFrom, partLen, rate := 30*time.Second, 10*time.Second, 10*time.Second, 200
	if os.Getenv("MARQUEE_CLUSTER_BENCH") == "1" {
		load, partFrom, partLen = 120*time.Second, 40*time.Second, 40*time.Second
	}

	ln, err := inNetns(l.ns(0), func() (net.Listener, error) { return net.Listen("tcp", "10.199.0.100:0") })
	if err != nil {
		t.Fatal(err)
	}
	originURL := serveOrigin(t, ln, pageOrigin())

	nodes := make([]*labNode, fleetNodes)
	for i := range nodes {
		nodes[i] = &labNode{i: i + 1, ip: fmt.Sprintf("10.199.0.%d", i+1), dir: t.TempDir(),
			join: `"10.199.0.1:7946", "10.199.0.2:7946"`,
			extra: `tracking:
  pages:
    - path: /c/{category}
`}
		l.start(t, bin, nodes[i], originURL)
	}
	poll(t, 30*time.Second, "three members alive", func() bool {
		for _, n := range nodes {
			if k, _ := n.alive(); k != fleetNodes {
				return false
			}
		}
		return true
	})

	// Visitors get their cookies from the public listener: the first half
	// take consent changes, the second half page views (a page view of
	// a visitor who opted out is not tracked, so the two are kept apart).
	cookies := make(map[string]string)
	var visitors []string
	for range fleetVisitors {
		id, c := fleetMintVisitor(t, nodes[0])
		visitors = append(visitors, id)
		cookies[id] = c
	}

	// Partition: node 1 | nodes 2, 3.
	setCut := func(on bool) {
		for _, b := range nodes[1:] {
			f := l.cut
			if !on {
				f = l.uncut
			}
			if err := f(1, b.ip); err != nil {
				t.Error(err)
			}
			if err := f(b.i, nodes[0].ip); err != nil {
				t.Error(err)
			}
		}
	}

	total := int(load.Seconds()) * rate
	ops := make([]*fleetOp, total)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))
	t.Logf("random schedule: %d operations over %v, partition %v..%v", total, load, partFrom, partFrom+partLen)
	for i := range ops {
		v := rng.IntN(len(visitors))
		op := &fleetOp{seq: i, node: 1 + rng.IntN(fleetNodes), visitor: visitors[v]}
		consentVisitor := v < len(visitors)/2
		switch r := rng.IntN(100); {
		case r < 30:
			op.kind, op.key, op.value = opAttrSet, fleetAttrKeys[rng.IntN(len(fleetAttrKeys))], fmt.Sprintf("n%d-%d", op.node, i)
		case r < 40:
			op.kind, op.key = opAttrRemove, fleetAttrKeys[rng.IntN(len(fleetAttrKeys))]
		case r < 55 && consentVisitor:
			op.kind, op.key, op.value = opConsent, "consent", rng.IntN(2) == 0
		case r < 55 || r < 70:
			op.kind, op.key = opPurchase, fmt.Sprintf("ord-%d", i)
		case r < 85 || consentVisitor:
			op.kind, op.key = opViewEvent, fleetCategories[rng.IntN(len(fleetCategories))]
		default:
			op.kind, op.key = opPageView, fleetCategories[rng.IntN(len(fleetCategories))]
		}
		ops[i] = op
	}

	// Run: one pacer, a bounded pool of workers.
	work := make(chan *fleetOp, 256)
	var wg sync.WaitGroup
	for range 24 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for op := range work {
				fleetRun(nodes[op.node-1], cookies[op.visitor], op)
			}
		}()
	}
	start := time.Now()
	var healed time.Time
	partitioned := false
	minAlive := fleetNodes
	for i, op := range ops {
		at := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		el := time.Since(start)
		if !partitioned && healed.IsZero() && el >= partFrom {
			setCut(true)
			partitioned = true
			t.Logf("%v: partition node 1 | nodes 2, 3", el.Round(time.Millisecond))
		}
		if partitioned && el >= partFrom+partLen {
			setCut(false)
			partitioned, healed = false, time.Now()
			t.Logf("%v: healed", el.Round(time.Millisecond))
		}
		if partitioned && i%rate == 0 {
			// How many members node 1 sees, for the report.
			if k, _ := nodes[0].alive(); k > 0 && k < minAlive {
				minAlive = k
			}
		}
		if time.Since(start) > load+30*time.Second {
			t.Errorf("load fell behind: stopped after %d of %d operations", i, total)
			ops = ops[:i]
			break
		}
		work <- op
	}
	close(work)
	wg.Wait()
	if partitioned {
		setCut(false)
		healed = time.Now()
	}
	loadEnd := time.Now()

	counts := map[string]int{}
	for _, op := range ops {
		counts[op.outcome]++
	}
	t.Logf("%d operations in %v (%.0f/s): %d acknowledged, %d rejected, %d uncertain; node 1 saw as few as %d members alive during the partition",
		len(ops), loadEnd.Sub(start).Round(time.Millisecond), float64(len(ops))/loadEnd.Sub(start).Seconds(),
		counts["ack"], counts["rejected"], counts["uncertain"], minAlive)
	for _, op := range ops {
		if op.outcome == "rejected" {
			t.Errorf("op %d %s on node %d rejected: %s", op.seq, op.kind, op.node, op.detail)
		}
	}

	// Convergence: poll until every node holds the same profiles and the
	// checker finds every acknowledged write, bounded.
	chk := newFleetChecker(ops)
	var lost []string
	var diffs []string
	converged := false
	for range 600 {
		if time.Since(loadEnd) > 90*time.Second {
			break
		}
		profs, err := fleetFetch(nodes, visitors)
		if err == nil {
			diffs = fleetDiffs(profs, visitors)
			lost = chk.check(profs, visitors)
			if len(diffs) == 0 && len(lost) == 0 {
				converged = true
				break
			}
		} else {
			diffs = []string{err.Error()}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("registers: %d written; %d with two or more acknowledged writes concurrent in real time (either allowed by real time; the later stamp required); %d where an answer reported a later stamp than a write acknowledged after it",
		chk.registers, chk.concurrent, chk.stampNotLast)
	for _, n := range first(chk.notes, 5) {
		t.Logf("  %s", n)
	}
	if !converged {
		for _, n := range nodes {
			_, m, _ := n.do("GET", "/metrics", "")
			for _, line := range strings.Split(m, "\n") {
				if strings.HasPrefix(line, "marquee_personalize_profile_updates_dropped_total") || strings.HasPrefix(line, "marquee_personalize_profile_updates_failed_total") {
					t.Logf("node %d: %s", n.i, line)
				}
			}
		}
		if len(diffs) > 0 {
			t.Errorf("nodes differ %v after the load ended (%v after the heal), %d profiles:\n%s",
				time.Since(loadEnd).Round(time.Millisecond), time.Since(healed).Round(time.Millisecond), len(diffs), strings.Join(first(diffs, 20), "\n"))
		}
		kinds := map[string]int{}
		for _, l := range lost {
			if strings.HasPrefix(l, "node 1,") {
				switch {
				case strings.Contains(l, ": purchase "):
					kinds["purchases"]++
				case strings.Contains(l, " views of "):
					kinds["view counts"]++
				default:
					kinds["registers"]++
				}
			}
		}
		t.Errorf("LOST WRITES: %d findings over 3 nodes (%d acknowledged operations); on node 1: %d registers, %d purchases, %d view counts wrong:\n%s",
			len(lost), counts["ack"], kinds["registers"], kinds["purchases"], kinds["view counts"], strings.Join(first(lost, 200), "\n"))
		return
	}
	t.Logf("converged: every node identical and every acknowledged write visible %v after the load ended (%v after the heal); lost writes: 0 of %d acknowledged",
		time.Since(loadEnd).Round(time.Millisecond), time.Since(healed).Round(time.Millisecond), counts["ack"])
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... and %d more", len(s)-n))
	}
	return s
}

// fleetMintVisitor visits the page once and returns the visitor id and
// its cookie.
func fleetMintVisitor(t *testing.T, n *labNode) (string, string) {
	t.Helper()
	resp, err := n.http.Get(n.proxy() + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == "mq_vid" {
			id, _, _ := strings.Cut(c.Value, ".")
			return id, c.Name + "=" + c.Value
		}
	}
	t.Fatal("no visitor cookie minted")
	return "", ""
}

// fleetRun sends op to n and records what came of it.
func fleetRun(n *labNode, cookie string, op *fleetOp) {
	op.sent = time.Now()
	var code int
	var body string
	var err error
	switch op.kind {
	case opAttrSet, opAttrRemove, opConsent:
		var patch []byte
		if op.kind == opConsent {
			patch, _ = json.Marshal(map[string]any{"consent": map[string]any{"personalization": op.value}})
		} else {
			patch, _ = json.Marshal(map[string]any{"attrs": map[string]any{op.key: op.value}})
		}
		code, body, err = n.do("PATCH", "/v1/profiles/"+op.visitor, string(patch))
	case opPurchase, opViewEvent:
		ev := map[string]any{"visitor": op.visitor}
		if op.kind == opPurchase {
			ev["id"], ev["type"], ev["product"], ev["value"] = op.key, "purchase", "p"+strconv.Itoa(op.seq%7), 10+op.seq%50
		} else {
			ev["id"], ev["type"], ev["category"] = fmt.Sprintf("view-%d", op.seq), "view", op.key
		}
		b, _ := json.Marshal([]any{ev})
		code, body, err = n.do("POST", "/v1/events", string(b))
	case opPageView:
		req, _ := http.NewRequest("GET", n.proxy()+"/c/"+op.key, nil)
		req.Header.Set("Cookie", cookie)
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) fleet-test")
		var resp *http.Response
		if resp, err = n.http.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			code = resp.StatusCode
		}
	}
	op.acked = time.Now()
	switch {
	case err != nil:
		op.outcome, op.detail = "uncertain", err.Error()
		return
	case code >= 500:
		op.outcome, op.detail = "uncertain", fmt.Sprintf("%d %s", code, body)
		return
	case code/100 != 2:
		op.outcome, op.detail = "rejected", fmt.Sprintf("%d %s", code, body)
		return
	}
	op.outcome = "ack"
	switch op.kind {
	case opPurchase, opViewEvent:
		var r struct{ Accepted, Duplicates, Rejected int }
		json.Unmarshal([]byte(body), &r)
		if r.Accepted != 1 {
			op.outcome, op.detail = "rejected", body
		}
	case opAttrSet, opAttrRemove, opConsent:
		var p struct {
			Version string
			Node    string
			Stamps  map[string]string
		}
		json.Unmarshal([]byte(body), &p)
		if s, ok := parseFleetStamp(p.Stamps[op.register().field]); ok {
			op.stamp = s
		} else {
			// A store without register stamps: the record's version.
			v, _ := strconv.ParseUint(p.Version, 10, 64)
			op.stamp = fleetStamp{v, p.Node}
		}
	}
}

// fleetProfile is one node's copy of a profile, decoded.
type fleetProfile struct {
	raw  map[string]any
	norm string // the JSON compared across nodes
}

// fleetFetch reads every visitor's profile on every node.
func fleetFetch(nodes []*labNode, visitors []string) ([]map[string]*fleetProfile, error) {
	out := make([]map[string]*fleetProfile, len(nodes))
	for i, n := range nodes {
		out[i] = make(map[string]*fleetProfile)
		for _, id := range visitors {
			code, body, err := n.do("GET", "/v1/profiles/"+id, "")
			if err != nil {
				return nil, fmt.Errorf("node %d: GET %s: %v", n.i, id, err)
			}
			if code == 404 {
				continue
			}
			if code != 200 {
				return nil, fmt.Errorf("node %d: GET %s: %d %s", n.i, id, code, body)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				return nil, err
			}
			out[i][id] = &fleetProfile{raw: m, norm: fleetNormalise(m)}
		}
	}
	return out, nil
}

// fleetNormalise drops what may legitimately differ between nodes (the
// wall time of the node's last local write, segments computed by each
// node) and orders purchases by id.
func fleetNormalise(m map[string]any) string {
	c := make(map[string]any, len(m))
	for k, v := range m {
		if k != "updated" && k != "segments" {
			c[k] = v
		}
	}
	if ps, ok := c["purchases"].([]any); ok {
		ps = slices.Clone(ps)
		sort.Slice(ps, func(i, j int) bool {
			a, _ := ps[i].(map[string]any)
			b, _ := ps[j].(map[string]any)
			return fmt.Sprint(a["id"]) < fmt.Sprint(b["id"])
		})
		c["purchases"] = ps
	}
	b, _ := json.Marshal(c)
	return string(b)
}

func fleetDiffs(profs []map[string]*fleetProfile, visitors []string) []string {
	var out []string
	for _, id := range visitors {
		a := profs[0][id]
		for i := 1; i < len(profs); i++ {
			b := profs[i][id]
			switch {
			case a == nil && b == nil:
			case a == nil || b == nil:
				out = append(out, fmt.Sprintf("%s: on node 1 %v, on node %d %v", id, a != nil, i+1, b != nil))
			case a.norm != b.norm:
				out = append(out, fmt.Sprintf("%s: node 1 and node %d differ:\n  node 1: %s\n  node %d: %s", id, i+1, a.norm, i+1, b.norm))
			}
		}
	}
	return out
}

// fleetChecker holds what each visitor's profile must show.
type fleetChecker struct {
	regs      map[fleetRegister][]*fleetOp // acknowledged and uncertain writes
	purchases map[string][]*fleetOp        // visitor: purchases
	views     map[string]map[string][2]int // visitor, category: acknowledged, uncertain

	registers, concurrent, stampNotLast int
	notes                               []string // the stampNotLast cases
}

func newFleetChecker(ops []*fleetOp) *fleetChecker {
	c := &fleetChecker{regs: map[fleetRegister][]*fleetOp{}, purchases: map[string][]*fleetOp{}, views: map[string]map[string][2]int{}}
	for _, op := range ops {
		if op.outcome != "ack" && op.outcome != "uncertain" {
			continue
		}
		switch op.kind {
		case opAttrSet, opAttrRemove, opConsent:
			c.regs[op.register()] = append(c.regs[op.register()], op)
		case opPurchase:
			c.purchases[op.visitor] = append(c.purchases[op.visitor], op)
		case opViewEvent, opPageView:
			if c.views[op.visitor] == nil {
				c.views[op.visitor] = map[string][2]int{}
			}
			v := c.views[op.visitor][op.key]
			if op.outcome == "ack" {
				v[0]++
			} else {
				v[1]++
			}
			c.views[op.visitor][op.key] = v
		}
	}
	c.registers = len(c.regs)
	for _, ws := range c.regs {
		var acked []*fleetOp
		for _, w := range ws {
			if w.outcome == "ack" {
				acked = append(acked, w)
			}
		}
		if len(acked) == 0 {
			continue
		}
		win, byStamp := fleetWinner(acked)
		vals := map[string]bool{}
		for _, w := range fleetLast(acked) {
			vals[fmt.Sprint(w.value)] = true
		}
		if len(vals) > 1 {
			c.concurrent++
		}
		if byStamp != win && fmt.Sprint(byStamp.value) != fmt.Sprint(win.value) {
			c.stampNotLast++
			c.notes = append(c.notes, fmt.Sprintf("%s %s: op %d %s %v on node %d sent %s acked %s stamp %v; its answer reports a later stamp than op %d %s %v on node %d sent %s acked %s stamp %v",
				win.visitor, win.register().field, byStamp.seq, byStamp.kind, byStamp.value, byStamp.node, byStamp.sent.Format("15:04:05.000000"), byStamp.acked.Format("15:04:05.000000"), byStamp.stamp,
				win.seq, win.kind, win.value, win.node, win.sent.Format("15:04:05.000000"), win.acked.Format("15:04:05.000000"), win.stamp))
		}
	}
	return c
}

// fleetLast returns the acknowledged writes no other acknowledged write
// was sent after, in a later millisecond: real time allows any of them to
// be last.
func fleetLast(acked []*fleetOp) []*fleetOp {
	var maxSent int64
	for _, w := range acked {
		maxSent = max(maxSent, w.sent.UnixMilli())
	}
	var out []*fleetOp
	for _, w := range acked {
		if w.acked.UnixMilli() >= maxSent {
			out = append(out, w)
		}
	}
	return out
}

// fleetWinner returns the write every node must show (the latest stamp
// among the writes real time allows to be last), and the write with the
// latest stamp the answers reported.
func fleetWinner(acked []*fleetOp) (win, byStamp *fleetOp) {
	for _, w := range fleetLast(acked) {
		if win == nil || w.stamp.after(win.stamp) {
			win = w
		}
	}
	for _, w := range acked {
		if byStamp == nil || w.stamp.after(byStamp.stamp) {
			byStamp = w
		}
	}
	return win, byStamp
}

// check returns the acknowledged writes that some node does not show.
func (c *fleetChecker) check(profs []map[string]*fleetProfile, visitors []string) []string {
	var lost []string
	for i, byID := range profs {
		for _, id := range visitors {
			p := byID[id]
			var raw map[string]any
			if p != nil {
				raw = p.raw
			}
			lost = append(lost, c.checkRegisters(i+1, id, raw)...)
			lost = append(lost, c.checkPurchases(i+1, id, raw)...)
			lost = append(lost, c.checkViews(i+1, id, raw)...)
		}
	}
	return lost
}

func (c *fleetChecker) checkRegisters(node int, id string, raw map[string]any) []string {
	var lost []string
	stamps, _ := raw["stamps"].(map[string]any)
	for _, field := range append([]string{"c:p"}, func() []string {
		var f []string
		for _, k := range fleetAttrKeys {
			f = append(f, "a:"+k)
		}
		return f
	}()...) {
		ws := c.regs[fleetRegister{id, field}]
		if len(ws) == 0 {
			continue
		}
		// The real-time rule: a write acknowledged before another was sent
		// (in an earlier millisecond, the clock's resolution) is
		// superseded, since every node stamps with the same wall clock and
		// a hybrid clock never runs behind it. Among the writes left, the
		// README's rule: the later stamp wins.
		var acked []*fleetOp
		allowed := map[string]bool{}
		for _, w := range ws {
			if w.outcome == "uncertain" {
				allowed[fmt.Sprint(w.value)] = true
				continue
			}
			acked = append(acked, w)
		}
		if len(acked) == 0 {
			continue
		}
		win, byStamp := fleetWinner(acked)
		allowed[fmt.Sprint(win.value)] = true
		var got any
		if field == "c:p" {
			cons, _ := raw["consent"].(map[string]any)
			got = cons["personalization"]
		} else {
			attrs, _ := raw["attrs"].(map[string]any)
			got = attrs[strings.TrimPrefix(field, "a:")]
		}
		if !allowed[fmt.Sprint(got)] {
			also := ""
			if byStamp != win {
				also = fmt.Sprintf("; op %d %s %v on node %d, acknowledged %s before the wanted write was sent, holds the later stamp %v: the wanted write's answer reported a stamp older than its request (not stamped)",
					byStamp.seq, byStamp.kind, byStamp.value, byStamp.node, byStamp.acked.Format("15:04:05.000"), byStamp.stamp)
			}
			lost = append(lost, fmt.Sprintf("node %d, %s %s: shows %v (stamp %v), want op %d %s %v written on node %d, acknowledged %s, stamp %v%s",
				node, id, field, got, stamps[field], win.seq, win.kind, win.value, win.node, win.acked.Format("15:04:05.000"), win.stamp, also))
		}
	}
	return lost
}

func (c *fleetChecker) checkPurchases(node int, id string, raw map[string]any) []string {
	have := map[string]bool{}
	ps, _ := raw["purchases"].([]any)
	for _, p := range ps {
		if m, ok := p.(map[string]any); ok {
			have[fmt.Sprint(m["id"])] = true
		}
	}
	var lost []string
	for _, op := range c.purchases[id] {
		if op.outcome == "ack" && !have[op.key] {
			lost = append(lost, fmt.Sprintf("node %d, %s: purchase %s (op %d on node %d, acknowledged %s) missing",
				node, id, op.key, op.seq, op.node, op.acked.Format("15:04:05.000")))
		}
	}
	return lost
}

func (c *fleetChecker) checkViews(node int, id string, raw map[string]any) []string {
	views, _ := raw["views"].(map[string]any)
	var lost []string
	for cat, want := range c.views[id] {
		got := 0
		days, _ := views[cat].([]any)
		for _, d := range days {
			if m, ok := d.(map[string]any); ok {
				n, _ := m["n"].(float64)
				got += int(n)
			}
		}
		if got < want[0] || got > want[0]+want[1] {
			lost = append(lost, fmt.Sprintf("node %d, %s: %d views of %s, want %d acknowledged (+ up to %d uncertain)",
				node, id, got, cat, want[0], want[1]))
		}
	}
	return lost
}
