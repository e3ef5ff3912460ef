'use strict';
(() => {
// Every value from the API reaches the page as a Text node (el, textContent),
// never as markup: profile attributes and campaign fields are not trusted.
const KEY = 'marquee.admin.token';
const PERIOD = 5000;
const OUTCOMES = ['passthrough', 'unslotted', 'unchanged', 'rewritten', 'fail_open', 'origin_error', 'client_error', 'internal_error', 'local'];
const $ = id => document.getElementById(id);
// Marks the page when its style sheet applies; a browser refusing it (a CSP
// hash that does not match the served style) leaves the mark off, which the
// browser test checks.
if (getComputedStyle(document.documentElement).getPropertyValue('--accent').trim() !== '') {
  document.documentElement.dataset.styled = '';
}

function el(tag, cls, ...kids) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const k of kids) if (k != null && k !== false) e.append(k);
  return e;
}
function table(head, rows, numeric = []) {
  const th = head.map((h, i) => el('th', numeric.includes(i) ? 'num' : null, h));
  return el('div', 'scroll', el('table', null, el('thead', null, el('tr', null, ...th)), el('tbody', null, ...rows)));
}
function kv(pairs) {
  const dl = el('dl');
  for (const [k, v] of pairs) dl.append(el('dt', null, k), el('dd', null, v));
  return dl;
}
const arr = x => Array.isArray(x) ? x : [];
const str = x => x == null ? '' : typeof x === 'object' ? JSON.stringify(x) : String(x);
const fin = x => typeof x === 'number' && isFinite(x);
const nf = new Intl.NumberFormat('en-US');
const fmtN = n => fin(n) ? nf.format(n) : '—';
const fmtRate = r => !fin(r) ? '—' : r < 100 ? r.toFixed(r < 10 ? 2 : 1) : nf.format(Math.round(r));
const fmtPct = (x, d = 1) => fin(x) ? (x * 100).toFixed(d) + '%' : '—';
function fmtBytes(n) {
  if (!fin(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[i];
}
const fmtLift = x => fin(x) ? (x > 0 ? '+' : x < 0 ? '−' : '') + (Math.abs(x) * 100).toFixed(1) + '%' : '—';
const fmtP = p => !fin(p) ? '—' : p < 0.001 ? '< 0.001' : p.toFixed(3);
function fmtSecs(s) {
  if (!fin(s)) return '—';
  if (s < 1e-3) return (s * 1e6).toFixed(0) + ' µs';
  if (s < 1) return (s * 1e3).toFixed(s < 0.01 ? 2 : 1) + ' ms';
  return s.toFixed(2) + ' s';
}

// The token lives in sessionStorage: gone with the tab, never in a cookie
// the browser would send on its own.
function loadToken() { try { return sessionStorage.getItem(KEY) || ''; } catch { return ''; } }
function setToken(t) {
  token = t;
  try { if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY); } catch { /* storage off: keep it in memory */ }
  $('forget').hidden = !t;
}
let token = loadToken();
let wantProfile = '';
// #token=...&profile=ID lets a script (or a headless browser) open the page
// ready to use. Read once, then cleared so the token does not stay in the
// address bar, a bookmark or a screenshot.
if (location.hash.length > 1) {
  const f = new URLSearchParams(location.hash.slice(1));
  if (f.get('token')) setToken(f.get('token'));
  wantProfile = f.get('profile') || '';
  history.replaceState(null, '', location.pathname + location.search);
}
$('forget').hidden = !token;

class AuthError extends Error {}
class Missing extends Error {}
async function api(path, accept) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (accept) headers.Accept = accept;
  // Bounded, so that one hung call cannot stop every later refresh.
  const r = await fetch(path, {headers, cache: 'no-store', signal: AbortSignal.timeout(10000)});
  if (r.status === 401) throw new AuthError('needs the admin token');
  if (r.status === 404) throw new Missing(path + ' not found');
  if (!r.ok) {
    let msg = path + ': HTTP ' + r.status;
    try { const j = await r.json(); if (j && j.error && j.error.message) msg += ' ' + j.error.message; } catch { /* not JSON */ }
    throw new Error(msg);
  }
  return r;
}
// apiIfServed is api, but resolves to null where the node answers 404: a
// feature it does not run.
async function apiIfServed(path, accept) {
  try { return await api(path, accept); } catch (e) { if (e instanceof Missing) return null; throw e; }
}
function showAuth(on) {
  $('auth').hidden = !on;
  $('auth-msg').textContent = token
    ? 'The admin API refused the token in use. Enter the admin token (admin.token).'
    : 'This admin API needs a bearer token (admin.token).';
}

