#!/usr/bin/env bash
# Run from the repository root: bash bench/scale.sh
# Scale curve: one short marquee bench per setting, passthrough and
# personalised side by side in each.
run() {
	local label="$1"; shift
	go run ./cmd/marquee bench -duration 3s -rate 0 -json "$@" 2>/dev/null | python3 -c "
import json,sys
d=json.load(sys.stdin)
r={x['name']:x for x in d['results']}
p,q=r['passthrough'],r['personalized']
print('| %s | %.0f | %.0f | %.1f | %.1f | %.2fx | %.2fx |' % ('$label', p['rps'], q['rps'], p['cpu_us_per_req'], q['cpu_us_per_req'], d['cpu_ratio'], d['ratio']))
"
}
echo "| setting | passthrough req/s | personalised req/s | passthrough CPU µs/req | personalised CPU µs/req | CPU ratio | req/s ratio |"
echo "|---|---|---|---|---|---|---|"
for size in 10000 100000 1000000; do run "page ${size} B, 3 slots, 16 conns" -size $size -slots 3 -connections 16; done
for slots in 1 5 20; do run "page 61 KB generated, ${slots} slots, 16 conns" -size 61000 -slots $slots -connections 16; done
for c in 1 16 256 1000; do run "listing page, ${c} connections" -connections $c; done
for n in 10000 100000 1000000; do run "listing page, ${n} profiles, 16 conns" -profiles $n -connections 16; done
