// The web console's browser tests, run by scripts/browser-tests.sh (which see): plain node and
// playwright-core driving Debian's Chromium, by role and accessible name as a user (or a screen
// reader) finds things. Prints `plan N`, then one line per scenario, `ok NAME` or `FAIL NAME: why`,
// and exits 1 when any failed. Screenshots of each step: $BT_SHOTS/NN-scenario-step.png.
// Env: BT_URL (the console), BT_DB (psql URL of its database), BT_SCHEMA (the service's schema),
// BT_BIN (the ingest binary), BT_FILES (fixtures; downloads land there), BT_WORK (logs),
// BT_SHOTS, BT_NODE (the folder whose node_modules hold playwright-core and @axe-core/playwright),
// BT_RUN (a marker put on Chromium's command line, for the cleanup).
// The scenarios run in order, each in browser contexts of its own and with tables of its own;
// the jobs list (6) looks at the jobs of 1-5, and the token (7) runs last: once a token exists,
// the console and the API need one.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const need = (k) => { const v = process.env[k]; if (!v) { console.error(`${k} is not set`); process.exit(2); } return v; };
const BASE = need('BT_URL').replace(/\/$/, '');
const DB = need('BT_DB'), SCHEMA = need('BT_SCHEMA'), BIN = need('BT_BIN');
const FILES = need('BT_FILES'), WORK = need('BT_WORK'), SHOTS = need('BT_SHOTS'), NODE_DIR = need('BT_NODE');
const require = createRequire(path.join(NODE_DIR, 'package.json'));
const { chromium } = require('playwright-core');
const { AxeBuilder } = require('@axe-core/playwright');

const WAIT = 20_000;      // one wait: a page, a preview, a control
const JOB = 60_000;       // a job's end (the 1,000,000-row load takes ~10 s on 2 busy cores)
const TOTAL = 225_000;    // the whole run
const started = Date.now();
const F = (name) => path.join(FILES, name);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const short = (e) => String(e && e.message ? e.message : e).split('\n')[0].slice(0, 300);
const log = (line) => { try { fs.appendFileSync(path.join(WORK, 'browser.log'), line + '\n'); } catch { /* best effort */ } };

// ---- reporting ---------------------------------------------------------------------------------
const SCENARIOS = [
  ['s1', '1 pt-BR Windows-1252 CSV: detected ; and Windows-1252, accents decoded, Check 0 rejected of 200, Load equals psql \\copy'],
  ['s2', '2 xlsx with two sheets: the Sheet select lists both, the second one previews and loads'],
  ['s3', '3 a bad row: Check lists line/column/value/reason, tolerance 0 fails untouched, tolerance 1 loads the rest, Download rejects'],
  ['s4', '4 live progress on 1,000,000 rows: growing row counts and a progress bar, then succeeded with 1,000,000 rows'],
  ['s5', '5 Cancel mid-load: the status ends with cancelled and the table has 0 rows'],
  ['s6', '6 the jobs list: the jobs above newest first, a Check marked Check, the failed filter, a job page with parameters and state'],
  ['s8', '8 both languages: Portuguese by Accept-Language (Verificar, Tarefas, 1.000.000), the switch to English and back'],
  ['s9', '9 axe-core: no serious or critical violation on the upload (preview and rejects), jobs, job and sign-in pages, in both languages'],
  ['s7', '7 a token limited to public.allowed: sign-in redirect, HttpOnly session, only its table, only its jobs, a wrong token refused'],
];
const NAMES = Object.fromEntries(SCENARIOS);
const said = new Set();
let failures = 0;
const say = (line) => process.stdout.write(line.replace(/\s+/g, ' ').trim() + '\n');
function report(key, why) {
  if (said.has(key)) return;
  said.add(key);
  if (why === null) say(`ok ${NAMES[key]}`);
  else { failures++; say(`FAIL ${NAMES[key]}: ${String(why).slice(0, 400)}`); }
}
say(`plan ${SCENARIOS.length}`);

class Failed extends Error {}
/** An assertion: the scenario stops and fails with `why` unless `cond`. */
function check(cond, why) { if (!cond) throw new Failed(typeof why === 'function' ? why() : why); }
/** An assertion that lets the scenario go on: it fails at its end. */
let softs = [];
function expectSoft(cond, why) { if (!cond) { softs.push(why); log(`soft failure: ${why}`); } }

let browser = null, ending = null;
const bye = (why) => {
  if (ending) return ending;
  for (const [k] of SCENARIOS) report(k, why);
  ending = (async () => {
    if (browser) await Promise.race([browser.close().catch(() => {}), sleep(5000)]);
    log(`run took ${Math.round((Date.now() - started) / 1000)}s`);
    process.exit(failures ? 1 : 0);
  })();
  return ending;
};
process.on('SIGTERM', () => bye('not reached: the driver was stopped (SIGTERM)'));
process.on('SIGINT', () => bye('not reached: the driver was interrupted'));
setTimeout(() => bye(`not reached: the run passed ${TOTAL / 1000}s`), TOTAL).unref();

