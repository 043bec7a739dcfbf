// Revisions: the published history with message and source, the diff
// between any two, and rollback.
import {h, clear, toast, modal, fmtTime} from './dom.js';
import {call, get} from './api.js';
import {refreshBanner} from './main.js';

export async function showRevisions(root) {
  const body = h('div', {});
  clear(root, h('h1', {}, 'Revisions'), body);
  await revisionsPanel(body, null);
}

// revisionsPanel fills root with the revisions table; focus names the
// record whose changes the diff shows first.
export async function revisionsPanel(root, focus) {
  let revs;
  try {
    revs = (await get('endpoint/revisions')).data || [];
  } catch (e) {
    clear(root, h('p', {class: 'error', role: 'alert'}, 'Loading the revisions failed: ' + e.message));
    return;
  }
  if (revs.length === 0) {
    clear(root, h('p', {class: 'empty'}, 'Nothing has been published yet: a sync creates revision 1.'));
    return;
  }
  const out = h('div', {id: 'diff-out', 'aria-live': 'polite'});
  const from = revs.length > 1 ? revs[1].revision : revs[0].revision;
  const to = revs[0].revision;
  const radio = (group, rev, checked) => h('input', {type: 'radio', name: 'diff-' + group, id: `diff-${group}-${rev}`, value: rev, checked});
  const table = h('table', {class: 'revisions', id: 'rev-table'},
    h('caption', {class: 'sr-only'}, 'Published revisions, newest first'),
    h('thead', {}, h('tr', {}, ['Revision', 'Created', 'Kind', 'Message', 'Source', 'Endpoints', 'From', 'To', ''].map((c) => h('th', {scope: 'col'}, c)))),
    h('tbody', {}, revs.map((r) => h('tr', {'data-rev': r.revision},
      h('td', {'data-label': 'Revision'}, String(r.revision)),
      h('td', {'data-label': 'Created'}, fmtTime(r.created_at)),
      h('td', {'data-label': 'Kind'}, r.kind || ''),
      h('td', {'data-label': 'Message', class: 'message'}, r.message || ''),
      h('td', {'data-label': 'Source'}, r.source || ''),
      h('td', {'data-label': 'Endpoints'}, String(r.endpoints ?? '')),
      h('td', {'data-label': 'From'}, radio('from', r.revision, r.revision === from), h('label', {for: `diff-from-${r.revision}`, class: 'sr-only'}, `diff from revision ${r.revision}`)),
      h('td', {'data-label': 'To'}, radio('to', r.revision, r.revision === to), h('label', {for: `diff-to-${r.revision}`, class: 'sr-only'}, `diff to revision ${r.revision}`)),
      h('td', {}, h('button', {type: 'button', class: 'rollback', 'data-rev': r.revision, onclick: () => rollback(r, root, focus)}, `Rollback to ${r.revision}…`))))));
  const show = async () => {
    const a = root.querySelector('input[name=diff-from]:checked').value;
    const b = root.querySelector('input[name=diff-to]:checked').value;
    clear(out, h('p', {class: 'muted'}, 'Loading…'));
    try {
      const d = (await get(`endpoint/revisions/${a}/diff?to=${b}`)).data;
      clear(out, renderDiff(d, a, b, focus));
    } catch (e) {
      clear(out, h('p', {class: 'error', role: 'alert'}, 'Loading the diff failed: ' + e.message));
    }
  };
  clear(root, h('div', {class: 'scroll'}, table),
    h('div', {class: 'actions'}, h('button', {type: 'button', id: 'show-diff', onclick: show}, 'Show the diff')),
    out);
}

function renderDiff(d, a, b, focus) {
  const changed = (d.changed || []).slice().sort((x, y) => (y.name === focus) - (x.name === focus));
  const none = !(d.added || []).length && !(d.removed || []).length && !changed.length;
  return h('div', {class: 'diff'},
    h('h3', {}, `Revision ${a} → ${b}`),
    none ? h('p', {}, 'The two revisions publish the same records.') : null,
    (d.added || []).length ? h('p', {}, h('strong', {}, 'Added: '), (d.added || []).join(', ')) : null,
    (d.removed || []).length ? h('p', {}, h('strong', {}, 'Removed: '), (d.removed || []).join(', ')) : null,
    changed.map((c) => h('div', {class: 'changed' + (c.name === focus ? ' focus' : ''), 'data-name': c.name},
      h('h4', {}, c.name), c.fields && c.fields.length ? h('p', {}, 'Fields: ', c.fields.map((x) => h('code', {}, x))) : null,
      c.code_diff ? [h('p', {}, 'Code:'), renderUnified(c.code_diff)] : null,
      c.schema_diff ? [h('p', {}, 'Schema:'), renderUnified(c.schema_diff)] : null)));
}

// renderUnified shows a unified diff with its added and removed lines marked.
export function renderUnified(text) {
  return h('pre', {class: 'unified'}, String(text).split('\n').filter((l) => !/^=+$/.test(l)).map((l) => {
    const cls = l.startsWith('+++') || l.startsWith('---') ? 'file' : l.startsWith('@@') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : '';
    return h('span', {class: cls}, l + '\n');
  }));
}

async function rollback(r, root, focus) {
  const res = await modal(`Roll back to revision ${r.revision}`, (close) => {
    const msg = h('input', {type: 'text', id: 'rollback-message', autocomplete: 'off'});
    const out = h('div', {role: 'alert'});
    const go = h('button', {type: 'submit', class: 'danger', id: 'rollback-confirm'}, 'Roll back');
    return h('form', {onsubmit: async (ev) => {
      ev.preventDefault();
      go.disabled = true;
      try {
        close((await call('POST', 'endpoint/rollback', {revision: r.revision, message: msg.value})).data);
      } catch (e) {
        go.disabled = false;
        clear(out, h('p', {class: 'error'}, 'Rollback refused: ' + e.message),
          e.details.length ? h('ul', {}, e.details.map((d) => h('li', {}, [d.name, d.field, d.message].filter(Boolean).join(': ')))) : null);
      }
    }},
    h('p', {}, `Publishes revision ${r.revision}'s records as a new revision (their examples run first); the drafts become that set.`),
    h('label', {for: 'rollback-message'}, 'Message'), msg, out,
    h('div', {class: 'actions'}, go, h('button', {type: 'button', onclick: () => close(null)}, 'Cancel')));
  });
  if (!res) return;
  toast(`Rolled back: revision ${res.revision} now serves revision ${r.revision}'s records.`);
  await revisionsPanel(root, focus);
  refreshBanner();
}
