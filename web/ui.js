// Small DOM helpers shared by the pages: element builder, messages, formatting.

// h('div', {class: 'x', onclick: fn, dataset: {testid: 'y'}}, child, 'text', [more children])
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value') el.value = value;
    else if (key === 'checked') el.checked = !!value;
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// A transient message at the bottom right; errors stay until dismissed or 8 s passed.
export function toast(text, kind = 'info') {
  const box = document.getElementById('toasts');
  if (!box) return;
  const item = h('div', {class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status',
                         dataset: {testid: `toast-${kind}`}},
    h('span', {class: 'toast-text'}, text),
    h('button', {class: 'toast-close', type: 'button', 'aria-label': 'Dismiss', onclick: () => item.remove()}, '×'));
  box.appendChild(item);
  setTimeout(() => item.remove(), kind === 'error' ? 8000 : 4000);
}

// An inline message area (form errors etc.).
export function message(el, text, kind = 'error') {
  clear(el);
  el.className = `message message-${kind}`;
  el.hidden = !text;
  if (text) el.appendChild(document.createTextNode(text));
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h('div', {class: 'field'},
    h('label', {for: id}, label),
    input,
    hint ? h('div', {class: 'hint'}, hint) : null);
}

export function checkbox(label, input) {
  const id = input.id || `c-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h('div', {class: 'field field-check'}, input, h('label', {for: id}, label));
}

export function yesNo(flag) {
  return flag ? 'yes' : 'no';
}

// "2026-11-26 08:03:10" stays as the server wrote it; missing values show as a dash.
export function when(value) {
  return value ? String(value) : '–';
}

export function nowStamp() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

export function download(text, filename, type = 'text/plain') {
  const url = URL.createObjectURL(new Blob([text], {type}));
  const a = h('a', {href: url, download: filename, hidden: true});
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(url); a.remove(); }, 1000);
}

export function pageHeader(title, ...extra) {
  return h('div', {class: 'page-header'}, h('h1', {tabindex: '-1', class: 'page-title'}, title), ...extra);
}
