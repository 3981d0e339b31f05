// Priests: verified priests with filters (specialization, language, minimum
// rating, search, ordering) and pagination. The filters are a GET form, so
// the query string is the page's state (shareable, back button works).
import { get } from '../api.js';
import { startPage, load, render, h, $, empty, pager, pageParam, param, field } from '../ui.js';
import { priestCard } from '../parts/cards.js';

const PAGE_SIZE = 12;
await startPage();

const root = $('#priests-root');
const input = (name, attrs = {}) => h('input', { name, id: `f-${name}`, type: 'text', value: param(name) || '', ...attrs });
const select = (name, options) =>
  h(
    'select',
    { name, id: `f-${name}` },
    options.map(([v, t]) => h('option', { value: v, selected: (param(name) || '') === v }, t)),
  );

const filters = h(
  'form',
  { class: 'filters', method: 'get', action: '/priests.html', role: 'search', 'aria-label': 'Filter priests' },
  field('Search', input('q', { type: 'search', placeholder: 'Name or puja' })),
  field('Specialization', input('specialization', { placeholder: 'e.g. Griha Pravesh' })),
  field('Language', input('language', { placeholder: 'e.g. Tamil' })),
  field(
    'Minimum rating',
    select('min_rating', [
      ['', 'Any rating'],
      ['3', '3 ★ and up'],
      ['4', '4 ★ and up'],
      ['4.5', '4.5 ★ and up'],
    ]),
  ),
  field(
    'Sort by',
    select('ordering', [
      ['-rating', 'Highest rated'],
      ['-experience', 'Most experienced'],
      ['experience', 'Least experienced'],
      ['rating', 'Lowest rated'],
    ]),
  ),
  h('p', { class: 'actions' }, h('button', { class: 'btn', type: 'submit' }, 'Apply filters'), h('a', { class: 'btn btn-secondary', href: '/priests.html' }, 'Clear')),
);
// Send only the filters that are set, so the address stays readable.
filters.addEventListener('submit', () => {
  for (const el of filters.elements) if (el.name && !el.value) el.disabled = true;
});
addEventListener('pageshow', () => {
  for (const el of filters.elements) el.disabled = false;
});
const results = h('section', { 'aria-label': 'Results', 'aria-live': 'polite' });
render(root, filters, results);

const page = pageParam();
const query = { page, page_size: PAGE_SIZE };
for (const k of ['q', 'specialization', 'language', 'min_rating', 'ordering']) if (param(k)) query[k] = param(k);

load(results, () => get('/api/priests/', { query }), (data) => {
  if (!data.results.length) {
    render(results, empty('No priests match these filters. Try fewer filters or another spelling.'));
    return;
  }
  render(
    results,
    h('p', { class: 'result-count' }, `${data.count} priest${data.count === 1 ? '' : 's'} found`),
    h('div', { class: 'grid', id: 'priest-list' }, data.results.map((p) => priestCard(p, { heading: 'h2' }))),
    pager({ count: data.count, page, pageSize: PAGE_SIZE }, 'Priest pages'),
  );
});
