// A session's timeline as a Gantt chart: one row per step (global pre, each target's hooks and
// backup/restore window, per-host rows where a hook ran on several pods, global post, finalize).
// Rows are virtualised (only those in view are in the DOM) so a 1,000-member batch stays fast;
// bars are buttons (Tab, arrow keys), hovering or focusing one shows its details and its job.
// Live: server-sent events (/sessions/api/events/…) while the session runs.
(() => {
  'use strict';
  const ds = document.body.dataset;
  const main = document.getElementById('main');
  const board = (ds.board || '/').replace(/\/?$/, '/');
  const base = `${ds.kind.toLowerCase()}/${encodeURIComponent(ds.namespace)}/${encodeURIComponent(ds.name)}`;
  const TERMINAL = new Set(['Succeeded', 'Failed', 'Skipped']);
  const OVERSCAN = 8;
  const OUTCOME_TEXT = { succeeded: 'succeeded', failed: 'failed', skipped: 'skipped', 'not-run': 'not run', running: 'running', waiting: 'waiting' };

  let data; // { timeline, jobsRead, nowMs }
  let rowH = 28;
  let axis = { from: 0, to: 1 };
  let view; // persistent DOM
  let tipTimer;

  const el = (tag, attrs = {}, ...children) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) if (c !== undefined && c !== null) e.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
    return e;
  };

  function span(ms) {
    if (ms < 1000) return `${Math.round(ms)}ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(2)}s`;
    const s = Math.round(ms / 1000);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h ? `${h}h${m}m${s % 60}s` : `${m}m${s % 60}s`;
  }
  const now = () => (data ? data.nowMs + (performance.now() - data.receivedAt) : Date.now());
  const endOf = (b) => (b.endMs !== undefined ? b.endMs : b.outcome === 'running' ? now() : b.startMs);
  const pct = (t) => ((t - axis.from) / (axis.to - axis.from)) * 100;

  function computeAxis(t) {
    const from = t.fromMs;
    let to = Math.max(t.toMs, TERMINAL.has(t.phase) ? t.toMs : now());
    const spanMs = Math.max(1, to - from);
    // The deadline is drawn when it is near enough not to squash every bar into a sliver.
    const deadlineShown = t.deadlineMs !== undefined && t.deadlineMs <= to + spanMs * 0.5;
    if (deadlineShown) to = Math.max(to, t.deadlineMs);
    axis = { from, to: to + Math.max(1, (to - from) * 0.02), deadlineShown };
  }

  function build() {
    const t = data.timeline;
    const live = el('span', { class: 'live', 'aria-live': 'polite', id: 'live' });
    const deadlineNote = el('span', { class: 'deadline-note', id: 'deadline-note' });
    view = {
      header: el(
        'div',
        { class: 'card' },
        el('h1', {}, `${t.kind} ${t.namespace}/${t.name}`),
        el('div', { class: 'meta', id: 'meta' }),
        el(
          'p',
          { class: 'muted', style: 'margin:.4rem 0 0' },
          el('a', { href: '/sessions' }, '← all sessions'),
          ' · ',
          el('a', { href: board }, 'queues on bull-board'),
          ' · ',
          live,
          ' ',
          deadlineNote,
        ),
      ),
      legend: el(
        'ul',
        { class: 'legend', 'aria-label': 'Legend' },
        Object.entries(OUTCOME_TEXT).map(([o, text]) => el('li', {}, el('span', { class: `bar swatch o-${o}`, 'aria-hidden': 'true' }), text)),
        el('li', {}, el('span', { class: 'swatch', style: 'border-left:2px dashed var(--bad);width:2px', 'aria-hidden': 'true' }), 'deadline'),
        el('li', {}, el('span', { class: 'bar swatch o-failed estimated', 'aria-hidden': 'true' }), 'earlier attempt (time estimated)'),
      ),
      ticks: el('div', { class: 'ticks', 'aria-hidden': 'true' }),
      viewport: el('div', { class: 'viewport', role: 'grid', 'aria-label': 'Hook timeline', 'aria-rowcount': String(t.rows.length) }),
      spacer: el('div', { class: 'spacer' }),
      overlay: el('div', { class: 'overlay', 'aria-hidden': 'true' }),
      tip: el('div', { class: 'tip', role: 'tooltip', id: 'tip', hidden: true }),
      rendered: new Map(),
    };
    view.viewport.append(view.spacer);
    view.spacer.append(view.overlay);
    view.viewport.addEventListener('scroll', () => requestAnimationFrame(renderRows), { passive: true });
    view.tip.addEventListener('mouseenter', () => clearTimeout(tipTimer));
    view.tip.addEventListener('mouseleave', hideTipSoon);
    main.replaceChildren(view.header, view.legend, el('div', { class: 'axis' }, el('div', {}), view.ticks), view.viewport, view.tip);
    rowH = parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--row-h')) || 28;
    window.addEventListener('resize', () => requestAnimationFrame(renderRows));
  }

  function update(next) {
    data = { ...next, receivedAt: performance.now() };
    if (!view) build();
    const t = data.timeline;
    computeAxis(t);
    const meta = [
      el('span', {}, 'phase ', el('span', { class: `phase ${t.phase}` }, t.phase)),
      t.sessionDuration ? el('span', {}, `took ${t.sessionDuration}`) : null,
      t.createdMs !== undefined ? el('span', {}, `created ${new Date(t.createdMs).toLocaleString()}`) : null,
      t.deadlineMs !== undefined ? el('span', {}, `deadline ${new Date(t.deadlineMs).toLocaleString()}`) : null,
      t.deadlineMessage ? el('span', { class: 'error' }, `DeadlineExceeded: ${t.deadlineMessage}`) : null,
      data.jobsRead ? null : el('span', { class: 'muted' }, 'jobs not readable: times from conditions'),
      el('span', { class: 'muted' }, `${t.rows.length} rows`),
    ];
    document.getElementById('meta').replaceChildren(...meta.filter(Boolean));
    document.getElementById('deadline-note').textContent =
      t.deadlineMs !== undefined && !axis.deadlineShown ? `deadline +${span(t.deadlineMs - axis.from)} (beyond the chart)` : '';
    view.viewport.setAttribute('aria-rowcount', String(t.rows.length));
    view.spacer.style.height = `${t.rows.length * rowH}px`;
    view.viewport.style.height = `${Math.min(t.rows.length * rowH + 2, window.innerHeight * 0.7)}px`;
    const ticks = [];
    for (let i = 0; i <= 5; i++) {
      const at = axis.from + ((axis.to - axis.from) * i) / 5;
      ticks.push(el('span', { class: 'tick', style: `left:${(i / 5) * 100}%` }, `+${span(at - axis.from)}`));
    }
    ticks[0].style.transform = 'none';
    ticks[5].style.transform = 'translateX(-100%)';
    view.ticks.replaceChildren(...ticks);
    view.overlay.replaceChildren(...(axis.deadlineShown ? [el('div', { class: 'deadline', style: `left:${pct(t.deadlineMs)}%`, title: 'deadline' })] : []));
    rerender();
  }

  /** Drops the rendered rows (keeping the one with focus, so the keyboard user stays put) and draws anew. */
  function rerender() {
    const keep = new Map();
    for (const [i, node] of view.rendered) {
      if (node.contains(document.activeElement)) keep.set(i, node);
      else node.remove();
    }
    view.rendered = keep;
    renderRows();
  }

  function barLabel(row, b) {
    const d = b.startMs !== undefined && (b.endMs !== undefined || b.outcome === 'running') ? span(endOf(b) - b.startMs) : 'not started';
    return `${row.label}: ${b.label}${b.attempt ? ` attempt ${b.attempt.n} of ${b.attempt.of}` : ''}, ${OUTCOME_TEXT[b.outcome]}, ${d}${b.message ? `. ${b.message}` : ''}`;
  }

  function renderRow(i) {
    const row = data.timeline.rows[i];
    const track = el('div', { class: 'track', role: 'gridcell' });
    row.bars.forEach((b, j) => {
      const start = b.startMs !== undefined ? b.startMs : axis.from;
      const left = pct(start);
      const width = b.startMs !== undefined ? Math.max(0, pct(endOf(b)) - left) : 100 - left;
      const bar = el(
        'button',
        {
          type: 'button',
          class: `bar o-${b.outcome}${b.estimated ? ' estimated' : ''}`,
          style: `left:${left}%;width:${width}%`,
          'data-row': i,
          'data-bar': j,
          'data-outcome': b.outcome,
          'data-label': b.label,
          'aria-label': barLabel(row, b),
          'aria-describedby': 'tip',
        },
        el('span', {}, b.label),
      );
      track.append(bar);
    });
    const host = row.host !== undefined;
    const div = el(
      'div',
      { class: `row group-${row.group}${host ? ' host' : ''}`, role: 'row', 'aria-rowindex': String(i + 1), 'data-row-id': row.id, style: `top:${i * rowH}px` },
      el('div', { class: 'label', role: 'rowheader', title: row.label }, row.label),
      track,
    );
    return div;
  }

  function renderRows() {
    if (!data) return;
    const rows = data.timeline.rows;
    const top = view.viewport.scrollTop;
    const first = Math.max(0, Math.floor(top / rowH) - OVERSCAN);
    const last = Math.min(rows.length - 1, Math.ceil((top + view.viewport.clientHeight) / rowH) + OVERSCAN);
    for (const [i, node] of view.rendered) {
      if (i < first || i > last) {
        if (node.contains(document.activeElement)) continue; // keep the focused bar in the DOM
        node.remove();
        view.rendered.delete(i);
      }
    }
    for (let i = first; i <= last; i++) {
      if (view.rendered.has(i)) continue;
      const node = renderRow(i);
      view.rendered.set(i, node);
      view.spacer.append(node);
    }
  }

  function showTip(btn) {
    clearTimeout(tipTimer);
    const b = data.timeline.rows[Number(btn.dataset.row)].bars[Number(btn.dataset.bar)];
    const row = data.timeline.rows[Number(btn.dataset.row)];
    const dl = el('dl');
    const add = (k, v) => v && dl.append(el('dt', {}, k), el('dd', {}, v));
    add('result', OUTCOME_TEXT[b.outcome] + (b.attempt ? ` (attempt ${b.attempt.n} of ${b.attempt.of})` : ''));
    add('duration', b.startMs !== undefined && (b.endMs !== undefined || b.outcome === 'running') ? span(endOf(b) - b.startMs) : '');
    add('started', b.startMs !== undefined ? `+${span(b.startMs - axis.from)} (${new Date(b.startMs).toLocaleTimeString()})` : 'not yet');
    add('where', b.where || '');
    add('message', b.message || '');
    if (b.estimated) add('note', 'earlier attempts keep no timestamps: the time is estimated');
    if (b.source === 'condition') add('note', 'from the condition (its job is gone): time to the second, end only');
    if (b.job) {
      dl.append(
        el('dt', {}, 'job'),
        el(
          'dd',
          {},
          el('a', { href: `${board}queue/${encodeURIComponent(b.job.queue)}/${encodeURIComponent(b.job.id)}` }, `${b.job.queue} ${b.job.id}`),
          ` (${b.job.state})`,
        ),
      );
    }
    view.tip.replaceChildren(el('strong', {}, `${row.label} · ${b.label}`), dl);
    view.tip.hidden = false;
    const r = btn.getBoundingClientRect();
    const tw = view.tip.offsetWidth;
    const th = view.tip.offsetHeight;
    const x = Math.min(Math.max(4, r.left), window.innerWidth - tw - 4);
    const below = r.bottom + 6 + th < window.innerHeight;
    view.tip.style.left = `${x}px`;
    view.tip.style.top = `${below ? r.bottom + 6 : Math.max(4, r.top - th - 6)}px`;
  }
  function hideTipSoon() {
    clearTimeout(tipTimer);
    tipTimer = setTimeout(() => {
      view.tip.hidden = true;
    }, 250);
  }

  function focusBar(rowIndex, barIndex) {
    const rows = data.timeline.rows;
    const i = Math.min(rows.length - 1, Math.max(0, rowIndex));
    const vp = view.viewport;
    if (i * rowH < vp.scrollTop) vp.scrollTop = i * rowH;
    else if ((i + 1) * rowH > vp.scrollTop + vp.clientHeight) vp.scrollTop = (i + 1) * rowH - vp.clientHeight;
    renderRows();
    const node = view.rendered.get(i);
    const bars = node ? node.querySelectorAll('.bar') : [];
    if (bars.length) bars[Math.min(barIndex, bars.length - 1)].focus();
  }

  main.addEventListener('mouseover', (e) => {
    const b = e.target.closest && e.target.closest('.bar[data-row]');
    if (b) showTip(b);
  });
  main.addEventListener('mouseout', (e) => {
    if (e.target.closest && e.target.closest('.bar[data-row]')) hideTipSoon();
  });
  main.addEventListener('focusin', (e) => {
    if (e.target.matches && e.target.matches('.bar[data-row]')) showTip(e.target);
  });
  main.addEventListener('focusout', (e) => {
    if (e.target.matches && e.target.matches('.bar[data-row]')) hideTipSoon();
  });
  main.addEventListener('keydown', (e) => {
    const b = e.target.closest && e.target.closest('.bar[data-row]');
    if (!b) return;
    const i = Number(b.dataset.row);
    const j = Number(b.dataset.bar);
    const moves = {
      ArrowDown: [i + 1, j],
      ArrowUp: [i - 1, j],
      ArrowRight: [i, j + 1],
      ArrowLeft: [i, Math.max(0, j - 1)],
      Home: [0, 0],
      End: [data.timeline.rows.length - 1, 0],
    };
    if (moves[e.key]) {
      e.preventDefault();
      focusBar(...moves[e.key]);
    } else if (e.key === 'Escape') view.tip.hidden = true;
  });
  main.addEventListener('click', (e) => {
    const b = e.target.closest && e.target.closest('.bar[data-row]');
    if (b) showTip(b);
  });

  function setLive(text) {
    const live = document.getElementById('live');
    if (live) live.textContent = text;
  }

  async function start() {
    let first;
    try {
      const res = await fetch(`/sessions/api/timeline/${base}`, { headers: { Accept: 'application/json' } });
      first = await res.json();
      if (!res.ok) throw new Error(first.error || `HTTP ${res.status}`);
    } catch (err) {
      main.replaceChildren(
        el('h1', {}, `${ds.kind} ${ds.namespace}/${ds.name}`),
        el('p', { class: 'error', role: 'alert' }, String(err.message || err)),
        el('a', { href: '/sessions' }, '← all sessions'),
      );
      return;
    }
    const t0 = performance.now();
    update(first);
    document.body.dataset.renderMs = String(Math.round(performance.now() - t0));
    document.body.dataset.ready = 'true';
    if (TERMINAL.has(first.timeline.phase)) return;
    setLive('● live');
    const es = new EventSource(`/sessions/api/events/${base}`);
    es.addEventListener('timeline', (ev) => update(JSON.parse(ev.data)));
    es.addEventListener('done', () => {
      es.close();
      setLive('');
    });
    es.addEventListener('gone', () => {
      es.close();
      setLive('the session was deleted');
    });
    es.addEventListener('problem', (ev) => setLive(`live updates paused: ${JSON.parse(ev.data).error}`));
    // While running, the running bars grow with the clock between events.
    const grow = setInterval(() => {
      if (!data || TERMINAL.has(data.timeline.phase)) return clearInterval(grow);
      computeAxis(data.timeline);
      rerender();
    }, 1000);
  }

  start();
})();
