// Debian's firefox-esr, headless, driven over WebDriver BiDi by puppeteer-core, for the
// python tests (tests/integration/srvmon_firefox.py): one JSON request per line on stdin,
// one JSON answer per line on stdout ({"id", "value"} or {"id", "error"}).
//
//   {"id": 1, "op": "navigate", "url": "..."}
//   {"id": 2, "op": "eval", "expr": "..."}          value of the expression, promises awaited
//   {"id": 3, "op": "viewport", "width": 390, "height": 844, "mobile": true, "scale": 2}
//   {"id": 4, "op": "screenshot", "path": "...", "full_page": false}
//   {"id": 5, "op": "problems"}                     page errors, console errors, CSP refusals
//   {"id": 6, "op": "close"}
//
// Nothing outside loopback is reached: every proxied request goes to a closed port on
// 127.0.0.1 (Firefox never proxies loopback), and the background services are off.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import puppeteer from 'puppeteer-core';

const FIREFOX = process.env.SRVMON_FIREFOX || '/usr/bin/firefox-esr';
const width = Number(process.argv[2] || 1280);
const height = Number(process.argv[3] || 800);

const profile = mkdtempSync(join(tmpdir(), 'srvmon-firefox-'));
const problems = [];
let browser = null;

function answer(msg) {
	process.stdout.write(JSON.stringify(msg) + '\n');
}

async function start() {
	browser = await puppeteer.launch({
		browser: 'firefox',
		executablePath: FIREFOX,
		headless: true,
		userDataDir: profile,
		args: [`--width=${width}`, `--height=${height}`],
		extraPrefsFirefox: {
			'network.proxy.type': 1,
			'network.proxy.http': '127.0.0.1',
			'network.proxy.http_port': 9,
			'network.proxy.ssl': '127.0.0.1',
			'network.proxy.ssl_port': 9,
			'network.proxy.no_proxies_on': '',
			'network.dns.disableIPv6': true,
			'app.update.enabled': false,
			'browser.safebrowsing.malware.enabled': false,
			'browser.safebrowsing.phishing.enabled': false,
			'datareporting.policy.dataSubmissionEnabled': false,
			'toolkit.telemetry.enabled': false,
			'extensions.update.enabled': false,
			'browser.region.network.url': '',
			'services.settings.server': 'http://127.0.0.1:9/',
		},
	});
	const [first] = await browser.pages();
	const page = first || (await browser.newPage());
	await page.setViewport({ width, height });
	page.on('pageerror', (e) => problems.push('exception: ' + (e && e.message ? e.message : e)));
	page.on('console', (m) => {
		if (m.type() === 'error')
			problems.push('console.error: ' + m.text());
	});
	page.on('requestfailed', (r) => {
		const u = r.url();
		if (!/^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(u))
			problems.push('refused load: ' + u);
	});
	// CSP refusals reach the page as an event: reported as console errors.
	await page.evaluateOnNewDocument(() => {
		document.addEventListener('securitypolicyviolation', (e) =>
			console.error('CSP refused ' + e.violatedDirective + ' ' + e.blockedURI));
	});
	return page;
}

async function handle(page, req) {
	switch (req.op) {
	case 'navigate':
		await page.goto(req.url, { waitUntil: 'load' });
		return true;
	case 'eval':
		return await page.evaluate(req.expr);
	case 'viewport':
		// isMobile makes puppeteer reload the page (the session with it): only on request.
		await page.setViewport(Object.assign({ width: req.width, height: req.height,
						       deviceScaleFactor: req.scale || 1 },
						     req.mobile ? { isMobile: true, hasTouch: true } : {}));
		return true;
	case 'screenshot':
		await page.screenshot({ path: req.path, fullPage: !!req.full_page });
		return true;
	case 'problems':
		return problems;
	default:
		throw new Error('unknown op ' + req.op);
	}
}

async function main() {
	let page;
	try {
		page = await start();
	} catch (e) {
		answer({ id: 0, error: 'firefox did not start: ' + e.message });
		rmSync(profile, { recursive: true, force: true });
		process.exit(1);
	}
	answer({ id: 0, value: await browser.version() });
	const rl = createInterface({ input: process.stdin });
	for await (const line of rl) {
		const req = JSON.parse(line);
		if (req.op === 'close')
			break;
		try {
			answer({ id: req.id, value: (await handle(page, req)) ?? null });
		} catch (e) {
			answer({ id: req.id, error: e.message });
		}
	}
	await browser.close().catch(() => {});
	rmSync(profile, { recursive: true, force: true });
	answer({ id: -1, value: 'closed' });
}

main();
