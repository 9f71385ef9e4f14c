// Missed calls: the agent's unanswered calls with a Done button (administrators may see everybody's).
import {api} from '../api.js';
import {isAdmin} from '../state.js';
import {h, clear, pageHeader, when} from '../ui.js';

export function render(container) {
  let all = false;
  let alive = true;
  const list = h('div', {id: 'missed-list', 'aria-live': 'polite'});
  const refresh = h('button', {type: 'button', class: 'button', id: 'missed-refresh', onclick: () => load()}, 'Refresh');
  const allBox = isAdmin()
    ? h('label', {class: 'inline-check'},
        h('input', {type: 'checkbox', id: 'missed-all', onchange: (e) => { all = e.target.checked; load(); }}),
        ' Everybody\'s')
    : null;
  container.append(pageHeader('Missed calls', h('span', {class: 'spacer'}), allBox, refresh), list);

  async function done(item, button) {
    button.disabled = true;
    try {
      await api.post(`/api/missed/${item.id}/done`, {});
      await load();
    } catch (e) {
      button.disabled = false;
    }
  }

  async function load() {
    let answer;
    try {
      answer = await api.get(`/api/missed${all ? '?all=1' : ''}`);
    } catch (e) {
      if (alive) clear(list).append(h('p', {class: 'message message-error'}, e.message));
      return;
    }
    if (!alive) return;
    clear(list);
    const items = (answer.missed || []).slice().sort((a, b) => (a.done - b.done) || String(b.at).localeCompare(String(a.at)));
    if (items.length === 0) {
      list.append(h('p', {class: 'empty-line'}, 'No missed calls.'));
      return;
    }
    list.append(h('table', {class: 'table', id: 'missed-table'},
      h('thead', {}, h('tr', {}, ['When', 'Number called', 'Caller', 'Agent', 'Customer', ''].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, items.map((m) => {
        const button = h('button', {type: 'button', class: 'button button-small', dataset: {missedId: String(m.id)}},
                         'Done');
        button.addEventListener('click', () => done(m, button));
        return h('tr', {class: m.done ? 'row-done' : null, dataset: {missedId: String(m.id)}},
          h('td', {}, when(m.at)),
          h('td', {}, m.number || '–'),
          h('td', {}, m.caller || 'withheld'),
          h('td', {}, m.agent_extension || '–'),
          h('td', {}, m.customer_id ? h('a', {href: `#/customer/${m.customer_id}`}, `customer ${m.customer_id}`) : '–'),
          h('td', {class: 'cell-actions'}, m.done ? h('span', {class: 'badge badge-ok'}, 'done') : button));
      }))));
  }

  load();
  return () => { alive = false; };
}
