// The web console in chromium (playwright-core), against the host that run.sh started. Starts no process of
// its own except the browser. Environment (set by run.sh):
//   BASE_URL       http://127.0.0.1:PORT of `switchboard serve`
//   CONTROL_PORT   switchboard-pbxsim's control port
//   NPM_DIR        folder whose node_modules holds playwright-core
//   SCREENSHOT_DIR where the PNGs go
//   WORK_DIR       the test's temporary folder
//   CALL_PROJECT, CALL_CALLER, COMPANY   the call to make and the company it must pop
import {createRequire} from 'node:module';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set (run this through tests/browser/run.sh)`);
  return value;
};
const BASE = env('BASE_URL');
const CONTROL_PORT = Number(env('CONTROL_PORT'));
const SHOTS = env('SCREENSHOT_DIR');
const WORK = env('WORK_DIR');
const PROJECT = env('CALL_PROJECT');
const CALLER = env('CALL_CALLER');
const COMPANY = env('COMPANY');
const require = createRequire(path.join(env('NPM_DIR'), 'package.json'));
const {chromium} = require('playwright-core');

const STEP_TIMEOUT = 15000;
let step = 'start';
const started = Date.now();
const log = (text) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${text}`);
function check(condition, message) {
  if (!condition) throw new Error(message);
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The whole test may not run longer than this, whatever hangs.
const watchdog = setTimeout(() => {
  console.error(`FAIL: the browser test did not finish within 170 s (at step: ${step})`);
  process.exit(1);
}, 170000);

// One line to pbxsim's control port, one line back.
function control(command) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(CONTROL_PORT, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`pbxsim control '${command}': no answer in 5 s`)); }, 5000);
    socket.on('connect', () => socket.write(`${command}\n`));
    socket.on('data', (chunk) => {
      data += chunk;
      if (data.includes('\n')) {
        clearTimeout(timer);
        socket.end();
        resolve(data.split('\n')[0].trim());
      }
    });
    socket.on('error', (e) => { clearTimeout(timer); reject(new Error(`pbxsim control '${command}': ${e.message}`)); });
  });
}