// ---- This node: GET /v1/cluster, 404 when clustering is off.
async function loadNode(body) {
  const r = await apiIfServed('/v1/cluster');
  const c = r && await r.json();
  if (!c) {
    $('node-name').textContent = '';
    body.replaceChildren(el('p', 'big', 'Single node'), el('p', 'muted', 'Clustering is off: no cluster: section in the config.'));
    return;
  }
  const members = arr(c.members);
  const alive = members.filter(m => m.state === 'alive').length;
  $('node-name').textContent = c.node ? 'node ' + c.node : '';
  const rows = members.map(m => el('tr', null,
    el('td', null, str(m.name), m.self ? el('span', 'muted', ' (this node)') : null),
    el('td', null, el('span', 'badge ' + (['alive', 'suspect', 'dead', 'left'].includes(m.state) ? m.state : ''), str(m.state))),
    el('td', null, el('code', null, str(m.addr))),
    el('td', null, str(m.version)),
    el('td', 'num', m.self || !m.lag_ns ? '—' : fmtSecs(m.lag_ns / 1e9))));
  body.replaceChildren(
    kv([['Node', str(c.node)], ['Gossip address', el('code', null, str(c.addr))], ['Members', alive + ' alive of ' + members.length]]),
    el('h3', null, 'Members'),
    table(['Name', 'State', 'Address', 'Version', 'Lag'], rows, [4]));
}

// ---- Traffic: GET /metrics, Prometheus text format.
function parseProm(text) {
  const out = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const l of text.split('\n')) {
    if (l === '' || l[0] === '#') continue;
    const m = line.exec(l);
    if (!m) continue;
    const labels = {};
    for (const [, k, v] of (m[2] || '').matchAll(label)) labels[k] = v.replace(/\\(.)/g, (_, c) => c === 'n' ? '\n' : c);
    out.push({name: m[1], labels, value: promNum(m[3])});
  }
  return out;
}
const promNum = s => s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);

function scrape(samples) {
  const s = {t: performance.now(), outcomes: {}, origin: {}, failures: null, buckets: new Map(), any: false, cache: null};
  const add = (o, k, v) => { o[k] = (o[k] || 0) + v; };
  for (const x of samples) {
    switch (x.name) {
      case 'marquee_proxy_requests_total': add(s.outcomes, x.labels.outcome, x.value); s.any = true; break;
      case 'marquee_proxy_origin_errors_total': add(s.origin, x.labels.kind, x.value); break;
      case 'marquee_proxy_rewrite_failures_total': s.failures = (s.failures || 0) + x.value; break;
      case 'marquee_cache_hits_total': case 'marquee_cache_misses_total': case 'marquee_cache_stale_total':
      case 'marquee_cache_evictions_total': case 'marquee_cache_bytes': case 'marquee_cache_entries':
        s.cache = s.cache || {};
        s.cache[x.name.slice('marquee_cache_'.length).replace(/_total$/, '')] = x.value;
        break;
      case 'marquee_proxy_rewrite_duration_seconds_bucket': {
        const le = promNum(x.labels.le);
        s.buckets.set(le, (s.buckets.get(le) || 0) + x.value);
      }
    }
  }
  s.buckets = [...s.buckets].sort((a, b) => a[0] - b[0]);
  return s;
}

// quantile estimates the q-quantile from cumulative buckets [[le, count]]
// by linear interpolation inside the bucket, as histogram_quantile does.
function quantile(q, buckets) {
  const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
  if (!(total > 0)) return null;
  const rank = q * total;
  let lo = 0, below = 0;
  for (const [le, c] of buckets) {
    if (c >= rank) {
      if (le === Infinity) return {v: lo, over: true};
      return {v: lo + (le - lo) * (c > below ? (rank - below) / (c - below) : 0)};
    }
    lo = le; below = c;
  }
  return null;
}
const fmtQ = q => q == null ? '—' : (q.over ? '> ' : '') + fmtSecs(q.v);