// ---- the database and the CLI ------------------------------------------------------------------
function sql(query) {
  return execFileSync('psql', [DB, '-Atq', '-v', 'ON_ERROR_STOP=1', '-c', query], { timeout: 30_000, encoding: 'utf8' }).trim();
}
const count = (table) => Number(sql(`select count(*) from ${table}`));

// ---- pages, contexts, screenshots ----------------------------------------------------------------
let shotNo = 0;
async function shot(page, name) {
  const file = path.join(SHOTS, `${String(++shotNo).padStart(2, '0')}-${name}.png`);
  try { await page.screenshot({ path: file, fullPage: true, timeout: 10_000 }); } catch (e) { log(`screenshot ${name}: ${short(e)}`); }
  return file;
}
const EN = { locale: 'en-US', accept: 'en-US,en;q=0.9' };
const PT = { locale: 'pt-BR', accept: 'pt-BR,pt;q=0.9' };
// The jobs the console created (POST /v1/jobs answered 201), in order: {id, table, check, created_at, scenario}
const jobs = [];
let contexts = [];
async function newContext(key, lang = EN) {
  const ctx = await browser.newContext({
    locale: lang.locale, extraHTTPHeaders: { 'Accept-Language': lang.accept },
    viewport: { width: 1280, height: 900 }, acceptDownloads: true,
  });
  contexts.push(ctx);
  ctx.setDefaultTimeout(WAIT);
  ctx.setDefaultNavigationTimeout(WAIT);
  ctx.on('page', (page) => watch(key, page));
  return ctx;
}
function watch(key, page) {
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') log(`[${key}] console.${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => log(`[${key}] page error: ${short(e)}`));
  page.on('response', async (r) => {
    if (r.status() >= 400) log(`[${key}] HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
    if (r.request().method() !== 'POST' || new URL(r.url()).pathname !== '/v1/jobs') return;
    if (r.status() !== 201) { log(`[${key}] POST /v1/jobs answered ${r.status()}: ${await r.text().catch(() => '')}`); return; }
    try {
      const j = await r.json();
      jobs.push({ id: j.id, table: j.target && j.target.table, check: j.check, created_at: j.created_at, scenario: key });
    } catch (e) { log(`[${key}] reading a created job: ${short(e)}`); }
  });
}
async function newPage(key, lang = EN) { return (await newContext(key, lang)).newPage(); }

/** Runs a scenario under a deadline; its contexts are closed after it. */
async function scenario(key, ms, fn) {
  const budget = Math.min(ms, TOTAL - (Date.now() - started) - 3000);
  if (budget < 5000) { report(key, 'not reached: out of time'); return; }
  const t0 = Date.now();
  let timer;
  const run = fn();
  run.catch(() => {});
  try {
    await Promise.race([run, new Promise((_, no) => { timer = setTimeout(() => no(new Failed(`took over ${Math.round(budget / 1000)}s`)), budget); })]);
    check(!softs.length, () => softs.join('; '));
    report(key, null);
  } catch (e) {
    log(`[${key}] FAIL: ${e instanceof Failed ? e.message : (e && e.stack) || e}`);
    for (const ctx of contexts) for (const p of ctx.pages()) await shot(p, `${key}-failed`);
    const why = e instanceof Failed ? e.message : `error: ${short(e)}`;
    report(key, softs.length && why !== softs.join('; ') ? `${softs.join('; ')}; ${why}` : why);
  } finally {
    clearTimeout(timer);
    softs = [];
    log(`[${key}] ${Math.round((Date.now() - t0) / 1000)}s`);
    for (const ctx of contexts) await ctx.close().catch(() => {});
    contexts = [];
  }
}

// ---- the console, by role and accessible name ------------------------------------------------------
const W = {
  en: { file: 'File', table: 'Table', check: 'Check', load: 'Load', cancel: 'Cancel', jobs: 'Jobs', tolerance: 'Rejected rows tolerated',
    states: { succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled' }, rowsRead: 'rows read', rejects: 'Rejected rows',
    line: 'Line', column: 'Column', value: 'Value', reason: 'Reason', preview: /^Preview/, download: 'Download rejects' },
  pt: { file: 'Arquivo', table: 'Tabela', check: 'Verificar', load: 'Carregar', cancel: 'Cancelar', jobs: 'Tarefas', tolerance: 'Linhas rejeitadas toleradas',
    states: { succeeded: 'concluída', failed: 'falhou', cancelled: 'cancelada' }, rowsRead: 'linhas lidas', rejects: 'Linhas rejeitadas',
    line: 'Linha', column: 'Coluna', value: 'Valor', reason: 'Motivo', preview: /^Prévia/, download: 'Baixar rejeitadas' },
};
const button = (page, name) => page.getByRole('button', { name, exact: true });
// the job's status region (the upload page's <output> of the detected format is a status too)
const statusRegion = (page) => page.getByRole('status').and(page.locator(':not(output)')).first();
const statusText = async (page) => ((await statusRegion(page).innerText().catch(() => '')) || '').replace(/\s+/g, ' ').trim();

/** fn's first truthy result within ms, else throws Failed(why()) */
async function until(fn, ms, why) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    if (Date.now() >= end) throw new Failed(typeof why === 'function' ? why(last) : why);
    await sleep(200);
  }
}

/** The table's rows as arrays of cell texts (header rows left out) */
async function rowsOf(table) {
  return table.evaluate((t) => [...t.querySelectorAll('tbody tr')].map((tr) => [...tr.cells].map((c) => c.innerText.replace(/\s+/g, ' ').trim())));
}
const preview = (page, w) => page.getByRole('table', { name: w.preview });
const rejectsTable = (page, w) => page.getByRole('table', { name: w.rejects })
  .filter({ has: page.getByRole('columnheader', { name: w.line, exact: true }) })
  .filter({ has: page.getByRole('columnheader', { name: w.column, exact: true }) })
  .filter({ has: page.getByRole('columnheader', { name: w.value, exact: true }) })
  .filter({ has: page.getByRole('columnheader', { name: w.reason, exact: true }) });

/** Opens the upload page, chooses the table, then the file; waits for the preview to show `expect` */
async function prepare(page, w, table, file, expect) {
  const r = await page.goto(`${BASE}/`);
  check(r && r.ok(), `GET / answered ${r && r.status()}`);
  const select = page.getByLabel(w.table, { exact: true });
  await select.selectOption(table);
  await page.getByLabel(w.file, { exact: true }).setInputFiles(F(file));
  let status = '';
  await until(async () => {
    const text = (await rowsOf(preview(page, w))).flat().join(' | ');
    status = await statusText(page);
    return expect.test(text) && !status;   // the status empties once the inspection is shown
  }, file === 'big.csv' ? 45_000 : WAIT, () => `the preview of ${file} never showed ${expect} (status: "${status}")`);
}

const TERMINAL = (w) => new RegExp(`— (${Object.values(w.states).join('|')})$`);
/** Clicks Check or Load; returns the created job and the status region's final text */
async function runJob(page, w, which, { onStatus } = {}) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/v1/jobs', { timeout: WAIT }),
    button(page, w[which]).click(),
  ]);
  check(response.status() === 201, () => `POST /v1/jobs answered ${response.status()}`);
  const job = await response.json();
  const end = Date.now() + JOB;
  let text = '';
  while (Date.now() < end) {
    text = await statusText(page);
    if (TERMINAL(w).test(text)) return { job, text, state: text.match(TERMINAL(w))[1] };
    if (onStatus) await onStatus(text);
    await sleep(100);
  }
  throw new Failed(`the ${which} did not end within ${JOB / 1000}s; the status region said "${text}"`);
}

async function axeScan(page, what) {
  const r = await new AxeBuilder({ page }).analyze();
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) log(`axe ${what}: ${JSON.stringify(bad.map((v) => ({ id: v.id, help: v.help, nodes: v.nodes.map((n) => n.target) })))}`);
  return bad.map((v) => `${what}: ${v.id} (${v.impact}, ${v.nodes.length}x ${v.nodes.slice(0, 2).map((n) => n.target.join(' ')).join(', ')})`);
}

// ---- the run -------------------------------------------------------------------------------------
try {
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium', headless: true, timeout: WAIT,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', ...(process.env.BT_RUN ? [`--ingest-browser-run=${process.env.BT_RUN}`] : [])],
  });
} catch (e) { await bye(`not reached: Chromium did not start: ${short(e)}`); }

// 1. pt-BR Windows-1252 CSV ------------------------------------------------------------------------
await scenario('s1', 45_000, async () => {
  const w = W.en, page = await newPage('s1');
  await prepare(page, w, 'public.vendas', 'vendas.csv', /João da Silva/);
  await shot(page, 's1-preview');
  const encoding = page.getByLabel('Encoding', { exact: true }), delimiter = page.getByLabel('Delimiter', { exact: true });
  const enc = await encoding.inputValue();
  check(enc === 'windows-1252', `Encoding shows ${enc}, not windows-1252`);
  const encText = await encoding.evaluate((s) => s.selectedOptions[0].text);
  check(/Windows-1252/.test(encText), `the Encoding select shows "${encText}"`);
  const delim = await delimiter.inputValue();
  check(delim === ';', `Delimiter shows ${JSON.stringify(delim)}, not ;`);
  check(await page.getByLabel(/^Decimal comma/).isChecked(), 'Decimal comma is not ticked');
  const dateFmt = await page.getByLabel('Date format', { exact: true }).inputValue();
  check(dateFmt === '%d/%m/%Y', `Date format shows ${JSON.stringify(dateFmt)}, not %d/%m/%Y`);
  const cells = (await rowsOf(preview(page, w))).flat();
  for (const name of ['João da Silva', 'Maria da Conceição', 'Ângela Gonçalves', 'Açougue São Jorge Ltda']) {
    check(cells.includes(name), `the preview has no cell "${name}" (cells: ${cells.slice(0, 12).join(' | ')})`);
  }
  check(!cells.some((c) => /\uFFFD|Ã|Â£/.test(c)), 'the preview shows mojibake');
  const c = await runJob(page, w, 'check');
  await shot(page, 's1-check');
  check(c.state === 'succeeded', `Check ended "${c.text}"`);
  check(/\b200 rows read\b/.test(c.text) && /\b0 rejected\b/.test(c.text) && /would insert 200\b/.test(c.text),
    `Check's status does not say 200 rows read, would insert 200, 0 rejected: "${c.text}"`);
  check(count('public.vendas') === 0, 'the Check wrote to public.vendas');
  const l = await runJob(page, w, 'load');
  await shot(page, 's1-load');
  check(l.state === 'succeeded', `Load ended "${l.text}"`);
  check(/\b200 inserted\b/.test(l.text), `Load's status does not say 200 inserted: "${l.text}"`);
  const diff = execFileSync('psql', [DB, '-Atq', '-v', 'ON_ERROR_STOP=1',
    '-c', 'create temp table ref (like public.vendas)',
    '-c', `\\copy ref from '${F('vendas_ref.csv')}' csv header`,
    '-c', `select (select count(*) from (select * from ref except all select * from public.vendas) a) || ' ' ||
                  (select count(*) from (select * from public.vendas except all select * from ref) b) || ' ' || (select count(*) from ref)`],
  { encoding: 'utf8', timeout: 30_000 }).trim();
  check(diff === '0 0 200', `public.vendas differs from psql \\copy of the UTF-8 file (missing, extra, reference rows: ${diff})`);
});

// 2. xlsx with two sheets ----------------------------------------------------------------------------
await scenario('s2', 40_000, async () => {
  const w = W.en, page = await newPage('s2');
  await prepare(page, w, 'public.planilha', 'planilha.xlsx', /Café janeiro/);
  const sheet = page.getByLabel('Sheet', { exact: true });
  await sheet.waitFor({ state: 'visible', timeout: WAIT });
  const sheets = await sheet.evaluate((s) => [...s.options].map((o) => o.text));
  check(JSON.stringify(sheets) === '["Janeiro","Fevereiro"]', `the Sheet select lists ${JSON.stringify(sheets)}`);
  await shot(page, 's2-first-sheet');
  await sheet.selectOption({ label: 'Fevereiro' });
  let cells = [], status = '';
  await until(async () => {
    cells = (await rowsOf(preview(page, w))).flat();
    status = await statusText(page);
    return cells.includes('Pão fevereiro') && !cells.includes('Café janeiro') && !status;
  }, WAIT, () => `after choosing Fevereiro the preview shows ${cells.slice(0, 9).join(' | ')} (status: ${JSON.stringify(status)})`);
  const errors = await page.getByRole('alert').filter({ hasText: /\S/ }).allInnerTexts();
  check(errors.every((t) => !t.trim()), `an error shows: ${errors.join(' / ')}`);
  await shot(page, 's2-second-sheet');
  const l = await runJob(page, w, 'load');
  await shot(page, 's2-load');
  check(l.state === 'succeeded', `Load ended "${l.text}"`);
  const got = sql("select string_agg(id || ':' || produto || ':' || quantidade, '|' order by id) from public.planilha");
  const want = '101:Pão fevereiro:1|102:Manteiga fevereiro:2|103:Queijo Minas fevereiro:3|104:Goiabada fevereiro:4|105:Leite fevereiro:5';
  check(got === want, `public.planilha holds ${got || 'nothing'}, not the second sheet's rows`);
});

// 3. a bad row ---------------------------------------------------------------------------------------
await scenario('s3', 60_000, async () => {
  const w = W.en, page = await newPage('s3');
  await prepare(page, w, 'public.produtos', 'produtos_bad.csv', /produto 11/);
  const c = await runJob(page, w, 'check');
  const rejects = rejectsTable(page, w);
  await rejects.waitFor({ state: 'visible', timeout: WAIT });
  await shot(page, 's3-check');
  check(/\b1 rejected\b/.test(c.text) && /\b30 rows read\b/.test(c.text), `Check's status: "${c.text}"`);
  const rows = await rowsOf(rejects);
  check(rows.length === 1, `the rejects table has ${rows.length} rows: ${JSON.stringify(rows)}`);
  const [line, column, value, reason] = rows[0];
  check(line === '12' && column === 'qtd' && value === 'doze' && reason.length > 3,
    `the reject reads line ${line}, column ${column}, value ${value}, reason ${reason}; wanted 12, qtd, doze and a reason`);
  check(count('public.produtos') === 1, 'the Check wrote to public.produtos');
  // tolerance 0 (the default): nothing written
  const tolerance = page.getByLabel(w.tolerance, { exact: true });
  const tol = await tolerance.inputValue();
  check(tol === '0', `the tolerance starts at ${tol}`);
  const f = await runJob(page, w, 'load');
  await shot(page, 's3-load-tolerance-0');
  check(f.state === 'failed', `Load with tolerance 0 ended "${f.text}"`);
  const after = sql("select string_agg(id || ':' || nome, ',' order by id) from public.produtos");
  check(after === '1000:sentinela', `after the failed load public.produtos holds ${after}`);
  // tolerance 1: the 29 other rows
  await tolerance.fill('1');
  const s = await runJob(page, w, 'load');
  await shot(page, 's3-load-tolerance-1');
  check(s.state === 'succeeded', `Load with tolerance 1 ended "${s.text}"`);
  check(/\b29 inserted\b/.test(s.text) && /\b1 rejected\b/.test(s.text), `Load's status does not say 29 inserted, 1 rejected: "${s.text}"`);
  const n = sql("select count(*) || ' ' || count(*) filter (where id = 11) || ' ' || sum(qtd) filter (where id <> 1000) from public.produtos");
  check(n === `30 0 ${2 * (465 - 11)}`, `public.produtos: rows, id 11, sum(qtd) = ${n}; wanted the sentinel and 29 rows without id 11`);
  const link = page.getByRole('link', { name: w.download, exact: true });
  await link.waitFor({ state: 'visible', timeout: WAIT });
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), link.click()]);
  const saved = F('s3-rejects.csv');
  await download.saveAs(saved);
  const body = fs.readFileSync(saved, 'utf8');
  check(/\bdoze\b/.test(body), `the download (${download.suggestedFilename()}) has no "doze": ${JSON.stringify(body.slice(0, 200))}`);
  check(/\.csv$/.test(download.suggestedFilename()), `the download is named ${download.suggestedFilename()}`);
});

