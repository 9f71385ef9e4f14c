// Agents (administrators): list, add, change flags / extension / group / role, set a password, remove.
import {api} from '../api.js';
import {session} from '../state.js';
import {h, clear, pageHeader, field, checkbox, message, toast, when} from '../ui.js';

function dialog(title, content, onClose) {
  const box = h('dialog', {class: 'dialog', 'aria-label': title},
    h('div', {class: 'dialog-head'}, h('h2', {}, title),
      h('button', {type: 'button', class: 'button button-quiet', 'aria-label': 'Close', onclick: () => box.close()}, '×')),
    content);
  box.addEventListener('close', () => { box.remove(); if (onClose) onClose(); });
  document.body.appendChild(box);
  box.showModal();
  return box;
}

function agentForm(agent, {onDone}) {
  const isNew = !agent;
  const a = agent || {name: '', extension: '', role: 'agent', may_edit_central_list: false, may_edit_own_list: false,
                      call_module: true, group: ''};
  const name = h('input', {id: 'agent-name', value: a.name, required: true, autocomplete: 'off', disabled: !isNew});
  const extension = h('input', {id: 'agent-extension', value: a.extension, inputmode: 'numeric', required: true});
  const role = h('select', {id: 'agent-role'},
    h('option', {value: 'agent', selected: a.role === 'agent'}, 'agent'),
    h('option', {value: 'administrator', selected: a.role === 'administrator'}, 'administrator'));
  const group = h('input', {id: 'agent-group', value: a.group || '', inputmode: 'numeric'});
  const central = h('input', {type: 'checkbox', id: 'agent-central', checked: a.may_edit_central_list});
  const own = h('input', {type: 'checkbox', id: 'agent-own', checked: a.may_edit_own_list});
  const callModule = h('input', {type: 'checkbox', id: 'agent-call-module', checked: a.call_module});
  const password = h('input', {id: 'agent-password', type: 'password', autocomplete: 'new-password', required: isNew});
  const error = h('div', {role: 'alert', hidden: true});
  const save = h('button', {type: 'submit', class: 'button button-primary', id: 'agent-save'}, isNew ? 'Add agent' : 'Save');
  const form = h('form', {class: 'agent-form', novalidate: true},
    h('div', {class: 'grid grid-2'}, field('Name', name), field('Extension', extension)),
    h('div', {class: 'grid grid-2'}, field('Role', role), field('SA group', group, 'Number of the agent\'s SA group, or empty')),
    h('fieldset', {class: 'flags'}, h('legend', {}, 'Permissions'),
      checkbox('Call module (takes calls: pops, notes, missed calls, SA group)', callModule),
      checkbox('May edit the central list (customers and rules)', central),
      checkbox('May edit own list', own)),
    isNew ? field('Password', password) : null,
    error,
    h('div', {class: 'form-actions'}, save));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = {extension: extension.value.trim(), role: role.value, group: group.value.trim(),
                  may_edit_central_list: central.checked, may_edit_own_list: own.checked, call_module: callModule.checked};
    if (isNew) {
      if (!name.value.trim() || !password.value) {
        message(error, 'Name and password are needed.');
        return;
      }
      body.name = name.value.trim();
      body.password = password.value;
    }
    save.disabled = true;
    try {
      const answer = isNew ? await api.post('/api/agents', body, {quiet: true})
                           : await api.patch(`/api/agents/${encodeURIComponent(a.name)}`, body, {quiet: true});
      toast(isNew ? `Agent ${answer.agent ? answer.agent.name : body.name} added.` : `Agent ${a.name} saved.`, 'ok');
      onDone();
    } catch (e) {
      message(error, e.message);
    } finally {
      save.disabled = false;
    }
  });
  setTimeout(() => (isNew ? name : extension).focus(), 0);
  return form;
}

