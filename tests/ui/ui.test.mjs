// Browser tests of /ui/ (run by tests/ui/run, which starts the daemon and
// sets GG_BASE). The page draws every panel from its defaults on load; each
// panel is then driven through the page against the real API and its SVG
// checked against the responses; charts follow their boxes' width (resize,
// 375 px). No console error and no 4xx other than the ones a test provokes.
// Prints "N passed, N failed"; exits 1 on any failure. Screenshots go to
// $GG_ARTIFACTS.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.GG_BASE;
const ART = process.env.GG_ARTIFACTS || 'build/ui-artifacts';
const EXE = process.env.CHROMIUM || '/usr/bin/chromium';
if (!BASE) {
  console.error('GG_BASE is not set (run tests/ui/run)');
  process.exit(2);
}
mkdirSync(ART, { recursive: true });

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const TIMEOUT = 20000;
const FAIL_RGB = 'rgb(207, 34, 46)';   // --fail in style.css

const profile = mkdtempSync(join(tmpdir(), 'gg-ui-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: EXE, headless: true, args: ARGS,
  viewport: { width: 1280, height: 900 }, timeout: 60000,
});

let page = null;
const pageErrors = [];
const notFound = [];      // every 404 any page met (the favicon among them)
let apiCalls = [];        // the current page's API answers: "METHOD /path STATUS"

async function freshPage(viewport) {
  if (page) await page.close();
  page = await ctx.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.setViewportSize(viewport || { width: 1280, height: 900 });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  apiCalls = [];
  page.on('response', (r) => {
    const u = new URL(r.url());
    if (r.status() === 404) notFound.push(u.pathname);
    if (!u.pathname.startsWith('/ui/'))
      apiCalls.push(`${r.request().method()} ${u.pathname} ${r.status()}`);
  });
  page.on('requestfailed', (r) => pageErrors.push(`request failed: ${r.url()}`));
  page.on('console', (m) => {
    // 4xx answers the tests provoke are logged as "Failed to load resource"
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text()))
      pageErrors.push(m.text());
  });
  const r = await page.goto(BASE + '/ui/');
  assert.equal(r.status(), 200);
  // ready: wired; drawn: the first-load answers are all drawn (or shown)
  await page.waitForFunction(() => document.documentElement.classList.contains('drawn'));
  return page;
}