// 4. live progress on 1,000,000 rows -------------------------------------------------------------------
const rowsRead = (w, text) => {
  const m = text.match(new RegExp(`([\\d.,]+) ${w.rowsRead}`));
  return m ? Number(m[1].replace(/[.,]/g, '')) : null;
};
await scenario('s4', 100_000, async () => {
  const w = W.en, page = await newPage('s4');
  await prepare(page, w, 'public.big_load', 'big.csv', /\bc1\b/);
  const seen = new Set();
  let bar = false, shotTaken = false;
  const l = await runJob(page, w, 'load', {
    onStatus: async (text) => {
      const n = rowsRead(w, text);
      if (n > 0 && / running$/.test(text)) seen.add(n);
      if (!bar && (await page.getByRole('progressbar', { name: w.load }).isVisible())) bar = true;
      if (seen.size >= 1 && bar && !shotTaken) { shotTaken = true; await shot(page, 's4-progress'); }
    },
  });
  await shot(page, 's4-done');
  check(seen.size >= 2, `the status region showed ${seen.size} row count(s) while running: ${[...seen].join(', ') || 'none'}`);
  const ordered = [...seen];
  check(ordered.every((n, i) => i === 0 || n > ordered[i - 1]), `the row counts did not grow: ${ordered.join(', ')}`);
  check(bar, 'no progress bar showed while the load ran');
  check(l.state === 'succeeded', `Load ended "${l.text}"`);
  check(/\b1,000,000 rows read\b/.test(l.text) && /\b1,000,000 inserted\b/.test(l.text), `Load's status: "${l.text}"`);
  check(!(await page.getByRole('progressbar').isVisible()), 'the progress bar still shows after the end');
  const n = count('public.big_load');
  check(n === 1_000_000, `public.big_load has ${n} rows`);
  log(`[s4] row counts seen: ${ordered.join(', ')}`);
});

