// The Sessions list: BackupSessions and RestoreSessions, newest first, filtered and paged on the
// server (/sessions/api/list). Plain browser JavaScript served by the dashboard; no libraries.
(() => {
  'use strict';
  const main = document.getElementById('main');
  const board = document.body.dataset.board || '/';
  const params = new URLSearchParams(location.search);
  const state = {
    kind: params.get('kind') || '',
    namespace: params.get('namespace') || '',
    phase: params.get('phase') || '',
    page: Number(params.get('page') || 1),
  };

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
  const kindPath = (k) => k.toLowerCase();

  function select(label, name, value, options) {
    return el(
      'label',
      {},
      label,
      el(
        'select',
        {
          name,
          onchange: (ev) => {
            state[name] = ev.target.value;
            state.page = 1;
            load();
          },
        },
        options.map(([v, text]) => el('option', { value: v, selected: v === value }, text)),
      ),
    );
  }

  async function load() {
    const q = new URLSearchParams();
    for (const k of ['kind', 'namespace', 'phase']) if (state[k]) q.set(k, state[k]);
    if (state.page > 1) q.set('page', String(state.page));
    history.replaceState(null, '', `${location.pathname}${q.toString() ? `?${q}` : ''}`);
    let data;
    try {
      const res = await fetch(`/sessions/api/list?${q}`, { headers: { Accept: 'application/json' } });
      data = await res.json();
      if (!res.ok) throw new Error(data.error || `HTTP ${res.status}`);
    } catch (err) {
      main.replaceChildren(el('h1', {}, 'Sessions'), el('p', { class: 'error', role: 'alert' }, String(err.message || err)));
      return;
    }
    render(data);
  }

  function render(data) {
    const pages = Math.max(1, Math.ceil(data.total / data.pageSize));
    const namespaces = [...new Set([...(data.namespaces || []), state.namespace].filter(Boolean))].sort();
    const phases = [...new Set(['Pending', 'Running', 'Succeeded', 'Failed', 'Skipped', ...(data.phases || [])])];
    const filters = el(
      'form',
      { class: 'filters card', role: 'search', 'aria-label': 'Filter sessions', onsubmit: (e) => e.preventDefault() },
      select('Kind', 'kind', state.kind, [
        ['', 'all kinds'],
        ['BackupSession', 'BackupSession'],
        ['RestoreSession', 'RestoreSession'],
      ]),
      select('Namespace', 'namespace', state.namespace, [['', 'all namespaces'], ...namespaces.map((n) => [n, n])]),
      select('Phase', 'phase', state.phase, [['', 'all phases'], ...phases.map((p) => [p, p])]),
      el('span', { class: 'muted', 'aria-live': 'polite' }, `${data.total} session${data.total === 1 ? '' : 's'}`),
    );
    const rows = data.items.map((s) =>
      el(
        'tr',
        {},
        el('td', {}, s.kind),
        el('td', {}, s.namespace),
        el('td', {}, el('a', { href: `/sessions/view/${kindPath(s.kind)}/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}` }, s.name)),
        el('td', {}, el('span', { class: `phase ${s.phase}` }, s.phase)),
        el('td', {}, s.created ? new Date(s.created).toLocaleString() : '-'),
        el('td', {}, s.duration || '-'),
        el('td', {}, String(s.targets)),
      ),
    );
    const table = el(
      'table',
      { class: 'sessions' },
      el('caption', { class: 'muted', style: 'text-align:left' }, 'Newest first'),
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['Kind', 'Namespace', 'Name', 'Phase', 'Created', 'Duration', 'Targets'].map((h) => el('th', { scope: 'col' }, h)),
        ),
      ),
      el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'No sessions match.'))),
    );
    const pager = el(
      'nav',
      { class: 'pager', 'aria-label': 'Pages' },
      el(
        'button',
        {
          type: 'button',
          disabled: state.page <= 1,
          onclick: () => {
            state.page -= 1;
            load();
          },
        },
        '← Newer',
      ),
      el('span', {}, `page ${data.page} of ${pages}`),
      el(
        'button',
        {
          type: 'button',
          disabled: state.page >= pages,
          onclick: () => {
            state.page += 1;
            load();
          },
        },
        'Older →',
      ),
    );
    const focused = document.activeElement && document.activeElement.name;
    main.replaceChildren(
      el('h1', {}, 'Sessions'),
      filters,
      el('div', { class: 'card' }, table, pager),
      el('p', { class: 'muted' }, 'Each session shows its hooks as a timeline. The queues and jobs are on ', el('a', { href: board }, 'bull-board'), '.'),
    );
    if (focused) main.querySelector(`select[name="${focused}"]`)?.focus();
  }

  load();
  // New sessions appear without a reload.
  setInterval(() => {
    if (!document.hidden && !(document.activeElement instanceof HTMLSelectElement)) load();
  }, 5000);
})();