let prevScrape = null;
async function loadTraffic(body) {
  const res = await apiIfServed('/metrics');
  if (!res) {
    body.replaceChildren(el('p', 'muted', 'This admin listener serves no /metrics.'));
    return;
  }
  const text = await res.text();
  const cur = scrape(parseProm(text));
  const prev = prevScrape;
  prevScrape = cur;
  if (!cur.any) {
    body.replaceChildren(el('p', 'muted', '/metrics holds no marquee_proxy_* series.'));
    return;
  }
  const dt = prev ? (cur.t - prev.t) / 1000 : 0;
  // A counter that went down was reset by a restart: no rate for that step.
  const rate = (now, before) => dt > 0 && fin(now) && fin(before) && now >= before ? (now - before) / dt : null;
  const sum = o => Object.values(o).reduce((a, b) => a + b, 0);
  const names = [...OUTCOMES.filter(o => o in cur.outcomes), ...Object.keys(cur.outcomes).filter(o => !OUTCOMES.includes(o)).sort()];
  const rows = names.map(o => {
    const tr = el('tr', null, el('td', null, o), el('td', 'num', fmtN(cur.outcomes[o])), el('td', 'num', fmtRate(rate(cur.outcomes[o], prev && prev.outcomes[o]))));
    tr.dataset.outcome = o;
    return tr;
  });
  const total = sum(cur.outcomes), totalRate = rate(total, prev && sum(prev.outcomes));
  rows.push(el('tr', 'total', el('th', null, 'all'), el('th', 'num', fmtN(total)), el('th', 'num', fmtRate(totalRate))));

  let win = cur.buckets, span = 'since start';
  if (prev && prev.buckets.length === cur.buckets.length) {
    const d = cur.buckets.map(([le, c], i) => [le, c - prev.buckets[i][1]]);
    if (d.every(([, c]) => c >= 0) && d.length && d[d.length - 1][1] > 0) { win = d; span = 'last ' + Math.round(dt) + ' s'; }
  }
  const pages = win.length ? win[win.length - 1][1] : 0;
  const failures = [['Rewrite failures (served the origin page)', counter(cur.failures, prev && prev.failures)]];
  const kinds = {timeout: 'Origin timeouts (504)', bad_gateway: 'Origin unreachable or unusable (502)'};
  for (const k of [...Object.keys(kinds), ...Object.keys(cur.origin).filter(k => !(k in kinds)).sort()]) {
    if (k in cur.origin) failures.push([kinds[k] || 'Origin errors: ' + k, counter(cur.origin[k], prev && prev.origin[k])]);
  }
  body.replaceChildren(
    el('p', null, el('span', 'big', fmtRate(totalRate)), ' requests/s ', el('span', 'muted', prev ? 'over the last ' + Math.round(dt) + ' s' : '(rates from the next refresh)')),
    table(['Outcome', 'Requests', 'per second'], rows, [1, 2]),
    el('h3', null, 'Rewrite latency ', el('span', 'muted', '(' + span + ', ' + fmtN(pages) + ' pages)')),
    kv([['p50', fmtQ(quantile(0.5, win))], ['p99', fmtQ(quantile(0.99, win))]]),
    ...edgeCache(cur.cache, prev && prev.cache),
    el('h3', null, 'Failures'),
    kv(failures));

  // edgeCache shows the share of cacheable requests answered from the
  // cache (fresh or stale) without waiting for the origin, over the last
  // refresh and since start; nothing when the cache is off.
  function edgeCache(c, p) {
    if (!c) return [];
    const served = x => x ? (x.hits || 0) + (x.stale || 0) : 0;
    const all = x => x ? served(x) + (x.misses || 0) : 0;
    const ratio = (n, d) => d > 0 ? fmtPct(n / d, 1) : '—';
    const dServed = p ? served(c) - served(p) : 0, dAll = p ? all(c) - all(p) : 0;
    return [
      el('h3', null, 'Edge cache'),
      kv([
        ['Hit ratio' + (p ? ', last ' + Math.round(dt) + ' s' : ''), p && dAll >= 0 ? ratio(dServed, dAll) : '—'],
        ['Hit ratio since start', ratio(served(c), all(c))],
        ['Entries', fmtN(c.entries)],
        ['Size', fmtBytes(c.bytes)],
        ['Served stale', counter(c.stale, p && p.stale)],
        ['Evictions', counter(c.evictions, p && p.evictions)],
      ]),
    ];
  }

  function counter(now, before) {
    const r = rate(now, before);
    return fmtN(now) + (r == null ? '' : ' (' + fmtRate(r) + '/s)');
  }
}