function passwordForm(agent, {onDone}) {
  const password = h('input', {id: 'agent-new-password', type: 'password', autocomplete: 'new-password'});
  const again = h('input', {id: 'agent-new-password-again', type: 'password', autocomplete: 'new-password'});
  const error = h('div', {role: 'alert', hidden: true});
  const form = h('form', {novalidate: true}, field('New password', password), field('Again', again), error,
    h('div', {class: 'form-actions'}, h('button', {type: 'submit', class: 'button button-primary'}, 'Set password')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!password.value) { message(error, 'Enter the new password.'); return; }
    if (password.value !== again.value) { message(error, 'The two passwords differ.'); return; }
    try {
      await api.patch(`/api/agents/${encodeURIComponent(agent.name)}`, {password: password.value}, {quiet: true});
      toast(`Password of ${agent.name} changed.`, 'ok');
      onDone();
    } catch (e) {
      message(error, e.message);
    }
  });
  setTimeout(() => password.focus(), 0);
  return form;
}

function flag(on, label, title) {
  return on ? h('span', {class: 'badge', title}, label) : null;
}

export function render(container) {
  let alive = true;
  const list = h('div', {id: 'agents-list'});
  const add = h('button', {type: 'button', class: 'button button-primary', id: 'agent-add'}, 'Add agent');
  container.append(pageHeader('Agents', h('span', {class: 'spacer'}), add), list);

  add.addEventListener('click', () => {
    let box;
    box = dialog('Add agent', agentForm(null, {onDone: () => { box.close(); load(); }}));
  });

  async function remove(agent) {
    if (!window.confirm(`Remove agent ${agent.name}? Its notes stay.`)) return;
    try {
      await api.del(`/api/agents/${encodeURIComponent(agent.name)}`);
      toast(`Agent ${agent.name} removed.`, 'ok');
      load();
    } catch (e) {
      // shown by the wrapper
    }
  }

  async function load() {
    let answer;
    try {
      answer = await api.get('/api/agents');
    } catch (e) {
      if (alive) clear(list).append(h('p', {class: 'message message-error'}, e.message));
      return;
    }
    if (!alive) return;
    clear(list);
    const agents = answer.agents || [];
    list.append(h('table', {class: 'table', id: 'agents-table'},
      h('thead', {}, h('tr', {}, ['Name', 'Extension', 'Role', 'Permissions', 'Group', 'Last IP', 'Start', 'Stop', ''].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, agents.map((a) => h('tr', {dataset: {agent: a.name}},
        h('td', {}, h('strong', {}, a.name), ' ',
          a.logged_in ? h('span', {class: 'badge badge-ok'}, 'logged in') : null),
        h('td', {}, a.extension || '–'),
        h('td', {}, a.role),
        h('td', {class: 'flags-cell wrap'},
          flag(a.call_module, 'call module', 'Takes calls: pops, notes, missed calls, SA group'),
          flag(a.may_edit_central_list, 'central list', 'May edit the central list (customers and rules)'),
          flag(a.may_edit_own_list, 'own list', 'May edit its own list')),
        h('td', {}, a.group || '–'),
        h('td', {}, a.last_ip || '–'),
        h('td', {}, when(a.start)),
        h('td', {}, when(a.stop)),
        h('td', {class: 'cell-actions'},
          h('button', {type: 'button', class: 'button button-small', onclick: () => {
            let box;
            box = dialog(`Edit ${a.name}`, agentForm(a, {onDone: () => { box.close(); load(); }}));
          }}, 'Edit'),
          h('button', {type: 'button', class: 'button button-small', onclick: () => {
            let box;
            box = dialog(`Password of ${a.name}`, passwordForm(a, {onDone: () => box.close()}));
          }}, 'Password'),
          h('button', {type: 'button', class: 'button button-small button-danger', disabled: session.agent && a.name === session.agent.name,
                       title: session.agent && a.name === session.agent.name ? 'You cannot remove yourself' : null,
                       onclick: () => remove(a)}, 'Remove')))))));
  }

  load();
  return () => { alive = false; };
}
