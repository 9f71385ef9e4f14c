// Rules (central list): edit, add or remove a customer; import a rules file (all or nothing, every problem
// line shown); export the rules and the history.
import {api, request} from '../api.js';
import {customerForm} from '../customer-form.js';
import {h, clear, pageHeader, field, checkbox, message, toast} from '../ui.js';

export function render(container) {
  let alive = true;

  // ---- customers
  const q = h('input', {id: 'rules-q', type: 'search', placeholder: 'Company, company ID or phone number',
                        'aria-label': 'Find a customer to edit'});
  const found = h('div', {id: 'rules-found'});
  const editor = h('div', {id: 'rules-editor'});
  const newButton = h('button', {type: 'button', class: 'button', id: 'rules-new'}, 'New customer');
  const findForm = h('form', {class: 'search-form', role: 'search'}, q,
    h('button', {type: 'submit', class: 'button button-primary'}, 'Find'), newButton);

  function edit(customer) {
    clear(editor);
    const form = customerForm({
      customer,
      idPrefix: 'rules-edit',
      onSaved: (saved) => {
        toast(`Customer ${saved.id} saved.`, 'ok');
        clear(editor);
        if (q.value.trim()) find();
      },
      onCancel: () => clear(editor),
    });
    editor.append(h('h3', {}, customer && customer.id ? `Customer ${customer.id}` : 'New customer'), form);
    form.focusFirst();
  }
  newButton.addEventListener('click', () => edit({}));

  async function remove(customer) {
    if (!window.confirm(`Remove the rule of ${customer.company}? Its notes stay.`)) return;
    try {
      await api.del(`/api/customers/${customer.id}`);
      toast(`Customer ${customer.id} removed.`, 'ok');
      clear(editor);
      find();
    } catch (e) {
      // shown by the wrapper
    }
  }

  async function find() {
    let answer;
    try {
      answer = await api.get(`/api/customers?q=${encodeURIComponent(q.value.trim())}&offset=0&limit=10`);
    } catch (e) {
      return;
    }
    if (!alive) return;
    clear(found);
    const list = answer.customers || [];
    if (list.length === 0) {
      found.append(h('p', {class: 'empty-line'}, 'No customer matches.'));
      return;
    }
    found.append(h('table', {class: 'table table-compact'},
      h('tbody', {}, list.map((c) => h('tr', {},
        h('td', {}, h('strong', {}, c.company)),
        h('td', {}, c.company_id || '–'),
        h('td', {}, c.project || 'no project'),
        h('td', {}, (c.callers || []).filter(Boolean).join(', ')),
        h('td', {class: 'cell-actions'},
          h('button', {type: 'button', class: 'button button-small', onclick: () => edit(c)}, 'Edit'),
          h('button', {type: 'button', class: 'button button-small button-danger', onclick: () => remove(c)}, 'Remove')))))),
      answer.more ? h('p', {class: 'muted'}, 'More customers match: narrow the search.') : null);
  }
  findForm.addEventListener('submit', (event) => { event.preventDefault(); find(); });

  // ---- import
  const file = h('input', {id: 'import-file', type: 'file', accept: '.csv,text/csv,text/plain'});
  const importProject = h('input', {id: 'import-project', inputmode: 'numeric', placeholder: 'all projects'});
  const replace = h('input', {id: 'import-replace', type: 'checkbox'});
  const importButton = h('button', {type: 'submit', class: 'button button-primary', id: 'import-submit'}, 'Import');
  const importResult = h('div', {id: 'import-result', role: 'status', hidden: true});
  const problems = h('div', {id: 'import-problems'});
  const importForm = h('form', {class: 'import-form', novalidate: true},
    h('div', {class: 'grid grid-3'},
      field('Rules file (CSV, ; separated, UTF-8)', file),
      field('Project', importProject, 'Only this project: rows must belong to it'),
      h('div', {}, checkbox('Replace: delete the rules the file does not name (notes stay)', replace))),
    h('div', {class: 'form-actions'}, importButton), importResult, problems);

  importForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clear(problems);
    message(importResult, '');
    const chosen = file.files && file.files[0];
    if (!chosen) {
      message(importResult, 'Choose a rules file first.');
      file.focus();
      return;
    }
    const params = new URLSearchParams();
    if (importProject.value.trim()) params.set('project', importProject.value.trim());
    params.set('replace', replace.checked ? '1' : '0');
    importButton.disabled = true;
    try {
      const r = await request('POST', `/api/rules/import?${params}`, {body: chosen, contentType: 'text/csv', quiet: true});
      message(importResult, `Imported ${chosen.name}: ${r.added} added, ${r.updated} updated, ${r.unchanged} unchanged, ` +
                            `${r.removed} removed.`, 'ok');
    } catch (e) {
      message(importResult, e.message);
      const list = (e.body && Array.isArray(e.body.problems)) ? e.body.problems : [];
      if (list.length) {
        problems.append(h('table', {class: 'table table-compact problems', id: 'import-problems-table'},
          h('thead', {}, h('tr', {}, ['Line', 'Column', 'Problem'].map((t) => h('th', {scope: 'col'}, t)))),
          h('tbody', {}, list.map((p) => h('tr', {},
            h('td', {}, p.line ?? '–'), h('td', {}, p.column || '–'), h('td', {}, p.message || ''))))));
      }
    } finally {
      importButton.disabled = false;
    }
  });

  // ---- export
  const exportProject = h('input', {id: 'export-project', inputmode: 'numeric', placeholder: 'all projects'});
  const rulesLink = h('a', {class: 'button', id: 'export-rules', download: 'rules.csv'}, 'Download rules');
  const historyLink = h('a', {class: 'button', id: 'export-history', download: 'history.csv'}, 'Download history');
  function updateLinks() {
    const p = encodeURIComponent(exportProject.value.trim());
    rulesLink.href = `/api/rules/export?project=${p}`;
    historyLink.href = `/api/rules/history?project=${p}`;
    const suffix = exportProject.value.trim() ? `-${exportProject.value.trim()}` : '';
    rulesLink.setAttribute('download', `rules${suffix}.csv`);
    historyLink.setAttribute('download', `history${suffix}.csv`);
  }
  exportProject.addEventListener('input', updateLinks);
  updateLinks();

  container.append(pageHeader('Rules'),
    h('section', {class: 'panel'}, h('div', {class: 'panel-title'}, h('h2', {}, 'Customers')), findForm, found, editor),
    h('section', {class: 'panel'}, h('div', {class: 'panel-title'}, h('h2', {}, 'Import rules'),
      h('span', {class: 'muted'}, 'All or nothing: a file with any bad row changes nothing')), importForm),
    h('section', {class: 'panel'}, h('div', {class: 'panel-title'}, h('h2', {}, 'Export')),
      h('div', {class: 'export-row'}, field('Project', exportProject), rulesLink, historyLink)));
  q.focus();
  return () => { alive = false; };
}