// ---- Campaigns: GET /v1/campaigns, as JSON of the form PUT takes.
function schedule(s) {
  if (!s || typeof s !== 'object') return el('span', 'muted', 'always');
  const parts = [];
  if (s.from) parts.push('from ' + str(s.from));
  if (s.to) parts.push('until ' + str(s.to));
  if (arr(s.days).length) parts.push(arr(s.days).map(str).join(', '));
  if (arr(s.hours).length) parts.push(arr(s.hours).map(str).join(', '));
  if (s.time_zone) parts.push(str(s.time_zone));
  return parts.length ? parts.join(' · ') : el('span', 'muted', 'always');
}
function experiment(x) {
  if (!x || typeof x !== 'object') return el('span', 'muted', 'none');
  const holdout = fin(x.holdout) ? x.holdout : 0;
  const vs = arr(x.variants);
  // A weight left out counts as 1, as the decision engine reads it.
  const w = v => fin(v && v.weight) && v.weight > 0 ? v.weight : 1;
  const total = vs.reduce((a, v) => a + w(v), 0);
  const parts = vs.map(v => str(v && v.name) + ' ' + fmtPct((1 - holdout) * w(v) / total, 0) + (v && v.control ? ' (control)' : ''));
  if (holdout > 0) parts.push('holdout ' + fmtPct(holdout, 0));
  return el('span', null, x.id ? el('code', null, str(x.id) + ': ') : null, parts.join(' · '));
}
async function loadCampaigns(body) {
  const r = await apiIfServed('/v1/campaigns', 'application/json');
  if (!r) {
    $('cfg-version').textContent = '';
    body.replaceChildren(el('p', 'muted', 'Personalisation is off on this node.'));
    return;
  }
  const version = r.headers.get('X-Marquee-Config-Version');
  $('cfg-version').textContent = version == null ? '' : '· config version ' + version;
  const doc = await r.json();
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    body.replaceChildren(el('p', 'muted', 'The campaigns document is not an object.'));
    return;
  }
  const campaigns = arr(doc.campaigns).filter(c => c && typeof c === 'object');
  const bySlot = new Map();
  for (const s of arr(doc.slots)) if (s && s.name != null) bySlot.set(str(s.name), {slot: s, list: []});
  for (const c of campaigns) {
    const k = str(c.slot);
    if (!bySlot.has(k)) bySlot.set(k, {slot: null, list: []});
    bySlot.get(k).list.push(c);
  }
  const conv = doc.conversions || {};
  const segs = doc.segments && typeof doc.segments === 'object' ? Object.keys(doc.segments) : [];
  const goals = [...arr(conv.paths), ...arr(conv.events)].map(str);
  const parts = [kv([
    ['Campaigns', campaigns.length + ' in ' + bySlot.size + ' slot(s)'],
    ['Segments', segs.length ? segs.join(', ') : '—'],
    ['Global holdout', fmtPct(fin(doc.global_holdout) ? doc.global_holdout : 0)],
    ['Conversions', goals.length ? goals.join(', ') + (conv.window ? ' within ' + str(conv.window) : '') : 'none configured'],
  ])];
  for (const [name, {slot, list}] of bySlot) {
    parts.push(el('h3', null, 'Slot ', el('code', null, name),
      slot ? el('span', 'muted', ' ' + str(slot.selector) + (slot.mode && slot.mode !== 'inner' ? ' (' + str(slot.mode) + ')' : '')) : null));
    if (!list.length) { parts.push(el('p', 'muted', 'No campaign: the page keeps its own content.')); continue; }
    // Highest priority first: the order in which they compete for the slot.
    list.sort((a, b) => (fin(b.priority) ? b.priority : 0) - (fin(a.priority) ? a.priority : 0));
    parts.push(table(['Campaign', 'Priority', 'When', 'Schedule', 'Cap', 'Experiment'], list.map(c => el('tr', null,
      el('td', null, el('code', null, str(c.id))),
      el('td', 'num', str(c.priority ?? 0)),
      el('td', null, c.when ? el('code', null, str(c.when)) : el('span', 'muted', 'everyone')),
      el('td', null, schedule(c.schedule)),
      el('td', null, c.cap && typeof c.cap === 'object' ? str(c.cap.max) + ' per ' + str(c.cap.window || '1d') : el('span', 'muted', 'none')),
      el('td', null, experiment(c.experiment)))), [1]));
  }
  body.replaceChildren(...parts);
}

