// Code Help: the snippet API as GET /endpoint/help describes it.
import {h, clear} from './dom.js';
import {get} from './api.js';

export function renderHelp(root, entries) {
  const list = h('div', {id: 'help-list'});
  const search = h('input', {type: 'search', id: 'help-search', placeholder: 'e.g. request, store, hmac'});
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const match = (e) => !q || [e.name, e.signature, e.doc].some((s) => (s || '').toLowerCase().includes(q)) || (e.members || []).some(match);
    clear(list, h('dl', {class: 'help-entries'}, (entries || []).filter(match).map((e) => entry(e, match))));
  };
  search.addEventListener('input', draw);
  clear(root,
    h('div', {class: 'field'}, h('label', {for: 'help-search'}, 'Filter the predeclared names'), search),
    list);
  draw();
}

function entry(e, match) {
  return [
    h('dt', {}, h('code', {}, e.signature || e.name)),
    h('dd', {}, e.doc || '', e.members && e.members.length
      ? h('dl', {class: 'help-members'}, e.members.filter(match).map((m) => entry(m, match)))
      : null),
  ];
}

export async function showHelp(root) {
  const body = h('div', {}, h('p', {class: 'muted'}, 'Loading…'));
  clear(root, h('h1', {}, 'Code help'), h('p', {}, 'The names a snippet can use. It must assign a dict to ', h('code', {}, 'result'), '.'), body);
  renderHelp(body, (await get('endpoint/help')).data);
}
