// The form of one record: its fields, Code, Schema, Code Help, Examples &
// Test and History tabs. Saving sends If-Match; a 412 offers the diff.
import {createTwoFilesPatch} from 'diff';
import {h, clear, toast, modal} from './dom.js';
import {call, get, enc, APIError} from './api.js';
import {makeEditor, positionsIn} from './editor.js';
import {refreshBanner, routesOf, methodsOf} from './main.js';
import {renderHelp} from './help.js';
import {revisionsPanel, renderUnified} from './history.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const BODY_METHODS = ['POST', 'PUT', 'PATCH'];
const CONTENT_TYPES = ['', 'application/json', 'application/xml', 'text/plain', 'text/csv', 'application/x-www-form-urlencoded'];
const TABS = [['fields', 'Fields'], ['code', 'Code'], ['schema', 'Schema'], ['codehelp', 'Code Help'], ['examples', 'Examples & Test'], ['history', 'History']];
const TEMPLATE = 'result = {"payload": {"hello": "world"}}\n';

const lines = (s) => s.split('\n').map((x) => x.trim()).filter(Boolean);
const csv = (s) => s.split(',').map((x) => x.trim()).filter(Boolean);

// editable is the part of a record a write sends.
function editable(rec) {
  const out = {
    name: rec.name || '',
    routes: routesOf(rec),
    request_methods: methodsOf(rec),
    route_group: rec.route_group || '',
    auth_type: rec.auth_type || 'user',
    exec_as_user: rec.exec_as_user || '',
    allowed_roles: rec.allowed_roles || [],
    request_content_type: rec.request_content_type || '',
    request_content_schema: rec.request_content_schema || '',
    exec_mode: rec.exec_mode || 'code',
    code_snippet: rec.code_snippet || '',
    cors_origins: rec.cors_origins || [],
    active: rec.active !== false,
    examples: rec.examples || [],
  };
  return out;
}

