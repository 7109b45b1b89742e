// The browser of the page tests: Debian's chromium, headless, driven by
// puppeteer-core (build/npm), obeying JSON commands, one a line, on stdin
// and answering each with one JSON line on stdout.  t/lib/browser.py is
// the other end; see there for the commands.
//
//   node t/lib/browser.js ROOT
//
// The first line out is {"ready": true, "pid": <chromium pid>} or
// {"ready": false, "error": "..."} when chromium cannot start.

'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

const root = process.argv[2] || process.cwd();
const chromium = process.env.DUALCAM_CHROMIUM || '/usr/bin/chromium';

// without these chromium waits for the network (there is none) at start
const FLAGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
    '--disable-default-apps', '--disable-extensions',
    '--mute-audio', '--hide-scrollbars',
];

let puppeteer;
let browser = null;
let page = null;
let profile = null;
let responses = [];
let errors = [];
let routes = [];
let pending = [];

function out(obj) {
    process.stdout.write(JSON.stringify(obj) + '\n');
}

function watch(p) {
    p.on('pageerror', (e) => errors.push('pageerror: ' + e.message));
    p.on('console', (m) => {
        if (m.type() === 'error') {
            errors.push('console: ' + m.text());
        }
    });
    p.on('response', (res) => {
        // the size the server sent: Content-Length (nginx sends it for
        // the status and the files), else the body as read here
        const len = res.headers()['content-length'];
        const rec = { url: res.url(), status: res.status(),
                      size: len === undefined ? null : Number(len),
                      type: res.request().resourceType(),
                      time: Date.now() };
        responses.push(rec);
        if (rec.size === null) {
            pending.push(res.buffer().then((b) => { rec.size = b.length; },
                                           () => {}));
        }
    });
    p.on('request', (req) => {
        // interception is on once a route is set: then every request is
        // answered here, by the route or by the server
        if (routes.length === 0) {
            return;
        }
        const r = routes.find((x) => req.url().includes(x.match));
        if (r) {
            req.respond({ status: r.status || 200,
                          contentType: r.contentType || 'application/json',
                          body: r.body });
        } else {
            req.continue();
        }
    });
}

async function launch() {
    profile = fs.mkdtempSync(path.join(os.tmpdir(), 'dualcam-chromium-'));
    browser = await puppeteer.launch({
        executablePath: chromium,
        headless: true,
        args: FLAGS.concat(['--user-data-dir=' + profile]),
        userDataDir: profile,
        protocolTimeout: 30000,
        timeout: 20000,
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900 });
    watch(page);
}

const ops = {
    async goto(c) {
        responses = [];
        const t0 = Date.now();
        const res = await page.goto(c.url, { waitUntil: 'load',
                                             timeout: c.ms || 15000 });
        return { status: res ? res.status() : null, ms: Date.now() - t0 };
    },
    async eval(c) {
        return { value: await page.evaluate(c.expr) };
    },
    async wait(c) {
        const t0 = Date.now();
        await page.waitForFunction(c.expr, { timeout: c.ms || 10000,
                                             polling: 100 });
        return { ms: Date.now() - t0 };
    },
    async type(c) {
        await page.focus(c.selector);
        if (c.clear) {
            await page.$eval(c.selector, (e) => { e.value = ''; });
        }
        await page.keyboard.type(c.text);
        return {};
    },
    async click(c) {
        await page.click(c.selector);
        return {};
    },
    async screenshot(c) {
        fs.mkdirSync(path.dirname(c.path), { recursive: true });
        await page.screenshot({ path: c.path, fullPage: !!c.fullPage,
                                type: c.type || 'png',
                                quality: c.quality });
        return { path: c.path };
    },
    // a JPEG of some HTML, rendered by chromium: real test photos
    async jpeg(c) {
        const p = await browser.newPage();
        try {
            await p.setViewport({ width: c.width || 320,
                                  height: c.height || 240 });
            await p.setContent(c.html);
            const data = await p.screenshot({ type: 'jpeg',
                                              quality: c.quality || 80,
                                              encoding: 'base64' });
            return { data: data };
        } finally {
            await p.close();
        }
    },
    // a fresh tab: no routes, no history, nothing left of the last test
    async reset() {
        const old = page;
        routes = [];
        responses = [];
        page = await browser.newPage();
        await page.setViewport({ width: 1400, height: 900 });
        watch(page);
        await old.close();
        return {};
    },
    // HTTP basic credentials for what the page loads from now on
    async auth(c) {
        await page.authenticate({ username: c.user, password: c.password });
        return {};
    },
    async route(c) {
        // a route for the same match is replaced: the next request gets it
        routes = routes.filter((x) => x.match !== c.match);
        routes.push({ match: c.match, body: c.body, status: c.status,
                      contentType: c.contentType });
        await page.setRequestInterception(true);
        return {};
    },
    async requests() {
        // let the body reads still under way finish
        await Promise.allSettled(pending);
        pending = [];
        const r = responses;
        responses = [];
        return { requests: r };
    },
    async errors() {
        const e = errors;
        errors = [];
        return { errors: e };
    },
    async close() {
        await shutdown();
        return {};
    },
};

async function shutdown() {
    if (browser !== null) {
        const b = browser;
        browser = null;
        try {
            await b.close();
        } catch (e) {
            // already gone
        }
    }
    if (profile !== null) {
        fs.rmSync(profile, { recursive: true, force: true });
        profile = null;
    }
}

async function main() {
    try {
        puppeteer = require(path.join(root, 'build', 'npm', 'node_modules',
                                      'puppeteer-core'));
    } catch (e) {
        out({ ready: false, missing: 'puppeteer-core',
              error: 'puppeteer-core is not in build/npm (make page-deps): '
                     + e.message });
        return;
    }
    if (!fs.existsSync(chromium)) {
        out({ ready: false, error: chromium + ' is not installed' });
        return;
    }
    try {
        await launch();
    } catch (e) {
        await shutdown();
        out({ ready: false, error: 'chromium did not start: '
                             + e.message.replace(/\s+/g, ' ').trim() });
        return;
    }
    const proc = browser.process();
    out({ ready: true, pid: proc ? proc.pid : null,
          version: await browser.version() });

    const rl = readline.createInterface({ input: process.stdin });
    for await (const line of rl) {
        let c;
        try {
            c = JSON.parse(line);
        } catch (e) {
            out({ ok: false, error: 'bad command: ' + line });
            continue;
        }
        const op = ops[c.op];
        if (!op) {
            out({ ok: false, error: 'unknown op ' + c.op });
            continue;
        }
        try {
            const r = await op(c);
            r.ok = true;
            out(r);
        } catch (e) {
            out({ ok: false, error: String(e && e.message || e) });
        }
        if (c.op === 'close') {
            break;
        }
    }
    await shutdown();
}

process.on('SIGTERM', () => { shutdown().then(() => process.exit(1)); });

main().catch((e) => {
    out({ ready: false, error: String(e && e.stack || e) });
    shutdown().then(() => process.exit(1));
});