// 5. Cancel mid-load -----------------------------------------------------------------------------------
await scenario('s5', 80_000, async () => {
  const w = W.en, page = await newPage('s5');
  await prepare(page, w, 'public.big_cancel', 'big.csv', /\bc1\b/);
  let clicked = null;
  const l = await runJob(page, w, 'load', {
    onStatus: async (text) => {
      const n = rowsRead(w, text);
      if (clicked === null && n > 0 && / running$/.test(text)) {
        clicked = n;
        await shot(page, 's5-running');
        await button(page, w.cancel).click();
      }
    },
  });
  await shot(page, 's5-cancelled');
  check(clicked !== null, `the load ended before Cancel could be clicked: "${l.text}"`);
  check(l.state === 'cancelled', `after Cancel (at ${clicked} rows read) the status ended "${l.text}"`);
  check(!(await button(page, w.cancel).isVisible()), 'the Cancel button still shows after the end');
  const n = count('public.big_cancel');
  check(n === 0, `public.big_cancel has ${n} rows after the cancelled load`);
});

// 6. the jobs list -----------------------------------------------------------------------------------
async function listedJobs(page, w = W.en) {
  const table = page.getByRole('table', { name: w.jobs, exact: true });
  await table.waitFor({ state: 'visible', timeout: WAIT });
  return table.evaluate((t) => [...t.tBodies[0].rows].map((tr) => {
    const a = tr.querySelector('a[href^="/jobs/"]');
    const c = [...tr.cells].map((x) => x.innerText.trim());
    return { id: a ? a.getAttribute('href').split('/').pop() : null, created: c[0], kind: c[1], table: c[2], source: c[3], state: c[4], rows: c[5] };
  }));
}
await scenario('s6', 45_000, async () => {
  const w = W.en, page = await newPage('s6');
  const mine = jobs.filter((j) => ['s1', 's2', 's3', 's4', 's5'].includes(j.scenario));
  check(mine.length >= 8, `only ${mine.length} jobs recorded from scenarios 1-5 (they failed early?)`);
  await page.goto(`${BASE}/`);
  await page.getByRole('link', { name: w.jobs, exact: true }).click();
  await page.waitForURL(/\/jobs$/);
  let list = await listedJobs(page);
  await shot(page, 's6-jobs');
  const ids = list.map((r) => r.id);
  const missing = mine.filter((j) => !ids.includes(j.id));
  check(!missing.length, `the list lacks ${missing.length} job(s): ${missing.map((j) => `${j.scenario} ${j.table}`).join(', ')}`);
  const newestFirst = mine.map((j) => j.id).reverse();   // the scenarios created them one after the other
  const shown = ids.filter((id) => newestFirst.includes(id));
  check(JSON.stringify(shown) === JSON.stringify(newestFirst), 'the jobs are not listed newest first');
  check(list.every((r, i) => i === 0 || r.created <= list[i - 1].created), 'the Created column does not go down');
  const byId = Object.fromEntries(list.map((r) => [r.id, r]));
  const checkJob = mine.find((j) => j.check), loadJob = mine.find((j) => !j.check);
  check(byId[checkJob.id].kind === 'Check', `the Check of ${checkJob.table} is listed as "${byId[checkJob.id].kind}"`);
  check(byId[loadJob.id].kind === 'Load', `the Load of ${loadJob.table} is listed as "${byId[loadJob.id].kind}"`);
  const big = mine.find((j) => j.scenario === 's4');
  check(big && byId[big.id].rows === '1,000,000' && byId[big.id].state === 'succeeded',
    () => `the 1,000,000-row load is listed as ${JSON.stringify(big && byId[big.id])}`);
  // the failed filter
  await page.getByLabel('State', { exact: true }).selectOption({ label: 'failed' });
  await button(page, 'Filter').click();
  await page.waitForURL(/[?&]state=failed\b/);
  list = await listedJobs(page);
  await shot(page, 's6-jobs-failed');
  const failedJob = mine.find((j) => j.scenario === 's3' && !j.check);   // the tolerance-0 load
  check(list.length >= 1 && list.every((r) => r.state === 'failed'), `filtered by failed, the list shows states ${list.map((r) => r.state).join(', ')}`);
  check(list.some((r) => r.id === failedJob.id), 'filtered by failed, the failed load of public.produtos is not listed');
  const notFailed = mine.filter((j) => j.id !== failedJob.id).map((j) => j.id);
  check(!list.some((r) => notFailed.includes(r.id)), 'filtered by failed, a job that did not fail is listed');
  // a job's page
  const row = page.getByRole('row').filter({ has: page.locator(`a[href="/jobs/${failedJob.id}"]`) });
  await row.getByRole('link').click();
  await page.waitForURL(new RegExp(`/jobs/${failedJob.id}$`));
  await page.getByRole('heading', { name: 'Load: public.produtos', exact: true }).waitFor({ timeout: WAIT });
  const st = await statusText(page);
  check(/\bfailed$/.test(st), `the job page's status region says "${st}"`);
  const params = await page.getByRole('region', { name: 'Parameters' }).evaluate((s) =>
    Object.fromEntries([...s.querySelectorAll('dt')].map((dt) => [dt.innerText.trim(), dt.nextElementSibling.innerText.trim()])));
  await shot(page, 's6-job');
  const want = { Kind: 'Load', Table: 'public.produtos', Source: 'produtos_bad.csv', Mode: 'Append', max_errors: '0' };
  for (const [k, v] of Object.entries(want)) check(params[k] === v, `the job's parameters show ${k} = ${JSON.stringify(params[k])}, not ${v} (${JSON.stringify(params)})`);
  check(await button(page, 'Retry').isVisible(), 'the failed job has no Retry button');
});

