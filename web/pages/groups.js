// SA groups: members, waiting calls, and Join / Leave for the agent's own extension.
import {api} from '../api.js';
import {session, hasCallModule} from '../state.js';
import {h, clear, pageHeader, toast} from '../ui.js';

export function render(container) {
  let alive = true;
  const body = h('div', {id: 'groups', 'aria-live': 'polite'});
  const mine = session.agent ? session.agent.extension : '';
  const join = h('button', {type: 'button', class: 'button button-primary', id: 'groups-join'}, 'Join');
  const leave = h('button', {type: 'button', class: 'button', id: 'groups-leave'}, 'Leave');
  const actions = hasCallModule() ? [join, leave] : [];
  container.append(pageHeader('SA groups', h('span', {class: 'spacer'}), ...actions), body);

  async function change(what, button) {
    button.disabled = true;
    try {
      const answer = await api.post(`/api/groups/${what}`, {});
      toast(what === 'join' ? 'You joined your SA groups.' : 'You left your SA groups.', 'ok');
      if (answer && Array.isArray(answer.groups)) show(answer.groups);
      else load();
    } catch (e) {
      // shown by the wrapper
    } finally {
      button.disabled = false;
    }
  }
  join.addEventListener('click', () => change('join', join));
  leave.addEventListener('click', () => change('leave', leave));

  function show(groups) {
    clear(body);
    if (groups.length === 0) {
      body.append(h('p', {class: 'empty-line'}, 'No SA groups are configured.'));
      return;
    }
    for (const g of groups) {
      const members = g.members || [];
      const joined = members.filter((m) => m.joined).length;
      const me = members.find((m) => m.extension === mine);
      body.append(h('section', {class: 'panel group', dataset: {group: String(g.number)}},
        h('div', {class: 'panel-title'},
          h('h2', {}, `${g.number} ${g.name ? '· ' + g.name : ''}`),
          h('span', {class: 'badge'}, g.distribution || ''),
          h('span', {class: 'muted'}, `${joined} of ${members.length} joined · capacity ${g.capacity ?? '–'} · ` +
                                      `${g.waiting ?? 0} waiting`),
          me ? h('span', {class: `badge ${me.joined ? 'badge-ok' : 'badge-warn'}`, dataset: {testid: 'my-membership'}},
                 me.joined ? 'you are in' : 'you left') : null),
        h('ul', {class: 'members'}, members.map((m) => h('li', {class: m.joined ? 'joined' : 'left'},
          h('span', {class: 'dot', 'aria-hidden': 'true'}), m.extension, m.extension === mine ? ' (you)' : '',
          h('span', {class: 'muted'}, m.joined ? ' joined' : ' left'))))));
    }
  }

  async function load() {
    try {
      const answer = await api.get('/api/groups');
      if (alive) show(answer.groups || []);
    } catch (e) {
      if (alive) clear(body).append(h('p', {class: 'message message-error'}, e.message));
    }
  }

  load();
  return () => { alive = false; };
}
