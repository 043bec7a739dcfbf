// The endpoint_ui screens: a list of the records, a form per record, the
// revisions, and the snippet API's help. Routing is by the URL fragment.
import {h, clear, toast, modal, plural} from './dom.js';
import {call, get, enc} from './api.js';
import {showForm} from './form.js';
import {showRevisions} from './history.js';
import {showHelp} from './help.js';

const main = () => document.getElementById('main');

// refreshBanner shows "Registry out of sync" with the pending count.
export async function refreshBanner() {
  const el = document.getElementById('banner');
  let st;
  try {
    st = (await get('endpoint/sync')).data;
  } catch (e) {
    clear(el, h('p', {class: 'error'}, 'Reading the sync state failed: ' + e.message));
    el.hidden = false;
    return;
  }
  const p = st.pending || {};
  const n = (p.added || []).length + (p.changed || []).length + (p.removed || []).length;
  if (st.in_sync || n === 0) {
    el.hidden = true;
    clear(el);
    el.dataset.pending = '0';
    return;
  }
  el.dataset.pending = String(n);
  clear(el,
    h('p', {}, h('strong', {}, 'Registry out of sync'), ' — ', h('span', {id: 'pending-count'}, plural(n, 'pending change')),
      ` (live revision ${st.revision || 0}).`),
    h('button', {type: 'button', id: 'sync-open', class: 'primary', onclick: () => openSync(st)}, 'Sync…'));
  el.hidden = false;
}

// openSync shows the pending changes, takes a message and publishes.
async function openSync(st) {
  const p = st.pending || {};
  const rows = [];
  for (const [kind, names] of [['added', p.added || []], ['changed', p.changed || []], ['removed', p.removed || []]]) {
    for (const name of names) rows.push({kind, name});
  }
  const result = await modal('Sync the registry', (close) => {
    const boxes = rows.map((r) => h('input', {type: 'checkbox', id: 'sync-only-' + r.name, value: r.name, checked: true}));
    const msg = h('input', {type: 'text', id: 'sync-message', name: 'message', autocomplete: 'off', placeholder: 'What changes, and why'});
    const out = h('div', {id: 'sync-errors', role: 'alert'});
    const go = h('button', {type: 'submit', id: 'sync-confirm', class: 'primary'}, 'Sync');
    return h('form', {method: 'dialog', onsubmit: async (ev) => {
      ev.preventDefault();
      const only = boxes.filter((b) => b.checked).map((b) => b.value);
      if (only.length === 0) { clear(out, h('p', {class: 'error'}, 'Choose at least one change to publish.')); return; }
      const body = {message: msg.value};
      if (only.length < rows.length) body.only = only;
      go.disabled = true;
      try {
        const res = (await call('POST', 'endpoint/sync', body)).data;
        close(res);
      } catch (e) {
        go.disabled = false;
        clear(out, h('p', {class: 'error'}, 'Sync refused: ' + e.message),
          e.details.length ? h('ul', {}, e.details.map((d) => h('li', {}, [d.name, d.field].filter(Boolean).join(' · ') + (d.name || d.field ? ': ' : '') + d.message))) : null);
      }
    }},
    h('p', {}, 'These drafts will be published as one new revision. Uncheck a change to leave it pending.'),
    h('table', {class: 'pending'},
      h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Publish'), h('th', {scope: 'col'}, 'Endpoint'), h('th', {scope: 'col'}, 'Change'))),
      h('tbody', {}, rows.map((r, i) => h('tr', {}, h('td', {}, boxes[i]),
        h('td', {}, h('label', {for: boxes[i].id}, r.name)), h('td', {}, h('span', {class: 'badge ' + r.kind}, r.kind)))))),
    h('label', {for: 'sync-message'}, 'Message'), msg,
    out,
    h('div', {class: 'actions'}, go, h('button', {type: 'button', onclick: () => close(null)}, 'Cancel')));
  });
  if (result) {
    toast(`Published revision ${result.revision}.`);
    route();
  }
}

