// hellowatt dashboard: the tile and the charts, drawn from the JSON API.
// Plain JavaScript, no framework, no request outside this service.
// `?lang=en` for English labels (French by default), `?token=…` when the
// service requires a token (sent to the API as `Authorization: Bearer`),
// `?meter=ID` to open on a meter, `?metric=kwh|eur|solar_production_kwh`
// to open on a chart, `?day=YYYY-MM-DD` to open the load curve on a day
// (by default the last day with a curve).
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
      curveTitle: 'Courbe de charge', curveDay: 'Jour',
      curveTotal: (v) => 'total du jour\u00a0: ' + v,
      curvePeak: (kw, at) => 'puissance maximale\u00a0: ' + kw + ' à ' + at,
      peaksTitle: 'Puissance maximale par mois',
      peaksNote: 'La plus forte puissance moyenne d\u2019une demi-heure du mois (kWh × 2), '
        + 'tirée de la courbe de charge.',
      peakOn: (kw, d, at) => kw + ' le ' + d + ' à ' + at,
      subscribed: (v) => 'puissance souscrite\u00a0: ' + v,
      noPeaks: 'Pas de courbe de charge sur ces mois.',
      noCurve: 'Pas de courbe de charge pour ce jour.',
      peak: 'Heures pleines', offPeak: 'Heures creuses',
      offPeakUsual: 'Heures creuses supposées de 22\u00a0h à 6\u00a0h, la plage habituelle '
        + '(celles de votre contrat ne sont pas connues)',
      halfHour: 'kWh par demi-heure',
      splitTitle: 'Coût par période tarifaire',
      splitTempo: 'Coût par couleur Tempo et HP/HC', splitHpHc: 'Coût en heures pleines et creuses',
      splitCaption: 'Coût de la consommation par mois, abonnement non compris',
      hp: 'HP', hc: 'HC', base: 'Base',
      yoyTitle: "Cette année et l'an dernier",
      yoyCaption: (what) => what + '\u00a0: chaque mois à côté du même mois un an plus tôt',
      thisYear: '12 derniers mois', yearBefore: 'Un an plus tôt',
      monthCol: 'Mois', temperature: 'Température moyenne', temperatureShort: 'Temp.', until: (d) => "jusqu'au " + d,
      yoyCells: 'Chaque case\u00a0: le mois, et dessous, en gris, le même mois un an plus tôt.',
      at: (d) => 'le ' + d, since: (d) => 'depuis le ' + d, now: 'maintenant',
      ecowattTitle: 'Signal EcoWatt de RTE',
      ecoLevels: ['Vert, production décarbonée', 'Vert', 'Orange', 'Rouge'],
      ecoUnknown: 'inconnu', ecoHourUnknown: 'Heure non publiée',
      hour: (h) => h + '\u00a0h',
      ecoGenerated: (at) => 'publié le ' + at,
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
      curveTitle: 'Load curve', curveDay: 'Day',
      curveTotal: (v) => 'day total: ' + v,
      curvePeak: (kw, at) => 'highest power: ' + kw + ' at ' + at,
      peaksTitle: 'Highest power by month',
      peaksNote: 'The month\'s highest mean power over a half-hour (kWh × 2), '
        + 'from the load curve.',
      peakOn: (kw, d, at) => kw + ' on ' + d + ' at ' + at,
      subscribed: (v) => 'subscribed power: ' + v,
      noPeaks: 'No load curve in these months.',
      noCurve: 'No load curve for this day.',
      peak: 'Peak hours', offPeak: 'Off-peak hours',
      offPeakUsual: 'Off-peak hours taken as 22:00 to 06:00, the usual range '
        + '(your contract\'s own are not known)',
      halfHour: 'kWh per half-hour',
      splitTitle: 'Cost by tariff period',
      splitTempo: 'Cost by Tempo colour, peak and off-peak', splitHpHc: 'Cost in peak and off-peak hours',
      splitCaption: 'Cost of the consumption by month, subscription not included',
      hp: 'peak', hc: 'off-peak', base: 'Base',
      yoyTitle: 'This year against last',
      yoyCaption: (what) => what + ': each month beside the same month a year before',
      thisYear: 'Last 12 months', yearBefore: 'A year before',
      monthCol: 'Month', temperature: 'Mean temperature', temperatureShort: 'Temp.', until: (d) => 'to ' + d,
      yoyCells: 'Each cell: the month, and below it, in grey, the same month a year before.',
      at: (d) => 'on ' + d, since: (d) => 'since ' + d, now: 'now',
      ecowattTitle: 'RTE\'s EcoWatt signal',
      ecoLevels: ['Green, low-carbon production', 'Green', 'Orange', 'Red'],
      ecoUnknown: 'unknown', ecoHourUnknown: 'Hour not published',
      hour: (h) => String(h).padStart(2, '0') + ':00',
      ecoGenerated: (at) => 'published on ' + at,
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
  const longDayFormat = new Intl.DateTimeFormat(locale, {
    weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC',
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
  const celsiusFormat = nf(1);
  const clockFormat = new Intl.DateTimeFormat(locale, {
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone: 'Europe/Paris',
  });

  function isNum(v) { return typeof v === 'number' && Number.isFinite(v); }
  // A missing value is "—", never 0.
  function kwh(v) { return isNum(v) ? kwhFormat.format(v) + '\u00a0kWh' : DASH; }
  const kwFormat = nf(2);
  function kw(v) { return isNum(v) ? kwFormat.format(v) + '\u00a0kW' : DASH; }
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
  function celsius(v) { return isNum(v) ? celsiusFormat.format(v) + '\u00a0°C' : DASH; }
  function isoDay(date) { return date.toISOString().slice(0, 10); }
  function addDays(s, n) {
    const d = utcDate(s);
    d.setUTCDate(d.getUTCDate() + n);
    return isoDay(d);
  }
  // The first day of the month `n` months before the month of day `s`.
  function monthsBefore(s, n) {
    const d = utcDate(s);
    return isoDay(new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - n, 1)));
  }

  // The same day a year before (28 February for a 29th).
  function yearBefore(s) {
    const [y, m, d] = String(s).split('-').map(Number);
    const last = new Date(Date.UTC(y - 1, m, 0)).getUTCDate();
    return isoDay(new Date(Date.UTC(y - 1, m - 1, Math.min(d, last))));
  }

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

  // ------------------------------------------------------------ EcoWatt

  // RTE's signal (/api/v1/ecowatt): today's and tomorrow's level and one
  // cell per hour of the day, coloured by the stored hour's level. A stored
  // hour's cell carries `data-field`; an hour RTE did not publish is drawn
  // as unknown without one.
  const parisDay = new Intl.DateTimeFormat('en-CA', {
    year: 'numeric', month: '2-digit', day: '2-digit', timeZone: 'Europe/Paris',
  });
  const parisHour = new Intl.DateTimeFormat('en-GB', {
    hour: '2-digit', hourCycle: 'h23', timeZone: 'Europe/Paris',
  });
  function hourLabel(utc) { return t.hour(Number(parisHour.format(new Date(utc * 1000)))); }

  // The starts (UTC seconds) of the day's hours: 23, 24 or 25 of them.
  function daySlots(date) {
    const base = utcDate(date).getTime() / 1000;
    const slots = [];
    for (let s = base - 3 * 3600; s < base + 27 * 3600; s += 3600) {
      if (parisDay.format(new Date(s * 1000)) === date) slots.push(s);
    }
    return slots;
  }

  function ecoLevel(v, min) { return Number.isInteger(v) && v >= min && v <= 3 ? v : null; }

  function ecowattDay(key, label, date, d) {
    const sep = lang === 'fr' ? '\u00a0: ' : ': ';
    const level = ecoLevel(d && d.level, 1);
    const row = el('div', { class: 'eco-day', 'data-date': date });
    row.append(el('h3', null, label, ' ', el('span', { class: 'sub' }, longDayFormat.format(utcDate(date))), ' ',
      el('span', {
        class: 'badge eco-' + (level === null ? 'unknown' : level),
        'data-field': 'ecowatt.' + key, 'data-value': level === null ? '' : String(level),
      }, level === null ? t.ecoUnknown : t.ecoLevels[level])));
    const stored = new Map(((d && d.hours) || []).map((h) => [h.start_utc, h]));
    const strip = el('div', { class: 'eco-strip', role: 'img', 'aria-label': t.ecowattTitle + ', ' + label });
    const ticks = el('div', { class: 'eco-ticks' });
    daySlots(date).forEach((s, i) => {
      const h = stored.get(s);
      const lv = h ? ecoLevel(h.level, 0) : null;
      const attrs = {
        class: 'eco-cell eco-' + (lv === null ? 'unknown' : lv),
        title: hourLabel(s) + '–' + hourLabel(s + 3600) + sep
          + (lv !== null ? t.ecoLevels[lv] : h ? t.ecoUnknown : t.ecoHourUnknown),
      };
      if (h) {
        attrs['data-field'] = 'ecowatt.' + key + '.' + s;
        attrs['data-value'] = lv === null ? '' : String(lv);
      }
      strip.append(el('span', attrs));
      ticks.append(el('span', null, i % 6 === 0 ? hourLabel(s) : ''));
    });
    row.append(strip, ticks);
    if (d && d.generated_at) {
      row.append(el('p', { class: 'legend' }, t.ecoGenerated(sentenceFormat.format(new Date(d.generated_at)))));
    }
    return row;
  }

  // Hidden when the answer has neither today nor tomorrow: EcoWatt is off.
  function renderEcowatt(answer, today) {
    const section = document.getElementById('ecowatt');
    const days = (answer && answer.days) || [];
    const tomorrow = addDays(today, 1);
    const find = (date) => days.find((d) => d.date === date) || null;
    section.hidden = !find(today) && !find(tomorrow);
    if (section.hidden) return;
    document.getElementById('ecowatt-days').replaceChildren(
      ecowattDay('today', t.today, today, find(today)),
      ecowattDay('tomorrow', t.tomorrow, tomorrow, find(tomorrow)));
    legend('ecowatt-legend', [0, 1, 2, 3].map((l) => ['eco-' + l, t.ecoLevels[l]])
      .concat([['eco-unknown', t.ecoHourUnknown]]));
  }

  // ------------------------------------------------------------- charts

  const state = { meter: null, metric: 'kwh', data: {}, meters: [], yesterday: null };

  function niceStep(raw) {
    if (!(raw > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    const f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
  }

  // One drawing for every chart: `groups` along the axis, each of `bars`
  // side by side, each bar a stack of `segments` ({value, cls, field,
  // title}); `bands` shade runs of groups ({from, to, cls, title}). A
  // missing value draws no bar, only a dash on the axis, and keeps its
  // `data-field` with an empty `data-value` (missing is not zero).
  function drawBars(plot, spec) {
    plot.replaceChildren();
    const groups = spec.groups;
    const heights = [];
    for (const g of groups) {
      for (const b of g.bars) {
        const known = b.segments.filter((x) => isNum(x.value));
        if (known.length) heights.push(known.reduce((a, x) => a + Math.max(0, x.value), 0));
      }
    }
    if (!heights.length) {
      plot.append(el('p', { class: 'empty' }, spec.empty || t.noData));
      return;
    }
    const W = Math.max(280, Math.floor(plot.clientWidth || 600));
    const H = W < 500 ? 180 : 220;
    const padL = 48, padR = 6, padT = 8, padB = groups.some((g) => g.sublabel) ? 38 : 24;
    const plotW = W - padL - padR, plotH = H - padT - padB;
    const max = Math.max(0, ...heights);
    const step = niceStep(max / 4);
    const top = Math.max(step, Math.ceil(max / step) * step);
    const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img' });
    if (spec.label) s.setAttribute('aria-label', spec.label);
    const slot = plotW / groups.length;
    for (const band of spec.bands || []) {
      const rect = svg('rect', {
        class: 'band ' + band.cls, x: (padL + band.from * slot).toFixed(1), y: padT,
        width: ((band.to - band.from) * slot).toFixed(1), height: plotH,
      });
      rect.append(svg('title', {}, band.title));
      s.append(rect);
    }
    for (let v = 0; v <= top + step / 2; v += step) {
      const y = padT + plotH - (v / top) * plotH;
      s.append(svg('line', { class: 'grid', x1: padL, x2: W - padR, y1: y, y2: y }));
      s.append(svg('text', { x: padL - 4, y: y + 4, 'text-anchor': 'end' }, tickFormat.format(v)));
    }
    s.append(svg('line', { class: 'axis', x1: padL, x2: W - padR, y1: padT + plotH, y2: padT + plotH }));
    const every = spec.labelEvery || Math.max(1, Math.ceil(groups.length * 34 / plotW));
    const sep = lang === 'fr' ? '\u00a0: ' : ': ';
    groups.forEach((g, i) => {
      const inner = slot * 0.8;
      const bw = Math.max(1, inner / g.bars.length);
      g.bars.forEach((b, j) => {
        const x = padL + i * slot + (slot - inner) / 2 + j * bw;
        let y = padT + plotH;
        const known = b.segments.filter((x) => isNum(x.value));
        for (const seg of b.segments) {
          if (!isNum(seg.value)) {
            if (seg.field) s.append(svg('g', { 'data-field': seg.field, 'data-value': '' }));
            continue;
          }
          const h = Math.max(0, (seg.value / top) * plotH);
          y -= h;
          const bar = svg('rect', {
            class: 'bar ' + seg.cls,
            x: x.toFixed(1), y: y.toFixed(1), width: bw.toFixed(1), height: h.toFixed(1),
            'data-value': seg.value,
          });
          if (seg.field) bar.setAttribute('data-field', seg.field);
          bar.append(svg('title', {}, seg.title + sep + spec.format(seg.value)));
          s.append(bar);
        }
        if (!known.length) {
          const dash = svg('text', {
            class: 'missing', x: (x + bw / 2).toFixed(1), y: padT + plotH - 3, 'text-anchor': 'middle',
          }, DASH);
          dash.append(svg('title', {}, (b.title || g.title) + sep + DASH));
          s.append(dash);
        }
      });
      const cx = (padL + i * slot + slot / 2).toFixed(1);
      if (g.label && i % every === 0) {
        s.append(svg('text', { x: cx, y: padT + plotH + 16, 'text-anchor': 'middle' }, g.label));
      }
      if (g.sublabel && i % every === 0) {
        s.append(svg('text', { class: 'sublabel', x: cx, y: padT + plotH + 30, 'text-anchor': 'middle' }, g.sublabel));
      }
    });
    plot.append(s);
  }

  function legend(id, items) {
    const p = document.getElementById(id);
    p.replaceChildren(...items.map(([cls, text]) => el('span', { class: cls }, text)));
  }

  // Bar classes (colours in style.css: no inline style under the CSP).
  const COLOURS = {
    blue: 'blue', white: 'white', red: 'red',
    kwh: 'm-kwh', eur: 'm-eur', solar_production_kwh: 'm-solar',
  };
  const METRIC_LABEL = { kwh: 'consumption', eur: 'cost', solar_production_kwh: 'production' };

  function partial(r) {
    return r.value_count < r.day_count ? ` (${r.value_count}/${r.day_count} ${t.days})` : '';
  }

  function bucketLabels(r, granularity) {
    if (granularity === 'day') return [shortDayFormat.format(utcDate(r.start)), day(r.start)];
    if (granularity === 'month') {
      return [shortMonthFormat.format(utcDate(r.start)), monthFormat.format(utcDate(r.start))];
    }
    return [r.bucket, r.bucket];
  }

  function historyGroups(meter, rows, granularity, metric) {
    const tempoColours = metric !== 'solar_production_kwh';
    return rows.map((r) => {
      const [label, title] = bucketLabels(r, granularity);
      const tempo = granularity === 'day' && tempoColours && r.tempo ? r.tempo : null;
      return {
        label, title: title + partial(r), tempo,
        bars: [{
          segments: [{
            value: r[metric], cls: tempo ? COLOURS[tempo] : COLOURS[metric], title: title + partial(r),
            field: 'history.' + meter.id + '.' + r.bucket,
          }],
        }],
      };
    });
  }

  // ------------------------------------------------------- load curve

  // The off-peak hours are not stored (the curve's points and the day rows
  // carry no schedule): the usual 22:00-06:00 range, said so in the legend.
  function offPeak(iso) {
    const h = Number(String(iso).slice(11, 13));
    return h >= 22 || h < 6;
  }

  function drawCurve(meter) {
    const section = document.getElementById('curve');
    section.hidden = meter.energy !== 'electricity';
    if (section.hidden) return;
    const c = meter.curve;
    const input = document.getElementById('curve-day');
    input.min = meter.first || '';
    input.value = c.day || '';
    input.setAttribute('data-value', c.day || '');
    // The picker shows the day in the browser's language: the page's too.
    document.getElementById('curve-date').textContent = c.day ? longDayFormat.format(utcDate(c.day)) : '';
    const plot = document.querySelector('#chart-curve .plot');
    const points = c.points || [];
    const groups = points.map((p) => {
      const hc = offPeak(p.start);
      const start = clockFormat.format(new Date(p.start_utc * 1000));
      const end = clockFormat.format(new Date((p.start_utc + p.minutes * 60) * 1000));
      const title = start + '–' + end + ' (' + (hc ? t.offPeak : t.peak) + ')';
      return {
        label: p.start.slice(14, 16) === '00' && Number(p.start.slice(11, 13)) % 3 === 0 ? start : '',
        title,
        bars: [{ segments: [{ value: p.kwh, cls: 'curve ' + (hc ? 'hc' : 'hp'), title, field: 'curve.' + meter.id + '.' + p.start_utc }] }],
      };
    });
    const bands = [];
    points.forEach((p, i) => {
      if (!offPeak(p.start)) return;
      const last = bands[bands.length - 1];
      if (last && last.to === i) last.to = i + 1;
      else bands.push({ from: i, to: i + 1, cls: 'hc', title: t.offPeakUsual });
    });
    drawBars(plot, {
      groups, bands, format: kwh, labelEvery: 1, empty: t.noCurve,
      label: t.curveTitle + ' ' + day(c.day) + ', ' + t.halfHour,
    });
    const known = points.filter((p) => isNum(p.kwh));
    const total = known.length ? known.reduce((a, p) => a + p.kwh, 0) : null;
    document.getElementById('curve-total').textContent = known.length ? t.curveTotal(kwh(total)) : '';
    // The day's peak: the point with the most energy per minute (a
    // half-hour's kWh x 2), the earliest of equal ones, as /api/v1/peaks.
    let best = null;
    for (const p of known) {
      if (!(p.minutes > 0)) continue;
      const v = p.kwh * 60 / p.minutes;
      if (!best || v > best.kw) best = { kw: v, at: p.start_utc };
    }
    const peakEl = document.getElementById('curve-peak');
    peakEl.textContent = best ? t.curvePeak(kw(best.kw), clockFormat.format(new Date(best.at * 1000))) : '';
    peakEl.setAttribute('data-value', best ? String(best.kw) : '');
    peakEl.setAttribute('data-at', best ? String(best.at) : '');
    drawPeaks(meter);
    legend('curve-legend', [['text-only', t.halfHour], ['curve-hp', t.peak], ['curve-hc', t.offPeakUsual]]);
  }

  // Each of the 12 months' highest power (/api/v1/peaks by month).
  function drawPeaks(meter) {
    const rows = (meter.peaks && meter.peaks.peaks) || [];
    const byMonth = new Map(rows.map((r) => [r.bucket, r]));
    const groups = [];
    for (let i = 11; i >= 0; i -= 1) {
      const first = monthsBefore(state.yesterday, i);
      const r = byMonth.get(first.slice(0, 7));
      const title = r
        ? t.peakOn(kw(r.kw), day(r.date), clockFormat.format(new Date(r.at_utc * 1000)))
        : monthFormat.format(utcDate(first)) + '\u00a0: ' + DASH;
      groups.push({
        label: shortMonthFormat.format(utcDate(first)),
        title,
        bars: [{ segments: [{ value: r ? r.kw : null, cls: 'peak', title, field: 'peaks.' + meter.id + '.' + first.slice(0, 7) }] }],
      });
    }
    drawBars(document.querySelector('#chart-peaks .plot'), {
      groups, format: kw, empty: t.noPeaks, label: t.peaksTitle,
    });
    // Beside the peaks: what the supply allows, when the site says.
    const kva = meter.subscribedKva;
    const sub = document.getElementById('peaks-subscribed');
    sub.textContent = isNum(kva) ? t.subscribed(nf(0).format(kva) + '\u00a0kVA') : '';
    sub.setAttribute('data-value', isNum(kva) ? String(kva) : '');
  }

  // The subscribed power of a home's supply: the highest of its active
  // electricity contracts' (a solar surplus contract states the smaller
  // injection power), as the MQTT sensor says.
  function subscribedKva(contracts, homeId) {
    const powers = (contracts || [])
      .filter((c) => c.home_id === homeId && c.active && c.energy === 'electricity' && isNum(c.subscribed_kva))
      .map((c) => c.subscribed_kva);
    return powers.length ? Math.max(...powers) : null;
  }

  // The curve of `wanted`, or of the last day with one in the 31 days to
  // yesterday (the API's longest curve range).
  async function loadCurve(id, wanted) {
    const q = (from, to) => `api/v1/curve?meter=${encodeURIComponent(id)}&from=${from}&to=${to}`;
    if (wanted) {
      const c = await api(q(wanted, wanted));
      return { day: wanted, points: c.points };
    }
    const c = await api(q(addDays(state.yesterday, -30), state.yesterday));
    const days = c.points.map((p) => p.date).sort();
    const last = days.length ? days[days.length - 1] : null;
    return { day: last, points: c.points.filter((p) => p.date === last) };
  }

  // -------------------------------------------- cost by tariff period

  // `Tempo-<colour>-HP|HC`, `HP`, `HC`, `Base`: the meter's tariff periods.
  function parsePeriod(p) {
    const m = /^Tempo-(blue|white|red)-(HP|HC)$/i.exec(p);
    if (m) return { colour: m[1].toLowerCase(), slot: m[2].toLowerCase() };
    if (/^(HP|HC)$/i.test(p)) return { colour: null, slot: p.toLowerCase() };
    if (/^base$/i.test(p)) return { colour: null, slot: 'base' };
    return { colour: null, slot: null };
  }
  const PERIOD_ORDER = ['Tempo-blue-HC', 'Tempo-blue-HP', 'Tempo-white-HC', 'Tempo-white-HP',
    'Tempo-red-HC', 'Tempo-red-HP', 'HC', 'HP', 'Base'];
  function periodRank(p) {
    const i = PERIOD_ORDER.findIndex((x) => x.toLowerCase() === p.toLowerCase());
    return i < 0 ? PERIOD_ORDER.length : i;
  }
  function periodLabel(p) {
    const { colour, slot } = parsePeriod(p);
    if (colour) return t[colour] + ' ' + t[slot];
    if (slot) return slot === 'base' ? t.base : t[slot];
    return p;
  }
  function periodClass(p) {
    const { colour, slot } = parsePeriod(p);
    if (colour) return 'p-' + colour + '-' + slot;
    return slot ? 'p-' + slot : 'p-other';
  }

  // Each month's periods ({bucket: {period: {kwh, eur}}}), as the month
  // rows of /api/v1/readings sum them.
  function monthPeriods(months) {
    const out = {};
    for (const r of months.rows) {
      out[r.bucket] = {};
      for (const p of r.periods || []) out[r.bucket][p.period] = { kwh: p.kwh, eur: p.eur };
    }
    return out;
  }

  function drawSplit(meter) {
    const rows = meter.months.rows.slice(-12);
    const seen = new Set();
    for (const r of rows) for (const p of Object.keys(meter.periods[r.bucket] || {})) seen.add(p);
    const periods = [...seen].sort((a, b) => periodRank(a) - periodRank(b) || a.localeCompare(b));
    const groups = rows.map((r) => {
      const [label, title] = bucketLabels(r, 'month');
      const split = meter.periods[r.bucket] || {};
      return {
        label, title,
        bars: [{
          segments: periods.filter((p) => split[p]).map((p) => ({
            value: split[p].eur, cls: periodClass(p),
            field: 'split.' + meter.id + '.' + r.bucket + '.' + p,
            title: title + ' · ' + periodLabel(p) + ' (' + kwh(split[p].kwh) + ')',
          })),
        }],
      };
    });
    const tempo = periods.some((p) => parsePeriod(p).colour);
    const hphc = periods.some((p) => parsePeriod(p).slot === 'hp' || parsePeriod(p).slot === 'hc');
    document.getElementById('split-title').textContent = tempo ? t.splitTempo : hphc ? t.splitHpHc : t.splitTitle;
    drawBars(document.querySelector('#chart-split .plot'), {
      groups, format: eur, label: t.splitCaption,
    });
    legend('split-legend', periods.map((p) => [periodClass(p), periodLabel(p)]));
  }

  // ------------------------------------------------ this year and last

  // Each month's mean outdoor temperature: the site's month mean when it
  // gives one, else the mean of the month's stored days.
  function monthCelsius(temps) {
    const out = {};
    if (!temps) return out;
    const sums = {};
    for (const d of temps.days || []) {
      const k = String(d.date).slice(0, 7);
      const s = sums[k] || (sums[k] = [0, 0]);
      s[0] += d.celsius;
      s[1] += 1;
    }
    for (const [k, [sum, n]] of Object.entries(sums)) out[k] = sum / n;
    for (const m of temps.months || []) out[String(m.date).slice(0, 7)] = m.celsius;
    return out;
  }

  function drawYoy(meter) {
    const rows = meter.months.rows;
    const now = rows.slice(-12);
    const before = rows.slice(-24, -12);
    // The current month so far beside the same days a year before, not
    // beside that whole month.
    if (before.length === 12 && meter.sameDaysBefore) before[11] = meter.sameDaysBefore;
    const pairs = now.map((r, i) => ({ r, b: before.length === 12 ? before[i] : null }));
    const metric = state.metric;
    const temps = meter.celsius;
    const groups = pairs.map(({ r, b }) => {
      const [label, title] = bucketLabels(r, 'month');
      const bTitle = b ? bucketLabels(b, 'month')[1] : DASH;
      return {
        label, title, sublabel: isNum(temps[r.bucket]) ? celsiusFormat.format(temps[r.bucket]) + '°' : '',
        bars: [
          { title: bTitle, segments: [{ value: b ? b[metric] : null, cls: COLOURS[metric] + ' before', title: bTitle, field: 'yoy.' + meter.id + '.' + r.bucket + '.bar_before' }] },
          { title, segments: [{ value: r[metric], cls: COLOURS[metric], title, field: 'yoy.' + meter.id + '.' + r.bucket + '.bar' }] },
        ],
      };
    });
    const what = t[METRIC_LABEL[metric]];
    document.getElementById('yoy-caption').textContent = t.yoyCaption(what);
    drawBars(document.querySelector('#chart-yoy .plot'), {
      groups, format: metricFormat(metric), label: t.yoyCaption(what),
    });
    legend('yoy-legend', [[COLOURS[metric] + ' before', t.yearBefore], [COLOURS[metric], t.thisYear],
      ['text-only', '°C\u00a0: ' + t.temperature]]);
    // The figures behind the chart: kWh, euros and temperatures, each
    // cell the month over the same month a year before (narrow enough for
    // a phone).
    const table = document.getElementById('yoy-table');
    table.replaceChildren();
    const th = (text) => el('th', { scope: 'col' }, text);
    table.append(el('caption', null, t.yoyCells),
      el('thead', null, el('tr', null, th(t.monthCol), th(t.consumption), th(t.cost),
        el('th', { scope: 'col' }, el('abbr', { title: t.temperature }, t.temperatureShort)))));
    const body = el('tbody');
    const id = meter.id;
    const both = (name, now, before, format) => el('td', null,
      el('span', { class: 'now', 'data-field': 'yoy.' + id + '.' + name, 'data-value': isNum(now) ? String(now) : '' }, format(now)),
      el('span', { class: 'before', 'data-field': 'yoy.' + id + '.' + name + '_before', 'data-value': isNum(before) ? String(before) : '' }, format(before)));
    for (const { r, b } of pairs.slice().reverse()) {
      // The current month so far: say up to which day.
      const cut = addDays(r.end, 1).slice(0, 7) === r.bucket;
      const label = el('th', { scope: 'row' }, el('span', { class: 'now' }, monthFormat.format(utcDate(r.start))),
        el('span', { class: 'before' }, b ? monthFormat.format(utcDate(b.start)) : DASH));
      if (cut) label.append(el('span', { class: 'before cut' }, t.until(shortDayFormat.format(utcDate(r.end)))));
      body.append(el('tr', null, label,
        both(r.bucket + '.kwh', r.kwh, b ? b.kwh : null, kwh),
        both(r.bucket + '.eur', r.eur, b ? b.eur : null, eur),
        both(r.bucket + '.celsius', temps[r.bucket], b ? temps[b.bucket] : null, celsius)));
    }
    table.append(body);
  }

  // ----------------------------------------------------------- drawing

  function drawCharts() {
    const meter = state.data[state.meter];
    if (!meter) return;
    const format = metricFormat(state.metric);
    let tempoShown = false;
    for (const g of ['day', 'month', 'year']) {
      const rows = g === 'month' ? meter.months.rows.slice(-12) : meter[g].rows;
      const groups = historyGroups(meter, rows, g, state.metric);
      if (groups.some((r) => r.tempo)) tempoShown = true;
      drawBars(document.querySelector(`#chart-${g} .plot`), { groups, format });
    }
    legend('legend', tempoShown
      ? ['blue', 'white', 'red'].map((c) => [c, t.tempo + ' ' + t[c]]).concat([['unknown', t.unknownColour]])
      : []);
    drawCurve(meter);
    drawSplit(meter);
    drawYoy(meter);
  }

  async function loadMeter(id, wantedDay) {
    if (!state.data[id]) {
      const info = state.meters.find((m) => m.meter_id === id) || {};
      const q = (g, from) => `api/v1/readings?meter=${encodeURIComponent(id)}&granularity=${g}`
        + (from ? '&from=' + from : '');
      // 24 months: the last 12 and the same months a year before.
      const from24 = monthsBefore(state.yesterday, 23);
      const lastYear = yearBefore(state.yesterday);
      const [d, months, y, sameDays] = await Promise.all([q('day'), q('month', from24), q('year'),
        q('month', monthsBefore(lastYear, 0)) + '&to=' + lastYear].map(api));
      // Without temperatures the months still draw, their °C as missing.
      const temps = info.home_id
        ? await api(`api/v1/temperatures?home=${encodeURIComponent(info.home_id)}&from=${from24}`)
          .catch(() => null)
        : null;
      const curve = d.energy === 'electricity'
        ? await loadCurve(id, wantedDay).catch(() => ({ day: wantedDay, points: [] }))
        : { day: null, points: [] };
      const peaks = d.energy === 'electricity'
        ? await api(`api/v1/peaks?meter=${encodeURIComponent(id)}&granularity=month`
          + `&from=${monthsBefore(state.yesterday, 11)}`).catch(() => null)
        : null;
      const contracts = d.energy === 'electricity'
        ? await api('api/v1/contracts').catch(() => null)
        : null;
      state.data[id] = {
        id, energy: d.energy, first: info.first_day, day: d, months, year: y, curve, peaks,
        subscribedKva: subscribedKva(contracts, info.home_id),
        sameDaysBefore: sameDays.rows[0] || null,
        periods: monthPeriods(months), celsius: monthCelsius(temps),
      };
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

  // A day chosen in the picker: its curve, and the URL says it (a reload
  // or a shared link opens on it).
  async function pickDay(d) {
    const meter = state.data[state.meter];
    if (!meter || !/^\d{4}-\d{2}-\d{2}$/.test(d)) return;
    meter.curve = await loadCurve(meter.id, d).catch(() => ({ day: d, points: [] }));
    const url = new URL(window.location.href);
    url.searchParams.set('day', d);
    window.history.replaceState(null, '', url);
    drawCurve(meter);
  }

  function setupMeters(meters) {
    state.meters = meters;
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
    const input = document.getElementById('curve-day');
    input.max = state.yesterday;
    input.addEventListener('change', () => { pickDay(input.value).catch(showError); });
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
      const [summary, meters, outlook, ecowatt] = await Promise.all([
        api('api/v1/summary'), api('api/v1/meters'), api('api/v1/tempo/outlook'),
        api('api/v1/ecowatt'),
      ]);
      renderTile(summary, outlook);
      renderEcowatt(ecowatt, ecowatt.from);
      state.yesterday = summary.yesterday;
      const first = setupMeters(meters);
      const wantedDay = params.get('day');
      if (first) await loadMeter(first, /^\d{4}-\d{2}-\d{2}$/.test(wantedDay || '') ? wantedDay : null);
      document.body.setAttribute('data-ready', 'true');
    } catch (e) {
      showError(e);
      document.body.setAttribute('data-ready', 'error');
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
})();