// ---- Experiments: GET /v1/stats (decide/stats.Report).
async function loadStats(body) {
  const r = await apiIfServed('/v1/stats');
  if (!r) {
    body.replaceChildren(el('p', 'muted', 'This node reports no experiment statistics.'));
    return;
  }
  const rep = await r.json();
  const cs = arr(rep && rep.campaigns);
  const at = rep && rep.generated_at && !rep.generated_at.startsWith('0001-') ? new Date(rep.generated_at).toLocaleString() : 'never';
  const parts = [el('p', 'muted', 'As of ' + at + ', merged from ' + arr(rep && rep.nodes).length + ' node run(s). Visitors and converters are estimates (about 1% error).')];
  if (!cs.length) parts.push(el('p', 'muted', 'No exposures recorded yet.'));
  for (const c of cs) {
    parts.push(el('h3', null, el('code', null, str(c.campaign)), el('span', 'muted', c.baseline ? ' · lift against ' + str(c.baseline) : ' · no control or holdout to measure lift against')));
    if (c.srm) {
      parts.push(el('p', 'warn', '⚠ Sample ratio mismatch: visitors are not split as configured' +
        (c.srm_test ? ' (χ² test p ' + (c.srm_test.p_value < 0.001 ? '' : '= ') + fmtP(c.srm_test.p_value) + ')' : '') + '. Assignment is probably broken; do not trust the lift.'));
    }
    const vs = arr(c.variants);
    const primaryOf = v => arr(v && v.metrics).find(m => m && m.primary);
    // With experiment metrics, the primary metric by the campaign's analysis
    // decides. The legacy lift and p-value (a fixed-horizon z-test on
    // visitor estimates) would flag false positives when read daily, so
    // they are not shown.
    if (c.analysis || vs.some(v => arr(v && v.metrics).length)) {
      parts.push(metricTable(c, vs, primaryOf));
      continue;
    }
    const rows = vs.map(v => {
      const ci = v.lift_ci95;
      const cls = ci && fin(ci.low) && ci.low > 0 ? ' pos' : ci && fin(ci.high) && ci.high < 0 ? ' neg' : '';
      return el('tr', null,
        el('td', null, str(v.variant), v.control ? el('span', 'badge', 'control') : null, v.holdout ? el('span', 'badge', 'holdout') : null),
        el('td', 'num', fmtPct(v.weight, 0)),
        el('td', 'num', fmtN(v.exposures)),
        el('td', 'num', fmtN(v.unique_visitors)),
        el('td', 'num', fmtN(v.conversions)),
        el('td', 'num', fmtN(v.converters)),
        el('td', 'num', fmtPct(v.conversion_rate, 2)),
        el('td', 'num' + cls, v.variant === c.baseline ? 'baseline' : fmtLift(v.lift) + (ci ? ' [' + fmtLift(ci.low) + ', ' + fmtLift(ci.high) + ']' : '')),
        el('td', 'num' + (fin(v.p_value) && v.p_value < 0.05 ? ' sig' : ''), fmtP(v.p_value)));
    });
    parts.push(table(['Variant', 'Weight', 'Exposures', 'Visitors', 'Conversions', 'Converters', 'Rate', 'Lift (95% CI)', 'p-value'], rows, [1, 2, 3, 4, 5, 6, 7, 8]));
  }
  body.replaceChildren(...parts);
}

// metricTable is the experiment table of a campaign with experiment
// metrics: per variant, the primary metric's value, its difference from the
// baseline with the 95% interval and its p-value, all by the campaign's
// analysis (sequential: always-valid p and confidence sequence).
function metricTable(c, vs, primaryOf) {
  const fixed = c.analysis === 'fixed';
  const primary = str(c.primary || 'conversion');
  const fmtV = x => !fin(x) ? '—' : Math.abs(x) >= 100 ? nf.format(Math.round(x * 100) / 100) : x.toPrecision(4).replace(/\.?0+$/, '');
  const fmtD = x => !fin(x) ? '—' : (x > 0 ? '+' : x < 0 ? '−' : '') + fmtV(Math.abs(x));
  const rows = vs.map(v => {
    const m = primaryOf(v) || {};
    const ci = m.ci95;
    const base = v.variant === c.baseline;
    const cls = m.worse || (ci && fin(ci.high) && ci.high < 0) ? ' neg' : ci && fin(ci.low) && ci.low > 0 ? ' pos' : '';
    const sig = m.significant === true || (fin(m.p_value) && m.p_value < 0.05);
    return el('tr', null,
      el('td', null, str(v.variant), v.control ? el('span', 'badge', 'control') : null, v.holdout ? el('span', 'badge', 'holdout') : null),
      el('td', 'num', fmtPct(v.weight, 0)),
      el('td', 'num', fmtN(v.unique_visitors)),
      el('td', 'num', fmtN(v.converters)),
      el('td', 'num', fmtN(v.enrolled)),
      el('td', 'num', fmtV(m.value)),
      el('td', 'num' + cls, base ? 'baseline' : fmtD(m.difference) + (ci ? ' [' + fmtD(ci.low) + ', ' + fmtD(ci.high) + ']' : '')),
      el('td', 'num' + cls, base ? '' : fmtLift(m.lift)),
      el('td', 'num' + (sig && !base ? ' sig' : ''), base ? '' : fmtP(m.p_value)),
      el('td', cls.trim() || null, base ? '' : !fin(m.p_value) ? '—' : m.worse ? 'worse' : sig ? 'better' : 'not significant'));
  });
  return el('div', null,
    el('p', 'muted', 'Judged on ' + primary + ' per enrolled visitor, ' + (fixed
      ? 'fixed-horizon analysis (Welch): read once, at the planned sample size.'
      : 'sequential analysis: always-valid p-values and 95% confidence sequences, safe to read any day.')),
    table(['Variant', 'Weight', 'Visitors', 'Converters', 'Enrolled', primary,
      fixed ? 'Difference (95% CI, fixed horizon)' : 'Difference (95% confidence sequence)', 'Lift',
      fixed ? 'p (fixed horizon)' : 'Always-valid p', 'Result'], rows, [1, 2, 3, 4, 5, 6, 7, 8]));
}

