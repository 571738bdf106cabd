// bisearch page: talks to /api/search, /api/stats and /api/documents/{id}.
//
// Document text never goes through innerHTML: every piece of it becomes a DOM
// text node, so a document containing <script> shows the characters. Offsets
// from the API count Unicode code points (Python str indices), so strings are
// sliced as arrays of code points, not UTF-16 units.
"use strict";

(function () {
  const PAGE = 10;
  const DIRS = { fa: "rtl", en: "ltr" };
  // A "word" character: letters (tatweel included), combining marks, digits,
  // ZWNJ and ZWJ. A highlight boundary between two of them would split a
  // word, and in Persian break the joining of its letters.
  const WORD = /[\p{L}\p{M}\p{N}\u200C\u200D]/u;

  const $ = (id) => document.getElementById(id);
  const els = {
    form: $("search-form"), q: $("q"), lang: $("lang"), status: $("status"), error: $("error"),
    suggestion: $("suggestion"), warnings: $("warnings"), empty: $("empty"), results: $("results"),
    pager: $("pager"), prev: $("prev"), next: $("next"), range: $("range"), stats: $("stats"),
  };
  let state = { q: "", lang: "all", offset: 0 };
  let current = null; // AbortController of the request in flight

  // -- small DOM helpers (text only) ----------------------------------------
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  function show(node, on) { node.hidden = !on; }
  function clear(node) { node.replaceChildren(); }
  function dirOf(lang) { return DIRS[lang] || "auto"; }

  // -- highlights -----------------------------------------------------------
  function isWord(ch) { return ch !== undefined && WORD.test(ch); }

  /** Clamp, widen to whole words, sort and merge [start, end) spans. */
  function wholeWordSpans(chars, spans) {
    const out = [];
    for (const span of spans || []) {
      let s = Math.max(0, Math.min(chars.length, span[0] | 0));
      let e = Math.max(0, Math.min(chars.length, span[1] | 0));
      if (e <= s) continue;
      while (s > 0 && isWord(chars[s - 1]) && isWord(chars[s])) s--;
      while (e < chars.length && isWord(chars[e - 1]) && isWord(chars[e])) e++;
      out.push([s, e]);
    }
    out.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const merged = [];
    for (const sp of out) {
      const last = merged[merged.length - 1];
      if (last && sp[0] <= last[1]) last[1] = Math.max(last[1], sp[1]);
      else merged.push(sp);
    }
    return merged;
  }

  /** Append `text` to `node` with <mark> around the spans, as text nodes. */
  function appendHighlighted(node, text, spans) {
    const chars = Array.from(text);
    let pos = 0;
    for (const [s, e] of wholeWordSpans(chars, spans)) {
      if (s > pos) node.append(document.createTextNode(chars.slice(pos, s).join("")));
      node.append(el("mark", { text: chars.slice(s, e).join("") }));
      pos = e;
    }
    if (pos < chars.length) node.append(document.createTextNode(chars.slice(pos).join("")));
  }

  // -- API ------------------------------------------------------------------
  async function getJSON(url, signal) {
    let res;
    try {
      res = await fetch(url, { signal, headers: { Accept: "application/json" } });
    } catch (err) {
      if (err.name === "AbortError") throw err;
      throw { message: "The server did not answer.", hint: "Is `bisearch serve` still running?" };
    }
    let body = null;
    try { body = await res.json(); } catch (_) { body = null; }
    if (!res.ok) {
      throw {
        message: (body && body.message) || `The server answered ${res.status}.`,
        hint: body && body.hint,
      };
    }
    return body;
  }

  function docUrl(id) {
    // One path segment: slashes are encoded, so "../x" can never climb.
    return "/api/documents/" + encodeURIComponent(id);
  }

  // -- rendering --------------------------------------------------------------
  function resetView() {
    for (const n of [els.status, els.error, els.suggestion, els.warnings, els.empty, els.pager]) show(n, false);
    clear(els.results);
    clear(els.warnings);
    clear(els.suggestion);
  }

  function showError(err) {
    els.error.querySelector(".error-message").textContent = err.message || String(err);
    const hint = els.error.querySelector(".error-hint");
    hint.textContent = err.hint ? "Hint: " + err.hint : "";
    show(hint, !!err.hint);
    show(els.error, true);
  }

  function suggestionText(s) {
    if (s === null || s === undefined) return "";
    if (typeof s === "string") return s;
    return String(s.query || s.text || "");
  }

  function renderSuggestion(s) {
    const text = suggestionText(s);
    if (!text) return;
    const link = el("a", { href: "?" + new URLSearchParams({ q: text, lang: state.lang }), dir: "auto" }, el("bdi", { text }));
    link.addEventListener("click", (ev) => {
      ev.preventDefault();
      go({ q: text, lang: state.lang, offset: 0 });
    });
    els.suggestion.append("Did you mean ", link, "? · ", el("span", { lang: "fa", dir: "rtl", text: "منظورتان این بود؟" }));
    show(els.suggestion, true);
  }

  function renderHit(hit) {
    const lang = hit.lang || "mixed";
    const li = el("li", { class: "hit", lang: lang === "mixed" ? null : lang, dir: dirOf(lang), "data-lang": lang });
    const title = el("h2", { class: "hit-title", dir: "auto" }, el("bdi", { text: hit.title || hit.doc_id }));
    const meta = el("p", { class: "meta" });
    meta.append(el("span", { class: "badge lang-badge", lang: "en", dir: "ltr", text: lang }));
    if (hit.cross) meta.append(el("span", { class: "badge cross", text: "cross-language · میان‌زبانی" }));
    if (hit.date) meta.append(el("time", { datetime: hit.date, dir: "ltr", text: hit.date }));
    meta.append(el("bdi", { class: "doc-id", text: `${hit.doc_id} · #${hit.passage}` }));
    if (hit.url && /^https?:\/\//i.test(hit.url)) {
      meta.append(el("a", { href: hit.url, rel: "noopener noreferrer nofollow", target: "_blank", class: "src" }, "source"));
    }
    const sn = hit.snippet || { text: "", offset: 0, highlights: [] };
    const snippet = el("p", { class: "snippet", dir: dirOf(lang), lang: lang === "mixed" ? null : lang });
    const span = hit.span || [0, 0];
    if (sn.offset > span[0]) snippet.append("… ");
    appendHighlighted(snippet, sn.text, sn.highlights);
    if (sn.offset + Array.from(sn.text).length < span[1]) snippet.append(" …");

    const full = el("pre", { class: "doc-text", dir: "auto", hidden: "" });
    const btn = el("button", { type: "button", class: "show-doc", "aria-expanded": "false", text: "Full text" });
    btn.addEventListener("click", () => toggleDocument(hit.doc_id, btn, full));
    li.append(title, meta, snippet, btn, full);
    return li;
  }

  async function toggleDocument(id, btn, pre) {
    if (!pre.hidden) {
      pre.hidden = true;
      btn.setAttribute("aria-expanded", "false");
      return;
    }
    if (!pre.dataset.loaded) {
      pre.textContent = "Loading…";
      pre.hidden = false;
      try {
        const doc = await getJSON(docUrl(id));
        pre.textContent = doc.text;
        pre.dataset.loaded = "1";
      } catch (err) {
        pre.textContent = (err.message || "Cannot load the document.") + (err.hint ? " " + err.hint : "");
        return;
      }
    }
    pre.hidden = false;
    btn.setAttribute("aria-expanded", "true");
  }

  function renderResults(data) {
    resetView();
    renderSuggestion(data.suggestion);
    if (data.warnings && data.warnings.length) {
      for (const w of data.warnings) els.warnings.append(el("li", { text: w }));
      show(els.warnings, true);
    }
    if (!data.hits.length) {
      els.empty.append(
        data.offset > 0 && data.total > 0 ? "No more passages for " : "No passages match ",
        el("bdi", { class: "q", text: data.query }),
        ". · ",
        el("span", { lang: "fa", dir: "rtl", text: "نتیجه‌ای پیدا نشد." }),
      );
      show(els.empty, true);
    }
    for (const hit of data.hits) els.results.append(renderHit(hit));
    if (data.total > 0) {
      const first = data.offset + 1;
      const last = data.offset + data.hits.length;
      els.range.textContent = data.hits.length ? `${first}–${last} of ${data.total}` : `of ${data.total}`;
      els.prev.disabled = data.offset <= 0;
      els.next.disabled = data.offset + data.limit >= data.total;
      show(els.pager, data.total > data.limit || data.offset > 0);
    }
    els.results.setAttribute("start", String(data.offset + 1));
  }

  // -- state and navigation -----------------------------------------------------
  function readLocation() {
    const p = new URLSearchParams(location.search);
    const lang = ["fa", "en"].includes(p.get("lang")) ? p.get("lang") : "all";
    const offset = Math.max(0, parseInt(p.get("offset") || "0", 10) || 0);
    return { q: p.get("q") || "", lang, offset };
  }

  function go(next, push = true) {
    state = next;
    if (push) {
      const p = new URLSearchParams({ q: state.q });
      if (state.lang !== "all") p.set("lang", state.lang);
      if (state.offset) p.set("offset", String(state.offset));
      history.pushState(null, "", "?" + p);
    }
    run();
  }

  async function run() {
    els.q.value = state.q;
    els.lang.value = state.lang;
    document.title = state.q ? `${state.q} · bisearch` : "bisearch · جستجو";
    if (current) current.abort();
    resetView();
    if (!state.q.trim()) {
      els.q.focus();
      return;
    }
    current = new AbortController();
    els.status.textContent = "Searching…";
    show(els.status, true);
    document.body.setAttribute("aria-busy", "true");
    const params = new URLSearchParams({ q: state.q, lang: state.lang, limit: String(PAGE), offset: String(state.offset) });
    try {
      const data = await getJSON("/api/search?" + params, current.signal);
      renderResults(data);
    } catch (err) {
      if (err.name === "AbortError") return;
      resetView();
      showError(err);
    } finally {
      document.body.removeAttribute("aria-busy");
    }
  }

  async function loadStats() {
    try {
      const s = await getJSON("/api/stats");
      const langs = Object.entries(s.languages).map(([k, v]) => `${k} ${v}`).join(", ");
      els.stats.textContent = `${s.documents} documents · ${s.passages} passages${langs ? ` (${langs})` : ""}`;
    } catch (err) {
      els.stats.textContent = "Index unavailable: " + (err.message || err);
    }
  }

  els.form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    go({ q: els.q.value, lang: els.lang.value, offset: 0 });
  });
  els.lang.addEventListener("change", () => {
    if (els.q.value.trim()) go({ q: els.q.value, lang: els.lang.value, offset: 0 });
  });
  els.prev.addEventListener("click", () => go({ ...state, offset: Math.max(0, state.offset - PAGE) }));
  els.next.addEventListener("click", () => go({ ...state, offset: state.offset + PAGE }));
  window.addEventListener("popstate", () => go(readLocation(), false));

  // Exposed for tests and the curious; pure functions only.
  window.bisearch = { wholeWordSpans };

  loadStats();
  go(readLocation(), false);
})();
