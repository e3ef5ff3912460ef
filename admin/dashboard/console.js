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
// Forbidden is a 403: the token is valid but its role may not do this.
class Forbidden extends Error {}
// Problems is a refused decisions document: problems are its located
// problems as {line, field, message}.
class Problems extends Error {
  constructor(msg, problems) { super(msg); this.problems = problems; }
}
async function api(path, accept, init = {}) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (accept) headers.Accept = accept;
  if (init.body != null) headers['Content-Type'] = 'application/json';
  // Bounded, so that one hung call cannot stop every later refresh.
  const r = await fetch(path, {method: init.method || 'GET', body: init.body, headers, cache: 'no-store', signal: AbortSignal.timeout(init.timeout || 10000)});
  if (r.status === 401) throw new AuthError('needs the admin token');
  if (r.status === 404 && !init.keep404) throw new Missing(path + ' not found');
  if (!r.ok) {
    let msg = path + ': HTTP ' + r.status, j = null;
    try { j = await r.json(); if (j && j.error && j.error.message) msg = j.error.message; } catch { /* not JSON */ }
    const e = j && j.error;
    if (r.status === 403) throw new Forbidden(msg);
    if (e && e.code === 'invalid_config') throw new Problems(msg, problemsOf(e));
    throw new Error(msg);
  }
  return r;
}
// problemsOf reads the located problems of an invalid_config error, which
// the node that serves the console always sends.
function problemsOf(e) {
  return arr(e.problems).filter(p => p && typeof p === 'object');
}
// apiIfServed is api, but resolves to null where the node answers 404: a
// feature it does not run.
async function apiIfServed(path, accept) {
  try { return await api(path, accept); } catch (e) { if (e instanceof Missing) return null; throw e; }
}
// send calls a write route with a JSON body and returns the decoded answer.
async function send(method, path, body, keep404 = false) {
  const r = await api(path, 'application/json', {method, body: typeof body === 'string' ? body : JSON.stringify(body), timeout: 30000, keep404});
  return r.status === 204 ? null : r.json();
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
  running.doc = doc;
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
  const parts = [el('p', null, button('New campaign', 'plain', () => openEditor(-1), 'new-campaign')), kv([
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
    parts.push(table(['Campaign', 'Priority', 'When', 'Schedule', 'Cap', 'Experiment', ''], list.map(c => el('tr', null,
      el('td', null, el('code', null, str(c.id))),
      el('td', 'num', str(c.priority ?? 0)),
      el('td', null, c.when ? el('code', null, str(c.when)) : el('span', 'muted', 'everyone')),
      el('td', null, schedule(c.schedule)),
      el('td', null, c.cap && typeof c.cap === 'object' ? str(c.cap.max) + ' per ' + str(c.cap.window || '1d') : el('span', 'muted', 'none')),
      el('td', null, experiment(c.experiment)),
      el('td', null, button('Edit', 'plain small edit', () => openEditor(doc.campaigns.indexOf(c)), 'edit-' + str(c.id))))), [1]));
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
    parts.push(el('h3', null, el('code', null, str(c.campaign)), el('span', 'muted', c.baseline ? ' · lift against ' + str(c.baseline) : c.note ? ' · ' + str(c.note) : null)));
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
      parts.push(metricTable(c, vs, primaryOf), dailyCharts(c, vs));
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
    parts.push(table(['Variant', 'Weight', 'Exposures', 'Visitors', 'Conversions', 'Converters', 'Rate', 'Lift (95% CI)', 'p-value'], rows, [1, 2, 3, 4, 5, 6, 7, 8]), dailyCharts(c, vs));
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

// ---- Profile card: GET /v1/profiles/{id} and GET /v1/explain?visitor=ID.
const DAY_MS = 86400000;
// Profile day buckets count days since the Unix epoch in the node's time
// zone; shown as that date.
const fmtDay = d => fin(d) ? new Date(d * DAY_MS).toISOString().slice(0, 10) : '—';
const fmtTime = t => { const d = t ? new Date(t) : null; return d && !isNaN(d) && d.getFullYear() > 1 ? d.toLocaleString() : '—'; };
const fmtMoney = v => fin(v) ? v.toLocaleString('en-US', {minimumFractionDigits: 2, maximumFractionDigits: 2}) : '—';
const chips = (list, none = 'none') => list.length ? el('span', null, ...list.map(s => el('span', 'chip', str(s)))) : el('span', 'muted', none);
function block(title, ...kids) { return el('div', null, el('h4', null, title), ...kids); }

async function lookup(id) {
  const body = $('profile-body');
  id = id.trim();
  if (!id) return;
  body.replaceChildren(el('p', 'muted', 'Looking up…'));
  try {
    const p = await (await api('/v1/profiles/' + encodeURIComponent(id))).json();
    // Assignment per campaign now; the card goes without it on a node
    // without decisions.
    let x = null;
    try { const r = await apiIfServed('/v1/explain?visitor=' + encodeURIComponent(id)); x = r && await r.json(); } catch { /* shown without */ }
    body.replaceChildren(profileCard(p, x));
  } catch (e) {
    if (e instanceof AuthError) showAuth(true);
    body.replaceChildren(e instanceof Missing ? el('p', 'muted', 'No profile ' + JSON.stringify(id) + '.')
      : e instanceof AuthError ? el('p', 'muted', 'Needs the admin token.') : el('p', 'error', str(e.message || e)));
  }
}

function profileCard(p, x) {
  const segs = arr(p.segments);
  const consent = p.consent && typeof p.consent === 'object' ? p.consent.personalization : undefined;
  const who = block('Who',
    kv([['Id', el('code', null, str(p.id))], ['Version', str(p.version)],
      ['Linked ids', chips(arr(p.links).map(str))],
      ['Segments', !('segments' in p) ? el('span', 'muted', 'not evaluated') : chips(segs.map(str))],
      ['Consent', consent === false ? el('span', 'neg', 'personalisation refused') : consent === true ? el('span', 'pos', 'personalisation given')
        : el('span', 'muted', 'not recorded (personalised)')],
      ['Sessions', fmtN(p.sessions || 0)], ['Last seen', fmtTime(p.last_seen)],
      ['Landing page', p.landing ? el('code', null, str(p.landing)) : el('span', 'muted', '—')]]));

  const attrs = p.attrs && typeof p.attrs === 'object' ? Object.entries(p.attrs) : [];
  const scores = p.scores && typeof p.scores === 'object' ? Object.entries(p.scores) : [];
  const attributes = block('Attributes',
    attrs.length || scores.length ? kv([...attrs.map(([k, v]) => [k, str(v)]), ...scores.map(([k, v]) => ['score ' + k, str(v)])]) : el('p', 'muted', 'none'));

  // Views per category: total and the latest day with a view.
  const views = p.views && typeof p.views === 'object' ? Object.entries(p.views).map(([cat, days]) => {
    const ds = arr(days).filter(d => d && fin(d.d));
    return {cat, n: ds.reduce((a, d) => a + (fin(d.n) ? d.n : 0), 0), last: Math.max(...ds.map(d => d.d), -Infinity)};
  }).sort((a, b) => b.last - a.last || b.n - a.n) : [];
  const viewed = block('Recent views',
    views.length ? table(['Category', 'Views', 'Last viewed'], views.map(v => el('tr', null, el('td', null, v.cat), el('td', 'num', fmtN(v.n)), el('td', 'num', fmtDay(v.last)))), [1, 2])
      : el('p', 'muted', 'No page views recorded.'),
    el('p', null, el('span', 'muted', 'Recent products, newest first: '), chips(arr(p.recent).map(str))));

  const items = arr(p.cart && p.cart.items).filter(i => i && typeof i === 'object');
  const cart = block('Cart',
    items.length ? table(['Product', 'Qty', 'Price', 'Line'], [
      ...items.map(i => el('tr', null, el('td', null, el('code', null, str(i.product))), el('td', 'num', fmtN(i.qty)), el('td', 'num', fmtMoney(i.price)),
        el('td', 'num', fmtMoney((i.qty || 0) * (i.price || 0))))),
      el('tr', 'total', el('th', null, 'total'), el('th', 'num', fmtN(items.reduce((a, i) => a + (i.qty || 0), 0))), el('th'),
        el('th', 'num', fmtMoney(items.reduce((a, i) => a + (i.qty || 0) * (i.price || 0), 0))))], [1, 2, 3])
      : el('p', 'muted', 'Empty.'),
    p.cart && p.cart.updated_at ? el('p', 'muted', 'Updated ' + fmtTime(p.cart.updated_at)) : null);

  const orders = arr(p.purchases).filter(o => o && typeof o === 'object').slice().reverse();
  const purchases = block('Purchases',
    orders.length ? table(['When', 'Order', 'Product', 'Value'], [
      ...orders.map(o => el('tr', null, el('td', null, fmtTime(o.at)), el('td', null, str(o.id) || '—'), el('td', null, str(o.product) || '—'), el('td', 'num', fmtMoney(o.value)))),
      el('tr', 'total', el('th', null, orders.length + ' order(s)'), el('th'), el('th'), el('th', 'num', fmtMoney(orders.reduce((a, o) => a + (fin(o.value) ? o.value : 0), 0))))], [3])
      : el('p', 'muted', 'None.'));

  // Experiments: the assignment now (explain) beside the exposure on record.
  const exp = p.exposures && typeof p.exposures === 'object' ? p.exposures : {};
  const now = new Map(arr(x && x.campaigns).filter(c => c && c.id != null).map(c => [str(c.id), c]));
  const ids = [...new Set([...now.keys(), ...Object.keys(exp)])].sort();
  const rows = ids.map(id => {
    const c = now.get(id), e = exp[id];
    const variant = c && c.variant ? str(c.variant) : e && e.variant ? str(e.variant) : '';
    return el('tr', null, el('td', null, el('code', null, id)),
      el('td', null, variant ? el('span', variant === 'holdout' ? 'badge' : 'chip', variant) : el('span', 'muted', '—')),
      el('td', null, !c ? el('span', 'muted', 'no longer configured')
        // A holdout fills its slot with the page's own content.
        : c.chosen && c.variant === 'holdout' ? el('span', 'muted', "held out: the page's own content")
        : c.chosen ? el('span', 'pos', 'shown') : el('span', 'muted', str(c.reason))),
      el('td', null, e ? fmtTime(e.at) : '—'), el('td', null, e && e.converted ? fmtTime(e.converted) : '—'));
  });
  const experiments = block('Campaigns and experiments',
    rows.length ? table(['Campaign', 'Variant', 'Now', 'Last exposed', 'Converted'], rows) : el('p', 'muted', 'No campaign applies.'),
    x && x.global_holdout ? el('p', 'warn', 'In the global holdout: sees no campaign.') : null);

  return el('div', null,
    el('div', 'profile-card', who, attributes, viewed, cart, purchases, experiments),
    el('details', 'raw', el('summary', null, 'Raw JSON'), el('pre', null, JSON.stringify(p, null, 2))));
}

// ---- Charts (uPlot): GET /v1/metrics/history and /v1/stats daily series.
const COLORS = ['#0b5cad', '#1a7f37', '#b42318', '#9a6700', '#6639ba', '#0e7490', '#c2410c', '#4d5562', '#be185d'];
// charts keeps each chart by key, so a refresh updates its data instead of
// building it again.
const charts = new Map();

// chart returns a titled element holding a uPlot chart of data (uPlot's
// columns: x first), or the message empty when there is nothing to draw.
// series are uPlot series options after x's; fmt formats y values.
function chart(key, title, series, data, empty, extra = {}) {
  const old = charts.get(key);
  const hasData = data[0].length > 0 && data.slice(1).some(col => col.some(v => v != null));
  if (!hasData || typeof uPlot !== 'function') {
    if (old) { old.ro.disconnect(); old.u.destroy(); charts.delete(key); }
    return el('div', 'chart', el('h4', null, title), el('p', 'muted', typeof uPlot !== 'function' ? 'Charts need /assets/uPlot.iife.min.js.' : empty));
  }
  const sig = JSON.stringify(series.map(s => s.label)) + JSON.stringify(extra.bands || []);
  if (old && old.sig === sig) {
    old.u.setData(data);
    return old.wrap;
  }
  if (old) { old.ro.disconnect(); old.u.destroy(); }
  const holder = el('div');
  const wrap = el('div', 'chart', el('h4', null, title), holder);
  wrap.dataset.chart = key;
  const opts = {
    width: 400, height: 200,
    series: [{}, ...series],
    axes: [{}, {size: 60, values: extra.yValues}],
    scales: {x: {time: extra.time !== false}, y: extra.y || {}},
    legend: {live: true},
    cursor: {drag: {x: false, y: false}},
  };
  if (extra.bands) opts.bands = extra.bands;
  const u = new uPlot(opts, data, holder);
  // Sized to its column once laid out, and again when that changes.
  const ro = new ResizeObserver(() => { if (holder.clientWidth > 0) u.setSize({width: holder.clientWidth, height: 200}); });
  ro.observe(holder);
  charts.set(key, {u, wrap, sig, ro});
  return wrap;
}
const line = (label, i, fmt) => ({label, stroke: COLORS[i % COLORS.length], width: 1.5, points: {show: false}, value: (u, v) => v == null ? '—' : fmt(v)});

async function loadCharts(body) {
  const r = await apiIfServed('/v1/metrics/history');
  if (!r) {
    body.replaceChildren(el('p', 'muted', 'This node keeps no metrics history.'));
    return;
  }
  const h = await r.json();
  const pts = arr(h && h.points).filter(p => p && fin(p.t));
  const t = pts.map(p => p.t);
  // Outcomes that had traffic in the hour; the others would only crowd
  // the legend with zeros.
  const seen = new Set(pts.flatMap(p => Object.entries(p.rps || {}).filter(([, v]) => v > 0).map(([o]) => o)));
  const outcomes = [...OUTCOMES.filter(o => seen.has(o)), ...[...seen].filter(o => !OUTCOMES.includes(o)).sort()];
  const col = f => pts.map(p => { const v = f(p); return fin(v) ? v : null; });
  const none = 'No samples yet: the node adds one every ' + (fin(h && h.interval_s) ? h.interval_s : 10) + ' s.';
  body.replaceChildren(el('div', 'charts',
    chart('rps', 'Requests/s by outcome', outcomes.map((o, i) => line(o, i, fmtRate)), [t, ...outcomes.map(o => col(p => (p.rps || {})[o]))], pts.length ? 'No requests in the last hour.' : none),
    chart('latency', 'Rewrite latency', [line('p50', 0, v => fmtSecs(v / 1e3)), line('p99', 2, v => fmtSecs(v / 1e3))],
      [t, col(p => p.p50_ms), col(p => p.p99_ms)], pts.length ? 'No page was rewritten in the last hour.' : none, {yValues: (u, vs) => vs.map(v => v + ' ms')}),
    chart('cache', 'Edge cache hit ratio', [line('hit ratio', 1, v => fmtPct(v, 1))], [t, col(p => p.cache_hit_ratio)],
      pts.length ? 'No cacheable request in the last hour, or the cache is off.' : none, {y: {range: [0, 1]}, yValues: (u, vs) => vs.map(v => fmtPct(v, 0))})));
}

// dailyCharts draws a campaign's results over days from its variants'
// cumulative daily series: visitors enrolled each day (the difference of
// consecutive days) and the cumulative conversion rate with its 95%
// interval as a band.
function dailyCharts(c, vs) {
  const days = [...new Set(vs.flatMap(v => arr(v && v.daily).map(d => str(d && d.day))))].filter(d => /^\d{4}-\d{2}-\d{2}$/.test(d)).sort();
  const x = days.map(d => Date.parse(d + 'T00:00:00Z') / 1000);
  const byDay = v => new Map(arr(v.daily).map(d => [str(d.day), d]));
  const names = vs.map(v => str(v.variant));
  const perDay = vs.map(v => {
    const m = byDay(v);
    let prev = 0;
    return days.map(d => {
      const e = m.get(d);
      if (!e || !fin(e.enrolled)) return null;
      const n = e.enrolled - prev;
      prev = e.enrolled;
      return n;
    });
  });
  const series = [], cols = [], bands = [];
  vs.forEach((v, i) => {
    const m = byDay(v);
    const get = f => days.map(d => { const e = m.get(d); const y = e && f(e); return fin(y) ? y : null; });
    const color = COLORS[i % COLORS.length];
    const base = series.length + 1;
    series.push(line(names[i], i, v => fmtPct(v, 2)),
      {label: names[i] + ' 95% high', stroke: color + '66', width: 1, dash: [4, 4], points: {show: false}, value: (u, y) => y == null ? '—' : fmtPct(y, 2)},
      {label: names[i] + ' 95% low', stroke: color + '66', width: 1, dash: [4, 4], points: {show: false}, value: (u, y) => y == null ? '—' : fmtPct(y, 2)});
    cols.push(get(e => e.conversion_rate), get(e => e.conversion_ci95 && e.conversion_ci95.high), get(e => e.conversion_ci95 && e.conversion_ci95.low));
    bands.push({series: [base + 1, base + 2], fill: color + '22'});
  });
  const none = 'No daily results yet: they start with the first enrolled visitor.';
  const key = 'daily-' + str(c.campaign);
  return el('div', 'charts',
    chart(key + '-enrolled', 'Visitors enrolled per day', names.map((n, i) => ({...line(n, i, fmtN), points: {show: true, size: 5}})), [x, ...perDay], none, {time: true}),
    chart(key + '-conversion', 'Conversion rate to date, with 95% interval', series, [x, ...cols], none,
      {bands, yValues: (u, ys) => ys.map(y => fmtPct(y, 1))}));
}

// ---- Roles: GET /v1/whoami. A node without roles answers 404: every
// token may then write, as before.
let role = null;
const canWrite = () => !role || role.role !== 'read';
async function loadRole() {
  try {
    const r = await apiIfServed('/v1/whoami');
    role = r ? await r.json() : null;
  } catch (e) {
    if (!(e instanceof AuthError)) role = null;
  }
  applyRole();
}
function applyRole() {
  const w = $('whoami');
  w.replaceChildren();
  if (role && role.name != null) w.append(str(role.name), el('span', 'badge role', role.role === 'read' ? 'read-only' : str(role.role)));
  $('ed-readonly').hidden = canWrite();
  for (const b of document.querySelectorAll('.rollback')) b.disabled = !canWrite();
  updatePublish();
}

// ---- Campaign editor: POST /v1/campaigns/validate and /preview, PUT.
// running.doc is the decisions document the node serves, as JSON.
const running = {doc: null};
// ed is the editor's state: the document being edited (the running one
// when opened), the index of the campaign in it, the campaign as it was
// (fields the form does not show are kept), and the latest check.
const ed = {base: null, index: -1, orig: {}, seq: 0, timer: 0, checked: '', valid: false, checking: false};
const DEBOUNCE = 300;

function button(label, cls, onclick, id) {
  const b = el('button', cls, label);
  b.type = 'button';
  if (id) b.dataset.id = id;
  b.addEventListener('click', onclick);
  return b;
}
const clone = x => JSON.parse(JSON.stringify(x));
const csv = s => s.split(',').map(x => x.trim()).filter(Boolean);
// num turns a form value into a number where it is one; anything else is
// sent as typed, for the checker to name.
const num = s => { s = s.trim(); return s === '' ? undefined : isFinite(Number(s)) ? Number(s) : s; };

function openEditor(index) {
  if (!running.doc) return;
  ed.base = clone(running.doc);
  ed.base.campaigns = arr(ed.base.campaigns);
  ed.index = index >= 0 && index < ed.base.campaigns.length ? index : -1;
  ed.orig = ed.index >= 0 ? clone(ed.base.campaigns[ed.index]) : {slot: arr(ed.base.slots)[0] ? str(ed.base.slots[0].name) : ''};
  const pick = $('ed-pick');
  pick.replaceChildren(...ed.base.campaigns.map((c, i) => { const o = el('option', null, str(c && c.id)); o.value = String(i); return o; }),
    Object.assign(el('option', null, 'New campaign'), {value: '-1'}));
  pick.value = String(ed.index);
  $('ed-slots').replaceChildren(...arr(ed.base.slots).map(s => Object.assign(el('option'), {value: str(s && s.name)})));
  fillForm(ed.orig);
  $('ed-preview-body').replaceChildren();
  $('ed-publish-msg').textContent = '';
  $('editor').hidden = false;
  $('editor').scrollIntoView({block: 'start'});
  validateSoon(0);
}

function fillForm(c) {
  const s = c.schedule || {}, cap = c.cap || {}, x = c.experiment;
  const set = (id, v) => { $(id).value = v == null ? '' : Array.isArray(v) ? v.map(str).join(', ') : str(v); };
  set('ed-id', c.id); set('ed-slot', c.slot); set('ed-priority', c.priority); set('ed-when', c.when); set('ed-template', c.template);
  set('ed-from', s.from); set('ed-to', s.to); set('ed-days', s.days); set('ed-hours', s.hours); set('ed-tz', s.time_zone);
  set('ed-cap-max', cap.max); set('ed-cap-window', cap.window);
  $('ed-exp-on').checked = !!x;
  set('ed-exp-id', x && x.id); set('ed-holdout', x && x.holdout); set('ed-metrics', x && x.metrics); set('ed-primary', x && x.primary);
  $('ed-variants').replaceChildren(...arr(x && x.variants).map(variantRow));
  showExperiment();
}
function showExperiment() { $('ed-exp').hidden = !$('ed-exp-on').checked; }

function variantRow(v) {
  v = v || {};
  const row = el('div', 'variant');
  const name = Object.assign(el('input', 'v-name'), {value: str(v.name), placeholder: 'name'});
  const weight = Object.assign(el('input', 'v-weight'), {value: v.weight == null ? '' : str(v.weight), placeholder: 'weight 1'});
  const control = Object.assign(el('input', 'v-control'), {type: 'checkbox', checked: !!v.control});
  const tpl = Object.assign(el('textarea', 'v-template'), {value: str(v.template), rows: 1, placeholder: 'template (empty: the campaign\'s)', spellcheck: false});
  const probs = el('span', 'problems');
  row.append(el('label', 'field', 'Variant', name), el('label', 'field', 'Weight', weight), el('label', 'field', 'Control', control),
    el('label', 'field', 'Template', tpl), button('Remove', 'plain small', () => { row.remove(); validateSoon(); }), probs);
  probs.dataset.variantProblems = '';
  return row;
}

// readForm returns the campaign the form describes: the campaign as opened
// with the form's fields set, and emptied sections removed.
function readForm() {
  const c = clone(ed.orig);
  const v = id => $(id).value;
  const put = (o, k, val) => { if (val === undefined || val === '' || (Array.isArray(val) && !val.length)) delete o[k]; else o[k] = val; };
  put(c, 'id', v('ed-id').trim()); put(c, 'slot', v('ed-slot').trim()); put(c, 'priority', num(v('ed-priority')));
  put(c, 'when', v('ed-when').trim()); put(c, 'template', v('ed-template'));
  const s = Object.assign({}, c.schedule);
  put(s, 'from', v('ed-from').trim()); put(s, 'to', v('ed-to').trim()); put(s, 'days', csv(v('ed-days'))); put(s, 'hours', csv(v('ed-hours'))); put(s, 'time_zone', v('ed-tz').trim());
  put(c, 'schedule', Object.keys(s).length ? s : undefined);
  const cap = Object.assign({}, c.cap);
  put(cap, 'max', num(v('ed-cap-max'))); put(cap, 'window', v('ed-cap-window').trim());
  put(c, 'cap', Object.keys(cap).length ? cap : undefined);
  if (!$('ed-exp-on').checked) {
    delete c.experiment;
    return c;
  }
  const x = Object.assign({}, c.experiment);
  put(x, 'id', v('ed-exp-id').trim()); put(x, 'holdout', num(v('ed-holdout'))); put(x, 'metrics', csv(v('ed-metrics'))); put(x, 'primary', v('ed-primary').trim());
  const old = arr(ed.orig.experiment && ed.orig.experiment.variants);
  x.variants = [...$('ed-variants').children].map(row => {
    const q = cls => row.querySelector('.' + cls);
    const o = Object.assign({}, old.find(o => o && str(o.name) === q('v-name').value.trim()));
    put(o, 'name', q('v-name').value.trim()); put(o, 'weight', num(q('v-weight').value)); put(o, 'template', q('v-template').value);
    if (q('v-control').checked) o.control = true; else delete o.control;
    return o;
  });
  c.experiment = x;
  return c;
}

// draft returns the document to check, preview and publish: the running
// document as opened, with the edited campaign in its place (or added).
function draft() {
  const doc = clone(ed.base);
  const c = readForm();
  let index = ed.index;
  if (index < 0) { index = doc.campaigns.length; doc.campaigns.push(c); } else doc.campaigns[index] = c;
  return {text: JSON.stringify(doc, null, 2) + '\n', index, campaign: c};
}

function validateSoon(delay = DEBOUNCE) {
  clearTimeout(ed.timer);
  ed.valid = false;
  ed.checking = true;
  state('checking…', '');
  updatePublish();
  ed.timer = setTimeout(validate, delay);
}
function state(text, cls) { const s = $('ed-state'); s.textContent = text; s.className = 'badge' + (cls ? ' ' + cls : ''); }
function updatePublish() { $('ed-publish').disabled = !ed.valid || ed.checking || !canWrite(); }

async function validate() {
  const d = draft();
  const seq = ++ed.seq;
  $('ed-doc').textContent = d.text;
  let res;
  try {
    res = await (await api('/v1/campaigns/validate', 'application/json', {method: 'POST', body: d.text, timeout: 15000})).json();
  } catch (e) {
    if (seq !== ed.seq) return;
    ed.checking = false;
    if (e instanceof Missing) {
      // An older node: publishing checks the document all the same.
      ed.valid = true; ed.checked = d.text;
      state('not checked: this node has no validate call', '');
      showProblems([], d.index);
    } else {
      state('check failed', 'bad');
      $('ed-summary').replaceChildren(el('p', 'error', str(e.message || e)));
    }
    updatePublish();
    return;
  }
  if (seq !== ed.seq) return; // a newer check is on its way
  const problems = arr(res && res.problems);
  ed.checking = false;
  ed.valid = !!(res && res.ok) && !problems.length;
  ed.checked = d.text;
  state(ed.valid ? 'valid' : problems.length + ' problem' + (problems.length === 1 ? '' : 's'), ed.valid ? 'ok' : 'bad');
  showProblems(problems, d.index);
  updatePublish();
}

// showProblems puts each problem next to the field it names
// (campaigns[INDEX].FIELD…) and lists them all in the summary.
function showProblems(problems, index) {
  const form = $('ed-form');
  for (const n of form.querySelectorAll('.problems')) n.replaceChildren();
  for (const n of form.querySelectorAll('.invalid')) n.classList.remove('invalid');
  const prefix = 'campaigns[' + index + ']';
  const items = [];
  for (const p of problems) {
    const field = str(p.field), where = (fin(p.line) && p.line > 0 ? 'line ' + p.line + ' · ' : '') + (field || 'document');
    const msg = el('p', 'problem', where + ': ' + str(p.message));
    items.push(el('li', null, where + ': ' + str(p.message)));
    const target = field === prefix || field.startsWith(prefix + '.') ? problemSlot(field.slice(prefix.length + 1)) : null;
    if (target) {
      target.box.append(msg);
      if (target.input) target.input.classList.add('invalid');
    } else if (!field.startsWith(prefix)) {
      form.querySelector('[data-problems=""]').append(el('p', 'problem', where + ': ' + str(p.message)));
    }
  }
  $('ed-summary').replaceChildren(...(items.length ? [el('p', 'error', problems.length + ' problem(s) in the draft; publishing is off until they are fixed:'), el('ul', null, ...items)] : []));
}
// problemSlot finds where a problem of the campaign's field key (e.g.
// "when", "experiment.variants[1].weight") is shown: the nearest field
// the key names, or the campaign's own line.
function problemSlot(key) {
  const vm = /^experiment\.variants\[(\d+)\](?:\.(\w+))?/.exec(key);
  if (vm) {
    const row = $('ed-variants').children[Number(vm[1])];
    if (row) return {box: row.querySelector('[data-variant-problems]'), input: vm[2] ? row.querySelector('.v-' + vm[2]) : null};
  }
  for (let k = key; ; k = k.replace(/(\.[^.[\]]*|\[\d+\])$/, '')) {
    const box = $('ed-form').querySelector('[data-problems="' + CSS.escape(k) + '"]');
    if (box) return {box, input: k ? $('ed-form').querySelector('[data-key="' + CSS.escape(k) + '"]') : null};
    if (!/[.[]/.test(k)) return {box: $('ed-form').querySelector('[data-problems=""]'), input: null};
  }
}

async function preview() {
  const d = draft();
  const out = $('ed-preview-body');
  const variant = $('ed-pv-variant').value;
  const body = {document: d.text, campaign: str(d.campaign.id), url: $('ed-pv-url').value.trim() || '/'};
  if (variant) body.variant = variant;
  const visitor = $('ed-pv-visitor').value.trim();
  if (visitor) body.visitor = visitor;
  out.replaceChildren(el('p', 'muted', 'Rendering…'));
  let p;
  try {
    // A 404 here is mostly "no profile": its message says which.
    p = await send('POST', '/v1/campaigns/preview', body, true);
  } catch (e) {
    if (e instanceof Problems) { showProblems(e.problems, d.index); state(e.problems.length + ' problem(s)', 'bad'); }
    out.replaceChildren(el('p', 'error', str(e.message || e)));
    return;
  }
  const offer = sameOrigin(p.offer_url), page = absolute(p.page_url);
  out.replaceChildren(
    kv([['Campaign', el('code', null, str(p.campaign))], ['Variant', str(p.variant) || '—'], ['Slot', el('code', null, str(p.slot))],
      ['Eligible', p.eligible ? el('span', 'pos', 'yes') : el('span', 'neg', 'no: ' + str(p.reason))], ['Link valid until', fmtTime(p.expires)]]),
    ...(p.render_error ? [el('p', 'warn', 'The template failed to render: ' + str(p.render_error))] : []),
    el('div', 'frames',
      el('div', null, el('h3', null, 'Offer'), offer ? frame(offer, 'ed-offer-frame', 'Rendered offer') : el('p', 'muted', 'No offer to show.')),
      el('div', null, el('h3', null, 'On the page ', page ? el('span', 'muted', new URL(page).pathname) : null),
        page ? frame(page, 'ed-page-frame', 'The page with the offer') : el('p', 'muted', 'This node has no shop address for page previews (admin preview URL).'))));
}
// Frames show pages that may carry the shop's scripts: sandboxed without
// any permission, so nothing in them runs or reaches the console.
function frame(src, id, title) {
  const f = el('iframe');
  f.id = id;
  f.title = title;
  f.setAttribute('sandbox', '');
  f.referrerPolicy = 'no-referrer';
  f.src = src;
  return f;
}
const sameOrigin = u => typeof u === 'string' && u.startsWith('/') && !u.startsWith('//') ? u : '';
function absolute(u) {
  try { const x = new URL(str(u)); return x.protocol === 'http:' || x.protocol === 'https:' ? x.href : ''; } catch { return ''; }
}

async function publish() {
  const d = draft();
  if (!ed.valid || d.text !== ed.checked) { validateSoon(0); return; }
  const msg = $('ed-publish-msg');
  $('ed-publish').disabled = true;
  msg.className = 'muted';
  msg.textContent = 'Publishing…';
  try {
    const res = await send('PUT', '/v1/campaigns', d.text);
    msg.className = 'pos';
    msg.textContent = 'Published as version ' + str(res && res.history_version) + '.';
    running.doc = clone(JSON.parse(d.text));
    ed.base = clone(running.doc);
    ed.index = d.index;
    ed.orig = clone(d.campaign);
    hist.key = '';
    await refresh();
  } catch (e) {
    msg.className = 'error';
    msg.textContent = e instanceof Forbidden ? 'Refused: ' + e.message : str(e.message || e);
    if (e instanceof Problems) showProblems(e.problems, d.index);
  }
  updatePublish();
}

function variantChoices() {
  const sel = $('ed-pv-variant'), keep = sel.value;
  const names = [...$('ed-variants').children].map(r => r.querySelector('.v-name').value.trim()).filter(Boolean);
  sel.replaceChildren(Object.assign(el('option', null, 'as assigned'), {value: ''}), ...names.map(n => Object.assign(el('option', null, n), {value: n})));
  if (names.includes(keep)) sel.value = keep;
}

$('ed-form').addEventListener('submit', e => e.preventDefault());
$('ed-form').addEventListener('input', e => {
  if (e.target.closest('fieldset') && e.target.closest('fieldset').querySelector('#ed-preview')) return;
  if (e.target.id === 'ed-exp-on') showExperiment();
  variantChoices();
  validateSoon();
});
$('ed-pick').addEventListener('change', e => openEditor(Number(e.target.value)));
$('ed-add-variant').addEventListener('click', () => { $('ed-variants').append(variantRow({name: ''})); variantChoices(); validateSoon(); });
$('ed-preview').addEventListener('click', preview);
$('ed-publish').addEventListener('click', publish);
$('ed-close').addEventListener('click', () => { $('editor').hidden = true; clearTimeout(ed.timer); });

// ---- Versions: GET /v1/campaigns/history, /diff, POST /rollback.
const hist = {key: '', versions: []};
async function loadHistory(body) {
  const r = await apiIfServed('/v1/campaigns/history');
  if (!r) {
    $('diff-form').hidden = true;
    body.replaceChildren(el('p', 'muted', 'This node keeps no versions of its campaigns.'));
    return;
  }
  const vs = arr((await r.json()).versions).filter(v => v && v.version != null);
  // After an error message the table has to be built again.
  if (!body.querySelector('table')) hist.key = '';
  const key = vs.map(v => str(v.version)).join(',');
  // Rebuilt only when the versions change, so a pending confirmation
  // survives the refresh.
  if (key === hist.key) return;
  hist.key = key;
  hist.versions = vs;
  $('diff-form').hidden = vs.length < 2;
  const opts = () => vs.map(v => Object.assign(el('option', null, str(v.version) + ' · ' + str(v.by) + ' · ' + fmtTime(v.time)), {value: str(v.version)}));
  $('diff-from').replaceChildren(...opts());
  $('diff-to').replaceChildren(...opts());
  if (vs.length > 1) { $('diff-from').value = str(vs[1].version); $('diff-to').value = str(vs[0].version); }
  const rows = vs.map((v, i) => {
    const tr = el('tr', null,
      el('td', null, el('code', null, str(v.version)), i === 0 ? el('span', 'badge', 'serving') : null),
      el('td', null, fmtTime(v.time)), el('td', null, str(v.by)),
      el('td', 'num', fmtN(v.segments)), el('td', 'num', fmtN(v.campaigns)),
      el('td', null, el('code', null, str(v.hash).slice(0, 12))),
      el('td', null, i + 1 < vs.length ? button('Diff with previous', 'plain small', () => showDiff(vs[i + 1].version, v.version), 'diff-' + str(v.version)) : null),
      el('td', null, i === 0 ? null : rollbackButton(v)));
    tr.dataset.version = str(v.version);
    return tr;
  });
  body.replaceChildren(table(['Version', 'Applied', 'By', 'Segments', 'Campaigns', 'Hash', '', ''], rows, [3, 4]));
  applyRole();
}
// rollbackButton asks once more in place before rolling back.
function rollbackButton(v) {
  const cell = el('span');
  const ask = button('Roll back', 'plain small rollback', () => {
    const yes = button('Roll back to ' + str(v.version), 'small danger', () => rollback(v.version, cell), 'confirm-rollback');
    cell.replaceChildren(yes, ' ', button('Cancel', 'plain small', () => cell.replaceChildren(ask)));
  });
  ask.disabled = !canWrite();
  cell.append(ask);
  return cell;
}
async function rollback(version, cell) {
  cell.replaceChildren(el('span', 'muted', 'Rolling back…'));
  try {
    const res = await send('POST', '/v1/campaigns/rollback', {version: str(version)});
    cell.replaceChildren(el('span', 'pos', 'Applied as version ' + str(res && res.history_version)));
    hist.key = '';
    if (!$('editor').hidden) $('editor').hidden = true;
    await refresh();
  } catch (e) {
    cell.replaceChildren(el('span', 'error', e instanceof Forbidden ? 'Refused: ' + e.message : str(e.message || e)));
  }
}
async function showDiff(from, to) {
  const out = $('diff-body');
  out.replaceChildren(el('p', 'muted', 'Comparing…'));
  try {
    const d = await (await api('/v1/campaigns/diff?from=' + encodeURIComponent(str(from)) + '&to=' + encodeURIComponent(str(to)))).json();
    const text = str(d && d.diff);
    if (!text) { out.replaceChildren(el('p', 'muted', 'Versions ' + str(from) + ' and ' + str(to) + ' are the same document.')); return; }
    const pre = el('pre', 'diff', ...text.replace(/\n$/, '').split('\n').map(l =>
      el('span', l.startsWith('@@') ? 'hunk' : l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : null, l)));
    out.replaceChildren(pre);
  } catch (e) {
    out.replaceChildren(el('p', 'error', e instanceof Missing ? 'This node has no diff call, or the version is gone.' : str(e.message || e)));
  }
}
$('diff-form').addEventListener('submit', e => { e.preventDefault(); showDiff($('diff-from').value, $('diff-to').value); });

// ---- Audit log: GET /v1/audit. Nodes without one answer 404: hidden.
async function loadAudit(body) {
  let r;
  try { r = await apiIfServed('/v1/audit?limit=50'); } catch (e) {
    if (e instanceof Forbidden) { $('audit').hidden = false; body.replaceChildren(el('p', 'muted', e.message)); return; }
    throw e;
  }
  $('audit').hidden = !r;
  if (!r) return;
  const es = arr((await r.json()).entries).filter(e => e && typeof e === 'object');
  body.replaceChildren(es.length ? table(['When', 'Who', 'Role', 'Action', 'Call', 'Status', 'What', 'Version', 'From'], es.map(e => el('tr', null,
    el('td', null, fmtTime(e.time)), el('td', null, str(e.by)), el('td', null, str(e.role)), el('td', null, str(e.action)),
    el('td', null, el('code', null, str(e.method) + ' ' + str(e.path))),
    el('td', 'num' + (e.status >= 400 ? ' neg' : ''), str(e.status)), el('td', null, str(e.summary)),
    el('td', null, e.version != null ? el('code', null, str(e.version)) : ''), el('td', null, str(e.remote)))), [5])
    : el('p', 'muted', 'No write recorded yet.'));
}

// ---- Refresh loop: every PERIOD while the tab is visible.
let timer = 0, busy = false;
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
  if (busy) return;
  busy = true;
  const res = await Promise.allSettled([guard('node', loadNode), guard('traffic', loadTraffic), guard('charts', loadCharts),
    guard('campaigns', loadCampaigns), guard('history', loadHistory), guard('experiments', loadStats), guard('audit', loadAudit), loadRole()]);
  busy = false;
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
$('forget').addEventListener('click', () => { setToken(''); role = null; applyRole(); refresh(); });
$('profile-form').addEventListener('submit', e => { e.preventDefault(); lookup($('profile-id').value); });
if (wantProfile) { $('profile-id').value = wantProfile; lookup(wantProfile); }
refresh();
})();