export async function showForm(root, name, params) {
  let rec = {request_methods: ['GET'], auth_type: 'user', exec_mode: 'code', active: true, code_snippet: TEMPLATE, routes: [], examples: []};
  let etag = null;
  if (name) {
    const res = await get('endpoint/endpoints/' + enc(name));
    rec = res.data;
    etag = res.etag;
  }
  const isNew = !name;
  const declared = !isNew && rec.declared === true;
  const f = {};
  const errBox = {};
  const fieldErr = (key) => (errBox[key] = h('p', {class: 'field-error', id: 'err-' + key, role: 'alert'}));
  const described = (key) => 'err-' + key;

  const input = (key, label, value, attrs = {}, help) => h('div', {class: 'field'},
    h('label', {for: 'f-' + key}, label),
    f[key] = h('input', {type: 'text', id: 'f-' + key, name: key, value: value || '', autocomplete: 'off', 'aria-describedby': described(key) + (help ? ' help-' + key : ''), ...attrs}),
    help ? h('p', {class: 'help', id: 'help-' + key}, help) : null,
    fieldErr(key));
  const textarea = (key, label, value, help) => h('div', {class: 'field'},
    h('label', {for: 'f-' + key}, label),
    f[key] = h('textarea', {id: 'f-' + key, name: key, rows: 3, 'aria-describedby': described(key) + (help ? ' help-' + key : '')}, value || ''),
    help ? h('p', {class: 'help', id: 'help-' + key}, help) : null,
    fieldErr(key));
  const choice = (key, label, value, options) => h('div', {class: 'field'},
    h('label', {for: 'f-' + key}, label),
    f[key] = h('select', {id: 'f-' + key, name: key, 'aria-describedby': described(key)},
      options.map(([v, t]) => h('option', {value: v, selected: v === value}, t))),
    fieldErr(key));

  const methodBoxes = METHODS.map((m) => h('input', {type: 'checkbox', id: 'm-' + m, value: m, checked: methodsOf(rec).includes(m)}));
  const methodsField = h('fieldset', {class: 'field', 'aria-describedby': described('request_methods')},
    h('legend', {}, 'Methods'),
    h('div', {class: 'checks'}, METHODS.map((m, i) => h('span', {class: 'check'}, methodBoxes[i], h('label', {for: 'm-' + m}, m)))),
    fieldErr('request_methods'));

  const fieldsPanel = h('div', {class: 'grid'},
    // NAME_PATTERN is execmode.NamePattern, put in by build.mjs
    input('name', 'Name', rec.name, {required: true, readonly: !isNew, pattern: NAME_PATTERN}, isNew ? 'Letters, digits, _ . - ; the record\'s key.' : 'The record\'s key: it cannot be renamed.'),
    textarea('routes', 'Routes', routesOf(rec).join('\n'), 'One path a line, e.g. /orders/{id}.'),
    methodsField,
    input('route_group', 'Group', rec.route_group),
    choice('auth_type', 'Auth', rec.auth_type || 'user', [['user', 'user: an authenticated caller'], ['bearer', 'bearer: a Bearer token'], ['public', 'public: no check']]),
    input('exec_as_user', 'Run as user', rec.exec_as_user, {}, 'Required when auth is public.'),
    input('allowed_roles', 'Allowed roles', (rec.allowed_roles || []).join(', '), {}, 'Comma-separated; empty allows any caller.'),
    choice('request_content_type', 'Request content type', rec.request_content_type || '', CONTENT_TYPES.map((t) => [t, t || '(none)'])),
    input('exec_mode', 'Exec mode', rec.exec_mode || 'code'),
    textarea('cors_origins', 'CORS origins', (rec.cors_origins || []).join('\n'), 'One origin a line; * allows any.'),
    h('div', {class: 'field check'}, f.active = h('input', {type: 'checkbox', id: 'f-active', checked: rec.active !== false, 'aria-describedby': described('active')}),
      h('label', {for: 'f-active'}, 'Active (unchecked: archived, not served after the next sync)'), fieldErr('active')),
    h('div', {class: 'field-error wide', id: 'err-general', role: 'alert'}));
  errBox.general = fieldsPanel.querySelector('#err-general');

  // Code
  const codeErrors = h('ul', {class: 'code-errors', id: 'code-errors', 'aria-live': 'polite'});
  const codeHost = h('div', {class: 'editor', id: 'code-editor'});
  const codePanel = h('div', {},
    h('p', {class: 'help', id: 'code-label'}, 'Starlark. It must assign a dict to result. Tab indents; press Esc then Tab to leave the editor. Ctrl+S saves.'),
    codeHost, codeErrors);
  // Schema
  const schemaErrors = h('ul', {class: 'code-errors', id: 'schema-errors', 'aria-live': 'polite'});
  const schemaHost = h('div', {class: 'editor', id: 'schema-editor'});
  const schemaPanel = h('div', {},
    h('p', {class: 'help'}, 'For application/json a JSON Schema (JSON or YAML); for application/xml an XSD. Checked on POST, PUT and PATCH.'),
    schemaHost, schemaErrors);
  // Examples & Test
  const examplesErrors = h('ul', {class: 'code-errors', id: 'examples-errors', 'aria-live': 'polite'});
  const examplesHost = h('div', {class: 'editor small', id: 'examples-editor'});
  const examplesOut = h('div', {id: 'examples-out', 'aria-live': 'polite'});
  const dryOut = h('div', {id: 'dry-out', 'aria-live': 'polite'});
  const dry = {
    method: h('select', {id: 'dry-method'}, METHODS.map((m) => h('option', {value: m, selected: m === methodsOf(rec)[0]}, m))),
    path: h('input', {type: 'text', id: 'dry-path', value: routesOf(rec)[0] || '', autocomplete: 'off'}),
    query: h('textarea', {id: 'dry-query', rows: 2, placeholder: 'name=value, one a line'}),
    headers: h('textarea', {id: 'dry-headers', rows: 2, placeholder: 'Name: value, one a line'}),
    body: h('textarea', {id: 'dry-body', rows: 4}),
  };
  const examplesPanel = h('div', {},
    h('h2', {}, 'Examples'),
    h('p', {class: 'help', id: 'examples-label'}, 'A JSON array of {"name", "request": {...}, "expect": {"status", "headers", "json" | "body"}}. They are saved with the record and must pass before a sync publishes it.'),
    examplesHost, examplesErrors,
    h('div', {class: 'actions'}, h('button', {type: 'button', id: 'run-examples', disabled: isNew, onclick: runExamples}, 'Run the saved examples')),
    examplesOut,
    h('h2', {}, 'Dry run'),
    h('p', {class: 'help'}, 'Runs the saved draft against a request; nothing live is touched.'),
    h('div', {class: 'grid'},
      h('div', {class: 'field'}, h('label', {for: 'dry-method'}, 'Method'), dry.method),
      h('div', {class: 'field'}, h('label', {for: 'dry-path'}, 'Path'), dry.path),
      h('div', {class: 'field'}, h('label', {for: 'dry-query'}, 'Query'), dry.query),
      h('div', {class: 'field'}, h('label', {for: 'dry-headers'}, 'Headers'), dry.headers),
      h('div', {class: 'field wide'}, h('label', {for: 'dry-body'}, 'Body'), dry.body)),
    h('div', {class: 'actions'}, h('button', {type: 'button', id: 'run-dry', disabled: isNew, onclick: runDry}, 'Run')),
    dryOut);
  const helpPanel = h('div', {id: 'codehelp-out'}, h('p', {class: 'muted'}, 'Loading…'));
  const historyPanel = h('div', {id: 'history-out'}, h('p', {class: 'muted'}, 'Loading…'));

  const panels = {fields: fieldsPanel, code: codePanel, schema: schemaPanel, codehelp: helpPanel, examples: examplesPanel, history: historyPanel};
  const tabButtons = {};
  const tablist = h('div', {role: 'tablist', 'aria-label': 'Record sections', class: 'tabs'},
    TABS.map(([key, label]) => tabButtons[key] = h('button', {type: 'button', role: 'tab', id: 'tab-' + key, 'aria-controls': 'panel-' + key, 'aria-selected': 'false', tabindex: '-1', onclick: () => select(key)}, label)));
  tablist.addEventListener('keydown', (ev) => {
    const keys = TABS.map((t) => t[0]);
    const i = keys.indexOf(current);
    let j = null;
    if (ev.key === 'ArrowRight') j = (i + 1) % keys.length;
    else if (ev.key === 'ArrowLeft') j = (i - 1 + keys.length) % keys.length;
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = keys.length - 1;
    if (j === null) return;
    ev.preventDefault();
    select(keys[j]);
    tabButtons[keys[j]].focus();
  });
  const panelEls = TABS.map(([key]) => h('section', {role: 'tabpanel', id: 'panel-' + key, 'aria-labelledby': 'tab-' + key, tabindex: '0', hidden: true}, panels[key]));

  let current = null;
  let loaded = {};
  function select(key) {
    current = key;
    for (const [k] of TABS) {
      tabButtons[k].setAttribute('aria-selected', String(k === key));
      tabButtons[k].tabIndex = k === key ? 0 : -1;
      document.getElementById('panel-' + k).hidden = k !== key;
    }
    if (key === 'codehelp' && !loaded.help) { loaded.help = true; loadHelp(); }
    if (key === 'history' && !loaded.history) { loaded.history = true; loadHistory(); }
  }

  const status = h('p', {class: 'muted', id: 'form-status', 'aria-live': 'polite'});
  const conflictBox = h('div', {id: 'conflict', role: 'alert', hidden: true});
  const saveBtn = h('button', {type: 'submit', id: 'save', class: 'primary', disabled: declared}, 'Save');
  const form = h('form', {id: 'record-form', novalidate: true, onsubmit: (ev) => { ev.preventDefault(); save(); }},
    h('div', {class: 'head'},
      h('h1', {}, isNew ? 'New endpoint' : rec.name),
      isNew ? null : h('span', {class: 'badge ' + (rec.sync_state || ''), id: 'form-state'}, rec.sync_state === 'to_sync' ? 'To sync' : 'In sync'),
      h('div', {class: 'actions'}, saveBtn,
        isNew || declared ? null : h('button', {type: 'button', id: 'delete', class: 'danger', onclick: remove}, 'Delete…'),
        h('a', {href: '#/', class: 'button'}, 'Back to the list'))),
    declared ? h('p', {class: 'note'}, 'Declared in the Caddy config: read-only here.') : null,
    status, conflictBox, tablist, panelEls);
  form.addEventListener('keydown', (ev) => {
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 's') { ev.preventDefault(); save(); }
  });
  clear(root, form);
  const code = makeEditor(codeHost, {doc: rec.code_snippet || '', lang: 'python', label: 'Code snippet', id: 'code-input'});
  const schemaLang = () => (f.request_content_type.value === 'application/xml' ? 'xml' : (/^\s*[{[]/.test(schema.get()) ? 'json' : 'yaml'));
  const schema = makeEditor(schemaHost, {doc: rec.request_content_schema || '', lang: 'yaml', label: 'Request content schema', id: 'schema-input'});
  schema.setLanguage(schemaLang());
  f.request_content_type.addEventListener('change', () => schema.setLanguage(schemaLang()));
  const examples = makeEditor(examplesHost, {doc: JSON.stringify(rec.examples || [], null, 2), lang: 'json', label: 'Examples (JSON array)', id: 'examples-input'});
  const tabFromParams = params && params.get('tab');
  select(TABS.some((t) => t[0] === tabFromParams) ? tabFromParams : 'fields');

  function collect() {
    let ex;
    try {
      ex = JSON.parse(examples.get() || '[]');
    } catch (e) {
      return {error: {field: 'examples', message: 'is not valid JSON: ' + e.message}};
    }
    const routes = lines(f.routes.value);
    const methods = methodBoxes.filter((b) => b.checked).map((b) => b.value);
    const out = {rec: {
      name: f.name.value.trim(),
      // one route or method is written in its single form, which every
      // version of the API accepts
      ...(routes.length === 1 ? {route: routes[0]} : {routes}),
      ...(methods.length === 1 ? {request_method: methods[0]} : {request_methods: methods}),
      route_group: f.route_group.value.trim(),
      auth_type: f.auth_type.value,
      exec_as_user: f.exec_as_user.value.trim(),
      allowed_roles: csv(f.allowed_roles.value),
      request_content_type: f.request_content_type.value,
      request_content_schema: schema.get(),
      exec_mode: f.exec_mode.value.trim() || 'code',
      code_snippet: code.get(),
      cors_origins: lines(f.cors_origins.value),
      active: f.active.checked,
    }};
    if (ex.length || (rec.examples && rec.examples.length)) out.rec.examples = ex;
    return out;
  }

  function clearErrors() {
    for (const el of Object.values(errBox)) clear(el);
    for (const el of Object.values(f)) if (el.removeAttribute) el.removeAttribute('aria-invalid');
    for (const b of Object.values(tabButtons)) b.classList.remove('has-error');
    clear(codeErrors); clear(schemaErrors); clear(examplesErrors);
    code.mark([]); schema.mark([]); examples.mark([]);
    conflictBox.hidden = true;
    clear(conflictBox);
  }

  // showErrors puts each problem at its field, compile errors at their line.
  function showErrors(err) {
    const details = err.details && err.details.length ? err.details : [{message: err.message}];
    const marks = {code_snippet: [], request_content_schema: [], examples: []};
    let firstTab = null;
    for (const d of details) {
      const root = (d.field || '').split(/[.[]/)[0];
      const tab = {code_snippet: 'code', request_content_schema: 'schema', examples: 'examples'}[root] || 'fields';
      firstTab = firstTab || tab;
      tabButtons[tab].classList.add('has-error');
      if (marks[root]) {
        const pos = d.line ? [{line: d.line, column: d.column}] : positionsIn(d.message);
        const list = {code_snippet: codeErrors, request_content_schema: schemaErrors, examples: examplesErrors}[root];
        const ed = {code_snippet: code, request_content_schema: schema, examples}[root];
        if (pos.length === 0) list.append(h('li', {}, d.message));
        for (const p of pos) {
          marks[root].push({...p, message: d.message});
          list.append(h('li', {'data-line': p.line}, h('button', {type: 'button', class: 'link', onclick: () => ed.goTo(p.line)}, `Line ${p.line}${p.column ? ', column ' + p.column : ''}`), ': ' + d.message.replace(/^\s*\d+:\d+:\s*/, '')));
        }
        continue;
      }
      const key = root === 'route' ? 'routes' : root === 'request_method' ? 'request_methods' : root;
      const box = errBox[key] || errBox.general;
      box.append(h('span', {}, (box === errBox.general && d.field ? d.field + ': ' : '') + d.message + ' '));
      if (f[key] && f[key].setAttribute) f[key].setAttribute('aria-invalid', 'true');
    }
    code.mark(marks.code_snippet);
    schema.mark(marks.request_content_schema);
    examples.mark(marks.examples);
    return firstTab;
  }

  async function save() {
    if (declared) return;
    clearErrors();
    const c = collect();
    if (c.error) {
      showErrors({details: [c.error]});
      status.textContent = 'Not saved: fix the marked problems.';
      return;
    }
    saveBtn.disabled = true;
    status.textContent = 'Saving…';
    try {
      const res = isNew
        ? await call('POST', 'endpoint/endpoints', c.rec)
        : await call('PUT', 'endpoint/endpoints/' + enc(rec.name), c.rec, etag ? {'If-Match': etag} : {});
      etag = res.etag;
      rec = res.data;
      toast(`Saved ${rec.name} (version ${rec.version}); publish it with Sync.`);
      status.textContent = `Saved version ${rec.version}. Not served until the next sync.`;
      if (isNew) {
        location.hash = '#/e/' + enc(rec.name) + (current && current !== 'fields' ? '?tab=' + current : '');
        return;
      }
      const badge = document.getElementById('form-state');
      if (badge) { badge.textContent = rec.sync_state === 'to_sync' ? 'To sync' : 'In sync'; badge.className = 'badge ' + rec.sync_state; }
      refreshBanner();
    } catch (e) {
      if (!(e instanceof APIError)) throw e;
      if (e.status === 412) {
        status.textContent = 'Not saved: the record changed elsewhere.';
        await conflict(c.rec);
        return;
      }
      const tab = showErrors(e);
      status.textContent = `Not saved: ${e.message}`;
      if (tab && tab !== current) select(tab);
    } finally {
      saveBtn.disabled = declared;
    }
  }

  // conflict explains a 412 and offers the difference and the choices.
  async function conflict(mine) {
    let theirs = null, theirEtag = null;
    try {
      const r = await get('endpoint/endpoints/' + enc(rec.name));
      theirs = r.data; theirEtag = r.etag;
    } catch (e) {
      clear(conflictBox, h('p', {class: 'error'}, 'The record changed elsewhere, and reading it failed: ' + e.message));
      conflictBox.hidden = false;
      return;
    }
    const patch = createTwoFilesPatch('theirs (version ' + theirs.version + ')', 'yours', asText(editable(theirs)), asText(editable(mine)), '', '', {context: 3});
    const diffBox = h('div', {id: 'conflict-diff', hidden: true}, renderUnified(patch));
    clear(conflictBox,
      h('p', {}, h('strong', {}, 'This record was changed elsewhere'), ` since you opened it (it is now version ${theirs.version}). Your changes are not saved.`),
      h('div', {class: 'actions'},
        h('button', {type: 'button', id: 'conflict-show', onclick: () => { diffBox.hidden = !diffBox.hidden; }}, 'Show the differences'),
        h('button', {type: 'button', id: 'conflict-theirs', onclick: () => route(theirs.name)}, 'Load their version'),
        h('button', {type: 'button', id: 'conflict-mine', class: 'danger', onclick: () => { etag = theirEtag; save(); }}, 'Save mine over theirs')),
      diffBox);
    conflictBox.hidden = false;
    conflictBox.querySelector('button').focus();
  }

  function route(n) {
    if (location.hash === '#/e/' + enc(n)) window.dispatchEvent(new HashChangeEvent('hashchange'));
    else location.hash = '#/e/' + enc(n);
  }

  async function remove() {
    const ok = await modal('Delete ' + rec.name + '?', (close) => h('div', {},
      h('p', {}, 'The draft is deleted now; the live endpoint keeps answering until the next sync publishes the deletion.'),
      h('div', {class: 'actions'}, h('button', {type: 'button', class: 'danger', id: 'delete-confirm', onclick: () => close(true)}, 'Delete'),
        h('button', {type: 'button', onclick: () => close(false)}, 'Cancel'))));
    if (!ok) return;
    try {
      await call('DELETE', 'endpoint/endpoints/' + enc(rec.name), undefined, etag ? {'If-Match': etag} : {});
      toast(`Deleted ${rec.name}; publish the deletion with Sync.`);
      location.hash = '#/';
    } catch (e) {
      if (e.status === 412) { await conflict(collect().rec || editable(rec)); return; }
      status.textContent = 'Not deleted: ' + e.message;
    }
  }

  async function runExamples() {
    clear(examplesOut, h('p', {class: 'muted'}, 'Running…'));
    try {
      const res = (await call('POST', 'endpoint/endpoints/' + enc(rec.name) + '/test', {examples: true})).data || [];
      if (!res.length) { clear(examplesOut, h('p', {}, 'The saved draft has no examples.')); return; }
      clear(examplesOut, h('table', {class: 'results', id: 'examples-results'},
        h('thead', {}, h('tr', {}, ['Example', 'Result', 'Expected', 'Got'].map((c) => h('th', {scope: 'col'}, c)))),
        h('tbody', {}, res.map((x) => h('tr', {class: x.passed ? 'pass' : 'fail'},
          h('td', {}, x.name), h('td', {}, x.passed ? 'passed' : 'failed'),
          h('td', {}, h('pre', {}, pretty(x.expected))), h('td', {}, h('pre', {}, pretty(x.got))))))));
    } catch (e) {
      clear(examplesOut, h('p', {class: 'error', role: 'alert'}, 'Running the examples failed: ' + e.message));
    }
  }

  async function runDry() {
    const req = {method: dry.method.value, path: dry.path.value.trim()};
    const q = {};
    for (const l of lines(dry.query.value)) { const i = l.indexOf('='); q[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1); }
    const hd = {};
    for (const l of lines(dry.headers.value)) { const i = l.indexOf(':'); if (i > 0) hd[l.slice(0, i).trim()] = l.slice(i + 1).trim(); }
    if (Object.keys(q).length) req.query = q;
    if (Object.keys(hd).length) req.headers = hd;
    if (dry.body.value) req.body = dry.body.value;
    clear(dryOut, h('p', {class: 'muted'}, 'Running…'));
    try {
      const r = (await call('POST', 'endpoint/endpoints/' + enc(rec.name) + '/test', req)).data;
      clear(dryOut, h('dl', {class: 'dry'},
        h('dt', {}, 'Status'), h('dd', {id: 'dry-status'}, String(r.status)),
        h('dt', {}, 'Headers'), h('dd', {}, h('pre', {}, Object.entries(r.headers || {}).map(([k, v]) => k + ': ' + v).join('\n'))),
        h('dt', {}, 'Body'), h('dd', {}, h('pre', {id: 'dry-body-out'}, r.body || '')),
        r.error ? [h('dt', {}, 'Error'), h('dd', {class: 'error'}, r.error)] : null,
        h('dt', {}, 'Logs'), h('dd', {}, h('pre', {}, (r.logs || []).map((l) => `[${l.level || 'info'}] ${l.message || l.msg || JSON.stringify(l)}`).join('\n'))),
        h('dt', {}, 'Steps'), h('dd', {}, String(r.steps ?? ''))));
    } catch (e) {
      clear(dryOut, h('p', {class: 'error', role: 'alert'}, 'The dry run failed: ' + e.message));
    }
  }

  async function loadHelp() {
    try {
      renderHelp(helpPanel, (await get('endpoint/help?exec_mode=' + enc(f.exec_mode.value.trim() || 'code'))).data);
    } catch (e) {
      clear(helpPanel, h('p', {class: 'error'}, 'Loading the help failed: ' + e.message));
    }
  }

  async function loadHistory() {
    await revisionsPanel(historyPanel, rec.name || null);
  }
}

// asText lays a record out for a line diff: one field a line, code and
// schema verbatim.
function asText(rec) {
  const out = [];
  for (const [k, v] of Object.entries(rec)) {
    if (k === 'code_snippet' || k === 'request_content_schema' || k === 'examples') continue;
    out.push(k + ': ' + JSON.stringify(v));
  }
  out.push('', '# code_snippet', rec.code_snippet || '', '# request_content_schema', rec.request_content_schema || '', '# examples', pretty(rec.examples || []));
  return out.join('\n') + '\n';
}

function pretty(v) {
  if (v === undefined) return '';
  return typeof v === 'string' ? v : JSON.stringify(v, null, 2) + '\n';
}
