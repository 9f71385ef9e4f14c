// Search the central list by name (company), company ID, city, note or any phone number; paged.
import {api} from '../api.js';
import {h, clear, pageHeader} from '../ui.js';

const LIMIT = 20;

export function render(container, {params}) {
  const q = params.get('q') || '';
  const offset = Math.max(0, parseInt(params.get('offset') || '0', 10) || 0);

  const input = h('input', {id: 'search-q', type: 'search', name: 'q', value: q, autocomplete: 'off',
                            placeholder: 'Company, company ID, city, note or phone number',
                            'aria-label': 'Search for'});
  const form = h('form', {class: 'search-form', role: 'search'},
    input, h('button', {type: 'submit', class: 'button button-primary', id: 'search-submit'}, 'Search'));
  const results = h('div', {id: 'search-results', 'aria-live': 'polite'});
  container.append(pageHeader('Search'), form, results);

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = `#/search?q=${encodeURIComponent(input.value.trim())}&offset=0`;
    if (location.hash === next) load();
    else location.hash = next;
  });

  let alive = true;
  async function load() {
    clear(results).append(h('p', {class: 'muted'}, 'Searching…'));
    let answer;
    try {
      answer = await api.get(`/api/customers?q=${encodeURIComponent(q)}&offset=${offset}&limit=${LIMIT}`);
    } catch (e) {
      if (alive) clear(results).append(h('p', {class: 'message message-error'}, e.message));
      return;
    }
    if (!alive) return;
    clear(results);
    const list = answer.customers || [];
    if (list.length === 0) {
      results.append(h('p', {class: 'empty-line'}, offset > 0 ? 'No more customers.' : 'No customer matches.'));
    } else {
      const rows = list.map((c) => h('tr', {dataset: {customerId: String(c.id)}},
        h('td', {}, h('a', {href: `#/customer/${c.id}`, class: 'result-open'}, c.company || '(no name)')),
        h('td', {}, c.company_id || '–'),
        h('td', {}, c.project || '–'),
        h('td', {}, (c.callers || []).filter(Boolean).join(', ') || '–'),
        h('td', {}, [c.postcode, c.city].filter(Boolean).join(' ') || '–'),
        h('td', {}, (c.operators || []).join(', ') || '–')));
      results.append(h('table', {class: 'table', id: 'search-table'},
        h('thead', {}, h('tr', {}, ['Company', 'Company ID', 'Project', 'Phone numbers', 'City', 'Operators']
          .map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, rows)));
    }
    const from = list.length ? offset + 1 : offset;
    const to = offset + list.length;
    const page = (o) => `#/search?q=${encodeURIComponent(q)}&offset=${o}`;
    results.append(h('div', {class: 'pager'},
      h('span', {class: 'muted'}, list.length ? `${from}–${to}` : ''),
      h('span', {class: 'spacer'}),
      h('button', {type: 'button', class: 'button', id: 'search-prev', disabled: offset === 0,
                   onclick: () => { location.hash = page(Math.max(0, offset - LIMIT)); }}, '← Previous'),
      h('button', {type: 'button', class: 'button', id: 'search-next', disabled: !answer.more,
                   onclick: () => { location.hash = page(offset + LIMIT); }}, 'Next →')));
  }

  load();
  input.focus();
  input.select();
  return () => { alive = false; };
}
