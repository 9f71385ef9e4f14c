// Login: name and password; the server's sentence on failure, and the wait it asks for after too many tries.
import {api} from '../api.js';
import {h, field, message} from '../ui.js';

export function render(container, {onLogin}) {
  const name = h('input', {id: 'login-name', name: 'name', autocomplete: 'username', required: true,
                           autocapitalize: 'off', spellcheck: 'false'});
  const password = h('input', {id: 'login-password', name: 'password', type: 'password',
                               autocomplete: 'current-password', required: true});
  const submit = h('button', {id: 'login-submit', class: 'button button-primary', type: 'submit'}, 'Log in');
  const error = h('div', {id: 'login-error', role: 'alert', dataset: {testid: 'login-error'}, hidden: true});
  let countdown = null;

  const form = h('form', {class: 'login-form', novalidate: true},
    h('h1', {}, 'Log in'),
    h('p', {class: 'muted'}, 'Switchboard call-centre console'),
    field('Name', name),
    field('Password', password),
    error,
    submit);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!name.value.trim() || !password.value) {
      message(error, 'Enter your name and password.');
      (name.value.trim() ? password : name).focus();
      return;
    }
    submit.disabled = true;
    message(error, '');
    try {
      const answer = await api.post('/api/login', {name: name.value.trim(), password: password.value}, {quiet: true});
      password.value = '';
      onLogin(answer);
    } catch (e) {
      let text = e.message;
      const wait = e.status === 429 ? e.retryAfter : null;
      if (wait !== null && !/\d+\s*s/.test(text)) text = `${text} Try again in ${wait} s.`;
      message(error, text);
      if (wait !== null && wait > 0) {
        let left = wait;
        clearInterval(countdown);
        submit.textContent = `Log in (${left} s)`;
        countdown = setInterval(() => {
          left -= 1;
          if (left <= 0) {
            clearInterval(countdown);
            submit.disabled = false;
            submit.textContent = 'Log in';
          } else {
            submit.textContent = `Log in (${left} s)`;
          }
        }, 1000);
        return;
      }
      submit.disabled = false;
      password.select();
      password.focus();
    }
  });

  container.appendChild(h('div', {class: 'login-page'}, form));
  name.focus();
  return () => clearInterval(countdown);
}
