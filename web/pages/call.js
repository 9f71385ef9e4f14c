// The call window (the seed's client-record window): the customer's card on top, the history in the middle,
// the note for the current call at the bottom. Shows the last screen pop (#/call) or a customer opened from
// the search (#/customer/ID, no call). New notes from any console arrive over the WebSocket.
import {api} from '../api.js';
import * as events from '../events.js';
import {current, mayEditCentral, hasCallModule, session} from '../state.js';
import {customerForm} from '../customer-form.js';
import {h, clear, toast, when} from '../ui.js';

function sortNotes(list) {
  return list.sort((a, b) => {
    const x = String(b.saved_at || ''), y = String(a.saved_at || '');
    if (x !== y) return x < y ? -1 : 1;
    return (b.id || 0) - (a.id || 0);
  });
}

export function render(container, {customerId}) {
  const fromSearch = Number.isInteger(customerId);
  const pop = fromSearch ? null : current.pop;
  const view = {
    call: pop ? pop.call : null,
    customer: pop ? pop.customer : null,
    notes: new Map(),
  };
  if (pop) for (const n of pop.notes || []) if (n && n.id !== undefined) view.notes.set(n.id, n);

  const root = h('section', {id: 'call-window', class: 'call-window', dataset: {testid: 'call-window'},
                             'aria-label': 'Call window'});
  container.appendChild(root);

  const unsubscribe = events.on('note', (message) => {
    const note = message.note;
    if (!note || !view.customer || note.customer_id !== view.customer.id) return;
    addNote(note);
  });

  function addNote(note) {
    if (view.notes.has(note.id)) return;
    view.notes.set(note.id, note);
    view.fresh = note.id;
    if (pop && pop === current.pop && view.customer && pop.customer && pop.customer.id === note.customer_id) {
      if (!pop.notes.some((n) => n.id === note.id)) pop.notes.push(note);
    }
    renderHistory();
  }

  // ---- layout
  const strip = h('div', {class: 'call-strip', id: 'call-info', dataset: {testid: 'call-info'}});
  const card = h('section', {class: 'panel customer-card', id: 'customer-card', 'aria-label': 'Customer'});
  const historyList = h('ul', {id: 'history', class: 'history-list', dataset: {testid: 'history'}});
  const historyCount = h('span', {class: 'muted', id: 'history-count'});
  const history = h('section', {class: 'panel history', 'aria-label': 'History'},
    h('div', {class: 'panel-title'}, h('h2', {}, 'History'), historyCount),
    h('div', {class: 'history-scroll'}, historyList));
  const editor = h('section', {class: 'panel note-editor', 'aria-label': 'Note for this call'});
  root.append(strip, card, history, editor);

  function renderStrip() {
    clear(strip);
    if (view.call) {
      const c = view.call;
      strip.className = 'call-strip call-strip-active';
      strip.append(
        h('span', {class: 'pop-icon', 'aria-hidden': 'true'}, '☎'),
        h('span', {}, 'Call from ', h('strong', {id: 'call-caller'}, c.caller || 'withheld number')),
        c.dialled ? h('span', {}, ' to ', h('strong', {}, c.dialled)) : null,
        c.device ? h('span', {class: 'muted'}, ` at ext. ${c.device}`) : null,
        h('span', {class: 'spacer'}),
        h('span', {class: 'muted', id: 'call-at'}, when(c.at)));
    } else if (fromSearch) {
      strip.className = 'call-strip';
      strip.append(h('span', {}, 'Customer record — no call'),
        h('span', {class: 'spacer'}),
        h('a', {href: '#/search', class: 'button button-small'}, 'Back to search'));
    } else {
      strip.className = 'call-strip';
      strip.append(h('span', {}, 'Waiting for calls'));
    }
  }

  function detail(label, id, value) {
    return [h('dt', {}, label), h('dd', {id}, value === '' || value === null || value === undefined ? '–' : value)];
  }

  function renderCard() {
    clear(card);
    const c = view.customer;
    if (!c && !view.call) {
      card.classList.add('customer-card-empty');
      card.append(h('div', {class: 'empty'},
        h('h1', {class: 'page-title', tabindex: '-1'}, 'No call yet'),
        h('p', {}, session.agent && session.agent.extension
          ? `When a call rings at your extension ${session.agent.extension}, the caller's card opens here.`
          : 'When a call rings at your extension, the caller\'s card opens here.'),
        h('p', {}, h('a', {href: '#/search'}, 'Search the customers'), ' to look at a record without a call.')));
      return;
    }
    card.classList.remove('customer-card-empty');
    if (!c) {
      renderUnknown();
      return;
    }
    const address = [c.street, [c.postcode, c.city].filter(Boolean).join(' ')].filter(Boolean).join(', ');
    const callers = (c.callers || []).filter((x) => x);
    const operators = (c.operators || []).filter((x) => x);
    const edit = mayEditCentral()
      ? h('button', {type: 'button', class: 'button button-small', id: 'customer-edit-button',
                     onclick: () => renderEdit()}, 'Edit')
      : null;
    card.append(
      h('div', {class: 'card-head'},
        h('h1', {id: 'customer-company', class: 'customer-company', tabindex: '-1',
                 dataset: {testid: 'customer-company'}}, c.company || '(no name)'),
        h('span', {class: 'badge', id: 'customer-company-id', title: 'Company ID'}, c.company_id || 'no company ID'),
        c.project ? h('span', {class: 'badge badge-project', title: 'Project'}, `project ${c.project}`) :
          h('span', {class: 'badge badge-project', title: 'Routed by the SA group'}, 'no project'),
        h('span', {class: 'spacer'}),
        h('span', {class: 'muted'}, `customer ${c.id}`),
        edit),
      h('dl', {class: 'details'},
        detail('Address', 'customer-address', address),
        detail('Callers', 'customer-callers', callers.join(' · ')),
        detail('Operators', 'customer-operators', operators.join(' → ')),
        detail('Note', 'customer-note', c.note || '')));
  }

  function renderEdit() {
    clear(card);
    const form = customerForm({
      customer: view.customer,
      onSaved: (saved) => {
        view.customer = saved;
        if (pop && pop === current.pop) pop.customer = saved;
        toast('Customer saved.', 'ok');
        renderAll();
      },
      onCancel: () => renderCard(),
    });
    card.append(h('div', {class: 'panel-title'}, h('h2', {}, 'Edit customer')), form);
    form.focusFirst();
  }

  function renderUnknown() {
    const caller = view.call ? view.call.caller : '';
    if (mayEditCentral()) {
      const form = customerForm({
        customer: {callers: [caller || '', '', ''], project: view.call ? view.call.dialled || '' : ''},
        idPrefix: 'new-customer',
        onSaved: (saved) => {
          view.customer = saved;
          if (pop && pop === current.pop) pop.customer = saved;
          events.watch(saved.id);
          toast('Customer saved to the central list.', 'ok');
          renderAll();
        },
      });
      card.append(
        h('div', {class: 'card-head'},
          h('h1', {id: 'customer-company', class: 'customer-company unknown', tabindex: '-1',
                   dataset: {testid: 'customer-company'}}, 'Unknown caller'),
          h('span', {class: 'muted'}, caller ? `${caller} is not in the central list: fill in the card and save it.`
                                             : 'The caller withheld the number.')),
        form);
    } else {
      card.append(
        h('div', {class: 'card-head'},
          h('h1', {id: 'customer-company', class: 'customer-company unknown', tabindex: '-1',
                   dataset: {testid: 'customer-company'}}, 'Unknown caller')),
        h('p', {class: 'muted'}, caller ? `${caller} is not in the central list. ` : 'The caller withheld the number. ',
          'You may not add customers; an agent allowed to edit the central list can.'));
    }
  }

  function renderHistory() {
    clear(historyList);
    const notes = sortNotes([...view.notes.values()]);
    historyCount.textContent = view.customer ? `${notes.length} record${notes.length === 1 ? '' : 's'}` : '';
    if (!view.customer) {
      historyList.appendChild(h('li', {class: 'history-empty'}, 'No customer, no history.'));
      return;
    }
    if (notes.length === 0) {
      historyList.appendChild(h('li', {class: 'history-empty'}, 'No records about this customer yet.'));
      return;
    }
    for (const n of notes) {
      historyList.appendChild(h('li', {class: n.id === view.fresh ? 'note note-new' : 'note', dataset: {noteId: String(n.id)}},
        h('div', {class: 'note-meta'},
          h('span', {title: 'Saved at'}, h('span', {class: 'label'}, 'saved '), when(n.saved_at)),
          h('span', {title: 'Time of the call'}, h('span', {class: 'label'}, 'call '), when(n.call_at)),
          h('span', {title: 'Operator (extension) who wrote it'}, h('span', {class: 'label'}, 'operator '),
            n.operator || '–', n.agent ? ` (${n.agent})` : '')),
        h('div', {class: 'note-text'}, n.text)));
    }
  }

  function renderEditor() {
    clear(editor);
    if (!view.customer) {
      editor.append(h('p', {class: 'muted'}, view.call ? 'Save the customer first to write a record about this call.'
                                                        : 'Records are written about a customer.'));
      return;
    }
    if (!hasCallModule()) {
      editor.append(h('p', {class: 'muted'}, 'Writing records needs the call module on your account.'));
      return;
    }
    const text = h('textarea', {id: 'note-text', class: 'note-input', rows: '3', dataset: {testid: 'note-text'},
                                'aria-describedby': 'note-hint',
                                placeholder: view.call ? 'What was this call about?' : 'A record about this customer'});
    const send = h('button', {id: 'note-send', class: 'button button-primary', type: 'button',
                              dataset: {testid: 'note-send'}}, 'Send');
    const label = view.call
      ? `Record for the call from ${view.call.caller || 'a withheld number'} at ${when(view.call.at)}`
      : 'Record without a call';
    let sending = false;
    async function submit() {
      const value = text.value.trim();
      if (!value || sending) return;
      sending = true;
      send.disabled = true;
      const body = {text: value};
      if (view.call && view.call.at) body.call_at = view.call.at;
      try {
        const answer = await api.post(`/api/customers/${view.customer.id}/notes`, body);
        if (answer && answer.note) addNote(answer.note);
        text.value = '';
      } catch (e) {
        // the wrapper showed the server's sentence; the text stays for another try
      } finally {
        sending = false;
        send.disabled = false;
        text.focus();
      }
    }
    text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        submit();
      }
    });
    send.addEventListener('click', submit);
    editor.append(
      h('label', {for: 'note-text', class: 'editor-label'}, label),
      h('div', {class: 'editor-row'}, text, send),
      h('div', {class: 'hint', id: 'note-hint'}, h('kbd', {}, 'Enter'), ' sends · ', h('kbd', {}, 'Shift+Enter'),
        ' new line'));
  }

  function renderAll() {
    root.dataset.customerId = view.customer ? String(view.customer.id) : '';
    root.dataset.callId = view.call ? String(view.call.id ?? '') : '';
    renderStrip();
    renderCard();
    renderHistory();
    renderEditor();
  }

  function focusStart() {
    const note = document.getElementById('note-text');
    if (view.call && note) note.focus();
    else {
      const title = document.getElementById('customer-company') || root.querySelector('.page-title');
      if (title) title.focus();
    }
  }

  if (fromSearch) {
    root.classList.add('loading');
    renderStrip();
    api.get(`/api/customers/${customerId}`).then((answer) => {
      view.customer = answer.customer;
      for (const n of answer.notes || []) view.notes.set(n.id, n);
      events.watch(view.customer.id);
      root.classList.remove('loading');
      renderAll();
      focusStart();
    }).catch((e) => {
      root.classList.remove('loading');
      clear(card).append(h('div', {class: 'empty'}, h('h1', {}, 'Customer not available'), h('p', {}, e.message)));
    });
  } else {
    events.watch(view.customer ? view.customer.id : null);
    renderAll();
    focusStart();
  }

  return () => {
    unsubscribe();
    events.watch(null);
  };
}