// 8. both languages ------------------------------------------------------------------------------------
await scenario('s8', 60_000, async () => {
  const pt = W.pt, page = await newPage('s8', PT);
  await page.goto(`${BASE}/`);
  check(await page.locator('html').getAttribute('lang') === 'pt-BR', 'the page is not lang="pt-BR"');
  await button(page, 'Verificar').waitFor({ timeout: WAIT });
  check(await button(page, 'Carregar').isVisible(), 'no button Carregar');
  check(await page.getByRole('link', { name: 'Tarefas', exact: true }).isVisible(), 'no nav link Tarefas');
  // numbers as Brazil writes them: a Check of 1,500 rows, and the 1,000,000-row load in the list
  await prepare(page, pt, 'public.pequeno', 'pequeno.csv', /item 1\b/);
  const c = await runJob(page, pt, 'check');
  await rejectsTable(page, pt).waitFor({ state: 'visible', timeout: WAIT });
  await shot(page, 's8-check-pt');
  check(c.state === 'concluída', `the Check's status in Portuguese ended "${c.text}"`);
  check(/^Verificação: 1\.500 linhas lidas\b/.test(c.text) && /\b1 rejeitadas\b/.test(c.text), `the Check's status: "${c.text}"`);
  await page.getByRole('link', { name: 'Tarefas', exact: true }).click();
  await page.waitForURL(/\/jobs$/);
  await page.getByRole('heading', { name: 'Tarefas', exact: true }).waitFor({ timeout: WAIT });
  await listedJobs(page, pt);
  const body = await page.locator('main').innerText();
  check(/\b1\.000\.000\b/.test(body), 'the jobs list shows no 1.000.000 (the Rows of the 1,000,000-row load of scenario 4)');
  check(/\bconcluída\b/.test(body) && /\bfalhou\b/.test(body), 'the jobs list does not say concluída and falhou');
  await shot(page, 's8-jobs-pt');
  // a job's page speaks Portuguese too, its state included: the Check above
  await page.goto(`${BASE}/jobs/${c.job.id}`);
  const st = await statusText(page);
  await shot(page, 's8-job-pt');
  check(/^1\.500 linhas lidas\b/.test(st), `the job page's status in Portuguese: "${st}"`);
  expectSoft(/\bconcluída$/.test(st), `the job page's status region, in Portuguese, ends "${st.split(' ').pop()}" ("${st}"), not concluída`);
  // the switch: to English, and back
  await page.goto(`${BASE}/`);
  await page.getByRole('link', { name: 'English', exact: true }).click();
  await button(page, 'Check').waitFor({ timeout: WAIT });
  check(await page.locator('html').getAttribute('lang') === 'en', 'after the switch the page is not lang="en"');
  check(await page.getByRole('link', { name: 'Jobs', exact: true }).isVisible(), 'after the switch there is no nav link Jobs');
  check(new URL(page.url()).pathname === '/', `the switch went to ${page.url()}`);
  await shot(page, 's8-switched-en');
  await page.getByRole('link', { name: 'Português (Brasil)', exact: true }).click();
  await button(page, 'Verificar').waitFor({ timeout: WAIT });
  check(await page.getByRole('link', { name: 'Tarefas', exact: true }).isVisible(), 'back in Portuguese there is no nav link Tarefas');
  await shot(page, 's8-switched-back');
});

