/* Formatting helpers shared by the views: sizes, rates, times, shell quoting. */
"use strict";

const fmt = (() => {
	const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
	const BIT_UNITS = ["bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s"];

	function scaled(v, base, units) {
		if (v === null || v === undefined || !Number.isFinite(v))
			return "–";
		let i = 0;
		let x = Math.abs(v);
		while (x >= base && i < units.length - 1) {
			x /= base;
			i++;
		}
		const digits = i === 0 || x >= 100 ? 0 : x >= 10 ? 1 : 2;
		return (v < 0 ? "-" : "") + x.toFixed(digits) + " " + units[i];
	}

	const bytes = (v) => scaled(v, 1024, BYTE_UNITS);
	const bits = (v) => scaled(v, 1000, BIT_UNITS);

	function pct(v) {
		if (v === null || v === undefined || !Number.isFinite(v))
			return "–";
		return v.toFixed(v >= 10 ? 0 : 1) + " %";
	}

	function pad(n) {
		return String(n).padStart(2, "0");
	}

	/* Local time, as a sysadmin reads logs: 2026-12-07 14:58:12. */
	function datetime(ms) {
		if (!ms)
			return "–";
		const d = new Date(ms);
		return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
		       pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
	}

	/* Compact: the time alone today, the date and minute otherwise. */
	function when(ms, now) {
		if (!ms)
			return "–";
		const d = new Date(ms);
		const n = new Date(now || Date.now());
		if (d.toDateString() === n.toDateString())
			return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
		return datetime(ms).slice(0, 16);
	}

	function duration(ms) {
		const s = Math.max(0, Math.round(ms / 1000));
		if (s < 60)
			return s + " s";
		if (s < 3600)
			return Math.floor(s / 60) + " min";
		if (s < 86400)
			return Math.floor(s / 3600) + " h " + pad(Math.floor((s % 3600) / 60)) + " min";
		return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
	}

	function ago(ms, now) {
		if (!ms)
			return "never";
		return duration((now || Date.now()) - ms) + " ago";
	}

	/* POSIX shell quoting: the line pastes back into a shell as exactly this argv. */
	function shellWord(s) {
		if (s === "")
			return "''";
		if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s))
			return s;
		return "'" + s.replace(/'/g, "'\\''") + "'";
	}

	function commandLine(argv) {
		return (argv || []).map(shellWord).join(" ");
	}

	return { bytes, bits, pct, datetime, when, duration, ago, commandLine, shellWord };
})();
