// h builds an element: h('a', {href: '#/', class: 'x', onclick: f}, 'text', child).
// Text is always set as text, never parsed as HTML.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled' || k === 'hidden') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let toastTimer;
// toast tells the outcome of an action in a polite live region.
export function toast(text, kind = 'ok') {
  const el = document.getElementById('toast');
  el.hidden = false;
  el.className = 'toast show ' + kind;
  el.textContent = text;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = 'toast'; }, 6000);
}

// modal shows the shared <dialog> with a title and a body; it resolves with
// the value passed to close(), or null on Escape / Cancel.
export function modal(title, build) {
  const dlg = document.getElementById('dialog');
  return new Promise((resolve) => {
    let done = false;
    const close = (v) => {
      if (done) return;
      done = true;
      dlg.close();
      resolve(v);
    };
    clear(dlg, h('h2', {id: 'dialog-title'}, title), build(close));
    dlg.addEventListener('close', () => close(null), {once: true});
    dlg.showModal();
    const first = dlg.querySelector('[autofocus], input, textarea, select, button');
    if (first) first.focus();
  });
}

export function fmtTime(s) {
  if (!s) return '';
  const d = new Date(s);
  return isNaN(d) ? s : d.toLocaleString();
}

export function plural(n, word) {
  return n + ' ' + word + (n === 1 ? '' : 's');
}