// 9. axe-core ------------------------------------------------------------------------------------------
await scenario('s9', 90_000, async () => {
  const found = [];
  for (const [lang, w, tag] of [[EN, W.en, 'en'], [PT, W.pt, 'pt']]) {
    const page = await newPage('s9', lang);
    await prepare(page, w, 'public.axe_produtos', 'produtos_bad.csv', /produto 11/);
    await runJob(page, w, 'check');
    await rejectsTable(page, w).waitFor({ state: 'visible', timeout: WAIT });
    await shot(page, `s9-upload-${tag}`);
    found.push(...await axeScan(page, `upload page (${tag})`));
    await page.getByRole('link', { name: w.jobs, exact: true }).click();
    await page.waitForURL(/\/jobs$/);
    await page.getByRole('table', { name: w.jobs, exact: true }).waitFor({ timeout: WAIT });
    await shot(page, `s9-jobs-${tag}`);
    found.push(...await axeScan(page, `jobs page (${tag})`));
    await page.getByRole('table', { name: w.jobs, exact: true }).locator('tbody a').first().click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    await page.getByRole('status').waitFor({ timeout: WAIT });
    await shot(page, `s9-job-${tag}`);
    found.push(...await axeScan(page, `job page (${tag})`));
    await page.goto(`${BASE}/login`);
    await page.getByLabel(tag === 'en' ? 'API token' : 'Token da API', { exact: true }).waitFor({ timeout: WAIT });
    await shot(page, `s9-sign-in-${tag}`);
    found.push(...await axeScan(page, `sign-in page (${tag})`));
    await page.close();
  }
  check(!found.length, `${found.length} serious or critical violation(s): ${found.join('; ')}`);
});

