// Dashboard by role. A visitor without a session is sent to the login page.
import { startPage, $, render, h } from '../ui.js';
import { customerDashboard } from '../parts/dash-customer.js';
import { priestDashboard } from '../parts/dash-priest.js';
import { adminDashboard } from '../parts/dash-admin.js';

const user = await startPage({ requireLogin: true });
const root = $('#dash-root');
const name = user.first_name || user.username;
const titles = { customer: `Namaste, ${name}`, priest: `Namaste, ${name}`, admin: 'Administration' };
$('#dash-title').textContent = titles[user.role] || 'Dashboard';
document.title = `Dashboard — Punyaka`;

if (user.role === 'customer') customerDashboard(root, user);
else if (user.role === 'priest') priestDashboard(root, user);
else if (user.role === 'admin') adminDashboard(root, user);
else render(root, h('p', {}, 'Your account has no dashboard.'));

// Jump to the section named in the address (#orders …) once it exists.
if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