// showList renders the list with its filters, kept in the fragment's query.
async function showList(params) {
  const toSync = params.get('to_sync') === '1';
  const archived = params.get('archived') === '1';
  const group = params.get('group') || '';
  const q = params.get('q') || '';
  const setParam = (k, v) => {
    const p = new URLSearchParams(params);
    if (v) p.set(k, v); else p.delete(k);
    const s = p.toString();
    location.hash = '#/' + (s ? '?' + s : '');
  };
  const filters = new URLSearchParams();
  if (toSync) filters.set('sync_state', 'to_sync');
  if (archived) filters.set('active', 'false');
  if (group) filters.set('route_group', group === '(none)' ? '' : group);
  const root = main();
  let recs, all;
  try {
    [recs, all] = await Promise.all([get('endpoint/endpoints?' + filters).then((r) => r.data), get('endpoint/endpoints').then((r) => r.data)]);
  } catch (e) {
    clear(root, h('h1', {}, 'Endpoints'), h('p', {class: 'error', role: 'alert'}, 'Loading the endpoints failed: ' + e.message));
    return;
  }
  const groups = [...new Set(all.map((r) => r.route_group || ''))].sort();
  const needle = q.toLowerCase();
  const shown = recs.filter((r) => !needle || [r.name, r.route_group, ...(routesOf(r))].some((s) => (s || '').toLowerCase().includes(needle)));
  const search = h('input', {type: 'search', id: 'search', value: q, placeholder: 'Name, route or group'});
  let timer;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => setParam('q', search.value), 250);
  });
  clear(root,
    h('div', {class: 'head'}, h('h1', {}, 'Endpoints'), h('a', {href: '#/new', class: 'button primary', id: 'new-endpoint'}, 'New endpoint')),
    h('div', {class: 'filters', role: 'search'},
      h('div', {class: 'field'}, h('label', {for: 'search'}, 'Search'), search),
      h('div', {class: 'check'}, h('input', {type: 'checkbox', id: 'filter-to-sync', checked: toSync, onchange: (e) => setParam('to_sync', e.target.checked ? '1' : '')}),
        h('label', {for: 'filter-to-sync'}, 'To sync')),
      h('div', {class: 'check'}, h('input', {type: 'checkbox', id: 'filter-archived', checked: archived, onchange: (e) => setParam('archived', e.target.checked ? '1' : '')}),
        h('label', {for: 'filter-archived'}, 'Archived')),
      h('div', {class: 'field'}, h('label', {for: 'filter-group'}, 'Group'),
        h('select', {id: 'filter-group', onchange: (e) => setParam('group', e.target.value)},
          h('option', {value: ''}, 'All groups'),
          groups.map((g) => h('option', {value: g || '(none)', selected: (g || '(none)') === group}, g || '(no group)'))))),
    h('p', {class: 'muted', id: 'list-count'}, `${plural(shown.length, 'endpoint')} shown`),
    shown.length === 0 ? h('p', {class: 'empty'}, 'No endpoint matches.') :
      h('table', {class: 'records', id: 'list-table'},
        h('caption', {class: 'sr-only'}, 'Endpoint records'),
        h('thead', {}, h('tr', {}, ['Name', 'Routes', 'Methods', 'Group', 'Auth', 'State', 'Active'].map((c) => h('th', {scope: 'col'}, c)))),
        h('tbody', {}, shown.map((r) => h('tr', {'data-name': r.name},
          h('td', {'data-label': 'Name'}, h('a', {href: '#/e/' + enc(r.name)}, r.name)),
          h('td', {'data-label': 'Routes'}, routesOf(r).map((p) => h('code', {}, p))),
          h('td', {'data-label': 'Methods'}, methodsOf(r).join(' ')),
          h('td', {'data-label': 'Group'}, r.route_group || ''),
          h('td', {'data-label': 'Auth'}, r.auth_type || 'user'),
          h('td', {'data-label': 'State'}, h('span', {class: 'badge ' + (r.sync_state || '')}, r.sync_state === 'to_sync' ? 'To sync' : 'In sync')),
          h('td', {'data-label': 'Active'}, r.active === false ? 'Archived' : 'Active'))))));
}

export const routesOf = (r) => r.routes || (r.route ? [r.route] : []);
export const methodsOf = (r) => r.request_methods || (r.request_method ? [r.request_method] : ['GET']);

// route renders the screen the fragment names.
export async function route() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query] = hash.split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const root = main();
  refreshBanner();
  try {
    if (parts.length === 0) await showList(params);
    else if (parts[0] === 'new') await showForm(root, null, params);
    else if (parts[0] === 'e' && parts[1]) await showForm(root, parts[1], params);
    else if (parts[0] === 'revisions') await showRevisions(root, null);
    else if (parts[0] === 'help') await showHelp(root);
    else clear(root, h('h1', {}, 'Not found'), h('p', {}, h('a', {href: '#/'}, 'Back to the list')));
  } catch (e) {
    clear(root, h('p', {class: 'error', role: 'alert'}, e.message));
  }
  document.title = (root.querySelector('h1') || {}).textContent + ' · Endpoints';
}

window.addEventListener('hashchange', () => {
  route().then(() => main().focus({preventScroll: true}));
});
route();
