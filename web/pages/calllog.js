// Call log (administrators): "save and delete log" — downloads every stored record in the seed's format and
// deletes exactly those records on the server.
import {request} from '../api.js';
import {h, pageHeader, message, download, nowStamp} from '../ui.js';

export function render(container) {
  const status = h('div', {id: 'calllog-status', role: 'status', hidden: true});
  const button = h('button', {type: 'button', class: 'button button-primary', id: 'calllog-export'},
                   'Export and clear the call log');
  const preview = h('pre', {class: 'preview', id: 'calllog-preview', hidden: true});
  container.append(pageHeader('Call log'),
    h('section', {class: 'panel'},
      h('p', {}, 'Downloads every stored call-log record as the original\'s log lines ',
        h('code', {}, '22.2.2006 15:27:56;100;115;114;1;12;'),
        ' (date and time; project; caller; operator; how the operator was chosen; customer ID) and then deletes ' +
        'exactly the records downloaded. Calls that finish meanwhile stay for the next export.'),
      h('div', {class: 'form-actions'}, button),
      status, preview));

  button.addEventListener('click', async () => {
    if (!window.confirm('Export the call log and delete the exported records from the server?')) return;
    button.disabled = true;
    message(status, '');
    try {
      const text = await request('POST', '/api/calllog/export-and-clear', {text: true, quiet: true});
      const lines = text.split(/\r?\n/).filter((l) => l !== '').length;
      download(text, `calllog-${nowStamp()}.txt`);
      message(status, `${lines} record${lines === 1 ? '' : 's'} exported and deleted from the server.`, 'ok');
      preview.textContent = text.split(/\r?\n/).slice(0, 20).join('\n') + (lines > 20 ? '\n…' : '');
      preview.hidden = lines === 0;
    } catch (e) {
      message(status, e.message);
    } finally {
      button.disabled = false;
    }
  });
  button.focus();
}
