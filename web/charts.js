/* Time-series charts (uPlot, vendored in web/vendor/uplot): one per metric group. */
"use strict";

const charts = (() => {
	const AXIS = { stroke: "#8b98a5", grid: "#223040", tick: "#223040" };
	const all = new Set(); /* live charts, for the tests */

	/*
	 * Merges columnar series (docs/api.md: t[], avg[]...) on one time axis. Each source is
	 * {t, values}. Where a source is silent for much longer than its own usual spacing (and
	 * more than 1.5 steps: buckets without samples are left out by the server), it gets a
	 * null just after its last point, so no line is drawn across the outage; elsewhere a
	 * source without a value at a time of the axis is undefined there, which uPlot joins
	 * over (a 10 s resources sample beside 1 s network buckets).
	 */
	function align(sources, step) {
		const gapsOf = sources.map((s) => {
			const t = s.t || [];
			const d = [];
			for (let i = 1; i < t.length; i++)
				d.push(t[i] - t[i - 1]);
			d.sort((a, b) => a - b);
			const usual = d.length ? d[Math.floor(d.length / 2)] : 0;
			const limit = Math.max(1.5 * (step || 0), 2.5 * usual);
			const gaps = new Set();
			for (let i = 1; i < t.length; i++)
				if (limit && t[i] - t[i - 1] > limit)
					gaps.add(t[i - 1] + Math.min(step || usual, (t[i] - t[i - 1]) / 2));
			return gaps;
		});
		const ts = new Set();
		sources.forEach((s, k) => {
			for (const t of s.t || [])
				ts.add(t);
			for (const g of gapsOf[k])
				ts.add(g);
		});
		const axis = Array.from(ts).sort((a, b) => a - b);
		const cols = sources.map((s, k) => {
			const at = new Map();
			(s.t || []).forEach((t, i) => at.set(t, s.values[i]));
			return axis.map((t) => (at.has(t) ? at.get(t) : gapsOf[k].has(t) ? null : undefined));
		});
		return [axis, ...cols];
	}

	const pad = (n) => String(n).padStart(2, "0");

	/* 24-hour local time on the x axis, the date where the ticks are a day or more apart. */
	function timeTicks(u, splits, axisIdx, space, incr) {
		const span = u.scales.x.max - u.scales.x.min;
		return splits.map((ms) => {
			const d = new Date(ms);
			const day = pad(d.getMonth() + 1) + "-" + pad(d.getDate());
			const hm = pad(d.getHours()) + ":" + pad(d.getMinutes());
			if (incr >= 86400e3)
				return day;
			if (span > 86400e3)
				return d.getHours() === 0 && d.getMinutes() === 0 ? day : hm;
			return incr < 60e3 ? hm + ":" + pad(d.getSeconds()) : hm;
		});
	}

	function make(el, spec) {
		const series = [{}].concat(spec.series.map((s) => ({
			label: s.label,
			stroke: s.color,
			width: s.width || 1.5,
			dash: s.dash,
			fill: s.fill,
			spanGaps: false,
			points: { show: false },
			value: (u, v) => (v === null || v === undefined ? "–" : spec.format(v)),
		})));
		const opts = {
			width: Math.max(200, el.clientWidth),
			height: spec.height || 180,
			ms: 1,
			series,
			cursor: { drag: { x: false, y: false } },
			legend: { live: true },
			scales: { y: spec.yRange ? { range: spec.yRange } : { auto: true } },
			axes: [
				{ stroke: AXIS.stroke, grid: { stroke: AXIS.grid, width: 1 },
				  ticks: { stroke: AXIS.tick, width: 1 }, values: timeTicks, space: 60 },
				{ stroke: AXIS.stroke, grid: { stroke: AXIS.grid, width: 1 },
				  ticks: { stroke: AXIS.tick, width: 1 }, size: 84, space: 30,
				  values: (u, vals) => vals.map((v) => spec.format(v)) },
			],
		};
		const empty = [[]].concat(spec.series.map(() => []));
		const plot = new uPlot(opts, empty, el);
		/* The element's width, not the window's: a scroll bar or the grid may change it. */
		const ro = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => chart.resize());
		const chart = {
			id: spec.id,
			plot,
			points: 0,
			set(data) {
				chart.points = data[1].filter((v) => v !== null && v !== undefined).length;
				plot.setData(data);
			},
			resize() {
				const w = Math.max(200, el.clientWidth);
				if (w !== plot.width)
					plot.setSize({ width: w, height: plot.height });
			},
			destroy() {
				all.delete(chart);
				if (ro)
					ro.disconnect();
				plot.destroy();
			},
		};
		all.add(chart);
		if (ro)
			ro.observe(el);
		return chart;
	}

	/* For tests and debugging: {id: number of points} of the charts on the page. */
	function summary() {
		const out = {};
		for (const c of all)
			out[c.id] = c.points;
		return out;
	}

	return { make, align, summary };
})();
