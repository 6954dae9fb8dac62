// hellowatt dashboard: the tile and the charts, drawn from the JSON API.
// Plain JavaScript, no framework, no request outside this service.
// `?lang=en` for English labels (French by default), `?token=…` when the
// service requires a token (sent to the API as `Authorization: Bearer`),
// `?meter=ID` to open on a meter, `?metric=kwh|eur|solar_production_kwh`
// to open on a chart.
'use strict';

(function () {
  const params = new URLSearchParams(window.location.search);
  const lang = params.get('lang') === 'en' ? 'en' : 'fr';
  const token = params.get('token');
  const locale = lang === 'en' ? 'en-GB' : 'fr-FR';
  const DASH = '—';
  const SVG = 'http://www.w3.org/2000/svg';

  const DICT = {
    fr: {
      meter: 'Compteur', loading: 'Chargement…', charts: 'Historique',
      consumption: 'Consommation', cost: 'Coût', production: 'Production',
      subscription: 'Abonnement', costWithSubscription: 'Coût abonnement compris',
      costNote: 'Coût de la consommation, abonnement non compris',
      daily: '30 derniers jours', monthly: '12 derniers mois', yearly: 'Par année',
      electricity: 'Électricité', gas: 'Gaz',
      yesterday: 'Hier', month: 'Ce mois', year: 'Cette année',
      injection: 'Injection', tempo: 'Tempo', today: "Aujourd'hui", tomorrow: 'Demain',
      blue: 'Bleu', white: 'Blanc', red: 'Rouge', unknown: 'inconnue',
      unknownColour: 'Couleur inconnue',
      season: 'Saison', left: 'reste', overQuota: 'au-delà du quota',
      unknownDays: (n) => n + (n > 1 ? ' jours' : ' jour') + ' de la saison sans couleur connue\u00a0: décompte minimum.',
      disagreement: (n) => 'Désaccord\u00a0: le service Tempo et les index du compteur donnent une autre couleur '
        + (n > 1 ? 'pour ' + n + ' jours' : 'pour 1 jour') + '\u00a0: ',
      service: 'service', tariff: 'compteur',
      status: 'État', lastSync: 'Dernière synchro', guest: 'Module de collecte',
      active: 'actif', inactive: 'inactif', nextRun: 'Prochaine collecte',
      breaker: 'identifiants refusés', paused: 'en pause (site modifié)',
      actionNeeded: 'action demandée sur le site helloWatt (connectez-vous-y dans un navigateur)',
      failures: 'échecs de suite', none: 'aucune',
      homeAssistant: 'Home Assistant', haOk: 'statistiques à jour', haFailed: 'envoi en échec (nouvel essai après la prochaine collecte)',
      haPending: 'pas encore envoyé', noData: 'Pas de données sur cette période.',
      noMeter: 'Aucun compteur pour le moment : la première collecte est peut-être en cours.',
      days: 'jours', other: 'English', otherLang: 'en',
      error: 'Erreur', kwh: 'kWh', eur: '€',
      at: (d) => 'le ' + d, since: (d) => 'depuis le ' + d, now: 'maintenant',
      steps: {
        daily: (w) => 'Collecte quotidienne ' + w,
        retry: (w) => 'Nouvel essai ' + w,
        backfill: (w) => "Récupération de l'historique " + w,
        manual: (w) => 'Actualisation demandée, ' + w,
        tempo_catch_up: (w) => 'Rattrapage des couleurs Tempo ' + w,
        tempo_tomorrow: (w) => 'Couleur Tempo de demain ' + w,
        credentials_rejected: (s) => 'Identifiants refusés ' + s
          + '\u00a0: aucune connexion avant un nouveau mot de passe',
        action_needed: (s) => 'Le site helloWatt attend une action de votre part ' + s,
        site_changed: (s) => 'En pause ' + s
          + '\u00a0: le site a changé, en attente d’un nouveau module de collecte',
        other: (w) => 'Prochaine collecte ' + w,
      },
    },
    en: {
      meter: 'Meter', loading: 'Loading…', charts: 'History',
      consumption: 'Consumption', cost: 'Cost', production: 'Production',
      subscription: 'Subscription', costWithSubscription: 'Cost with the subscription',
      costNote: 'Cost of the consumption, subscription not included',
      daily: 'Last 30 days', monthly: 'Last 12 months', yearly: 'By year',
      electricity: 'Electricity', gas: 'Gas',
      yesterday: 'Yesterday', month: 'This month', year: 'This year',
      injection: 'Injection', tempo: 'Tempo', today: 'Today', tomorrow: 'Tomorrow',
      blue: 'Blue', white: 'White', red: 'Red', unknown: 'unknown',
      unknownColour: 'Colour unknown',
      season: 'Season', left: 'left', overQuota: 'over the quota',
      unknownDays: (n) => n + (n > 1 ? ' days' : ' day') + ' of the season with no known colour: the counts are a minimum.',
      disagreement: (n) => 'Disagreement: the Tempo service and the meter\'s tariff keys give another colour '
        + (n > 1 ? 'for ' + n + ' days' : 'for 1 day') + ': ',
      service: 'service', tariff: 'meter',
      status: 'Status', lastSync: 'Last sync', guest: 'Scraper module',
      active: 'active', inactive: 'inactive', nextRun: 'Next run',
      breaker: 'credentials rejected', paused: 'paused (site changed)',
      actionNeeded: 'the helloWatt site asks you to do something (log in there in a browser)',
      failures: 'failures in a row', none: 'none',
      homeAssistant: 'Home Assistant', haOk: 'statistics up to date', haFailed: 'push failed (tried again after the next run)',
      haPending: 'not pushed yet', noData: 'No data for this period.',
      noMeter: 'No meter yet: the first sync may still be running.',
      days: 'days', other: 'Français', otherLang: 'fr',
      error: 'Error', kwh: 'kWh', eur: '€',
      at: (d) => 'on ' + d, since: (d) => 'since ' + d, now: 'now',
      steps: {
        daily: (w) => 'Daily run ' + w,
        retry: (w) => 'Retry ' + w,
        backfill: (w) => 'History backfill ' + w,
        manual: (w) => 'Refresh requested, ' + w,
        tempo_catch_up: (w) => 'Catching up on Tempo colours ' + w,
        tempo_tomorrow: (w) => 'Tomorrow\'s Tempo colour ' + w,
        credentials_rejected: (s) => 'Credentials rejected ' + s
          + ': no log-in until the password changes',
        action_needed: (s) => 'The helloWatt site is waiting for you to act there, ' + s,
        site_changed: (s) => 'Paused ' + s + ': the site changed, waiting for a new scraper module',
        other: (w) => 'Next run ' + w,
      },
    },
  };
  const t = DICT[lang];

  // ------------------------------------------------------------ formats

  const nf = (digits) => new Intl.NumberFormat(locale, {
    minimumFractionDigits: digits, maximumFractionDigits: digits,
  });
  const kwhFormat = nf(1);
  const eurFormat = new Intl.NumberFormat(locale, { style: 'currency', currency: 'EUR' });
  const tickFormat = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const dayFormat = new Intl.DateTimeFormat(locale, {
    day: '2-digit', month: '2-digit', year: 'numeric', timeZone: 'UTC',
  });
  const shortDayFormat = new Intl.DateTimeFormat(locale, {
    day: '2-digit', month: '2-digit', timeZone: 'UTC',
  });
  const monthFormat = new Intl.DateTimeFormat(locale, {
    month: 'short', year: 'numeric', timeZone: 'UTC',
  });
  const shortMonthFormat = new Intl.DateTimeFormat(locale, { month: 'short', timeZone: 'UTC' });
  const instantFormat = new Intl.DateTimeFormat(locale, {
    day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit',
    timeZone: 'Europe/Paris',
  });

  const sentenceFormat = new Intl.DateTimeFormat(locale, {
    dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Paris',
  });

  function isNum(v) { return typeof v === 'number' && Number.isFinite(v); }
  // A missing value is "—", never 0.
  function kwh(v) { return isNum(v) ? kwhFormat.format(v) + '\u00a0kWh' : DASH; }
  function eur(v) { return isNum(v) ? eurFormat.format(v) : DASH; }
  function utcDate(s) {
    const [y, m, d] = String(s).split('-').map(Number);
    return new Date(Date.UTC(y, (m || 1) - 1, d || 1));
  }
  function day(s) { return s ? dayFormat.format(utcDate(s)) : DASH; }
  function instant(s) {
    if (!s) return DASH;
    const d = new Date(s);
    return Number.isNaN(d.getTime()) ? DASH : instantFormat.format(d);
  }
  function metricFormat(metric) { return metric === 'eur' ? eur : kwh; }

  // The scheduler's next step (`/api/v1/summary`: a kind and its instant)
  // in the page's language.
  function nextStep(n, generatedAt) {
    const steps = t.steps;
    if (n.since) return (steps[n.kind] || steps.other)(t.since(sentenceFormat.format(new Date(n.since))));
    if (!n.at) return DASH;
    const at = new Date(n.at);
    if (Number.isNaN(at.getTime())) return DASH;
    const when = at.getTime() <= new Date(generatedAt).getTime() ? t.now : t.at(sentenceFormat.format(at));
    return (steps[n.kind] || steps.other)(when);
  }

  // ---------------------------------------------------------------- API

  async function api(path) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    const res = await fetch(path, { headers, credentials: 'same-origin', cache: 'no-store' });
    let body = null;
    try { body = await res.json(); } catch (_) { body = null; }
    if (!res.ok) {
      const msg = body && body.error ? body.error : 'HTTP ' + res.status;
      throw new Error(msg);
    }
    return body;
  }

  // ---------------------------------------------------------------- DOM

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // A value cell: the formatted text, with the raw value for tests.
  function value(field, raw, format) {
    return el('td', { 'data-field': field, 'data-value': isNum(raw) ? String(raw) : '' }, format(raw));
  }

  // The consumption's cost, which the subscription is not part of: say so
  // where the figure is, since other tools' "cost" includes it.
  function costCell(field, raw) {
    const cell = value(field, raw, eur);
    cell.title = t.costNote;
    return cell;
  }

  function tempoBadge(colour, field) {
    const known = colour === 'blue' || colour === 'white' || colour === 'red';
    return el('span', {
      class: 'badge ' + (known ? colour : 'unknown'),
      'data-field': field,
      'data-value': known ? colour : '',
    }, known ? t[colour] : t.unknown);
  }

  function showError(e) {
    const p = document.getElementById('error');
    const sep = lang === 'fr' ? '\u00a0: ' : ': ';
    p.textContent = t.error + sep + (e && e.message ? e.message : String(e));
    p.hidden = false;
  }

  function applyLabels() {
    document.documentElement.lang = lang;
    for (const n of document.querySelectorAll('[data-i18n]')) {
      const key = n.getAttribute('data-i18n');
      if (t[key]) n.textContent = t[key];
    }
    const link = document.getElementById('lang');
    const other = new URLSearchParams(window.location.search);
    if (t.otherLang === 'fr') other.delete('lang'); else other.set('lang', t.otherLang);
    const q = other.toString();
    link.href = q ? '?' + q : '.';
    link.hreflang = t.otherLang;
    link.textContent = t.other;
  }

  // --------------------------------------------------------------- tile

  function meterCard(m) {
    const id = m.meter_id;
    const card = el('article', { class: 'card', 'data-meter': id });
    card.append(el('h2', null, t[m.energy] || m.energy, ' ', el('span', { class: 'sub' }, id)));
    const table = el('table');
    const head = (label, when) => el('th', { scope: 'row' }, label, when ? el('span', { class: 'when' }, when) : null);
    const y = m.yesterday || {};
    const mo = m.month || {};
    const yr = m.year || {};
    const yWhen = el('span', { class: 'when' }, day(y.date), ' ');
    if (m.energy === 'electricity') yWhen.append(tempoBadge(y.tempo, id + '.yesterday.tempo'));
    table.append(el('tr', null, el('th', { scope: 'row' }, t.yesterday, yWhen),
      value(id + '.yesterday.kwh', y.kwh, kwh), costCell(id + '.yesterday.eur', y.eur)));
    const monthLabel = mo.from ? monthFormat.format(utcDate(mo.from)) : null;
    table.append(el('tr', null, head(t.month, monthLabel),
      value(id + '.month.kwh', mo.kwh, kwh), costCell(id + '.month.eur', mo.eur)));
    const yearLabel = yr.from ? String(yr.from).slice(0, 4) : null;
    table.append(el('tr', null, head(t.year, yearLabel),
      value(id + '.year.kwh', yr.kwh, kwh), costCell(id + '.year.eur', yr.eur)));
    // The euros above are the consumption's; the subscription and the
    // sum of both (what other tools call the cost): this month, this year.
    table.append(el('tr', { class: 'subhead' }, el('td'),
      el('th', { scope: 'col' }, t.month), el('th', { scope: 'col' }, t.year)));
    table.append(el('tr', null, head(t.subscription),
      value(id + '.month.subscription_eur', mo.subscription_eur, eur),
      value(id + '.year.subscription_eur', yr.subscription_eur, eur)));
    table.append(el('tr', null, head(t.costWithSubscription),
      value(id + '.month.total_eur', mo.total_eur, eur),
      value(id + '.year.total_eur', yr.total_eur, eur)));
    if (m.energy === 'electricity') {
      // Production and injection: this month, then this year.
      table.append(el('tr', null, head(t.production),
        value(id + '.month.solar_production_kwh', mo.solar_production_kwh, kwh),
        value(id + '.year.solar_production_kwh', yr.solar_production_kwh, kwh)));
      table.append(el('tr', null, head(t.injection),
        value(id + '.month.injection_kwh', mo.injection_kwh, kwh),
        value(id + '.year.injection_kwh', yr.injection_kwh, kwh)));
    }
    card.append(table);
    return card;
  }

  function statusCard(s) {
    const card = el('article', { class: 'card status' });
    card.append(el('h2', null, t.status));
    const table = el('table');
    const last = s.last_sync ? s.last_sync.at : null;
    table.append(el('tr', null, el('th', { scope: 'row' }, t.lastSync),
      el('td', { 'data-field': 'last_sync', 'data-value': last || '' }, instant(last))));
    const g = s.guest || {};
    table.append(el('tr', null, el('th', { scope: 'row' }, t.guest),
      el('td', { 'data-field': 'guest' }, (g.name || DASH) + ' ' + (g.version || ''), ' ',
        el('span', { class: 'badge ' + (g.active ? 'ok' : 'alert') }, g.active ? t.active : t.inactive))));
    for (const a of s.accounts || []) {
      const alerts = [];
      if (a.action_needed) alerts.push(t.actionNeeded);
      else if (a.breaker_open) alerts.push(t.breaker);
      if (a.paused) alerts.push(t.paused);
      if (a.consecutive_failures > 0) alerts.push(a.consecutive_failures + ' ' + t.failures);
      const cell = el('td', { 'data-field': 'account.' + a.name });
      cell.append(alerts.length
        ? el('span', { class: 'badge alert' }, alerts.join(', '))
        : el('span', { class: 'badge ok' }, 'OK'));
      if (a.next_run) {
        cell.append(el('span', {
          class: 'when', 'data-field': 'account.' + a.name + '.next_run',
          'data-value': a.next_run.kind, 'data-at': a.next_run.at || a.next_run.since || '',
        }, nextStep(a.next_run, s.generated_at)));
      }
      table.append(el('tr', null, el('th', { scope: 'row' }, a.name), cell));
    }
    const ha = s.home_assistant;
    if (ha) {
      const state = ha.error ? 'failed' : (ha.last_success ? 'ok' : 'pending');
      const cell = el('td', { 'data-field': 'home_assistant', 'data-value': state },
        el('span', { class: 'badge ' + (state === 'failed' ? 'alert' : 'ok') },
          state === 'failed' ? t.haFailed : state === 'ok' ? t.haOk : t.haPending));
      if (ha.last_success) cell.append(el('span', { class: 'when' }, instant(ha.last_success)));
      if (ha.error) cell.append(el('span', { class: 'when', 'data-field': 'home_assistant.error' }, ha.error));
      table.append(el('tr', null, el('th', { scope: 'row' }, t.homeAssistant), cell));
    }
    card.append(table);
    return card;
  }

  // The household's Tempo (/api/v1/tempo/outlook): today, tomorrow, the
  // season's counters, and a warning when the sources disagree.
  function tempoCard(o) {
    const card = el('article', { class: 'card tempo' });
    const season = o.season || {};
    const years = season.start && season.end
      ? String(season.start).slice(0, 4) + '–' + String(season.end).slice(0, 4) : '';
    card.append(el('h2', null, t.tempo, ' ', el('span', { class: 'sub' }, t.season + ' ' + years)));
    const table = el('table');
    for (const [key, label] of [['today', t.today], ['tomorrow', t.tomorrow]]) {
      const d = o[key] || {};
      table.append(el('tr', null,
        el('th', { scope: 'row' }, label, el('span', { class: 'when' }, day(d.date))),
        el('td', { colspan: '2' }, tempoBadge(d.colour, 'tempo.' + key))));
    }
    const colours = season.colours || {};
    for (const c of ['blue', 'white', 'red']) {
      const n = colours[c] || {};
      const used = el('td', { 'data-field': 'tempo.' + c + '.used', 'data-value': isNum(n.used) ? String(n.used) : '' },
        (isNum(n.used) ? n.used : DASH) + '/' + (isNum(n.quota) ? n.quota : DASH));
      const left = el('td', { 'data-field': 'tempo.' + c + '.remaining', 'data-value': isNum(n.remaining) ? String(n.remaining) : '' },
        DASH + ' ' + t.left + ' ' + (isNum(n.remaining) ? n.remaining : DASH));
      if (n.over_quota > 0) {
        left.append(' ', el('span', { class: 'badge alert', 'data-field': 'tempo.' + c + '.over_quota', 'data-value': String(n.over_quota) },
          '+' + n.over_quota + ' ' + t.overQuota));
      }
      table.append(el('tr', null, el('th', { scope: 'row' }, el('span', { class: 'badge ' + c }, t[c])), used, left));
    }
    card.append(table);
    if (season.unknown_days > 0) {
      card.append(el('p', { class: 'note', 'data-field': 'tempo.unknown_days', 'data-value': String(season.unknown_days) },
        t.unknownDays(season.unknown_days)));
    }
    const list = o.disagreements || [];
    if (list.length > 0) {
      const shown = list.slice(0, 5).map((x) => day(x.date) + ' (' + t.service + ' ' + (t[x.service] || x.service)
        + ', ' + t.tariff + ' ' + (t[x.tariff] || x.tariff) + ')');
      const dates = new Set(list.map((x) => x.date)).size;
      card.append(el('p', { class: 'warning', role: 'alert', 'data-field': 'tempo.disagreements', 'data-value': String(list.length) },
        t.disagreement(dates) + shown.join(', ') + (list.length > shown.length ? '…' : '.')));
    }
    return card;
  }

  function renderTile(s, outlook) {
    const tile = document.getElementById('tile');
    tile.replaceChildren();
    if (!s.meters || s.meters.length === 0) {
      tile.append(el('article', { class: 'card' }, el('p', null, t.noMeter)));
    }
    for (const m of s.meters || []) tile.append(meterCard(m));
    tile.append(tempoCard(outlook));
    tile.append(statusCard(s));
    const footer = document.getElementById('footer');
    footer.textContent = 'hellowatt · ' + instant(s.generated_at);
  }

  // ------------------------------------------------------------- charts

  const state = { meter: null, metric: 'kwh', data: {} };

  function niceStep(raw) {
    if (!(raw > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  // rows: [{label, title, value, colour (a class)}]; a missing value draws no bar,
  // only a dash on the axis.
  function barChart(plot, rows, format) {
    plot.replaceChildren();
    if (!rows.length || rows.every((r) => !isNum(r.value))) {
      plot.append(el('p', { class: 'empty' }, t.noData));
      return;
    }
    const W = Math.max(280, Math.floor(plot.clientWidth || 600));
    const H = W < 500 ? 180 : 220;
    const padL = 48, padR = 6, padT = 8, padB = 24;
    const plotW = W - padL - padR, plotH = H - padT - padB;
    const max = Math.max(0, ...rows.filter((r) => isNum(r.value)).map((r) => r.value));
    const step = niceStep(max / 4);
    const top = Math.max(step, Math.ceil(max / step) * step);
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img' });
    for (let v = 0; v <= top + step / 2; v += step) {
      const y = padT + plotH - (v / top) * plotH;
      s.append(svg('line', { class: 'grid', x1: padL, x2: W - padR, y1: y, y2: y }));
      s.append(svg('text', { x: padL - 4, y: y + 4, 'text-anchor': 'end' }, tickFormat.format(v)));
    }
    s.append(svg('line', { class: 'axis', x1: padL, x2: W - padR, y1: padT + plotH, y2: padT + plotH }));
    const slot = plotW / rows.length;
    const bw = Math.max(1, slot * 0.78);
    const every = Math.max(1, Math.ceil(rows.length * 34 / plotW));
    rows.forEach((r, i) => {
      const x = padL + i * slot + (slot - bw) / 2;
      if (isNum(r.value)) {
        const h = Math.max(0, (r.value / top) * plotH);
        const bar = svg('rect', {
          class: 'bar ' + r.colour,
          x: x.toFixed(1), y: (padT + plotH - h).toFixed(1), width: bw.toFixed(1), height: h.toFixed(1),
          'data-value': r.value,
        });
        bar.append(svg('title', {}, r.title + ' : ' + format(r.value)));
        s.append(bar);
      } else {
        const dash = svg('text', {
          class: 'missing', x: (x + bw / 2).toFixed(1), y: padT + plotH - 3, 'text-anchor': 'middle',
        }, DASH);
        dash.append(svg('title', {}, r.title + ' : ' + DASH));
        s.append(dash);
      }
      if (i % every === 0) {
        s.append(svg('text', { x: (x + bw / 2).toFixed(1), y: H - 8, 'text-anchor': 'middle' }, r.label));
      }
    });
    plot.append(s);
  }

  // Bar classes (colours in style.css: no inline style under the CSP).
  const COLOURS = {
    blue: 'blue', white: 'white', red: 'red',
    kwh: 'm-kwh', eur: 'm-eur', solar_production_kwh: 'm-solar',
  };

  function partial(r) {
    return r.value_count < r.day_count ? ` (${r.value_count}/${r.day_count} ${t.days})` : '';
  }

  function chartRows(readings, granularity, metric) {
    const tempoColours = metric !== 'solar_production_kwh';
    return readings.rows.map((r) => {
      let label, title;
      if (granularity === 'day') {
        label = shortDayFormat.format(utcDate(r.start));
        title = day(r.start);
      } else if (granularity === 'month') {
        label = shortMonthFormat.format(utcDate(r.start));
        title = monthFormat.format(utcDate(r.start));
      } else {
        label = r.bucket;
        title = r.bucket;
      }
      const tempo = granularity === 'day' && tempoColours && r.tempo ? r.tempo : null;
      return {
        label, title: title + partial(r), value: r[metric], tempo,
        colour: tempo ? COLOURS[tempo] : COLOURS[metric],
      };
    });
  }

  function drawCharts() {
    const meter = state.data[state.meter];
    if (!meter) return;
    const format = metricFormat(state.metric);
    let tempoShown = false;
    for (const g of ['day', 'month', 'year']) {
      const rows = chartRows(meter[g], g, state.metric);
      if (rows.some((r) => r.tempo)) tempoShown = true;
      barChart(document.querySelector(`#chart-${g} .plot`), rows, format);
    }
    const legend = document.getElementById('legend');
    legend.replaceChildren();
    if (tempoShown) {
      for (const c of ['blue', 'white', 'red']) legend.append(el('span', { class: c }, t.tempo + ' ' + t[c]));
      legend.append(el('span', { class: 'unknown' }, t.unknownColour));
    }
  }

  async function loadMeter(id) {
    if (!state.data[id]) {
      const q = (g) => `api/v1/readings?meter=${encodeURIComponent(id)}&granularity=${g}`;
      const [d, m, y] = await Promise.all([api(q('day')), api(q('month')), api(q('year'))]);
      state.data[id] = { day: d, month: m, year: y, energy: d.energy };
    }
    state.meter = id;
    const production = document.querySelector('[data-metric="solar_production_kwh"]');
    production.hidden = state.data[id].energy !== 'electricity';
    if (production.hidden && state.metric === 'solar_production_kwh') setMetric('kwh');
    drawCharts();
  }

  function setMetric(metric) {
    state.metric = metric;
    for (const b of document.querySelectorAll('.tabs button')) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-metric') === metric));
    }
  }

  function setupMeters(meters) {
    const select = document.getElementById('meter');
    select.replaceChildren();
    for (const m of meters) {
      select.append(el('option', { value: m.meter_id }, (t[m.energy] || m.energy) + ' · ' + m.meter_id));
    }
    const wanted = params.get('meter');
    if (wanted && meters.some((m) => m.meter_id === wanted)) select.value = wanted;
    select.addEventListener('change', () => {
      loadMeter(select.value).catch(showError);
    });
    for (const b of document.querySelectorAll('.tabs button')) {
      b.addEventListener('click', () => {
        setMetric(b.getAttribute('data-metric'));
        drawCharts();
      });
    }
    let pending = null;
    window.addEventListener('resize', () => {
      clearTimeout(pending);
      pending = setTimeout(drawCharts, 150);
    });
    return select.value;
  }

  async function main() {
    applyLabels();
    const metric = params.get('metric');
    if (metric === 'kwh' || metric === 'eur' || metric === 'solar_production_kwh') setMetric(metric);
    try {
      const [summary, meters, outlook] = await Promise.all([
        api('api/v1/summary'), api('api/v1/meters'), api('api/v1/tempo/outlook'),
      ]);
      renderTile(summary, outlook);
      const first = setupMeters(meters);
      if (first) await loadMeter(first);
      document.body.setAttribute('data-ready', 'true');
    } catch (e) {
      showError(e);
      document.body.setAttribute('data-ready', 'error');
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
})();
