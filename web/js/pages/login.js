// Login: username or email + password; then back to ?next= (same site only) or the dashboard.
import { login } from '../api.js';
import { startPage, bindForm, validateWith, rules, $, param, safeNext } from '../ui.js';

const user = await startPage();
const next = safeNext(param('next'));
if (user) location.replace(next);

const reg = $('#register-link');
if (param('next')) reg.href = `/register.html?next=${encodeURIComponent(next)}`;

bindForm($('#login-form'), {
  busyText: 'Logging in…',
  validate: (d) => validateWith(d, { username: [rules.required], password: [rules.required] }),
  action: async (d) => {
    try {
      await login(d.username, d.password);
    } catch (err) {
      if (err.status === 401) err.message = 'Invalid username or password.';
      else if (err.status === 429) err.message = 'Too many failed attempts. Please wait a few minutes and try again.';
      throw err;
    }
    location.assign(next);
  },
});
