// The customer (rule) editor shared by the call window (new caller, edit) and the Rules page.
import {api} from './api.js';
import {h, field, message} from './ui.js';

function operatorsText(list) {
  return (Array.isArray(list) ? list : []).filter((x) => x !== '').join(';');
}

function operatorsList(text) {
  return text.split(/[;,\s]+/).map((x) => x.trim()).filter((x) => x !== '');
}

// customerForm({customer, onSaved(customer), onCancel}) — customer with an id is saved with PUT, without with POST.
export function customerForm({customer = {}, onSaved, onCancel, idPrefix = 'customer-edit'}) {
  const c = {project: '', company_id: '', company: '', callers: ['', '', ''], operators: [], street: '', city: '',
             postcode: '', note: '', ...customer};
  const callers = [...(c.callers || []), '', '', ''].slice(0, 3);
  const input = (name, value, attrs = {}) => h('input', {id: `${idPrefix}-${name}`, name, value: value ?? '', ...attrs});

  const inputs = {
    company: input('company', c.company, {required: true}),
    company_id: input('company_id', c.company_id),
    project: input('project', c.project, {inputmode: 'numeric'}),
    caller1: input('caller1', callers[0], {type: 'tel'}),
    caller2: input('caller2', callers[1], {type: 'tel'}),
    caller3: input('caller3', callers[2], {type: 'tel'}),
    operators: input('operators', operatorsText(c.operators)),
    street: input('street', c.street),
    city: input('city', c.city),
    postcode: input('postcode', c.postcode),
    note: h('textarea', {id: `${idPrefix}-note`, name: 'note', rows: '2'}, c.note || ''),
  };
  const error = h('div', {role: 'alert', hidden: true, dataset: {testid: 'customer-form-error'}});
  const save = h('button', {type: 'submit', class: 'button button-primary', id: `${idPrefix}-save`},
                 c.id ? 'Save changes' : 'Save new customer');

  const form = h('form', {class: 'customer-form', id: idPrefix, novalidate: true},
    h('div', {class: 'grid grid-3'},
      field('Company (name)', inputs.company),
      field('Company ID', inputs.company_id),
      field('Project', inputs.project, 'Empty: the rule only identifies the caller (SA group routing)')),
    h('div', {class: 'grid grid-3'},
      field('Calling number 1', inputs.caller1),
      field('Calling number 2', inputs.caller2),
      field('Calling number 3', inputs.caller3)),
    h('div', {class: 'grid grid-3'},
      field('Street', inputs.street),
      field('City', inputs.city),
      field('Postcode', inputs.postcode)),
    h('div', {class: 'grid grid-2'},
      field('Operators', inputs.operators, 'Extensions in order, separated by ;'),
      field('Note', inputs.note)),
    error,
    h('div', {class: 'form-actions'},
      save,
      onCancel ? h('button', {type: 'button', class: 'button', onclick: onCancel}, 'Cancel') : null));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!inputs.company.value.trim()) {
      message(error, 'The company (name) is needed.');
      inputs.company.focus();
      return;
    }
    const body = {
      project: inputs.project.value.trim(),
      company_id: inputs.company_id.value.trim(),
      company: inputs.company.value.trim(),
      callers: [inputs.caller1.value.trim(), inputs.caller2.value.trim(), inputs.caller3.value.trim()],
      operators: operatorsList(inputs.operators.value),
      street: inputs.street.value.trim(),
      city: inputs.city.value.trim(),
      postcode: inputs.postcode.value.trim(),
      note: inputs.note.value,
    };
    save.disabled = true;
    message(error, '');
    try {
      const answer = c.id
        ? await api.put(`/api/customers/${c.id}`, {id: c.id, ...body}, {quiet: true})
        : await api.post('/api/customers', body, {quiet: true});
      onSaved(answer.customer);
    } catch (e) {
      message(error, e.message);
    } finally {
      save.disabled = false;
    }
  });

  form.focusFirst = () => inputs.company.focus();
  return form;
}
