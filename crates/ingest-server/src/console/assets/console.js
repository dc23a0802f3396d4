// The console's script: it calls the public API (the same as any client) and builds what
// it shows with DOM nodes and textContent, never with markup, so a file's contents show
// as text. The pages themselves are rendered by the server.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const data = JSON.parse(($('texts') || { textContent: '{}' }).textContent || '{}');
  const T = data.t || { states: {} };
  const LANG = data.lang || 'en';
  const csrfMeta = document.querySelector('meta[name=csrf-token]');
  const CSRF = csrfMeta ? csrfMeta.content : '';
  const nf = new Intl.NumberFormat(LANG);
  const num = (n) => nf.format(n || 0);
  const fill = (template, values) => template.replace(/\{(\w+)\}/g, (_, k) => values[k]);
  const el = (tag, text, attrs) => {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  };

  async function api(method, path, body, headers) {
    const response = await fetch(path, {
      method, body, credentials: 'same-origin',
      headers: Object.assign({ 'X-CSRF-Token': CSRF }, body && typeof body === 'string' ? { 'Content-Type': 'application/json' } : {}, headers || {}),
    });
    const text = await response.text();
    let json = null;
    try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
    if (!response.ok) throw new Error((json && (json.detail || json.title)) || text || String(response.status));
    return json;
  }

  function showErrors(messages) {
    const box = $('error-summary'), list = $('error-list');
    if (!box) return;
    list.replaceChildren(...messages.map((m) => el('li', m)));
    box.hidden = messages.length === 0;
    if (messages.length) box.focus();
  }

  // ---- the upload page ------------------------------------------------------------------------
  function uploadPage() {
    const s = { file: null, upload: null, fileId: null, inspected: null, explicit: null, job: null, rejects: [], page: 0, columns: {} };
    const status = $('status');
    const setStatus = (text) => { status.textContent = text; };

    // The table list, filtered as the user types.
    $('table-filter').addEventListener('input', () => {
      const q = $('table-filter').value.toLowerCase();
      for (const o of $('table').options) if (o.value) o.hidden = q !== '' && !o.value.toLowerCase().includes(q);
    });
    $('table').addEventListener('change', () => {
      const o = $('table').selectedOptions[0];
      $('table-columns').textContent = o && o.value ? o.dataset.columns || '' : '';
      s.inspected = null;
      if (s.file) inspect().catch(fail);
      loadProfiles().catch(() => {});
    });

    // The file: chosen or dropped, then streamed to the server and inspected there.
    const chooseFile = (file) => {
      s.file = file; s.fileId = null; s.inspected = null; s.explicit = null;
      s.upload = uploadFile(file);
      s.upload.then(() => inspect()).catch(fail);
    };
    $('file').addEventListener('change', () => { if ($('file').files[0]) chooseFile($('file').files[0]); });
    const drop = $('drop');
    for (const ev of ['dragenter', 'dragover']) document.addEventListener(ev, (e) => { e.preventDefault(); drop.classList.add('over'); });
    for (const ev of ['dragleave', 'drop']) document.addEventListener(ev, () => drop.classList.remove('over'));
    document.addEventListener('drop', (e) => {
      e.preventDefault();
      const f = e.dataTransfer && e.dataTransfer.files[0];
      if (f) chooseFile(f);
    });

    function uploadFile(file) {
      return new Promise((resolve, reject) => {
        const xhr = new XMLHttpRequest();
        xhr.open('POST', '/v1/files?name=' + encodeURIComponent(file.name));
        xhr.setRequestHeader('X-CSRF-Token', CSRF);
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) setStatus(`${T.uploading} ${file.name}: ${Math.round((100 * e.loaded) / e.total)}%`);
        };
        xhr.onload = () => {
          let body = null;
          try { body = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
          if (xhr.status === 201 && body) { s.fileId = body.id; setStatus(''); resolve(body); } else reject(new Error((body && body.detail) || xhr.statusText));
        };
        xhr.onerror = () => reject(new Error(xhr.statusText || 'upload failed'));
        setStatus(`${T.uploading} ${file.name}`);
        xhr.send(file);
      });
    }

    // What the server detected, the preview, the mapping.
    async function inspect() {
      if (!s.upload) return null;
      await s.upload;
      setStatus(T.inspecting);
      const body = { table: $('table').value || null, options: s.explicit };
      const r = await api('POST', `/v1/files/${s.fileId}/inspect`, JSON.stringify(body));
      s.inspected = r;
      setStatus('');
      showErrors([]);
      render(r);
      return r;
    }

    function render(r) {
      $('detected').hidden = false;
      $('format').textContent = r.format;
      const text = !['parquet', 'avro', 'xlsx'].includes(String(r.format).toLowerCase());
      for (const f of document.querySelectorAll('.text-only')) f.hidden = !text;
      const o = r.options || {};
      if (o.encoding) $('encoding').value = o.encoding;
      if (o.delimiter) $('delimiter').value = o.delimiter;
      $('decimal_comma').checked = !!o.decimal_comma;
      $('date_format').value = Array.isArray(o.date_format) ? o.date_format[0] || '' : o.date_format || '';
      $('header_row').checked = !o.no_header;
      const sheets = (r.preview && r.preview.sheets) || [];
      $('sheet-field').hidden = sheets.length === 0;
      $('sheet').replaceChildren(...sheets.map((name) => el('option', name, { value: name })));
      if (o.sheet) $('sheet').value = o.sheet;
      // The preview: the file's own values, as text.
      const p = r.preview || { header: [], rows: [] };
      const head = el('tr');
      for (const h of p.header) head.append(el('th', h, { scope: 'col' }));
      $('preview').tHead.replaceChildren(head);
      $('preview').tBodies[0].replaceChildren(...p.rows.map((row) => {
        const tr = el('tr');
        for (const v of row) tr.append(v === null ? el('td', '', { class: 'null' }) : el('td', v));
        return tr;
      }));
      renderMapping(r);
    }

    function renderMapping(r) {
      const section = $('mapping-section');
      if (!r.table || !Array.isArray(r.mapping)) { section.hidden = true; return; }
      section.hidden = false;
      const cols = r.table.columns.map((c) => c.name);
      $('mapping').tBodies[0].replaceChildren(...r.mapping.map((m, i) => {
        const tr = el('tr');
        tr.append(el('th', m.column, { scope: 'row' }));
        const td = el('td');
        const select = el('select', null, { id: `map-${i}`, 'aria-label': `${m.column}` });
        select.dataset.column = m.column;
        select.append(el('option', data.ignore || '(ignore)', { value: '' }));
        for (const c of cols) select.append(el('option', c, { value: c }));
        select.value = m.target || '';
        select.addEventListener('change', () => flagMissing(r));
        td.append(select);
        tr.append(td);
        return tr;
      }));
      const key = $('key');
      if (!key.value && r.table.primary_key) key.value = r.table.primary_key.join(', ');
      flagMissing(r);
    }

    function mapping() {
      const out = {};
      for (const sel of $('mapping').querySelectorAll('select')) out[sel.dataset.column] = sel.value || null;
      return out;
    }

    function missingRequired(r) {
      if (!r || !r.table) return [];
      const used = new Set(Object.values(mapping()).filter(Boolean));
      return r.table.columns.filter((c) => c.required && !used.has(c.name)).map((c) => c.name);
    }

    function flagMissing(r) {
      const missing = missingRequired(r);
      $('missing').hidden = missing.length === 0;
      $('missing').textContent = missing.length ? fill(T.missing_required, { cols: missing.join(', ') }) : '';
    }

    // A setting changed by hand: read again with the options as they stand.
    const explicitOptions = () => {
      const o = Object.assign({}, (s.inspected && s.inspected.options) || {});
      o.encoding = $('encoding').value;
      o.delimiter = $('delimiter').value;
      if ($('decimal_comma').checked) { o.decimal_comma = true; if (!o.thousands) o.thousands = '.'; } else { delete o.decimal_comma; delete o.thousands; }
      if ($('date_format').value) o.date_format = [$('date_format').value]; else delete o.date_format;
      if (!$('header_row').checked) o.no_header = true; else delete o.no_header;
      if (!$('sheet-field').hidden && $('sheet').value) o.sheet = $('sheet').value;
      return o;
    };
    for (const id of ['encoding', 'delimiter', 'decimal_comma', 'date_format', 'header_row', 'sheet']) {
      $(id).addEventListener('change', () => { s.explicit = explicitOptions(); inspect().catch(fail); });
    }

    // Profiles: a table's saved mappings.
    async function loadProfiles() {
      const table = $('table').value;
      $('profile-field').hidden = true;
      if (!table) return;
      const r = await api('GET', `/v1/tables/${encodeURIComponent(table)}/profiles`);
      const list = r.profiles || [];
      $('profile').replaceChildren(el('option', '', { value: '' }), ...list.map((p) => el('option', p.name, { value: p.name })));
      $('profile-field').hidden = list.length === 0;
      s.profiles = list;
    }
    $('profile').addEventListener('change', () => {
      const p = (s.profiles || []).find((x) => x.name === $('profile').value);
      if (!p) return;
      if (p.profile.options) { s.explicit = p.profile.options; }
      inspect().then(() => {
        for (const sel of $('mapping').querySelectorAll('select')) {
          const m = (p.profile.mapping || {})[sel.dataset.column];
          if (m !== undefined) sel.value = m || '';
        }
        flagMissing(s.inspected);
      }).catch(fail);
    });
    $('save-profile').addEventListener('click', async () => {
      const name = $('profile-name').value.trim();
      if (!name || !$('table').value) return;
      try {
        await api('PUT', `/v1/tables/${encodeURIComponent($('table').value)}/profiles/${encodeURIComponent(name)}`,
          JSON.stringify({ mapping: mapping(), options: (s.inspected && s.inspected.options) || {} }));
        $('profile-saved').textContent = T.saved;
        loadProfiles().catch(() => {});
      } catch (e) { fail(e); }
    });

    for (const r of document.querySelectorAll('input[name=mode]')) {
      r.addEventListener('change', () => { $('key-field').hidden = document.querySelector('input[name=mode]:checked').value !== 'upsert'; });
    }

    // Check and Load: a job that reads the uploaded file.
    async function runJob(check) {
      const problems = [];
      if (!s.file || !$('table').value) problems.push(T.choose_file_and_table);
      if (problems.length) { showErrors(problems); return; }
      showErrors([]);
      const r = s.inspected && s.inspected.table ? s.inspected : await inspect();
      const missing = missingRequired(r);
      if (missing.length && !check) { showErrors([fill(T.missing_required, { cols: missing.join(', ') })]); return; }
      const options = Object.assign({}, r.options || {});
      const maps = [];
      let ignoring = false;
      Object.entries(mapping()).forEach(([column, target], i) => {
        if (!target) { maps.push(`${column}=__ingest_ignored_${i}`); ignoring = true; } else if (target !== column) maps.push(`${column}=${target}`);
      });
      if (maps.length) options.map = maps;
      if (ignoring) options.ignore_unknown = true;
      options.max_errors = check ? '100%' : ($('tolerance').value.trim() || '0');
      const mode = document.querySelector('input[name=mode]:checked').value;
      const target = { table: $('table').value };
      if (mode === 'upsert') target.key = $('key').value.split(',').map((k) => k.trim()).filter(Boolean);
      const request = { source: { file: s.fileId }, target, mode, options, check };
      const kind = check ? T.check_kind : T.load_kind;
      setStatus(`${kind}: ${T.states.queued}`);
      $('result').hidden = true;
      const job = await api('POST', '/v1/jobs', JSON.stringify(request));
      s.job = job;
      follow(job, kind, check);
    }

    function follow(job, kind, check) {
      const progress = $('progress'), cancel = $('cancel');
      progress.hidden = false; progress.removeAttribute('value');
      cancel.hidden = false;
      const started = Date.now();
      const events = new EventSource(`/v1/jobs/${job.id}/events`);
      const onView = (view) => {
        const p = view.progress || {};
        const rows = p.rows_read || 0;
        const secs = (Date.now() - started) / 1000;
        const rate = secs > 0 ? rows / secs : 0;
        const parts = [`${num(rows)} ${T.rows_read}`, `${(p.bytes_read / 1e6 || 0).toFixed(1)} MB`, `${num(Math.round(rate))} ${T.rows_per_second}`];
        if (p.bytes_total > 0 && p.bytes_read > 0) {
          progress.max = p.bytes_total; progress.value = p.bytes_read;
          const left = ((p.bytes_total - p.bytes_read) / p.bytes_read) * secs;
          parts.push(fill(T.eta, { s: num(Math.round(left)) }));
        }
        setStatus(`${kind}: ${parts.join(', ')} — ${T.states[view.state] || view.state}`);
      };
      events.addEventListener('progress', (e) => onView(JSON.parse(e.data)));
      events.addEventListener('end', (e) => {
        events.close();
        progress.hidden = true; cancel.hidden = true;
        finished(JSON.parse(e.data), kind, check).catch(fail);
      });
    }

    $('cancel').addEventListener('click', () => {
      if (s.job) api('POST', `/v1/jobs/${s.job.id}/cancel`).catch(fail);
    });

    async function finished(view, kind, check) {
      const st = view.stats || {};
      const parts = [`${num(st.rows_read)} ${T.rows_read}`];
      if (check) {
        parts.push(`${T.would_insert} ${num(st.rows_inserted)}`, `${T.would_update} ${num(st.rows_updated)}`, `${T.unchanged} ${num(st.rows_unchanged)}`);
      } else {
        parts.push(`${num(st.rows_inserted)} ${T.inserted}`, `${num(st.rows_updated)} ${T.updated}`, `${num(st.rows_unchanged)} ${T.unchanged}`);
      }
      parts.push(`${num(st.rows_rejected)} ${T.rejected}`);
      const summary = parts.join(', ');
      $('result-summary').textContent = `${kind}: ${summary}${view.error ? '. ' + view.error : ''}`;
      $('result').hidden = false;
      const base = `/v1/jobs/${view.id}/errors`;
      $('download-csv').href = `${base}?format=csv&original=true&locale=${encodeURIComponent(LANG)}&download=true`;
      $('download-ndjson').href = `${base}?format=ndjson&download=true`;
      await showRejects(base);
      setStatus(`${kind}: ${summary} — ${T.states[view.state] || view.state}`);
    }

    // The rejected rows: filterable by column and reason, a page at a time.
    const PAGE = 50;
    async function showRejects(base) {
      const r = await fetch(`${base}?format=ndjson&locale=${encodeURIComponent(LANG)}`, { credentials: 'same-origin' });
      const text = r.ok ? await r.text() : '';
      s.rejects = text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      s.page = 0;
      const columns = [...new Set(s.rejects.map((x) => x.column).filter(Boolean))];
      $('reject-column').replaceChildren($('reject-column').options[0], ...columns.map((c) => el('option', c, { value: c })));
      const any = s.rejects.length > 0;
      $('downloads').hidden = !any; $('reject-filters').hidden = !any; $('rejects').hidden = !any;
      drawRejects();
    }
    function filteredRejects() {
      const col = $('reject-column').value, reason = $('reject-reason').value.toLowerCase();
      return s.rejects.filter((x) => (!col || x.column === col) && (!reason || String(x.reason).toLowerCase().includes(reason)));
    }
    function drawRejects() {
      const rows = filteredRejects();
      const pages = Math.max(1, Math.ceil(rows.length / PAGE));
      s.page = Math.min(s.page, pages - 1);
      const shown = rows.slice(s.page * PAGE, (s.page + 1) * PAGE);
      $('rejects').tBodies[0].replaceChildren(...shown.map((x) => {
        const tr = el('tr');
        tr.append(el('td', num(x.line), { class: 'num' }), el('td', x.column || ''), el('td', x.value === null ? '' : x.value), el('td', x.reason));
        return tr;
      }));
      $('reject-pager').hidden = pages < 2;
      $('reject-page').textContent = fill(T.page_of, { n: s.page + 1, m: pages });
      $('reject-prev').disabled = s.page === 0;
      $('reject-next').disabled = s.page >= pages - 1;
    }
    $('reject-column').addEventListener('change', () => { s.page = 0; drawRejects(); });
    $('reject-reason').addEventListener('input', () => { s.page = 0; drawRejects(); });
    $('reject-prev').addEventListener('click', () => { s.page -= 1; drawRejects(); });
    $('reject-next').addEventListener('click', () => { s.page += 1; drawRejects(); });

    function fail(e) { setStatus(''); showErrors([String(e && e.message ? e.message : e)]); }
    $('check').addEventListener('click', () => runJob(true).catch(fail));
    $('load').addEventListener('click', () => runJob(false).catch(fail));
    $('load-form').addEventListener('submit', (e) => e.preventDefault());
  }

  // ---- the jobs list: its rows, rendered by the server, fetched again every few seconds ------
  function jobsPage() {
    const table = $('jobs');
    setInterval(async () => {
      try {
        const r = await fetch(table.dataset.live, { credentials: 'same-origin' });
        if (!r.ok) return;
        const doc = new DOMParser().parseFromString(`<table>${await r.text()}</table>`, 'text/html');
        const rows = doc.getElementById('job-rows');
        if (rows) $('job-rows').replaceWith(document.importNode(rows, true));
      } catch (_) { /* the next tick tries again */ }
    }, 3000);
  }

  // ---- a job's page: reloaded when its job ends -----------------------------------------------
  function jobPage() {
    const status = $('status');
    if (status.dataset.final === 'true') return;
    const events = new EventSource(`/v1/jobs/${status.dataset.job}/events`);
    events.addEventListener('end', () => { events.close(); window.location.reload(); });
  }

  if ($('load-form')) uploadPage();
  if ($('jobs')) jobsPage();
  const st = $('status');
  if (st && st.dataset.job) jobPage();
  const focus = document.querySelector('[data-focus]');
  if (focus) focus.focus();
})();
