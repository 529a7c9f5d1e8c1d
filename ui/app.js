// app.js — the page's entry: the views by URL fragment (#/evaluate,
// #/runs, #/runs/NAME, #/compare/A/B, #/jobs), the API key box, and the
// first call that tells whether this seglossd wants a key.

import { $, api, apiKey, setApiKey, problem } from './lib.js';
import { initEvaluate } from './evaluate.js';
import { showRuns, showRun, showCompare, leaveRuns } from './runs.js';
import { showJobs, leaveJobs } from './jobs.js';

let ready = false;

function keyBox(open, why) {
  const box = $('keybox');
  box.hidden = !open;
  $('key-open').setAttribute('aria-expanded', String(open));
  box.classList.toggle('needed', !!why);
  if (why) $('key-why').textContent = why;
  if (open) $('key-input').focus();
}

window.addEventListener('segloss:auth', (e) => {
  const given = apiKey();
  keyBox(true, given
    ? `seglossd refused the API key of this tab: ${e.detail.message}. Enter a valid key.`
    : 'This seglossd needs an API key: nothing under /v1 answers without one. Enter your key (it is kept in this tab only and sent as Authorization: Bearer).');
});

function route() {
  if (!ready) return;
  leaveRuns();
  leaveJobs();
  const parts = (location.hash.replace(/^#\/?/, '') || 'evaluate').split('/').map(decodeURIComponent);
  let view = 'evaluate';
  if (parts[0] === 'runs' && parts[1]) view = 'run';
  else if (parts[0] === 'compare' && parts[1] && parts[2]) view = 'compare';
  else if (['runs', 'jobs', 'evaluate'].includes(parts[0])) view = parts[0];
  for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== `view-${view}`;
  const tab = view === 'run' || view === 'compare' ? 'runs' : view;
  for (const a of document.querySelectorAll('.top nav a')) {
    if (a.id === `nav-${tab}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `segloss · ${view === 'run' ? `run ${parts[1]}` : view === 'compare' ? `${parts[1]} vs ${parts[2]}` : view}`;
  if (view === 'runs') showRuns();
  else if (view === 'run') showRun(parts[1]);
  else if (view === 'compare') showCompare(parts[1], parts[2]);
  else if (view === 'jobs') showJobs();
}

// The catalogue and the profiles: the first calls, which also say whether a key is needed.
async function start() {
  $('loading').hidden = false;
  try {
    const [cat, prof] = await Promise.all([api('/v1/losses'), api('/v1/profiles')]);
    if (!ready) initEvaluate(cat.body, prof.body.profiles);
    ready = true;
    $('loading').hidden = true;
    keyBox(false);
    route();
  } catch (err) {
    $('loading').replaceChildren(problem('The page cannot start', err));
  }
}

$('key-open').addEventListener('click', () => keyBox($('keybox').hidden));
$('key-form').addEventListener('submit', (e) => {
  e.preventDefault();
  setApiKey($('key-input').value.trim());
  $('key-input').value = '';
  if (ready) {
    keyBox(false);
    route();
  } else {
    start();
  }
});
$('key-forget').addEventListener('click', () => {
  setApiKey('');
  $('key-why').textContent = 'The key is forgotten.';
});
window.addEventListener('hashchange', route);
start();