// 7. a token limited to one table (last) ---------------------------------------------------------------
await scenario('s7', 60_000, async () => {
  const others = Number(sql(`select count(*) from ${SCHEMA}.jobs where target_table <> 'public.allowed'`));
  check(others > 0, 'there are no jobs of other tables to hide (the scenarios before failed?)');
  const token = execFileSync(BIN, ['token', 'create', '--schema', SCHEMA, '--name', 't1', '--tables', 'public.allowed'],
    { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATABASE_URL: DB } }).trim();
  check(/^\S{16,}$/.test(token), `token create printed ${JSON.stringify(token.slice(0, 40))}`);
  // a wrong token
  const wrong = await newPage('s7');
  await wrong.goto(`${BASE}/`);
  check(new URL(wrong.url()).pathname === '/login', `/ went to ${wrong.url()}, not the sign-in page`);
  await wrong.getByLabel('API token', { exact: true }).fill('not-a-token-0123456789');
  await button(wrong, 'Sign in').click();
  await wrong.getByRole('alert').filter({ hasText: 'That token is unknown or revoked.' }).waitFor({ timeout: WAIT });
  await shot(wrong, 's7-wrong-token');
  check(new URL(wrong.url()).pathname === '/login', `after a wrong token the page is ${wrong.url()}`);
  check(!(await wrong.context().cookies()).some((c) => c.name === 'ingest_session'), 'a wrong token got a session cookie');
  // the right one
  const ctx = await newContext('s7');
  const page = await ctx.newPage();
  const r = await page.goto(`${BASE}/`);
  check(new URL(page.url()).pathname === '/login', `/ went to ${page.url()}, not the sign-in page`);
  check(r && r.ok(), `the sign-in page answered ${r && r.status()}`);
  await page.getByRole('heading', { name: 'Sign in', exact: true }).waitFor({ timeout: WAIT });
  await shot(page, 's7-sign-in');
  await page.getByLabel('API token', { exact: true }).fill(token);
  await button(page, 'Sign in').click();
  await page.waitForURL(`${BASE}/`);
  await button(page, 'Check').waitFor({ timeout: WAIT });
  const jsCookies = await page.evaluate(() => document.cookie);
  check(!/ingest_session/.test(jsCookies), `document.cookie shows the session: ${jsCookies}`);
  const session = (await ctx.cookies()).find((c) => c.name === 'ingest_session');
  check(session && session.httpOnly, () => `the session cookie is ${session ? 'not HttpOnly' : 'missing'}`);
  check(session.sameSite === 'Strict', `the session cookie is SameSite=${session.sameSite}`);
  const options = await page.getByLabel('Table', { exact: true }).evaluate((s) => [...s.options].map((o) => o.value).filter(Boolean));
  check(JSON.stringify(options) === '["public.allowed"]', `the Table select lists ${JSON.stringify(options)}`);
  // a load with the session (its writes carry the CSRF token), then the jobs list
  await prepare(page, W.en, 'public.allowed', 'permitido.csv', /três/);
  const l = await runJob(page, W.en, 'load');
  await shot(page, 's7-load');
  check(l.state === 'succeeded', `the token's Load ended "${l.text}"`);
  check(count('public.allowed') === 3, 'public.allowed does not hold the 3 rows');
  await page.getByRole('link', { name: 'Jobs', exact: true }).click();
  await page.waitForURL(/\/jobs$/);
  const list = await listedJobs(page);
  await shot(page, 's7-jobs');
  check(list.length >= 1 && list.every((j) => j.table === 'public.allowed'),
    `the jobs list shows tables ${[...new Set(list.map((j) => j.table))].join(', ')}`);
  const other = jobs.find((j) => j.table !== 'public.allowed');
  if (other) {
    const resp = await page.goto(`${BASE}/jobs/${other.id}`);
    check(resp.status() === 404, `another table's job page answered ${resp.status()}`);
  }
});

await bye('not reached');