// POSTs a JSON body from Node (the reference the page is compared with).
async function post(path, body) {
  const r = await fetch(BASE + path, { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

async function runNormalize() {
  await page.evaluate(() => { document.getElementById('norm-contour-after').replaceChildren(); });
  await page.click('#norm-run');
  await page.waitForSelector('#norm-out:not([hidden]) #norm-contour-after path.gd-path');
}

async function runInit() {
  await page.evaluate(() => { document.getElementById('init-plot').replaceChildren(); });
  await page.click('#init-run');
  await page.waitForSelector('#init-out:not([hidden]) #init-plot g.series');
}

async function runGradcheck(layer, kind) {
  await page.selectOption('#gc-layer', String(layer));
  if (kind) await page.selectOption('#gc-kind', kind);
  await page.evaluate(() => { document.getElementById('gc-plot').replaceChildren(); });
  await page.click('#gc-run');
  await page.waitForSelector('#gc-out:not([hidden]) #gc-plot rect.bar');
}

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('GET /ui/ serves the page with a CSP, and /ui redirects to it', async () => {
  const r = await fetch(BASE + '/ui/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.equal(r.headers.get('content-security-policy'), "default-src 'self'");
  const js = await fetch(BASE + '/ui/app.js');
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  const css = await fetch(BASE + '/ui/style.css');
  assert.match(css.headers.get('content-type'), /^text\/css/);
  const red = await fetch(BASE + '/ui', { redirect: 'manual' });
  assert.equal(red.status, 308);
  assert.equal(red.headers.get('location'), '/ui/');
  await freshPage();
  assert.equal(await page.title(), 'gradguard playground');
});

const initBody = (method, o = {}) => Object.assign({ layer_dims: Array((o.depth || 10) + 1).fill(32),
  method, seed: 1, diagnose: { activation: 'relu', batch: 64 } },
method === 'random' ? { scale: 0.01 } : {});

test('first load: all three panels drawn from real answers, without a click', async () => {
  await freshPage();
  for (const call of ['POST /normalize 200', 'GET /sessions/', 'POST /init 200',
    'POST /gradcheck 200'])
    assert.ok(apiCalls.some((c) => c.startsWith(call)), `${call} in ${apiCalls}`);
  assert.equal(apiCalls.filter((c) => c === 'POST /init 200').length, 2);
  assert.equal(apiCalls.filter((c) => c === 'POST /gradcheck 200').length, 2);
  assert.ok(apiCalls.every((c) => / 200$/.test(c)), `all 200: ${apiCalls}`);
  for (const id of ['#norm-out', '#init-out', '#gc-out'])
    assert.ok(await page.isVisible(id), `${id} shown`);
  assert.equal(await page.locator('#norm-scatter-before circle.pt').count(), 200);
  assert.equal(await page.locator('#norm-scatter-after circle.pt').count(), 200);
  assert.ok(await page.locator('#norm-contour-after path.contour').count() >= 5);
  const session = await page.textContent('#norm-session');
  assert.equal((await fetch(`${BASE}/sessions/${session}`)).status, 200);
  // the init plot holds exactly what /init answers for the defaults
  const he = (await post('/init', initBody('he'))).json.diagnosis;
  const act = await page.$$eval('#init-plot g.series[data-series="he-act"] [data-value]',
    (p) => p.map((e) => Number(e.getAttribute('data-value'))));
  assert.deepEqual(act, he.activation_std);
  // the default gradient check plants dW2 x 2: W2 fails, the rest passes
  const v = await page.$$eval('#gc-plot rect.bar', (r) => r.map((x) =>
    `${x.getAttribute('data-block')}:${x.getAttribute('data-verdict')}`));
  assert.deepEqual(v, ['W1:pass', 'b1:pass', 'W2:fail', 'b2:pass']);
});

test('the page links an SVG icon that is served (no 404)', async () => {
  await freshPage();
  const href = await page.$eval('link[rel="icon"]', (l) => l.href);
  const r = await fetch(href);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'image/svg+xml');
  assert.match(await r.text(), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.deepEqual(notFound, []);
});

// Each chart's viewBox width against its box's width in CSS pixels (1:1
// means text is drawn at its CSS size), and the rendered scale.
async function chartFit() {
  return page.$$eval('svg.chart', (svgs) => svgs.map((s) => ({
    id: s.parentElement.id,
    vb: s.viewBox.baseVal.width,
    box: s.parentElement.clientWidth,
    scale: s.getBoundingClientRect().width / s.viewBox.baseVal.width,
    font: Math.min(...[...s.querySelectorAll('.axis text')].map((t) =>
      parseFloat(getComputedStyle(t).fontSize))),
  })));
}

test('charts are redrawn to their boxes\' width when the window is resized', async () => {
  await freshPage({ width: 1280, height: 900 });
  const wide = await chartFit();
  assert.equal(wide.length, 6, wide.map((c) => c.id).join());
  for (const c of wide) assert.ok(Math.abs(c.vb - Math.min(c.box, 860)) <= 1, JSON.stringify(c));
  await page.setViewportSize({ width: 375, height: 812 });
  await page.waitForFunction(() => [...document.querySelectorAll('svg.chart')].every((s) =>
    Math.abs(s.viewBox.baseVal.width - s.parentElement.clientWidth) <= 1));
  const narrow = await chartFit();
  for (const c of narrow) {
    const before = wide.find((w) => w.id === c.id);
    assert.ok(c.vb < before.vb, `${c.id} redrawn narrower: ${before.vb} -> ${c.vb}`);
  }
  // and back: wider again
  await page.setViewportSize({ width: 1024, height: 800 });
  await page.waitForFunction(() => [...document.querySelectorAll('svg.chart')].every((s) =>
    Math.abs(s.viewBox.baseVal.width - Math.min(s.parentElement.clientWidth, 860)) <= 1));
});

test('at 375 px every panel fits and chart text keeps its size', async () => {
  await freshPage({ width: 375, height: 812 });
  const panels = await page.$$eval('.panel', (ps) => ps.map((p) => p.getBoundingClientRect().right));
  for (const r of panels) assert.ok(r <= 375, `panel right edge ${r}`);
  const fit = await chartFit();
  assert.equal(fit.length, 6);
  for (const c of fit) {
    assert.ok(c.scale > 0.97 && c.scale < 1.03, `${c.id} drawn at scale ${c.scale}`);
    assert.ok(c.font * c.scale >= 10.5, `${c.id} text ${c.font * c.scale} px`);
  }
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(sw <= 375, `page is ${sw} px wide`);
});

test('normalize: scatter, contours and GD paths from the real response', async () => {
  await freshPage();
  await runNormalize();
  const m = await page.$$eval('#norm-csv', (e) =>
    e[0].value.split('\n').filter((l) => l.trim() && !l.startsWith('#')).length);
  assert.equal(m, 200);
  assert.equal(await page.locator('#norm-scatter-before circle.pt').count(), m);
  assert.equal(await page.locator('#norm-scatter-after circle.pt').count(), m);
  for (const id of ['#norm-contour-before', '#norm-contour-after']) {
    assert.ok(await page.locator(`${id} path.contour`).count() >= 5, `${id} contours`);
    const d = await page.getAttribute(`${id} path.gd-path`, 'd');
    assert.ok(d && d.split('L').length >= 2, `${id} has a GD path`);
  }
  // The statistics table comes from GET /sessions/{id}.
  const session = await page.textContent('#norm-session');
  const s = await (await fetch(`${BASE}/sessions/${session}`)).json();
  const cells = await page.$$eval('#norm-stats tbody tr', (rows) =>
    rows.map((r) => [...r.querySelectorAll('td')].map((c) => Number(c.textContent))));
  assert.equal(cells.length, 2);
  for (let k = 0; k < 2; k++) {
    assert.ok(Math.abs(cells[k][0] - s.mean[k]) <= 1e-3 * Math.abs(s.mean[k]));
    assert.ok(Math.abs(cells[k][1] - Math.sqrt(s.var[k])) <= 1e-3 * Math.sqrt(s.var[k]));
  }
  assert.ok(s.mean[0] > 800 && s.mean[0] < 1200, `mean x1 ${s.mean[0]}`);
  // Raw features: ill-conditioned, many more iterations than normalized ones.
  const before = Number(await page.textContent('#norm-cond-before'));
  const after = Number(await page.textContent('#norm-cond-after'));
  assert.ok(before > 1e4 && after < 10, `cond ${before} -> ${after}`);
  const it = async (id) => Number(await page.getAttribute(id, 'data-value'));
  const ib = await it('#norm-iters-before'), ia = await it('#norm-iters-after');
  assert.ok(ia >= 1 && ia < 200 && ib > 100 * ia, `iterations ${ib} vs ${ia}`);
});

test('normalize: a CSV with a non-number shows the API\'s problem', async () => {
  await freshPage();
  await page.fill('#norm-csv', '1,2,3\n4,abc,6\n7,8,9\n');
  await page.click('#norm-run');
  await page.waitForSelector('#norm-error:not([hidden])');
  const text = await page.textContent('#norm-error');
  const ref = await post('/normalize', { op: 'fit',
    data: [[1, 2], [4, 'abc'], [7, 8]], report: true });
  assert.equal(ref.status, 422);
  assert.ok(text.includes(ref.json.detail), `shows "${ref.json.detail}": ${text}`);
  assert.ok(text.includes('/data/1/1'), 'shows the pointer');
  assert.ok(await page.isHidden('#norm-out'));
});

test('initialize: two methods plotted on a log scale from /init', async () => {
  await freshPage();
  await runInit();
  const series = await page.$$eval('#init-plot g.series', (gs) => gs.map((g) => ({
    name: g.getAttribute('data-series'),
    v: [...g.querySelectorAll('[data-value]')].map((p) => Number(p.getAttribute('data-value'))),
  })));
  assert.deepEqual(series.map((s) => s.name),
    ['he-act', 'he-grad', 'random-act', 'random-grad']);
  const he = (await post('/init', initBody('he'))).json.diagnosis;
  const rnd = (await post('/init', initBody('random'))).json.diagnosis;
  assert.deepEqual(series[0].v, he.activation_std);
  assert.deepEqual(series[1].v, he.gradient_norm);
  assert.deepEqual(series[2].v, rnd.activation_std);
  assert.deepEqual(series[3].v, rnd.gradient_norm);
  const words = await page.$$eval('#init-verdicts .verdict-word', (e) => e.map((x) => x.textContent));
  assert.deepEqual(words, [he.verdict, rnd.verdict]);
  assert.equal(he.verdict, 'stable');
  assert.equal(rnd.verdict, 'vanishing');
  // log scale: a tenfold smaller value is drawn lower by a constant step
  const ys = await page.$$eval('#init-plot g.series-b.act circle.pt', (c) => c.map((e) => Number(e.getAttribute('cy'))));
  assert.ok(ys[ys.length - 1] > ys[0], 'vanishing series goes down');
});

test('initialize: zeros (vanishing) and random scale 1 (exploding), linear', async () => {
  await freshPage();
  await page.fill('#init-depth', '6');
  await page.selectOption('#init-activation', 'linear');
  await page.selectOption('#init-method-a', 'zeros');
  await page.selectOption('#init-method-b', 'random');
  await page.fill('#init-scale', '1');
  await runInit();
  const words = await page.$$eval('#init-verdicts .verdict-word', (e) => e.map((x) => x.textContent));
  assert.deepEqual(words, ['vanishing', 'exploding']);
  // zeros cannot sit on a log axis: drawn as markers below it, explained.
  // Of zeros' 12 values only the last gradient norm is not 0: the
  // diagnosis feeds a unit-norm error into the output layer.
  assert.equal(await page.locator('#init-plot g.series-a .pt-off').count(), 11);
  assert.equal(await page.locator('#init-plot g.series-a circle.pt').count(), 1);
  assert.equal(await page.locator('#init-plot g.series-b circle.pt').count(), 12);
  assert.match(await page.textContent('#init-plot .legend'), /below the axis/);
  await page.locator('#init').screenshot({ path: join(ART, 'desktop-init-zeros-exploding.png') });
});

test('gradient check: a bug planted in layer 2 is the red W2 bar', async () => {
  await freshPage();
  await runGradcheck(2, 'scale');
  const bars = await page.$$eval('#gc-plot rect.bar', (rs) => rs.map((r) => ({
    name: r.getAttribute('data-block'), cls: r.getAttribute('class'),
    fill: getComputedStyle(r).fill })));
  assert.deepEqual(bars.map((b) => b.name), ['W1', 'b1', 'W2', 'b2']);
  const w2 = bars.find((b) => b.name === 'W2');
  assert.match(w2.cls, /\bv-fail\b/);
  assert.match(w2.cls, /\bplanted\b/);
  assert.equal(w2.fill, FAIL_RGB);
  for (const b of bars.filter((x) => x.name !== 'W2')) {
    assert.match(b.cls, /\bv-pass\b/, `${b.name} passes`);
    assert.notEqual(b.fill, FAIL_RGB);
  }
  assert.equal(await page.textContent('#gc-verdict'), 'fail');
  const worst = await page.$$eval('#gc-worst tbody th', (t) => t.map((x) => x.textContent));
  assert.ok(worst.length >= 1 && worst[0] === 'W2', `worst ${worst}`);
});

test('gradient check: other bugs and layers, and no bug', async () => {
  await freshPage();
  const cases = [[1, 'transpose', 'W1'], [2, 'drop_l2', 'W2'], [1, 'drop_l2', 'W1']];
  for (const [layer, kind, red] of cases) {
    await runGradcheck(layer, kind);
    const fails = await page.$$eval('#gc-plot rect.bar.v-fail', (r) => r.map((x) => x.getAttribute('data-block')));
    assert.deepEqual(fails, [red], `${kind} in layer ${layer}`);
  }
  await runGradcheck(0);
  const verdicts = await page.$$eval('#gc-plot rect.bar', (r) => r.map((x) => x.getAttribute('data-verdict')));
  assert.deepEqual(verdicts, ['pass', 'pass', 'pass', 'pass']);
  assert.equal(await page.textContent('#gc-verdict'), 'pass');
});

test('keyboard: every control is labelled, and Enter on a focused button runs it', async () => {
  await freshPage();
  const unlabelled = await page.$$eval('input, select, textarea', (es) =>
    es.filter((e) => !e.labels || e.labels.length === 0).map((e) => e.id));
  assert.deepEqual(unlabelled, []);
  // Tab from the gradient-check seed reaches the button; Enter submits.
  await page.focus('#gc-seed');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'gc-run');
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.equal(outline, 'solid', 'focus is visible');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#gc-out:not([hidden]) #gc-plot rect.bar');
});

test('an invalid number field shows an error instead of calling the API', async () => {
  await freshPage();
  await page.fill('#init-width', '0');
  await page.click('#init-run');
  await page.waitForSelector('#init-error:not([hidden])');
  assert.match(await page.textContent('#init-error'), /Width/);
  // and a 422 from /init itself (zero scale for random) is shown with its pointer
  await page.fill('#init-width', '8');
  await page.selectOption('#init-method-b', 'random');
  await page.fill('#init-scale', '-1');
  await page.click('#init-run');
  await page.waitForSelector('#init-error:not([hidden]) .problem-errors');
  assert.match(await page.textContent('#init-error'), /\/scale/);
});

test('screenshots at 375 px and on a desktop, no horizontal overflow', async () => {
  for (const [name, vp] of [['desktop', { width: 1280, height: 900 }],
    ['mobile-375', { width: 375, height: 812 }]]) {
    await freshPage(vp);
    await runNormalize();
    await runInit();
    await runGradcheck(2, 'scale');
    const sw = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(sw <= vp.width, `${name}: page is ${sw} px wide`);
    await page.screenshot({ path: join(ART, `${name}.png`), fullPage: true });
    for (const id of ['normalize', 'init', 'gradcheck'])
      await page.locator('#' + id).screenshot({ path: join(ART, `${name}-${id}.png`) });
  }
  // The page with a problem shown.
  await freshPage({ width: 375, height: 812 });
  await page.fill('#norm-csv', '1,2,3\n4,abc,6\n');
  await page.click('#norm-run');
  await page.waitForSelector('#norm-error:not([hidden])');
  await page.locator('#normalize').screenshot({ path: join(ART, 'mobile-375-error.png') });
});

test('no script errors, CSP violations or 404s in the whole run', async () => {
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(notFound, []);
});

let passed = 0, failed = 0;
const t0 = Date.now();
for (const t of tests) {
  try {
    await t.fn();
    passed++;
    console.log(`ok   ${t.name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${t.name}\n     ${String(e && e.stack || e).split('\n').slice(0, 4).join('\n     ')}`);
  }
}
await ctx.close();
rmSync(profile, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${ART})`);
process.exit(failed ? 1 : 0);
