// jobs.js — the Jobs view: the jobs newest first with their progress, a
// status filter, older pages through the API's cursor, and cancel. The
// list is read again every POLL_MS while a job is queued or running, and
// every 4 POLL_MS otherwise. Each read takes a number; leaving the view
// takes one too, so a read that returns after a newer one started, or
// after the view was left, neither draws nor arms the timer again.

import { $, h, api, problem, time, table, announce } from './lib.js';

const POLL_MS = 1500;
const STATUSES = ['queued', 'running', 'done', 'failed', 'canceled'];
let timer = 0;
let reads = 0; // the number of the latest read (or leave)
let views = 0; // bumped when the view is left

export function leaveJobs() {
  reads++;
  views++;
  clearTimeout(timer);
  timer = 0;
}

export async function showJobs() {
  const out = $('jobs-out');
  const filter = h('select', { id: 'jobs-status' }, h('option', { value: '' }, 'any status'),
    STATUSES.map((s) => h('option', { value: s }, s)));
  const list = h('div', { id: 'jobs-list' });
  const more = h('button', { type: 'button', class: 'quiet', id: 'jobs-more', hidden: true }, 'Older jobs');
  out.replaceChildren(h('p', { class: 'lead' }, 'Jobs are evaluations sent to POST /v1/jobs: they run one at a time, survive restarts and can be canceled.'),
    h('div', { class: 'tools' }, h('div', { class: 'group' }, h('label', { for: 'jobs-status' }, 'Show'), filter)), list, more);
  let pages = 1;
  let next = null;

  const row = (j) => {
    const p = j.progress || { done: 0, total: 0 };
    const bar = h('progress', { max: String(Math.max(1, p.total)), value: String(p.done), 'aria-label': `job ${j.id.slice(0, 8)}: ${p.done} of ${p.total} items` });
    const cancel = j.status === 'queued' || j.status === 'running'
      ? h('button', { type: 'button', class: 'quiet', 'aria-label': `Cancel job ${j.id}`, onclick: async () => {
        try {
          await api(`/v1/jobs/${j.id}`, { method: 'DELETE' });
          announce(`Job ${j.id.slice(0, 8)} canceled.`);
        } catch (err) {
          list.prepend(problem('Cannot cancel the job', err));
        }
        load();
      } }, 'Cancel') : '';
    return [h('code', { title: j.id }, j.id.slice(0, 12)), { cls: `status-${j.status}`, v: j.status },
      h('span', {}, bar, ` ${p.done} / ${p.total}`), time(j.created_iso), time(j.finished_iso),
      j.error ? (j.error.detail || String(j.error)) : '', cancel];
  };
  const view = views;
  const load = async () => {
    if (view !== views) return; // a cancel that returned after the view was left
    clearTimeout(timer);
    const mine = ++reads;
    const q = filter.value ? `status=${filter.value}&` : '';
    let jobs = [];
    let cursor = null;
    try {
      for (let i = 0; i < pages; i++) {
        const r = await api(`/v1/jobs?${q}limit=50${cursor ? `&after=${cursor}` : ''}`);
        if (mine !== reads) return;
        jobs = jobs.concat(r.body.jobs);
        cursor = r.body.next;
        if (!cursor) break;
      }
    } catch (err) {
      if (mine === reads) list.replaceChildren(problem('Cannot list the jobs', err));
      return;
    }
    next = cursor;
    more.hidden = !next;
    list.replaceChildren(jobs.length
      ? table(null, ['job', 'status', 'progress', 'created', 'finished', 'error', ''], jobs.map(row), { id: 'jobs-table', 'aria-label': 'Jobs' })
      : h('p', { class: 'note' }, 'No jobs', filter.value ? ` with status ${filter.value}` : '', '.'));
    // Quickly while something runs, slowly otherwise (a job may be submitted from elsewhere).
    timer = setTimeout(load, jobs.some((j) => j.status === 'queued' || j.status === 'running') ? POLL_MS : 4 * POLL_MS);
  };
  filter.addEventListener('change', () => { pages = 1; load(); });
  more.addEventListener('click', () => { pages++; load(); });
  await load();
}