async function waitForHealth() {
  const deadline = Date.now() + 30000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${BASE}/healthz`, {signal: AbortSignal.timeout(2000)});
      const body = await response.json().catch(() => null);
      last = `${response.status} ${JSON.stringify(body)}`;
      if (response.status === 200 && body && body.status === 'ok') return body;
    } catch (e) {
      last = e.message;
    }
    await sleep(200);
  }
  throw new Error(`GET /healthz did not answer 200 {"status":"ok"} within 30 s; last: ${last}`);
}

async function shot(page, name) {
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({path: file});
  log(`screenshot ${file}`);
}

async function login(page, name, password) {
  await page.goto(`${BASE}/`, {timeout: STEP_TIMEOUT});
  await page.locator('#login-name').waitFor({timeout: STEP_TIMEOUT});
  await page.fill('#login-name', name);
  await page.fill('#login-password', password);
  await page.press('#login-password', 'Enter');
  await page.locator('[data-testid="agent-name"]', {hasText: name}).waitFor({timeout: STEP_TIMEOUT});
  // The pop arrives over the WebSocket: wait until it is connected.
  await page.locator('#live-state', {hasText: 'Pops live'}).waitFor({timeout: STEP_TIMEOUT});
}

async function noteCount(page, text) {
  return page.locator('#history li.note .note-text', {hasText: text}).count();
}

async function main() {
  step = 'waiting for /healthz';
  const health = await waitForHealth();
  log(`healthz: ${JSON.stringify(health)}`);

  step = 'launching chromium';
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    timeout: 30000,
  });
  const problems = [];
  const pages = [];
  const newPage = async (label) => {
    const context = await browser.newContext({viewport: {width: 1280, height: 800}, locale: 'en-GB'});
    context.setDefaultTimeout(STEP_TIMEOUT);
    const page = await context.newPage();
    pages.push([label, page]);
    page.on('pageerror', (e) => problems.push(`${label}: page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') log(`${label} console: ${m.text()}`); });
    return page;
  };
  try {
    // ---- a wrong password shows the server's sentence
    step = 'login page';
    const anna = await newPage('anna');
    await anna.goto(`${BASE}/`);
    await anna.locator('#login-name').waitFor();
    await anna.fill('#login-name', 'anna');
    await anna.fill('#login-password', 'not the password');
    await anna.press('#login-password', 'Enter');
    const error = anna.locator('#login-error');
    await error.waitFor({state: 'visible'});
    const errorText = (await error.textContent()).trim();
    check(/wrong name or password/i.test(errorText), `a wrong password shows '${errorText}', expected the server's 'wrong name or password'`);
    await shot(anna, 'login');
    log(`wrong password: "${errorText}"`);

    // ---- anna logs in and waits for calls
    step = 'anna logs in';
    await login(anna, 'anna', 'secret');
    await anna.locator('#call-window').waitFor();
    log('anna logged in, events connected');

    // ---- olga (administrator) opens the same customer through the search
    step = 'olga searches the customer';
    const olga = await newPage('olga');
    await login(olga, 'olga', 'secret2');
    await olga.keyboard.press('Alt+2');
    await olga.locator('#search-q').waitFor();
    await olga.fill('#search-q', '602 123 456');
    await olga.press('#search-q', 'Enter');
    const result = olga.locator('#search-table a.result-open', {hasText: COMPANY});
    await result.waitFor();
    await shot(olga, 'search');
    await result.click();
    await olga.locator('#customer-company', {hasText: COMPANY}).waitFor();
    const olgaInitial = await olga.locator('#history li.note').count();
    log(`olga shows ${COMPANY} with ${olgaInitial} history records`);

    // ---- the call rings at anna's extension: the pop must show the company while it rings
    step = 'the call pops';
    const answer = await control(`call ${PROJECT} ${CALLER}`);
    check(answer.startsWith('ok call'), `pbxsim 'call ${PROJECT} ${CALLER}' answered '${answer}'`);
    log(`pbxsim: ${answer}`);
    const popped = Date.now();
    await anna.locator('#customer-company', {hasText: COMPANY}).waitFor({timeout: 10000});
    log(`pop shown after ${Date.now() - popped} ms`);
    const status = await control('status');
    check(/ calls=1 /.test(` ${status} `), `the call should still ring at the pop, pbxsim says: ${status}`);
    check((await anna.locator('#call-caller').textContent()).includes(CALLER),
          `the call strip does not show the caller ${CALLER}`);
    check(await anna.locator('#customer-company-id').textContent() !== '', 'no company id on the card');
    const annaInitial = await anna.locator('#history li.note').count();
    check(annaInitial === olgaInitial, `the pop shows ${annaInitial} history records, the search view ${olgaInitial}`);
    await shot(anna, 'call-window');

    // ---- Shift+Enter is a new line; Enter sends
    step = 'anna writes a note';
    const stamp = Date.now().toString(36);
    const first = `Wants a callback on Monday (${stamp})`;
    await anna.click('#note-text');
    await anna.keyboard.type('Line one');
    await anna.keyboard.press('Shift+Enter');
    await anna.keyboard.type('line two');
    const draft = await anna.inputValue('#note-text');
    check(draft === 'Line one\nline two', `Shift+Enter should add a new line, the editor holds ${JSON.stringify(draft)}`);
    check(await anna.locator('#history li.note').count() === annaInitial, 'Shift+Enter sent the note');
    await anna.fill('#note-text', first);
    await anna.press('#note-text', 'Enter');
    await anna.locator('#history li.note .note-text', {hasText: first}).waitFor({timeout: 5000});
    // The note can come back over the WebSocket (anna watches this customer) before the POST's answer, which
    // is what empties the editor: wait for that answer rather than race it.
    const emptied = await anna.waitForFunction(() => document.getElementById('note-text').value === '', null,
                                               {timeout: 5000}).then(() => true, () => false);
    check(emptied, 'the editor is not empty after sending');
    const top = await anna.locator('#history li.note .note-text').first().textContent();
    check(top.includes(first), `the new note is not the first (newest) in the history: '${top}'`);
    log('note in anna\'s history');

    // ---- pushed to olga's console without a reload, once
    step = 'the note reaches olga';
    await olga.locator('#history li.note .note-text', {hasText: first}).waitFor({timeout: 5000});
    log('note pushed to olga');

    step = 'a second note, with the Send button';
    const second = `Sent the offer by e-mail (${stamp})`;
    await anna.fill('#note-text', second);
    await anna.click('#note-send');
    await anna.locator('#history li.note .note-text', {hasText: second}).waitFor({timeout: 5000});
    await olga.locator('#history li.note .note-text', {hasText: second}).waitFor({timeout: 5000});
    await sleep(500);   // a late duplicate push would show up by now
    for (const [page, who] of [[anna, 'anna'], [olga, 'olga']]) {
      for (const text of [first, second]) {
        const n = await noteCount(page, text);
        check(n === 1, `${who}'s history shows '${text}' ${n} times, expected once`);
      }
      const total = await page.locator('#history li.note').count();
      check(total === annaInitial + 2, `${who}'s history has ${total} records, expected ${annaInitial + 2}`);
    }
    await shot(anna, 'call-window-note');
    await shot(olga, 'customer-pushed-note');

    // ---- the rest of olga's pages, for the docs (and a look that nothing breaks)
    step = 'administrator pages';
    await olga.keyboard.press('Alt+4');
    await olga.locator('#groups [data-group="300"]').waitFor();
    await shot(olga, 'groups');
    await olga.keyboard.press('Alt+3');
    await olga.locator('#missed-list').waitFor();
    await olga.locator('#missed-list table, #missed-list .empty-line').first().waitFor();
    await shot(olga, 'missed');
    await olga.keyboard.press('Alt+5');
    await olga.locator('#agents-table tr[data-agent="anna"]').waitFor();
    const annaRow = await olga.locator('#agents-table tr[data-agent="anna"]').textContent();
    check(annaRow.includes('logged in'), `the agents page does not show anna logged in: ${annaRow}`);
    await shot(olga, 'agents');

    step = 'rules import with problems';
    await olga.keyboard.press('Alt+6');
    await olga.locator('#import-file').waitFor();
    const bad = path.join(WORK, 'bad-rules.csv');
    fs.writeFileSync(bad, 'id;project;company_id;company;caller1;caller2;caller3;operators;street;city;postcode;note\n' +
      '20;100;B-20;Good row;+420 602 000 020;;;101;;;;\n' +
      '21;100;B-21;Bad number;60300000a;;;101;;;;\n' +
      '22;;B-22;No project but operators;+420 602 000 022;;;101;;;;\n');
    await olga.setInputFiles('#import-file', bad);
    await olga.click('#import-submit');
    await olga.locator('#import-problems-table tbody tr').first().waitFor();
    const rows = await olga.locator('#import-problems-table tbody tr').count();
    check(rows >= 2, `the import shows ${rows} problem lines, expected 2`);
    const problemText = await olga.locator('#import-problems-table').textContent();
    check(problemText.includes('60300000a'), `the problems do not name the bad number: ${problemText}`);
    await shot(olga, 'rules');

    step = 'call log page';
    await olga.keyboard.press('Alt+7');
    await olga.locator('#calllog-export').waitFor();
    await shot(olga, 'calllog');

    check(problems.length === 0, `errors in the pages:\n  ${problems.join('\n  ')}`);
  } catch (e) {
    for (const [label, page] of pages) {
      await page.screenshot({path: path.join(SHOTS, `failure-${label}.png`), timeout: 5000}).catch(() => {});
    }
    if (problems.length) e.message += `\nerrors in the pages:\n  ${problems.join('\n  ')}`;
    throw e;
  } finally {
    await browser.close().catch(() => {});
  }
}

main().then(() => {
  clearTimeout(watchdog);
  log('ok: login error, pop while ringing, Enter sends, Shift+Enter new line, note pushed to a second console');
  process.exit(0);
}).catch((e) => {
  clearTimeout(watchdog);
  console.error(`FAIL (at step: ${step}): ${e && e.message ? e.message : e}`);
  process.exit(1);
});
