/*
 * The dashboard's views and router: #/hosts, #/host/<id>, #/commands, #/alerts.
 * Data from the read API (docs/api.md), live through /api/v1/events (Server-Sent Events)
 * with polling behind it, so that a view stays current when the stream is down.
 */
"use strict";

(() => {
	const $ = (id) => document.getElementById(id);
	/* step: whole minutes read the server's per-minute aggregates (docs/api.md); null: the
	 * server's default (range / 300, from the samples). */
	const RANGES = {
		"15m": { label: "15 min", ms: 15 * 60e3, step: null, refresh: 2e3 },
		"6h": { label: "6 h", ms: 6 * 3600e3, step: 60e3, refresh: 30e3 },
		"7d": { label: "7 d", ms: 7 * 86400e3, step: 1800e3, refresh: 300e3 },
	};
	const HOSTS_POLL_MS = 5000;
	const ALERTS_POLL_MS = 10000;
	const METRICS = ["cpu_percent", "ram_available", "ram_total", "disk_available", "disk_total",
			 "upload_rate", "download_rate", "rx_peak_rate", "tx_peak_rate"];
	const COLORS = { cpu: "#3ddc97", ram: "#a78bfa", disk: "#f5b83d", down: "#4aa8ff",
			 up: "#ff8a4c" };

	let me = null; /* whoami: {account, role} */
	let hostsCache = []; /* the last GET /api/v1/hosts */
	let cleanup = []; /* what the current view stops when it is left */
	let firingTimer = null;

	/* ---- DOM ------------------------------------------------------------------------- */

	/* h("td", {class: "num"}, "text", childNode...): attributes by name, never markup. */
	function h(tag, attrs, ...children) {
		const el = document.createElement(tag);
		for (const [k, v] of Object.entries(attrs || {})) {
			if (v === undefined || v === null || v === false)
				continue;
			if (k.startsWith("on"))
				el.addEventListener(k.slice(2), v);
			else if (k === "dataset")
				Object.assign(el.dataset, v);
			else
				el.setAttribute(k, v === true ? "" : String(v));
		}
		for (const c of children.flat()) {
			if (c === null || c === undefined || c === false)
				continue;
			el.append(c instanceof Node ? c : document.createTextNode(String(c)));
		}
		return el;
	}

	function bar(fraction, cls) {
		const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
		const fill = h("span", { class: "bar-fill " + (cls || "") });
		/* CSSOM, not a style attribute: allowed by style-src 'self'. */
		fill.style.width = (f * 100).toFixed(1) + "%";
		if (f >= 0.9)
			fill.classList.add("hot");
		else if (f >= 0.75)
			fill.classList.add("warm");
		return h("span", { class: "bar" }, fill);
	}

	function errorBox(e) {
		let text = String(e && e.message ? e.message : e);
		if (e && e.status === 403)
			text = "This account may not read the dashboard (" +
			       (e.body.detail || "forbidden") + "). Sign in with a viewer or admin account.";
		return h("p", { class: "error", role: "alert" }, text);
	}

	function onLeave(f) {
		cleanup.push(f);
	}

	function every(ms, f) {
		const id = setInterval(f, ms);
		onLeave(() => clearInterval(id));
	}

	function setLive(state) {
		const el = $("live");
		el.textContent = state === "live" ? "live" : "polling";
		el.classList.toggle("on", state === "live");
		el.title = state === "live" ? "live updates (Server-Sent Events)"
					    : "no event stream: refreshed every few seconds";
	}

	function stream(params, handlers) {
		const es = api.events(params, Object.assign({ state: setLive }, handlers));
		if (!es) {
			setLive("polling");
			return;
		}
		onLeave(() => es.close());
	}

	/* ---- host figures ---------------------------------------------------------------- */

	function used(total, avail) {
		if (!Number.isFinite(total) || !Number.isFinite(avail) || total <= 0)
			return null;
		return { used: total - avail, total, fraction: (total - avail) / total };
	}

	function hostName(hst) {
		return hst.hostname || hst.host_id;
	}

	/* A live record folds into the host's latest figures as the hosts endpoint has them. */
	function foldRecord(hst, rec) {
		if (rec.type === "resources") {
			for (const k of ["cpu_percent", "ram_total", "ram_available", "disk_total",
					 "disk_available"])
				if (k in rec)
					hst[k] = rec[k];
			hst.resources_ts = rec.ts;
		} else if (rec.type === "network") {
			for (const k of ["upload_rate", "download_rate", "rx_peak_rate", "tx_peak_rate"])
				if (k in rec)
					hst[k] = rec[k];
			hst.network_ts = rec.ts;
		}
		hst.last_seen_ms = Date.now();
		hst.online = true;
	}

	/* ---- hosts view ------------------------------------------------------------------ */

	const HOST_COLUMNS = [
		{ key: "name", label: "Host", get: (x) => hostName(x).toLowerCase() },
		{ key: "state", label: "State", get: (x) => (x.online ? 1 : 0) },
		{ key: "cpu", label: "CPU", num: true, get: (x) => x.cpu_percent },
		{ key: "ram", label: "Memory", num: true,
		  get: (x) => (used(x.ram_total, x.ram_available) || {}).fraction },
		{ key: "disk", label: "Disk", num: true,
		  get: (x) => (used(x.disk_total, x.disk_available) || {}).fraction },
		{ key: "down", label: "↓ Down", num: true, get: (x) => x.download_rate },
		{ key: "up", label: "↑ Up", num: true, get: (x) => x.upload_rate },
		{ key: "seen", label: "Last seen", num: true, get: (x) => x.last_seen_ms },
		{ key: "os", label: "System", get: (x) => (x.os || "") + " " + (x.kernel || "") },
	];
	let hostSort = { key: "name", dir: 1 };

	function sortHosts(list) {
		const col = HOST_COLUMNS.find((c) => c.key === hostSort.key) || HOST_COLUMNS[0];
		return list.slice().sort((a, b) => {
			const va = col.get(a);
			const vb = col.get(b);
			/* Unknown figures sort last whichever way. */
			const na = va === null || va === undefined || Number.isNaN(va);
			const nb = vb === null || vb === undefined || Number.isNaN(vb);
			if (na || nb)
				return na === nb ? 0 : na ? 1 : -1;
			if (va < vb)
				return -hostSort.dir;
			if (va > vb)
				return hostSort.dir;
			return hostName(a).localeCompare(hostName(b));
		});
	}

	function usageCell(total, avail, cls) {
		const u = used(total, avail);
		if (!u)
			return h("td", { class: "num muted" }, "–");
		return h("td", { class: "num usage", title: fmt.bytes(u.used) + " of " + fmt.bytes(total) +
				 " used, " + fmt.bytes(avail) + " available" },
			 h("span", { class: "usage-text" }, fmt.pct(u.fraction * 100)),
			 bar(u.fraction, cls),
			 h("span", { class: "usage-sub" }, fmt.bytes(u.used) + " / " + fmt.bytes(total)));
	}

	function hostRow(x, now) {
		const cpuFrac = Number.isFinite(x.cpu_percent) ? x.cpu_percent / 100 : null;
		const link = "#/host/" + encodeURIComponent(x.host_id);
		return h("tr", { class: x.online ? "" : "offline", dataset: { host: x.host_id },
				  onclick: (ev) => {
					  if (ev.target.tagName !== "A")
						  location.hash = link;
				  } },
			 h("td", { class: "host" },
			   h("a", { href: link, class: "hostname" }, hostName(x)),
			   h("span", { class: "sub mono" }, x.host_id.slice(0, 12))),
			 h("td", {},
			   h("span", { class: "pill " + (x.online ? "ok" : "bad") },
			     x.online ? "online" : "offline")),
			 cpuFrac === null ? h("td", { class: "num muted" }, "–")
					  : h("td", { class: "num usage" },
					      h("span", { class: "usage-text" }, fmt.pct(x.cpu_percent)),
					      bar(cpuFrac, "cpu")),
			 usageCell(x.ram_total, x.ram_available, "ram"),
			 usageCell(x.disk_total, x.disk_available, "disk"),
			 h("td", { class: "num mono rate-down" }, fmt.bits(x.download_rate)),
			 h("td", { class: "num mono rate-up" }, fmt.bits(x.upload_rate)),
			 h("td", { class: "num", title: fmt.datetime(x.last_seen_ms) },
			   fmt.ago(x.last_seen_ms, now)),
			 h("td", { class: "sys" }, h("span", {}, x.os || "–"),
			   h("span", { class: "sub" }, [x.kernel, x.agent_version && "agent " + x.agent_version,
							x.collector].filter(Boolean).join(" · "))));
	}

	function viewHosts(root) {
		const summary = h("div", { class: "summary" });
		const thead = h("thead");
		const tbody = h("tbody", { id: "hosts-body" });
		const status = h("div", { class: "status-line" });
		const filter = h("input", { type: "search", class: "filter", placeholder: "Filter hosts",
					    "aria-label": "Filter hosts", oninput: () => render() });
		/* Below the list: what fired lately and what was run, across the fleet. */
		const alertBody = h("tbody", { id: "overview-alerts" });
		const latest = execTable(true);
		root.append(h("div", { class: "page-head" }, h("h1", {}, "Hosts"), summary, filter),
			    h("div", { class: "card table-wrap" },
			      h("table", { class: "grid hosts", id: "hosts-table" }, thead, tbody)),
			    status,
			    h("div", { class: "lower overview" },
			      h("div", { class: "card" },
				h("div", { class: "card-head" }, h("h2", {}, "Alerts"),
				  h("a", { href: "#/alerts" }, "all →")),
				h("div", { class: "table-wrap" }, h("table", { class: "grid" },
				  h("thead", {}, h("tr", {}, ["State", "Rule", "Host", "Since"]
						  .map((c) => h("th", {}, c)))), alertBody))),
			      h("div", { class: "card" },
				h("div", { class: "card-head" }, h("h2", {}, "Latest commands"),
				  h("a", { href: "#/commands" }, "search →")),
				h("div", { class: "table-wrap" }, latest.table))));

		async function loadOverview() {
			try {
				const [states, ex] = await Promise.all([api.get("/alerts/state"),
									api.get("/exec", { limit: 10 })]);
				showFiring(states);
				alertBody.replaceChildren(...states.slice(0, 8).map((x) => h("tr", {
					class: x.state, dataset: { state: x.state } },
					h("td", {}, h("span", { class: "pill " + (x.state === "firing" ? "bad" : "ok") },
						     x.state)),
					h("td", {}, x.name),
					h("td", {}, h("a", { href: "#/host/" + encodeURIComponent(x.host_id) },
						     x.hostname || x.host_id.slice(0, 12))),
					h("td", { class: "nowrap", title: fmt.datetime(x.state === "firing" ? x.fired_ms
													 : x.resolved_ms) },
					  fmt.ago(x.state === "firing" ? x.fired_ms : x.resolved_ms)))));
				if (!states.length)
					alertBody.append(h("tr", {}, h("td", { colspan: 4, class: "empty" },
								   "Nothing has fired.")));
				latest.tbody.replaceChildren(...ex.execs.map(latest.row));
				if (!ex.execs.length)
					latest.tbody.append(h("tr", {}, h("td", { colspan: latest.cols.length,
										class: "empty" },
									 "No command recorded.")));
			} catch (e) {
				/* The list above says what failed. */
			}
		}

		function renderHead() {
			thead.replaceChildren(h("tr", {}, HOST_COLUMNS.map((c) => h("th", {
				class: (c.num ? "num " : "") + "sortable",
				dataset: { sort: c.key },
				"aria-sort": hostSort.key === c.key ? (hostSort.dir > 0 ? "ascending"
											 : "descending")
								    : "none",
				onclick: () => {
					hostSort = { key: c.key,
						     dir: hostSort.key === c.key ? -hostSort.dir
										 : c.num ? -1 : 1 };
					render();
				},
			}, c.label))));
		}

		function render() {
			const now = Date.now();
			const needle = filter.value.trim().toLowerCase();
			const shown = sortHosts(hostsCache).filter((x) => !needle ||
				(hostName(x) + " " + x.host_id + " " + (x.os || "")).toLowerCase()
					.includes(needle));
			const online = hostsCache.filter((x) => x.online).length;
			summary.replaceChildren(
				h("span", { class: "stat" }, h("b", {}, hostsCache.length), " hosts"),
				h("span", { class: "stat ok" }, h("b", {}, online), " online"),
				h("span", { class: "stat " + (hostsCache.length - online ? "bad" : "") },
				  h("b", {}, hostsCache.length - online), " offline"));
			renderHead();
			tbody.replaceChildren(...shown.map((x) => hostRow(x, now)));
			if (!hostsCache.length)
				tbody.append(h("tr", {}, h("td", { colspan: HOST_COLUMNS.length,
								   class: "empty" },
							   "No host has sent a record yet.")));
		}

		async function load() {
			try {
				hostsCache = await api.get("/hosts");
				status.replaceChildren();
				render();
			} catch (e) {
				status.replaceChildren(errorBox(e));
			}
		}

		load();
		loadOverview();
		every(HOSTS_POLL_MS, load);
		every(HOSTS_POLL_MS, loadOverview);
		every(1000, render); /* "last seen" counts on */
		stream({ type: "network" }, {
			record: (rec) => {
				const x = hostsCache.find((y) => y.host_id === rec.host_id);
				if (x)
					foldRecord(x, rec);
			},
		});
	}

	/* ---- host view ------------------------------------------------------------------- */

	function execTable(withHost) {
		const cols = ["Time"].concat(withHost ? ["Host"] : [], ["User", "TTY", "Directory",
								       "Command"]);
		const tbody = h("tbody");
		const table = h("table", { class: "grid execs" },
				h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))), tbody);
		function row(rec) {
			const line = fmt.commandLine(rec.argv);
			const host = hostsCache.find((x) => x.host_id === rec.host_id);
			const copy = h("button", { type: "button", class: "copy", title: "Copy the command line",
						   onclick: async (ev) => {
							   ev.stopPropagation();
							   try {
								   await navigator.clipboard.writeText(line);
								   copy.textContent = "copied";
							   } catch (e) {
								   copy.textContent = "select";
							   }
							   setTimeout(() => (copy.textContent = "copy"), 1500);
						   } }, "copy");
			return h("tr", { class: rec.ret && rec.ret !== 0 ? "failed" : "",
					 dataset: { argv: JSON.stringify(rec.argv || []), seq: String(rec.seq) } },
				 h("td", { class: "nowrap mono", title: fmt.datetime(rec.ts) }, fmt.when(rec.ts)),
				 withHost ? h("td", {}, h("a", { href: "#/host/" + encodeURIComponent(rec.host_id) },
							  host ? hostName(host) : rec.host_id.slice(0, 12)))
					  : null,
				 h("td", {}, rec.user || String(rec.uid ?? "–")),
				 h("td", { class: "mono" }, rec.tty || "–"),
				 h("td", { class: "mono cwd", title: rec.cwd || "" }, rec.cwd || "–"),
				 h("td", { class: "cmd" }, h("div", { class: "cmd-row" },
				   h("code", { class: "cmdline", title: rec.filename || "",
					       onclick: (ev) => ev.currentTarget.classList.add("open") }, line),
				   rec.argv_truncated ? h("span", { class: "pill warn" }, "truncated") : null,
				   rec.ret && rec.ret !== 0 ? h("span", { class: "pill bad" }, "ret " + rec.ret)
							   : null,
				   copy)));
		}
		return { table, tbody, row, cols };
	}

	function speedRow(st) {
		if (st.error)
			return h("tr", { class: "failed" }, h("td", { class: "nowrap mono", title: fmt.datetime(st.ts) }, fmt.when(st.ts)),
				 h("td", { colspan: 4, class: "error-text" }, st.error));
		return h("tr", {}, h("td", { class: "nowrap mono", title: fmt.datetime(st.ts) }, fmt.when(st.ts)),
			 h("td", { class: "num mono rate-down" }, fmt.bits(st.download_rate)),
			 h("td", { class: "num mono rate-up" }, fmt.bits(st.upload_rate)),
			 h("td", { class: "num mono" }, Number.isFinite(st.latency_ms)
							? st.latency_ms.toFixed(2) + " ms" : "–"),
			 h("td", { class: "num mono" }, Number.isFinite(st.jitter_ms)
							? st.jitter_ms.toFixed(2) + " ms" : "–"));
	}

	function tile(label, value, sub, cls) {
		return h("div", { class: "tile " + (cls || "") }, h("span", { class: "tile-label" }, label),
			 h("span", { class: "tile-value" }, value), h("span", { class: "tile-sub" }, sub || ""));
	}

	function viewHost(root, hostId, rangeKey) {
		const range = RANGES[rangeKey] ? rangeKey : "15m";
		const head = h("div", { class: "host-head" });
		const tiles = h("div", { class: "tiles" });
		const status = h("div", { class: "status-line" });
		const rangeBar = h("div", { class: "ranges", role: "group", "aria-label": "Time range" },
				   Object.entries(RANGES).map(([k, r]) => h("a", {
					   class: "range" + (k === range ? " active" : ""),
					   href: "#/host/" + encodeURIComponent(hostId) + "?range=" + k,
					   dataset: { range: k } }, r.label)));
		const panels = {
			cpu: h("div", { class: "chart", id: "chart-cpu" }),
			ram: h("div", { class: "chart", id: "chart-ram" }),
			disk: h("div", { class: "chart", id: "chart-disk" }),
			net: h("div", { class: "chart", id: "chart-net" }),
		};
		const speedBody = h("tbody");
		const execs = execTable(false);
		root.append(
			h("a", { class: "back", href: "#/hosts" }, "← Hosts"), head, tiles,
			h("div", { class: "section-head" }, h("h2", {}, "Metrics"), rangeBar), status,
			h("div", { class: "charts" },
			  h("div", { class: "card" }, h("h3", {}, "CPU"), panels.cpu),
			  h("div", { class: "card" }, h("h3", {}, "Memory used"), panels.ram),
			  h("div", { class: "card" }, h("h3", {}, "Disk used"), panels.disk),
			  h("div", { class: "card" }, h("h3", {}, "Network",
						       h("span", { class: "h-note" }, "average · dashed: peak")),
			    panels.net)),
			h("div", { class: "lower" },
			  h("div", { class: "card" }, h("h2", {}, "Speed tests"),
			    h("div", { class: "table-wrap" },
			      h("table", { class: "grid speedtests" }, h("thead", {}, h("tr", {},
				h("th", {}, "Time"), h("th", { class: "num" }, "↓ Down"),
				h("th", { class: "num" }, "↑ Up"), h("th", { class: "num" }, "Latency"),
				h("th", { class: "num" }, "Jitter"))), speedBody))),
			  h("div", { class: "card" },
			    h("div", { class: "card-head" }, h("h2", {}, "Recent commands"),
			      h("a", { href: "#/commands?host=" + encodeURIComponent(hostId) }, "search →")),
			    h("div", { class: "table-wrap" }, execs.table))));

		const mk = (id, el, series, format, yRange) =>
			charts.make(el, { id, series, format, yRange, height: 190 });
		let host = hostsCache.find((x) => x.host_id === hostId) || null;
		let chartsMade = null;

		function makeCharts() {
			const peaks = !host || host.collector === "bpf";
			chartsMade = {
				cpu: mk("cpu", panels.cpu, [
					{ label: "avg", color: COLORS.cpu, fill: "rgba(61,220,151,0.12)" },
					{ label: "max", color: "rgba(61,220,151,0.55)", width: 1, dash: [4, 3] },
				], (v) => fmt.pct(v), (u, min, max) => [0, Math.max(100, max)]),
				ram: mk("ram", panels.ram, [
					{ label: "used", color: COLORS.ram, fill: "rgba(167,139,250,0.14)" },
				], fmt.bytes, (u, min, max) => [0, host && host.ram_total ? host.ram_total : max]),
				disk: mk("disk", panels.disk, [
					{ label: "used", color: COLORS.disk, fill: "rgba(245,184,61,0.12)" },
				], fmt.bytes, (u, min, max) => [0, host && host.disk_total ? host.disk_total : max]),
				net: mk("net", panels.net, [
					{ label: "↓ down", color: COLORS.down, fill: "rgba(74,168,255,0.10)" },
					{ label: "↑ up", color: COLORS.up, fill: "rgba(255,138,76,0.08)" },
				].concat(peaks ? [
					{ label: "↓ peak", color: "rgba(74,168,255,0.7)", width: 1, dash: [3, 3] },
					{ label: "↑ peak", color: "rgba(255,138,76,0.7)", width: 1, dash: [3, 3] },
				] : []), fmt.bits, (u, min, max) => [0, Math.max(1000, max)]),
			};
			chartsMade.peaks = peaks;
			for (const c of Object.values(chartsMade))
				if (c && c.destroy)
					onLeave(() => c.destroy());
		}

		function renderHead() {
			if (!host) {
				head.replaceChildren(h("h1", {}, hostId));
				return;
			}
			head.replaceChildren(
				h("div", { class: "title-row" }, h("h1", { id: "host-title" }, hostName(host)),
				  h("span", { class: "pill " + (host.online ? "ok" : "bad") },
				    host.online ? "online" : "offline")),
				h("div", { class: "meta" }, [host.os, host.kernel && "kernel " + host.kernel,
							    host.agent_version && "agent " + host.agent_version,
							    host.collector && "collector " + host.collector]
					.filter(Boolean).map((t) => h("span", {}, t)),
				  h("span", { class: "mono", title: "host_id" }, host.host_id),
				  h("span", { title: fmt.datetime(host.last_seen_ms) },
				    "last seen " + fmt.ago(host.last_seen_ms))));
			const ram = used(host.ram_total, host.ram_available);
			const disk = used(host.disk_total, host.disk_available);
			tiles.replaceChildren(
				tile("CPU", fmt.pct(host.cpu_percent), "all cores", "cpu"),
				tile("Memory", ram ? fmt.pct(ram.fraction * 100) : "–",
				     ram ? fmt.bytes(ram.used) + " of " + fmt.bytes(ram.total) : "", "ram"),
				tile("Disk", disk ? fmt.pct(disk.fraction * 100) : "–",
				     disk ? fmt.bytes(disk.used) + " of " + fmt.bytes(disk.total) : "", "disk"),
				tile("↓ Download", fmt.bits(host.download_rate),
				     Number.isFinite(host.rx_peak_rate) ? "peak " + fmt.bits(host.rx_peak_rate) : "",
				     "down"),
				tile("↑ Upload", fmt.bits(host.upload_rate),
				     Number.isFinite(host.tx_peak_rate) ? "peak " + fmt.bits(host.tx_peak_rate) : "",
				     "up"));
		}

		async function series(metric, from, to) {
			return api.get("/hosts/" + encodeURIComponent(hostId) + "/series",
				       { metric, from, to, step: RANGES[range].step });
		}

		function col(r, key) {
			return { t: r.t || [], values: r[key] || [], step: r.step };
		}

		function subtract(totalOf, r) {
			/* used = total - available, bucket by bucket. */
			return { t: r.t || [], values: (r.avg || []).map((v) => totalOf - v), step: r.step };
		}

		let loading = false;
		async function loadSeries() {
			if (loading)
				return;
			loading = true;
			const to = Date.now();
			const from = to - RANGES[range].ms;
			try {
				const wanted = ["cpu_percent", "ram_available", "disk_available", "download_rate",
						"upload_rate"].concat(chartsMade.peaks ? ["rx_peak_rate",
											  "tx_peak_rate"] : []);
				const got = await Promise.all(wanted.map((m) => series(m, from, to)));
				const by = Object.fromEntries(wanted.map((m, i) => [m, got[i]]));
				const step = by.cpu_percent.step;
				chartsMade.cpu.set(charts.align([col(by.cpu_percent, "avg"),
								  col(by.cpu_percent, "max")], step));
				const ramTotal = host && host.ram_total;
				const diskTotal = host && host.disk_total;
				chartsMade.ram.set(charts.align([ramTotal ? subtract(ramTotal, by.ram_available)
									   : col(by.ram_available, "avg")],
								 step));
				chartsMade.disk.set(charts.align([diskTotal ? subtract(diskTotal,
										       by.disk_available)
									     : col(by.disk_available, "avg")],
								  step));
				const net = [col(by.download_rate, "avg"), col(by.upload_rate, "avg")];
				if (chartsMade.peaks)
					net.push(col(by.rx_peak_rate, "max"), col(by.tx_peak_rate, "max"));
				chartsMade.net.set(charts.align(net, by.download_rate.step));
				status.replaceChildren();
			} catch (e) {
				status.replaceChildren(errorBox(e));
			} finally {
				loading = false;
			}
		}

		async function loadSpeedtests() {
			try {
				const list = await api.get("/hosts/" + encodeURIComponent(hostId) + "/speedtests",
							   { limit: 20 });
				speedBody.replaceChildren(...list.map(speedRow));
				if (!list.length)
					speedBody.append(h("tr", {}, h("td", { colspan: 5, class: "empty" },
								   "No speed test in the last 7 days.")));
			} catch (e) {
				speedBody.replaceChildren(h("tr", {}, h("td", { colspan: 5 }, errorBox(e))));
			}
		}

		async function loadExecs() {
			try {
				const r = await api.get("/exec", { host: hostId, limit: 15 });
				execs.tbody.replaceChildren(...r.execs.map(execs.row));
				if (!r.execs.length)
					execs.tbody.append(h("tr", {}, h("td", { colspan: execs.cols.length,
										  class: "empty" },
									   "No command recorded (history off?).")));
			} catch (e) {
				execs.tbody.replaceChildren(h("tr", {}, h("td", { colspan: execs.cols.length },
									   errorBox(e))));
			}
		}

		async function loadHost() {
			try {
				hostsCache = await api.get("/hosts");
				host = hostsCache.find((x) => x.host_id === hostId) || null;
				if (!host)
					status.replaceChildren(errorBox("No host " + hostId + " on this server."));
				renderHead();
			} catch (e) {
				status.replaceChildren(errorBox(e));
			}
		}

		let dirty = false;
		let execDirty = false;
		(async () => {
			await loadHost();
			makeCharts();
			loadSeries();
			loadSpeedtests();
			loadExecs();
		})();
		every(HOSTS_POLL_MS, loadHost);
		every(RANGES[range].refresh, () => {
			/* With the stream up, only when a record came; without it, every time. */
			if (dirty || !$("live").classList.contains("on")) {
				dirty = false;
				if (chartsMade)
					loadSeries();
			}
		});
		every(5000, () => {
			if (execDirty || !$("live").classList.contains("on")) {
				execDirty = false;
				loadExecs();
			}
		});
		every(60000, loadSpeedtests);
		stream({ host: hostId }, {
			record: (rec) => {
				if (rec.type === "exec") {
					execDirty = true;
					return;
				}
				if (rec.type === "speedtest")
					loadSpeedtests();
				if (host) {
					foldRecord(host, rec);
					renderHead();
				}
				dirty = true;
			},
		});
	}

	/* ---- commands view --------------------------------------------------------------- */

	function toLocalInput(ms) {
		if (!ms)
			return "";
		const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
		return d.toISOString().slice(0, 16);
	}

	function viewCommands(root, params) {
		const hostSel = h("select", { name: "host", id: "cmd-host" }, h("option", { value: "" }, "all hosts"));
		const form = h("form", { class: "card search", id: "cmd-form" },
			       h("label", { class: "grow" }, "Contains",
				 h("input", { name: "q", id: "cmd-q", type: "search", maxlength: 256,
					      placeholder: "argv, user, directory or tty", value: params.q || "" })),
			       h("label", {}, "Host", hostSel),
			       h("label", {}, "User", h("input", { name: "user", id: "cmd-user",
								   value: params.user || "", size: 10 })),
			       h("label", {}, "From", h("input", { name: "from", type: "datetime-local",
								   value: toLocalInput(+params.from) })),
			       h("label", {}, "To", h("input", { name: "to", type: "datetime-local",
								 value: toLocalInput(+params.to) })),
			       h("button", { type: "submit", id: "cmd-search" }, "Search"));
		const execs = execTable(true);
		const status = h("div", { class: "status-line", id: "cmd-status" });
		const more = h("button", { type: "button", class: "secondary", hidden: true }, "Older →");
		root.append(h("div", { class: "page-head" }, h("h1", {}, "Commands")), form,
			    h("div", { class: "card table-wrap" }, execs.table), status, more);

		form.addEventListener("submit", (ev) => {
			ev.preventDefault();
			const fd = new FormData(form);
			const p = new URLSearchParams();
			for (const k of ["q", "host", "user"])
				if (fd.get(k))
					p.set(k, fd.get(k));
			for (const k of ["from", "to"])
				if (fd.get(k))
					p.set(k, String(new Date(fd.get(k)).getTime()));
			const next = "#/commands" + (p.toString() ? "?" + p : "");
			if (location.hash === next)
				render();
			else
				location.hash = next;
		});

		let cursor = null;
		async function page(first) {
			const q = { limit: 100, q: params.q, host: params.host, user: params.user,
				    from: params.from, to: params.to, cursor: first ? null : cursor };
			try {
				const r = await api.get("/exec", q);
				if (first)
					execs.tbody.replaceChildren();
				execs.tbody.append(...r.execs.map(execs.row));
				cursor = r.next_cursor;
				more.hidden = !cursor;
				const n = execs.tbody.children.length;
				status.textContent = n ? n + " commands" + (cursor ? ", more below" : "")
						       : "No command matches.";
			} catch (e) {
				status.replaceChildren(errorBox(e));
			}
		}
		more.addEventListener("click", () => page(false));

		function render() {
			page(true);
		}
		(async () => {
			try {
				hostsCache = await api.get("/hosts");
			} catch (e) {
				/* The search still works without names. */
			}
			for (const x of hostsCache)
				hostSel.append(h("option", { value: x.host_id, selected: x.host_id === params.host },
						 hostName(x)));
			render();
		})();
	}

	/* ---- alerts view ----------------------------------------------------------------- */

	const UNITS = { cpu_percent: "%", upload_rate: "bit/s", download_rate: "bit/s",
			rx_peak_rate: "bit/s", tx_peak_rate: "bit/s" };

	function describeRule(r) {
		const dur = r.for_ms ? " for " + fmt.duration(r.for_ms) : "";
		if (r.kind === "offline")
			return "host offline" + dur;
		if (r.kind === "exec")
			return "exec matches /" + r.regex + "/";
		const unit = UNITS[r.metric];
		const th = unit ? r.threshold + " " + unit : fmt.bytes(r.threshold);
		return r.metric + " " + r.op + " " + th + dur;
	}

	/* "5 GiB", "90", "100M" -> a number; sizes in binary units. */
	function parseThreshold(s, metric) {
		const m = /^\s*(-?[0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtT]?)(i?[bB]?)?(?:it\/s|bps)?\s*$/.exec(s);
		if (!m)
			return NaN;
		const v = parseFloat(m[1]);
		const p = "kmgt".indexOf(m[2].toLowerCase()) + 1;
		const isBytes = metric.startsWith("ram") || metric.startsWith("disk");
		return v * Math.pow(isBytes ? 1024 : 1000, p);
	}

	function parseDuration(s) {
		const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|min|h|d)?\s*$/.exec(s);
		if (!m)
			return NaN;
		const mult = { ms: 1, s: 1e3, m: 60e3, min: 60e3, h: 3600e3, d: 86400e3 }[m[2] || "s"];
		return Math.round(parseFloat(m[1]) * mult);
	}

	function viewAlerts(root) {
		const isAdmin = me && me.role === "admin";
		const stateBody = h("tbody", { id: "alert-states" });
		const ruleBody = h("tbody", { id: "alert-rules" });
		const status = h("div", { class: "status-line" });
		root.append(h("div", { class: "page-head" }, h("h1", {}, "Alerts")), status,
			    h("div", { class: "card" }, h("h2", {}, "States"),
			      h("div", { class: "table-wrap" },
				h("table", { class: "grid" }, h("thead", {}, h("tr", {},
				  ["State", "Rule", "Host", "Value", "Fired", "Resolved"].map((c) => h("th", {}, c)))),
				  stateBody))),
			    h("div", { class: "card" }, h("h2", {}, "Rules"),
			      h("div", { class: "table-wrap" },
				h("table", { class: "grid" }, h("thead", {}, h("tr", {},
				  ["Name", "Condition", "Hosts", "Notifies", "Created", ""].map((c) => h("th", {}, c)))),
				  ruleBody)),
			      isAdmin ? ruleForm() : h("p", { class: "muted" }, "Admins can add and delete rules.")));

		function ruleForm() {
			const kind = h("select", { name: "kind", id: "rule-kind" },
				       ["metric", "offline", "exec"].map((k) => h("option", { value: k }, k)));
			const metric = h("select", { name: "metric", id: "rule-metric" },
					 METRICS.map((m) => h("option", { value: m }, m)));
			const op = h("select", { name: "op", id: "rule-op" },
				     [">", ">=", "<", "<="].map((o) => h("option", { value: o }, o)));
			const threshold = h("input", { name: "threshold", id: "rule-threshold", size: 8,
						       placeholder: "90 · 5 GiB · 100M" });
			const regex = h("input", { name: "regex", id: "rule-regex", size: 16,
						   placeholder: "^/usr/bin/sudo " });
			const forIn = h("input", { name: "for", id: "rule-for", size: 6, placeholder: "5m" });
			const hostSel = h("select", { name: "host", id: "rule-host" },
					  h("option", { value: "" }, "every host"),
					  hostsCache.map((x) => h("option", { value: x.host_id }, hostName(x))));
			const name = h("input", { name: "name", id: "rule-name", size: 14, placeholder: "optional" });
			const webhook = h("input", { name: "webhook", id: "rule-webhook", size: 22,
						     placeholder: "http://… (optional)" });
			const email = h("input", { name: "email", id: "rule-email", type: "email", size: 20,
						   placeholder: "ops@example.org (optional)" });
			const err = h("p", { class: "error", hidden: true, role: "alert" });
			const metricPart = h("label", {}, "Condition",
					     h("span", { class: "inline" }, metric, op, threshold));
			const regexPart = h("label", {}, "argv matches (regex)", regex);
			function sync() {
				metricPart.hidden = kind.value !== "metric";
				regexPart.hidden = kind.value !== "exec";
			}
			kind.addEventListener("change", sync);
			sync();
			const form = h("form", { class: "rule-form", id: "rule-form" },
				       h("label", {}, "Kind", kind), metricPart, regexPart,
				       h("label", {}, "for", forIn), h("label", {}, "on", hostSel),
				       h("label", {}, "Name", name), h("label", {}, "Webhook", webhook),
				       h("label", {}, "Email", email),
				       h("button", { type: "submit" }, "Add rule"), err);
			form.addEventListener("submit", async (ev) => {
				ev.preventDefault();
				err.hidden = true;
				const rule = { kind: kind.value, host_id: hostSel.value || null };
				if (kind.value === "metric") {
					rule.metric = metric.value;
					rule.op = op.value;
					rule.threshold = parseThreshold(threshold.value, metric.value);
					if (!Number.isFinite(rule.threshold)) {
						err.textContent = "threshold: a number, e.g. 90 or 5 GiB";
						err.hidden = false;
						return;
					}
				}
				if (kind.value === "exec")
					rule.regex = regex.value;
				if (forIn.value.trim()) {
					rule.for_ms = parseDuration(forIn.value);
					if (!Number.isFinite(rule.for_ms)) {
						err.textContent = "for: a duration, e.g. 30s, 5m, 2h";
						err.hidden = false;
						return;
					}
				} else if (kind.value !== "exec") {
					rule.for_ms = kind.value === "offline" ? 120000 : 0;
				}
				if (name.value.trim())
					rule.name = name.value.trim();
				if (webhook.value.trim())
					rule.webhook = webhook.value.trim();
				if (email.value.trim())
					rule.email = email.value.trim();
				try {
					await api.post("/alerts", rule);
					form.reset();
					sync();
					load();
				} catch (e) {
					err.textContent = e.message;
					err.hidden = false;
				}
			});
			return form;
		}

		/* The value that fired, in the rule's terms. */
		function stateValue(s, rules) {
			const r = rules.find((x) => x.id === s.rule_id);
			if (s.value === null || s.value === undefined)
				return "–";
			if (!r)
				return String(s.value);
			if (r.kind === "offline")
				return fmt.duration(s.value * 1000) + " offline";
			if (r.kind === "exec")
				return "seq " + s.value;
			if (r.metric === "cpu_percent")
				return fmt.pct(s.value);
			if (UNITS[r.metric])
				return fmt.bits(s.value);
			return fmt.bytes(s.value);
		}

		function hostLabel(id) {
			if (!id)
				return "every host";
			const x = hostsCache.find((y) => y.host_id === id);
			return x ? hostName(x) : id.slice(0, 12);
		}

		async function load() {
			try {
				const [rules, states] = await Promise.all([api.get("/alerts"),
									   api.get("/alerts/state")]);
				stateBody.replaceChildren(...states.map((s) => h("tr", {
					class: s.state, dataset: { rule: String(s.rule_id), state: s.state } },
					h("td", {}, h("span", { class: "pill " + (s.state === "firing" ? "bad" : "ok") },
						     s.state)),
					h("td", {}, s.name),
					h("td", {}, h("a", { href: "#/host/" + encodeURIComponent(s.host_id) },
						     s.hostname || s.host_id.slice(0, 12))),
					h("td", { class: "num mono" }, stateValue(s, rules)),
					h("td", { class: "nowrap mono" }, fmt.datetime(s.fired_ms)),
					h("td", { class: "nowrap mono" }, s.resolved_ms ? fmt.datetime(s.resolved_ms) : "–"))));
				if (!states.length)
					stateBody.append(h("tr", {}, h("td", { colspan: 6, class: "empty" },
								   "Nothing has fired.")));
				ruleBody.replaceChildren(...rules.map((r) => h("tr", { dataset: { rule: String(r.id) } },
					h("td", {}, r.name || "–"),
					h("td", { class: "mono" }, describeRule(r)),
					h("td", {}, hostLabel(r.host_id)),
					h("td", { class: "mono cwd" }, [r.webhook, r.email].filter(Boolean).join(" · ") || "–"),
					h("td", { class: "nowrap mono" }, fmt.datetime(r.created_ms)),
					h("td", {}, isAdmin ? h("button", { type: "button", class: "danger small",
						onclick: async () => {
							if (!confirm("Delete rule \"" + (r.name || describeRule(r)) + "\"?"))
								return;
							try {
								await api.del("/alerts/" + r.id);
								load();
							} catch (e) {
								status.replaceChildren(errorBox(e));
							}
						} }, "Delete") : null))));
				if (!rules.length)
					ruleBody.append(h("tr", {}, h("td", { colspan: 6, class: "empty" },
								  "No rule yet.")));
				status.replaceChildren();
				showFiring(states);
			} catch (e) {
				status.replaceChildren(errorBox(e));
			}
		}
		load();
		/* Alert changes are rare: polled (the event stream carries every record). */
		every(5000, load);
	}

	/* ---- shell ----------------------------------------------------------------------- */

	function showFiring(states) {
		const n = states.filter((s) => s.state === "firing").length;
		const b = $("firing-count");
		b.textContent = String(n);
		b.hidden = n === 0;
	}

	async function pollFiring() {
		try {
			showFiring(await api.get("/alerts/state"));
		} catch (e) {
			/* The badge is a hint; the alerts page says what failed. */
		}
	}

	function leaveView() {
		for (const f of cleanup.splice(0))
			try {
				f();
			} catch (e) {
				/* keep leaving */
			}
	}

	function route() {
		leaveView();
		const view = $("view");
		view.replaceChildren();
		if (!api.session()) {
			showLogin();
			return;
		}
		$("login").hidden = true;
		$("topbar").hidden = false;
		const [path, qs] = location.hash.replace(/^#/, "").split("?");
		const params = Object.fromEntries(new URLSearchParams(qs || ""));
		const parts = path.split("/").filter(Boolean);
		const section = parts[0] || "hosts";
		for (const a of document.querySelectorAll("[data-nav]"))
			a.classList.toggle("active", a.dataset.nav === (section === "host" ? "hosts" : section));
		view.className = "view view-" + section;
		if (section === "host" && parts[1]) {
			viewHost(view, decodeURIComponent(parts[1]), params.range);
			document.title = "srvmon · host";
		} else if (section === "commands") {
			viewCommands(view, params);
			document.title = "srvmon · commands";
		} else if (section === "alerts") {
			viewAlerts(view);
			document.title = "srvmon · alerts";
		} else {
			viewHosts(view);
			document.title = "srvmon · hosts";
		}
	}

	function showLogin(message) {
		leaveView();
		$("view").replaceChildren();
		$("topbar").hidden = true;
		$("login").hidden = false;
		const err = $("login-error");
		err.hidden = !message;
		err.textContent = message || "";
		$("login-user").focus();
	}

	async function startSession() {
		try {
			me = await api.get("/whoami");
			$("who").textContent = me.account + " (" + me.role + ")";
		} catch (e) {
			if (e.status === 403) {
				api.logout();
				showLogin("This account may not read the dashboard: sign in with a viewer or " +
					  "admin account.");
				return;
			}
			me = null;
			$("who").textContent = "";
		}
		clearInterval(firingTimer);
		firingTimer = setInterval(pollFiring, ALERTS_POLL_MS);
		pollFiring();
		route();
	}

	$("login-form").addEventListener("submit", async (ev) => {
		ev.preventDefault();
		const btn = $("login-submit");
		btn.disabled = true;
		$("login-error").hidden = true;
		try {
			await api.login($("login-user").value, $("login-password").value,
					$("login-remember").checked);
			$("login-password").value = "";
			if (!/^#\//.test(location.hash))
				history.replaceState(null, "", "#/hosts");
			await startSession();
		} catch (e) {
			const msg = e.status === 400 || e.status === 401 ? "Wrong account or password."
					: e.status === 429 ? "Too many attempts; wait a moment."
							   : "Sign-in failed: " + e.message;
			showLogin(msg);
		} finally {
			btn.disabled = false;
		}
	});

	$("logout").addEventListener("click", () => {
		clearInterval(firingTimer);
		api.logout();
		me = null;
		showLogin();
	});

	/* A renewed token: the event streams reconnect with it (their URL carries the old one). */
	api.on("renewed", () => {
		if (api.session() && !$("topbar").hidden)
			route();
	});

	api.on("expired", () => {
		clearInterval(firingTimer);
		showLogin("The session ended; sign in again.");
	});

	window.addEventListener("hashchange", () => {
		if (/^#token=/.test(location.hash)) {
			api.restore();
			startSession();
			return;
		}
		if (api.session())
			route();
	});

	/* For the browser tests and for debugging from the console. */
	window.srvmon = { charts: () => charts.summary(), hosts: () => hostsCache, me: () => me };

	if (api.restore())
		startSession();
	else
		showLogin();
})();