// ---- Profile lookup: GET /v1/profiles/{id}.
async function lookup(id) {
  const body = $('profile-body');
  id = id.trim();
  if (!id) return;
  body.replaceChildren(el('p', 'muted', 'Looking up…'));
  try {
    const p = await (await api('/v1/profiles/' + encodeURIComponent(id))).json();
    const segs = arr(p.segments);
    body.replaceChildren(
      kv([['Id', el('code', null, str(p.id))], ['Version', str(p.version)],
        ['Segments', !('segments' in p) ? el('span', 'muted', 'not evaluated') : segs.length ? el('span', null, ...segs.map(s => el('span', 'chip', str(s)))) : el('span', 'muted', 'none')]]),
      el('pre', null, JSON.stringify(p, null, 2)));
  } catch (e) {
    if (e instanceof AuthError) showAuth(true);
    body.replaceChildren(e instanceof Missing ? el('p', 'muted', 'No profile ' + JSON.stringify(id) + '.')
      : e instanceof AuthError ? el('p', 'muted', 'Needs the admin token.') : el('p', 'error', str(e.message || e)));
  }
}

// ---- Refresh loop: every PERIOD while the tab is visible.
let timer = 0, running = false;
async function guard(id, fn) {
  const body = $(id + '-body');
  try { await fn(body); } catch (e) {
    body.replaceChildren(e instanceof AuthError ? el('p', 'muted', 'Needs the admin token.') : el('p', 'error', str(e.message || e)));
    throw e;
  }
}
async function refresh() {
  clearTimeout(timer);
  timer = 0;
  if (running) return;
  running = true;
  const res = await Promise.allSettled([guard('node', loadNode), guard('traffic', loadTraffic), guard('campaigns', loadCampaigns), guard('experiments', loadStats)]);
  running = false;
  const errs = res.filter(r => r.status === 'rejected').map(r => r.reason);
  const denied = errs.some(e => e instanceof AuthError);
  showAuth(denied);
  const st = $('status');
  st.className = 'status' + (errs.length > (denied ? errs.filter(e => e instanceof AuthError).length : 0) ? ' error' : '');
  st.textContent = denied ? 'Waiting for the admin token' : document.hidden ? 'Paused while the tab is hidden'
    : (errs.length ? 'Some calls failed at ' : 'Updated ') + new Date().toLocaleTimeString();
  // Without a token every poll would only collect another 401.
  if (!denied) scheduleRefresh();
}
function scheduleRefresh() { if (!document.hidden && !timer) timer = setTimeout(refresh, PERIOD); }
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) { refresh(); return; }
  clearTimeout(timer);
  timer = 0;
  $('status').textContent = 'Paused while the tab is hidden';
});
$('auth-form').addEventListener('submit', e => {
  e.preventDefault();
  setToken($('auth-token').value.trim());
  $('auth-token').value = '';
  refresh();
  if ($('profile-id').value) lookup($('profile-id').value);
});
$('forget').addEventListener('click', () => { setToken(''); refresh(); });
$('profile-form').addEventListener('submit', e => { e.preventDefault(); lookup($('profile-id').value); });
if (wantProfile) { $('profile-id').value = wantProfile; lookup(wantProfile); }
refresh();
})();
