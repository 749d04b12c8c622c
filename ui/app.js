/* gradguard playground: three panels driven by the service's API
 * (/normalize + /sessions/{id}, /init, /gradcheck). Plots are plain SVG built
 * here; no inline script or style, so the page runs under
 * Content-Security-Policy: default-src 'self'. */
'use strict';

(function () {
  const SVGNS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);

  /* ---- DOM helpers ---------------------------------------------------- */

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {}))
      if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const k of kids)
      if (k !== undefined && k !== null)
        e.append(k instanceof Node ? k : String(k));
    return e;
  }

  function sv(tag, attrs, ...kids) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {}))
      if (v !== undefined && v !== null) e.setAttribute(k, v);
    for (const k of kids)
      if (k !== undefined && k !== null)
        e.append(k instanceof Node ? k : String(k));
    return e;
  }

  function fmt(x, p = 3) {
    if (x === null || x === undefined) return 'null';
    if (typeof x !== 'number') return String(x);
    if (!isFinite(x)) return String(x);
    if (x === 0) return '0';
    const a = Math.abs(x);
    if (a >= 1e5 || a < 1e-3)
      return Number(x.toPrecision(p)).toExponential().replace('e+', 'e');
    return String(Number(x.toPrecision(p)));
  }

  function fmtInt(n) {
    if (!isFinite(n)) return '\u221e';
    if (n < 1e6) return Math.round(n).toLocaleString('en-US');
    const [m, e] = n.toExponential(2).split('e+');
    const sup = '\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079';
    return `${m} \u00d7 10${[...e].map((d) => sup[Number(d)]).join('')}`;
  }

  /* ---- the API ---------------------------------------------------------- */

  /* Relative to /ui/, so the page also works behind a path prefix. Throws
   * the problem+json body (or a synthetic one) on failure. */
  async function api(method, path, body) {
    const opt = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opt.headers['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch('../' + path.replace(/^\//, ''), opt);
    } catch (e) {
      throw { title: 'Network error', detail: String(e && e.message || e) };
    }
    const text = await r.text();
    let j = null;
    try { j = text ? JSON.parse(text) : null; } catch (e) { j = null; }
    if (!r.ok) {
      const p = (j && typeof j === 'object') ? j : {};
      throw Object.assign({ status: r.status, title: r.statusText,
        detail: text.slice(0, 300) }, p);
    }
    return j;
  }

  function showProblem(box, p) {
    box.replaceChildren();
    const head = [p.status, p.title].filter(Boolean).join(' ');
    box.append(el('p', { class: 'problem-title' }, head || 'Error'));
    if (p.detail) box.append(el('p', { class: 'problem-detail' }, p.detail));
    if (Array.isArray(p.errors) && p.errors.length) {
      const ul = el('ul', { class: 'problem-errors' });
      for (const e of p.errors)
        ul.append(el('li', {}, el('code', {}, e.pointer || '(body)'),
          ' \u2014 ', e.detail || ''));
      box.append(ul);
    }
    box.hidden = false;
  }

  function clearProblem(box) { box.hidden = true; box.replaceChildren(); }

  /* Runs fn with the form's submit button disabled; problems go to box. */
  async function busy(button, box, out, fn) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    clearProblem(box);
    try {
      await fn();
    } catch (p) {
      out.hidden = true;
      showProblem(box, p && typeof p === 'object' ? p
        : { title: 'Error', detail: String(p) });
      if (p instanceof Error) console.error(p);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  function intField(id, lo, hi) {
    const e = $(id);
    const v = Number(e.value);
    if (!Number.isInteger(v) || v < lo || v > hi)
      throw { title: 'Invalid input', detail: `${e.labels[0].textContent.trim()}: ` +
        `enter a whole number from ${lo} to ${hi}` };
    return v;
  }

  function numField(id) {
    const e = $(id);
    const v = Number(e.value);
    if (e.value.trim() === '' || !isFinite(v))
      throw { title: 'Invalid input',
        detail: `${e.labels[0].textContent.trim()}: enter a number` };
    return v;
  }

  /* ---- random numbers (seeded, for demo data only) ---------------------- */

  function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function gaussian(u) {   /* Box-Muller */
    return function () {
      let a = u();
      while (a <= 0) a = u();
      return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * u());
    };
  }

  /* ---- plotting --------------------------------------------------------- */

  const W = 360, H = 280;
  const M = { l: 52, r: 12, t: 14, b: 40 };

  function lin(d0, d1, r0, r1) {
    const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
    return (x) => r0 + (x - d0) * k;
  }

  function niceTicks(lo, hi, n) {
    const span = hi - lo;
    if (!(span > 0)) return [lo];
    const raw = span / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
      out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
    return out;
  }

  function svgRoot(label, w = W, h = H) {
    return sv('svg', { viewBox: `0 0 ${w} ${h}`, role: 'img',
      'aria-label': label, class: 'chart' }, sv('title', {}, label));
  }

  /* Axes with ticks; y may be log (ticks at powers of ten). */
  function axes(g, x, y, xt, yt, xlab, ylab, opt = {}) {
    const w = opt.w || W, h = opt.h || H;
    const ax = sv('g', { class: 'axis' });
    ax.append(sv('rect', { class: 'frame', x: M.l, y: M.t,
      width: w - M.l - M.r, height: h - M.t - M.b }));
    for (const v of xt) {
      const px = x(v);
      ax.append(sv('line', { class: 'grid', x1: px, x2: px, y1: M.t,
        y2: h - M.b }));
      ax.append(sv('text', { x: px, y: h - M.b + 14, 'text-anchor': 'middle' },
        opt.xfmt ? opt.xfmt(v) : fmt(v)));
    }
    for (const v of yt) {
      const py = y(v);
      ax.append(sv('line', { class: 'grid', x1: M.l, x2: w - M.r, y1: py,
        y2: py }));
      ax.append(sv('text', { x: M.l - 5, y: py + 4, 'text-anchor': 'end' },
        opt.yfmt ? opt.yfmt(v) : fmt(v)));
    }
    ax.append(sv('text', { class: 'label', x: (M.l + w - M.r) / 2,
      y: h - 6, 'text-anchor': 'middle' }, xlab));
    ax.append(sv('text', { class: 'label', x: 12, y: (M.t + h - M.b) / 2,
      'text-anchor': 'middle',
      transform: `rotate(-90 12 ${(M.t + h - M.b) / 2})` }, ylab));
    g.append(ax);
  }

  function extent(vals, pad = 0.05) {
    let lo = Infinity, hi = -Infinity;
    for (const v of vals) if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!isFinite(lo)) return [0, 1];
    if (lo === hi) { lo -= 1; hi += 1; }
    const d = (hi - lo) * pad;
    return [lo - d, hi + d];
  }

  function scatter(box, pts, xlab, ylab, label) {
    const w = chartWidth(box), h = plotHeight(w);
    const xs = extent(pts.map((p) => p[0])), ys = extent(pts.map((p) => p[1]));
    const x = lin(xs[0], xs[1], M.l, w - M.r), y = lin(ys[0], ys[1], h - M.b, M.t);
    const s = svgRoot(label, w, h);
    axes(s, x, y, niceTicks(xs[0], xs[1], w < 340 ? 4 : 5), niceTicks(ys[0], ys[1], 5),
      xlab, ylab, { w, h });
    const g = sv('g', { class: 'points' });
    for (const p of pts)
      if (isFinite(p[0]) && isFinite(p[1]))
        g.append(sv('circle', { class: 'pt', cx: x(p[0]).toFixed(1),
          cy: y(p[1]).toFixed(1), r: 2.4 }));
    s.append(g);
    box.replaceChildren(s);
  }

  /* Marching squares over a grid f[j][i] at (xs[i], ys[j]): one path of
   * segments per level. */
  function contourPaths(f, xs, ys, levels, x, y) {
    const out = [];
    const nx = xs.length, ny = ys.length;
    for (const lv of levels) {
      let d = '';
      for (let j = 0; j + 1 < ny; j++)
        for (let i = 0; i + 1 < nx; i++) {
          const c = [[xs[i], ys[j], f[j][i]], [xs[i + 1], ys[j], f[j][i + 1]],
            [xs[i + 1], ys[j + 1], f[j + 1][i + 1]], [xs[i], ys[j + 1], f[j + 1][i]]];
          const pts = [];
          for (let e = 0; e < 4; e++) {
            const a = c[e], b = c[(e + 1) % 4];
            if ((a[2] < lv) !== (b[2] < lv)) {
              const t = (lv - a[2]) / (b[2] - a[2]);
              pts.push([a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]);
            }
          }
          for (let k = 0; k + 1 < pts.length; k += 2)
            d += `M${x(pts[k][0]).toFixed(1)} ${y(pts[k][1]).toFixed(1)}` +
              `L${x(pts[k + 1][0]).toFixed(1)} ${y(pts[k + 1][1]).toFixed(1)}`;
        }
      if (d) out.push(d);
    }
    return out;
  }

  /* Every chart uses its box's width in CSS pixels as its viewBox width,
   * so its text keeps its size on a phone and on a desktop; charts are
   * redrawn when the window's width changes. */
  const redraw = {};
  function chartWidth(box) {
    return Math.round(Math.max(240, Math.min(box.clientWidth || 640, 860)));
  }
  function plotHeight(w) {
    return Math.round(Math.max(240, Math.min(w * 0.78, 340)));
  }
  let resizeTimer = 0, lastWidth = window.innerWidth;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (window.innerWidth === lastWidth) return;
      lastWidth = window.innerWidth;
      for (const f of Object.values(redraw)) f();
    }, 150);
  });

  /* ---- panel 1: normalize ------------------------------------------------ */

  function generateCsv() {
    const m = intField('norm-m', 3, 2000), seed = intField('norm-seed', 0, 2 ** 32 - 1);
    const n = gaussian(mulberry32(seed));
    const rows = ['# x1 ~ N(1000, 300), x2 ~ N(0.5, 0.1), y = 0.002 x1 + 3 x2 + noise'];
    for (let i = 0; i < m; i++) {
      const x1 = 1000 + 300 * n(), x2 = 0.5 + 0.1 * n();
      const yv = 0.002 * x1 + 3 * x2 + 0.1 * n();
      rows.push([x1.toFixed(2), x2.toFixed(4), yv.toFixed(4)].join(','));
    }
    $('norm-csv').value = rows.join('\n') + '\n';
  }

  /* Rows of cells: numbers where they parse, the text otherwise (the
   * service then says which cell is wrong), null for an empty cell. */
  function parseCsv(text) {
    const rows = [];
    for (const line of text.split(/\r?\n/)) {
      const t = line.trim();
      if (!t || t.startsWith('#')) continue;
      rows.push(t.split(/[,;\t]/).map((c) => {
        const s = c.trim();
        if (s === '') return null;
        const v = Number(s);
        return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) && isFinite(v) ? v : s;
      }));
    }
    if (rows.length < 2)
      throw { title: 'Invalid input', detail: 'paste at least two rows of CSV' };
    if (rows[0].length < 2)
      throw { title: 'Invalid input',
        detail: 'each row needs at least one feature column and the target y' };
    return rows;
  }

  /* Second moments of X (m x 2) and y: H = X'X/m, b = X'y/m, c = y'y/m. */
  function quad(X, y) {
    const m = X.length;
    let a = 0, b = 0, d = 0, p = 0, q = 0, c = 0;
    for (let i = 0; i < m; i++) {
      const u = X[i][0], v = X[i][1];
      a += u * u; b += u * v; d += v * v;
      p += u * y[i]; q += v * y[i]; c += y[i] * y[i];
    }
    return { h: [a / m, b / m, d / m], g: [p / m, q / m], c: c / m };
  }

  function eig2(h) {   /* symmetric [[a, b], [b, d]] */
    const [a, b, d] = h;
    const mid = (a + d) / 2, r = Math.hypot((a - d) / 2, b);
    const hi = mid + r;
    const lo = (a * d - b * b) / hi;  /* stable for ill-conditioned H */
    const vec = (l) => {
      let v = Math.abs(a - l) > Math.abs(d - l) ? [-b, a - l] : [d - l, -b];
      if (Math.hypot(v[0], v[1]) === 0) v = Math.abs(a - l) <= Math.abs(d - l) ? [1, 0] : [0, 1];
      const n = Math.hypot(v[0], v[1]);
      return [v[0] / n, v[1] / n];
    };
    return { lo, hi, vlo: vec(lo), vhi: vec(hi) };
  }

  /* Least squares on two features and gradient descent from w0 = 0 with
   * learning rate 1/lambda_max. Iterations to J - J* <= tol (J(w0) - J*)
   * are exact for a quadratic: component i of w - w* shrinks by
   * |1 - alpha lambda_i| per step. */
  function lsq(X, y, tol) {
    const Q = quad(X, y), E = eig2(Q.h);
    const [a, b, d] = Q.h;
    const det = a * d - b * b;
    const ws = [(d * Q.g[0] - b * Q.g[1]) / det, (a * Q.g[1] - b * Q.g[0]) / det];
    const J = (w) => 0.5 * (a * w[0] * w[0] + 2 * b * w[0] * w[1] + d * w[1] * w[1]) -
      (Q.g[0] * w[0] + Q.g[1] * w[1]) + 0.5 * Q.c;
    const alpha = 1 / E.hi;
    const w0 = [0, 0], Js = J(ws), J0 = J(w0);
    const e0 = [w0[0] - ws[0], w0[1] - ws[1]];
    const comp = [[E.hi, E.vhi], [E.lo, E.vlo]].map(([l, v]) => ({
      l, c2: (v[0] * e0[0] + v[1] * e0[1]) ** 2, rho: Math.abs(1 - alpha * l) }));
    const gap = (k) => comp.reduce((s, t) => s + 0.5 * t.l * t.c2 *
      (t.rho === 0 ? (k === 0 ? 1 : 0) : Math.pow(t.rho, 2 * k)), 0);
    const target = tol * (J0 - Js);
    let iters = 0;
    if (gap(0) > target) {
      let lo = 0, hi = 1;
      while (gap(hi) > target && hi < 1e18) { lo = hi; hi *= 2; }
      while (hi - lo > 1 && hi <= 1e15) {
        const mid = Math.floor((lo + hi) / 2);
        if (gap(mid) > target) lo = mid; else hi = mid;
      }
      iters = hi;
    }
    const path = [w0.slice()];
    let w = w0.slice();
    const shown = Math.min(iters, 400);
    for (let k = 0; k < shown; k++) {
      const g0 = a * w[0] + b * w[1] - Q.g[0], g1 = b * w[0] + d * w[1] - Q.g[1];
      w = [w[0] - alpha * g0, w[1] - alpha * g1];
      path.push(w);
    }
    return { Q, E, ws, J, Js, J0, alpha, iters, path, cond: E.hi / E.lo };
  }

  function contourPlot(box, X, y, fit, label, names) {
    const pts = fit.path.concat([fit.ws]);
    let xs = extent(pts.map((p) => p[0]), 0.25), ys = extent(pts.map((p) => p[1]), 0.25);
    const w = chartWidth(box), h = plotHeight(w);
    const x = lin(xs[0], xs[1], M.l, w - M.r), yy = lin(ys[0], ys[1], h - M.b, M.t);
    const N = 70, gx = [], gy = [], f = [];
    for (let i = 0; i < N; i++) gx.push(xs[0] + (xs[1] - xs[0]) * i / (N - 1));
    for (let j = 0; j < N; j++) gy.push(ys[0] + (ys[1] - ys[0]) * j / (N - 1));
    for (let j = 0; j < N; j++) {
      const row = [];
      for (let i = 0; i < N; i++) row.push(fit.J([gx[i], gy[j]]));
      f.push(row);
    }
    const span = fit.J0 - fit.Js, levels = [];
    for (let k = 0; k < 12; k++) levels.push(fit.Js + span * 1.6 * Math.pow(0.45, k));
    const s = svgRoot(label, w, h);
    axes(s, x, yy, niceTicks(xs[0], xs[1], w < 340 ? 3 : 4), niceTicks(ys[0], ys[1], 5),
      names[0], names[1], { w, h });
    const cg = sv('g', { class: 'contours' });
    contourPaths(f, gx, gy, levels, x, yy).forEach((d, k) =>
      cg.append(sv('path', { class: `contour c${k % 4}`, d })));
    s.append(cg);
    const d = fit.path.map((p, k) =>
      `${k ? 'L' : 'M'}${x(p[0]).toFixed(1)} ${yy(p[1]).toFixed(1)}`).join('');
    s.append(sv('path', { class: 'gd-path', d, 'data-steps': fit.path.length - 1 }));
    s.append(sv('circle', { class: 'gd-start', cx: x(0), cy: yy(0), r: 4 }));
    const steps = fit.path.length - 1;
    s.append(sv('text', { class: 'gd-label', x: x(0) + 6, y: yy(0) + 18 },
      `GD: ${steps} step${steps === 1 ? '' : 's'}${steps < fit.iters ? ' drawn' : ''}`));
    box.replaceChildren(s);
  }

  async function runNormalize() {
    delete redraw.norm;
    const rows = parseCsv($('norm-csv').value);
    const nf = rows[0].length - 1;
    const X = rows.map((r) => r.slice(0, nf));
    const yRaw = rows.map((r) => r[nf]);
    /* fit stores the statistics under a generated id (an anonymous session
     * that expires by itself), transform applies them unchanged */
    const resp = await api('POST', '/normalize', { op: 'fit', data: X, report: true });
    const tr = await api('POST', '/normalize',
      { op: 'transform', session: resp.session, data: X });
    const sess = await api('GET', '/sessions/' + encodeURIComponent(resp.session));

    const tb = $('norm-stats').tBodies[0];
    tb.replaceChildren();
    for (let k = 0; k < sess.n_features; k++)
      tb.append(el('tr', {}, el('th', { scope: 'row' }, `x${k + 1}`),
        el('td', {}, fmt(sess.mean[k], 5)), el('td', {}, fmt(Math.sqrt(sess.var[k]), 5)),
        el('td', {}, fmt(sess.scale[k], 5))));

    const sum = $('norm-summary');
    sum.replaceChildren();
    sum.append(el('p', {}, 'Session ', el('code', { id: 'norm-session' }, resp.session),
      `: ${resp.n_samples_seen} samples, ${resp.n_features} features.`));
    if (resp.conditioning)
      sum.append(el('p', {}, 'Condition number of X\u1d40X/m (service): ',
        el('strong', { id: 'norm-cond-before' }, fmt(resp.conditioning.before)), ' raw \u2192 ',
        el('strong', { id: 'norm-cond-after' }, fmt(resp.conditioning.after)), ' normalized.'));
    for (const w of resp.warnings || []) sum.append(el('p', { class: 'warning' }, w));

    const ids = ['norm-scatter-before', 'norm-scatter-after',
      'norm-contour-before', 'norm-contour-after'];
    if (nf !== 2) {
      for (const id of ids) $(id).replaceChildren(el('p', { class: 'hint' },
        'The plots need exactly two feature columns.'));
      $('norm-out').hidden = false;
      return;
    }
    if (yRaw.some((v) => typeof v !== 'number'))
      throw { title: 'Invalid input', detail: 'the target column y must be numbers' };
    /* Raw features are fitted as they are; normalized ones have mean 0, so
     * their intercept is mean(y) and J is minimized over it by centring y. */
    const ym = yRaw.reduce((s, v) => s + v, 0) / yRaw.length;
    const yc = yRaw.map((v) => v - ym);
    const Z = tr.data;
    const tol = 1e-6;
    const before = lsq(X, yRaw, tol), after = lsq(Z, yc, tol);
    $('norm-out').hidden = false;
    redraw.norm = () => {
      scatter($(ids[0]), X, 'x1', 'x2', 'Scatter of the raw features');
      scatter($(ids[1]), Z, 'z1', 'z2', 'Scatter of the normalized features');
      contourPlot($(ids[2]), X, yRaw, before, 'Contours of J(w), raw features', ['w1', 'w2']);
      contourPlot($(ids[3]), Z, yc, after, 'Contours of J(w), normalized features', ['w1', 'w2']);
    };
    redraw.norm();
    $('norm-cap-before').textContent = `Raw: cond ${fmt(before.cond)}, ` +
      `\u03b1 = 1/\u03bbmax = ${fmt(before.alpha)}; ${fmtInt(before.iters)} iterations` +
      (before.iters > before.path.length - 1 ? ` (first ${before.path.length - 1} drawn)` : '');
    $('norm-cap-after').textContent = `Normalized: cond ${fmt(after.cond)}, ` +
      `\u03b1 = ${fmt(after.alpha)}; ${fmtInt(after.iters)} iterations`;
    sum.append(el('p', { class: 'big' }, 'Gradient descent (\u03b1 = 1/\u03bbmax, from w = 0) needs ',
      el('strong', { id: 'norm-iters-before', 'data-value': before.iters }, fmtInt(before.iters)), ' iterations on raw features and ',
      el('strong', { id: 'norm-iters-after', 'data-value': after.iters }, fmtInt(after.iters)),
      ' on normalized ones to bring J \u2212 J* below 10\u207b\u2076 of its start.'));
    $('norm-out').hidden = false;
  }

  /* ---- panel 2: initialize ----------------------------------------------- */

  const METHODS = ['he', 'xavier', 'glorot', 'lecun', 'orthogonal', 'random', 'zeros'];
  const VERDICT_WORDS = {
    stable: 'The activations and the gradients keep their scale through the layers.',
    vanishing: 'The signal shrinks layer after layer, so the early layers barely learn.',
    exploding: 'The signal grows layer after layer until training diverges.',
  };

  const ratio = (v) => (v === null ? 'undefined (0/0 or not finite)' : fmt(v));

  async function runInit() {
    delete redraw.init;
    const depth = intField('init-depth', 1, 50), width = intField('init-width', 1, 64);
    const batch = intField('init-batch', 1, 512), seed = intField('init-seed', 0, 2 ** 32 - 1);
    const activation = $('init-activation').value, scale = numField('init-scale');
    const dims = Array(depth + 1).fill(width);
    const methods = [$('init-method-a').value, $('init-method-b').value];
    const reqs = methods.map((method) => {
      const body = { layer_dims: dims, method, seed, diagnose: { activation, batch } };
      if (method === 'random') body.scale = scale;
      return api('POST', '/init', body);
    });
    const res = await Promise.all(reqs);
    const box = $('init-verdicts');
    box.replaceChildren();
    res.forEach((r, k) => {
      const dg = r.diagnosis || {};
      const v = dg.verdict || 'unknown';
      const card = el('div', { class: `verdict v-${v} series-${'ab'[k]}`,
        'data-method': methods[k] },
        el('p', { class: 'verdict-head' }, el('span', { class: 'swatch' }),
          `${'AB'[k]}: ${methods[k]}${methods[k] === 'random' ? ` (scale ${scale})` : ''} \u2014 `,
          el('strong', { class: 'verdict-word' }, v)),
        el('p', {}, VERDICT_WORDS[v] || v));
      if (dg.activation_ratio !== undefined)
        card.append(el('p', { class: 'hint' },
          `activation std last/first = ${ratio(dg.activation_ratio)}, ` +
          `gradient norm first/last = ${ratio(dg.gradient_ratio)}`));
      box.append(card);
    });
    $('init-out').hidden = false;
    redraw.init = () => initPlot($('init-plot'), res, methods, depth);
    redraw.init();
  }

  function initPlot(box, res, methods, depth) {
    const w = chartWidth(box), h = w < 480 ? 260 : 320;
    const series = [];
    res.forEach((r, k) => {
      const dg = r.diagnosis || {};
      series.push({ k, kind: 'act', name: `${methods[k]} activation std`, v: dg.activation_std || [] });
      series.push({ k, kind: 'grad', name: `${methods[k]} gradient norm`, v: dg.gradient_norm || [] });
    });
    const pos = [];
    for (const s of series) for (const v of s.v) if (typeof v === 'number' && v > 0 && isFinite(v)) pos.push(v);
    let lo = pos.length ? Math.floor(Math.log10(Math.min(...pos))) : -1;
    let hi = pos.length ? Math.ceil(Math.log10(Math.max(...pos))) : 1;
    if (hi - lo < 2) { lo -= 1; hi += 1; }
    const floorY = lo - (hi - lo) * 0.05;  /* zeros and nulls sit below the axis range */
    const x = lin(1, Math.max(depth, 2), M.l + 8, w - M.r - 8);
    const y = lin(lo - (hi - lo) * 0.09, hi, h - M.b, M.t);
    const stepDec = Math.max(1, Math.ceil((hi - lo) / 8));
    const yt = [];
    for (let e = lo; e <= hi; e += stepDec) yt.push(e);
    const xt = niceTicks(1, Math.max(depth, 2), Math.min(depth, 10)).filter((v) => Number.isInteger(v));
    const s = svgRoot('Activation std and gradient norm by layer, log scale', w, h);
    axes(s, x, y, xt, yt, 'layer', 'value (log scale)',
      { w, h, yfmt: (e) => `1e${e}`, xfmt: (v) => String(v) });
    for (const se of series) {
      const g = sv('g', { class: `series series-${'ab'[se.k]} ${se.kind}`,
        'data-series': `${methods[se.k]}-${se.kind}` });
      let d = '', prevOk = false;
      se.v.forEach((v, i) => {
        const ok = typeof v === 'number' && v > 0 && isFinite(v);
        const px = x(i + 1), py = ok ? y(Math.log10(v)) : y(floorY);
        if (ok) d += `${prevOk ? 'L' : 'M'}${px.toFixed(1)} ${py.toFixed(1)}`;
        prevOk = ok;
        g.append(ok ? sv('circle', { class: 'pt', cx: px.toFixed(1), cy: py.toFixed(1), r: 3,
          'data-layer': i + 1, 'data-value': v }, sv('title', {}, `${se.name}, layer ${i + 1}: ${fmt(v)}`))
          : sv('path', { class: 'pt-off', d: `M${px - 3} ${py - 3}l6 6m0 -6l-6 6`,
            'data-layer': i + 1, 'data-value': String(v) },
          sv('title', {}, `${se.name}, layer ${i + 1}: ${v === null ? 'not finite' : v}`)));
      });
      g.prepend(sv('path', { class: 'line', d }));
      s.append(g);
    }
    const lg = el('ul', { class: 'legend' });
    for (const se of series)
      lg.append(el('li', {}, sv('svg', { viewBox: '0 0 26 10', class: 'key-box', 'aria-hidden': 'true' },
        sv('path', { class: `series-${'ab'[se.k]} ${se.kind} key`, d: 'M1 5h24' })),
      `${'AB'[se.k]}: ${se.name}`));
    if (s.querySelector('.pt-off'))
      lg.append(el('li', { class: 'hint' }, '\u00d7 below the axis: 0, or not finite'));
    box.replaceChildren(s, lg);
  }

  /* ---- panel 3: gradient check ------------------------------------------- */

  const GC_DIMS = [4, 5, 3], GC_M = 8;

  function demoProblem(seed, l2) {
    const n = gaussian(mulberry32(seed));
    const P = {};
    for (let l = 1; l < GC_DIMS.length; l++) {
      const s = Math.sqrt(1 / GC_DIMS[l - 1]);
      P[`W${l}`] = Array.from({ length: GC_DIMS[l] }, () =>
        Array.from({ length: GC_DIMS[l - 1] }, () => n() * s));
      P[`b${l}`] = Array.from({ length: GC_DIMS[l] }, () => [0.1 * n()]);
    }
    const X = Array.from({ length: GC_M }, () => Array.from({ length: GC_DIMS[0] }, () => n()));
    const u = mulberry32(seed ^ 0x5bd1e995);
    const Y = Array.from({ length: GC_M }, () => {
      const c = Math.floor(u() * GC_DIMS[2]);
      return Array.from({ length: GC_DIMS[2] }, (_, k) => (k === c ? 1 : 0));
    });
    return {
      model: { layer_dims: GC_DIMS, activations: ['tanh', 'softmax'],
        loss: 'categorical_cross_entropy', l2 },
      parameters: P, X, Y,
    };
  }

  /* The planted bug, applied to a copy of the service's gradients. */
  function plant(grads, params, layer, kind, l2) {
    const G = JSON.parse(JSON.stringify(grads));
    if (!layer) return { G, what: 'no bug planted: the service\u2019s own gradients sent back' };
    const key = `dW${layer}`, d = G[key];
    if (kind === 'scale') {
      G[key] = d.map((r) => r.map((v) => 2 * v));
      return { G, what: `${key} scaled by 2` };
    }
    if (kind === 'transpose') {
      const rows = d.length, cols = d[0].length, flat = [];
      for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) flat.push(d[i][j]);
      G[key] = Array.from({ length: rows }, (_, i) => flat.slice(i * cols, (i + 1) * cols));
      return { G, what: `${key} transposed (dW\u1d40 read back in the ${rows}\u00d7${cols} shape)` };
    }
    const Wl = params[`W${layer}`], k = l2 / GC_M;
    G[key] = d.map((r, i) => r.map((v, j) => v - k * Wl[i][j]));
    return { G, what: `the L2 term (\u03bb/m) W${layer} dropped from ${key}` +
      (l2 === 0 ? ' (\u03bb is 0, so this changes nothing)' : '') };
  }

  async function runGradcheck() {
    delete redraw.gc;
    const layer = Number($('gc-layer').value), kind = $('gc-kind').value;
    const seed = intField('gc-seed', 0, 2 ** 32 - 1), l2 = numField('gc-l2');
    const base = demoProblem(seed, l2);
    const first = await api('POST', '/gradcheck', Object.assign({ return_gradients: true }, base));
    if (!first.gradients)
      throw { title: 'Unexpected response', detail: 'the service returned no gradients' };
    const { G, what } = plant(first.gradients, base.parameters, layer, kind, l2);
    const r = await api('POST', '/gradcheck', Object.assign({ gradients: G }, base));
    const planted = layer ? `W${layer}` : null;

    const sum = $('gc-summary');
    sum.replaceChildren(
      el('p', { class: `verdict-line v-${r.verdict}` }, 'Verdict: ',
        el('strong', { id: 'gc-verdict' }, r.verdict), ` \u2014 relative error ${fmt(r.relative_error)} over ` +
        `${r.n_checked} of ${r.n_parameters} parameters (${r.evaluations} cost evaluations, ` +
        `\u03b5 = ${fmt(r.epsilon)}).`),
      el('p', {}, `Planted: ${what}. The service\u2019s own gradients checked ` +
        `${first.verdict} (${fmt(first.relative_error)}).`));
    if (r.kinks) sum.append(el('p', { class: 'warning' }, `${r.kinks} kink(s) crossed.`));
    for (const w of r.warnings || []) sum.append(el('p', { class: 'warning' }, w));

    $('gc-out').hidden = false;
    redraw.gc = () => gcPlot($('gc-plot'), r, planted);
    redraw.gc();
    const tb = $('gc-worst').tBodies[0];
    tb.replaceChildren();
    for (const w of r.worst || [])
      tb.append(el('tr', { class: w.name === planted ? 'planted' : null },
        el('th', { scope: 'row' }, w.name), el('td', {}, `[${(w.index || []).join(', ')}]`),
        el('td', {}, fmt(w.analytic, 4)), el('td', {}, fmt(w.numeric, 4)),
        el('td', {}, fmt(w.abs_error, 3) + (w.kink ? ' (kink)' : ''))));
    $('gc-out').hidden = false;
  }

  function gcPlot(box, r, planted) {
    const blocks = r.blocks || [];
    const th = r.thresholds || { pass: 2e-7, warn: 1e-5, fail: 1e-3 };
    const w = chartWidth(box), rowH = 34, h = M.t + M.b + rowH * Math.max(blocks.length, 1) + 6;
    const ml = 44;
    const errs = blocks.map((b) => b.relative_error).filter((e) => e > 0);
    const lo = Math.min(-12, Math.floor(Math.log10(Math.min(...errs, 1e-12))));
    const hi = 0;
    const x = lin(lo, hi, ml, w - M.r);
    const s = svgRoot('Relative error per parameter block, log scale, with the verdict tiers', w, h);
    const bands = [['pass', lo, Math.log10(th.pass)], ['warn', Math.log10(th.pass), Math.log10(th.warn)],
      ['suspect', Math.log10(th.warn), Math.log10(th.fail)], ['fail', Math.log10(th.fail), hi]];
    const bg = sv('g', { class: 'bands' });
    for (const [name, a, b] of bands) {
      bg.append(sv('rect', { class: `band band-${name}`, x: x(a), y: M.t,
        width: Math.max(0, x(b) - x(a)), height: h - M.t - M.b }));
      bg.append(sv('text', { class: 'band-label', x: (x(a) + x(b)) / 2, y: M.t + 11,
        'text-anchor': 'middle' }, name));
    }
    s.append(bg);
    const ax = sv('g', { class: 'axis' });
    for (let e = lo; e <= hi; e += 2) {
      ax.append(sv('line', { class: 'grid', x1: x(e), x2: x(e), y1: M.t, y2: h - M.b }));
      ax.append(sv('text', { x: x(e), y: h - M.b + 14, 'text-anchor': 'middle' }, `1e${e}`));
    }
    ax.append(sv('text', { class: 'label', x: (ml + w - M.r) / 2, y: h - 6,
      'text-anchor': 'middle' }, 'relative error (log scale)'));
    s.append(ax);
    const g = sv('g', { class: 'bars' });
    blocks.forEach((b, i) => {
      const yv = M.t + 16 + i * rowH;
      const e = b.relative_error > 0 ? Math.log10(b.relative_error) : lo;
      const cls = `bar v-${b.verdict}${b.name === planted ? ' planted' : ''}`;
      g.append(sv('text', { class: 'bar-name', x: ml - 6, y: yv + rowH / 2 - 1,
        'text-anchor': 'end' }, b.name));
      g.append(sv('rect', { class: cls, x: x(lo), y: yv, height: rowH - 12,
        width: Math.max(1, x(Math.min(e, hi)) - x(lo)), 'data-block': b.name,
        'data-verdict': b.verdict, 'data-error': b.relative_error },
      sv('title', {}, `${b.name}: ${fmt(b.relative_error)} (${b.verdict})`)));
      const label = `${fmt(b.relative_error)}${b.name === planted ? ' (planted)' : ''}`;
      const xe = x(Math.min(e, hi)), inside = xe + 8 + 6.5 * label.length > w - M.r;
      g.append(sv('text', { class: `bar-value${inside ? ' inside' : ''}`,
        x: inside ? xe - 6 : xe + 4, y: yv + rowH / 2 - 1,
        'text-anchor': inside ? 'end' : 'start' }, label));
    });
    s.append(g);
    box.replaceChildren(s);
  }

  /* ---- wiring -------------------------------------------------------------- */

  function wire(formId, btnId, errId, outId, fn) {
    $(formId).addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy($(btnId), $(errId), $(outId), fn);
    });
  }

  function start() {
    for (const [id, def] of [['init-method-a', 'he'], ['init-method-b', 'random']]) {
      const s = $(id);
      for (const m of METHODS) s.append(el('option', { value: m }, m));
      s.value = def;
    }
    $('norm-generate').addEventListener('click', () => {
      try { clearProblem($('norm-error')); generateCsv(); } catch (p) { showProblem($('norm-error'), p); }
    });
    generateCsv();
    wire('norm-form', 'norm-run', 'norm-error', 'norm-out', runNormalize);
    wire('init-form', 'init-run', 'init-error', 'init-out', runInit);
    wire('gc-form', 'gc-run', 'gc-error', 'gc-out', runGradcheck);
    document.documentElement.classList.add('ready');
    /* First load: each panel drawn from a real answer to its defaults. */
    Promise.all([
      busy($('norm-run'), $('norm-error'), $('norm-out'), runNormalize),
      busy($('init-run'), $('init-error'), $('init-out'), runInit),
      busy($('gc-run'), $('gc-error'), $('gc-out'), runGradcheck),
    ]).then(() => document.documentElement.classList.add('drawn'));
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
