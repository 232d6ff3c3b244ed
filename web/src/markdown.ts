// A small, safe Markdown renderer for assistant replies. Replies are untrusted text (a model can
// be prompted into emitting anything), so the renderer never passes input HTML through: every
// character of the source is escaped, and only the tags this file writes itself reach the page.
// Links are limited to http(s) and mailto; anything else stays visible as plain text.
//
// Supported: paragraphs (single newlines become <br>), # headings, - / * / 1. lists, > quotes,
// fenced code blocks (``` or ~~~, unterminated ones run to the end) with a copy button and light
// syntax highlighting, `inline code`, **strong**, *em* / _em_, [text](url) and bare http(s) URLs.
// No DOM needed, so it runs (and is unit-tested) outside a browser too.

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** The URL when it is safe to link (http, https, mailto with no control characters or spaces). */
export function safeUrl(raw: string): string | null {
  const url = raw.trim();
  // Browsers strip tabs/newlines inside schemes ("java\tscript:"), so refuse any control character.
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u0020\u007f]/.test(url)) return null;
  return /^(https?:\/\/[^/]|mailto:[^/])/i.test(url) ? url : null;
}

function link(href: string, label: string): string {
  return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer nofollow">${label}</a>`;
}

// One pass over the text: code spans first (nothing inside them is Markdown), then links, bare
// URLs and emphasis. Text between matches is escaped.
// Spans are bounded (and rendering is per line) so a hostile line of 100,000 asterisks cannot make
// the lazy scans quadratic or the recursion deep.
const INLINE = new RegExp(
  [
    /(`{1,16})([^`]|[^`][^\n]{0,2000}?[^`])\1(?!`)/.source, // 1,2 code span
    /\[([^\]\n]{1,500})\]\(([^()\s]{0,2000}(?:\([^()\s]{0,500}\)[^()\s]{0,500})?)\)/.source, // 3,4 [text](url)
    /\b(https?:\/\/[^\s<>"'`]{0,2000}[^\s<>"'`.,:;!?)\]])/.source, // 5 bare URL
    /\*\*(?=\S)([^\n]{0,500}?\S)\*\*/.source, // 6 strong
    /\*(?=[^\s*])([^\n]{0,500}?[^\s*])\*/.source, // 7 em
    /(?<![\p{L}\p{N}_])_(?=\S)([^\n]{0,500}?\S)_(?![\p{L}\p{N}_])/u.source, // 8 em with underscores
  ].join("|"),
  "gu",
);

export function renderInline(src: string, depth = 0): string {
  if (depth > 6) return escapeHtml(src);
  let out = "";
  let last = 0;
  for (const m of src.matchAll(INLINE)) {
    out += escapeHtml(src.slice(last, m.index));
    last = m.index! + m[0].length;
    if (m[2] !== undefined) {
      // A span like `` `x` `` may be padded with one space on each side to hold backticks.
      const code = /^ .* $/.test(m[2]) && m[2].trim() ? m[2].slice(1, -1) : m[2];
      out += `<code>${escapeHtml(code)}</code>`;
    } else if (m[3] !== undefined) {
      const href = safeUrl(m[4]);
      out += href ? link(href, renderInline(m[3], depth + 1)) : escapeHtml(m[0]);
    } else if (m[5] !== undefined) {
      out += link(m[5], escapeHtml(m[5]));
    } else if (m[6] !== undefined) {
      out += `<strong>${renderInline(m[6], depth + 1)}</strong>`;
    } else {
      out += `<em>${renderInline(m[7] ?? m[8], depth + 1)}</em>`;
    }
  }
  return out + escapeHtml(src.slice(last));
}

// ---- code highlighting --------------------------------------------------------------------------

const KEYWORDS = new Set(
  ("as async await break case catch class const continue def default del do elif else enum export extends " +
    "false fn for from func function if impl import in interface let match mut new nil none null package pass " +
    "pub return self static struct super switch this throw true try type undefined use var void while with " +
    "yield lambda True False None select where insert update delete create table").split(" "),
);
const HASH_COMMENTS = new Set([
  "py",
  "python",
  "sh",
  "bash",
  "shell",
  "zsh",
  "rb",
  "ruby",
  "yaml",
  "yml",
  "toml",
  "r",
  "perl",
  "dockerfile",
]);

const PLAIN = new Set(["text", "txt", "plain", "md", "markdown", "output", "console", "log", "csv"]);

/** Escaped, highlighted HTML of a code block: comments, strings, numbers and keywords get a class. */
export function highlight(code: string, lang: string): string {
  if (!lang || PLAIN.has(lang)) return escapeHtml(code);
  const comment = HASH_COMMENTS.has(lang.toLowerCase())
    ? /#[^\n]*/.source
    : /\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)|--[^\n]*/.source;
  const tokens = new RegExp(
    `(${comment})|("(?:\\\\.|[^"\\\\\\n])*"?|'(?:\\\\.|[^'\\\\\\n])*'?|\`(?:\\\\.|[^\`\\\\])*\`?)|\\b(\\d[\\d_]*(?:\\.\\d+)?)\\b|\\b([A-Za-z_]\\w*)\\b`,
    "g",
  );
  let out = "";
  let last = 0;
  for (const m of code.matchAll(tokens)) {
    const cls = m[1] ? "c" : m[2] ? "s" : m[3] ? "n" : KEYWORDS.has(m[4]) ? "k" : "";
    if (!cls) continue;
    out += escapeHtml(code.slice(last, m.index)) + `<span class="tok-${cls}">${escapeHtml(m[0])}</span>`;
    last = m.index! + m[0].length;
  }
  return out + escapeHtml(code.slice(last));
}

function codeBlock(code: string, info: string): string {
  const lang = (/^[\w+#.-]{1,20}/.exec(info.trim())?.[0] ?? "").toLowerCase();
  const label = lang ? `<span class="code-lang">${escapeHtml(lang)}</span>` : "<span></span>";
  return `<div class="code-block"><div class="code-head">${label}` +
    `<button type="button" class="copy" data-copy aria-label="Copy code">Copy</button></div>` +
    `<pre><code${lang ? ` class="language-${escapeHtml(lang)}"` : ""}>${
      highlight(code, lang)
    }</code></pre></div>`;
}

// ---- blocks -------------------------------------------------------------------------------------

const FENCE = /^ {0,3}(`{3,}|~{3,})(.*)$/;
const HEADING = /^ {0,3}(#{1,6})[ \t]+(.*?)[ \t#]*$/;
const BULLET = /^ {0,3}[-*+][ \t]+(.*)$/;
const ORDERED = /^ {0,3}(\d{1,9})[.)][ \t]+(.*)$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const RULE = /^ {0,3}([-*_])( *\1){2,} *$/;

export function renderMarkdown(src: string): string {
  const lines = src.replace(/\r\n?/g, "\n").split("\n");
  const out: string[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length) out.push(`<p>${para.map((l) => renderInline(l)).join("<br>")}</p>`);
    para = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    // A backtick fence's info string may not contain backticks (so ```a``` inline stays inline).
    if (fence && !(fence[1][0] === "`" && fence[2].includes("`"))) {
      flush();
      const close = new RegExp(`^ {0,3}${fence[1][0] === "`" ? "`" : "~"}{${fence[1].length},}[ \\t]*$`);
      const body: string[] = [];
      while (++i < lines.length && !close.test(lines[i])) body.push(lines[i]);
      out.push(codeBlock(body.join("\n"), fence[2]));
      continue;
    }
    if (!line.trim()) {
      flush();
      continue;
    }
    const heading = HEADING.exec(line);
    if (heading) {
      flush();
      // h1/h2 inside a chat bubble would outrank the page's own headings; start at h3.
      const level = Math.min(heading[1].length + 2, 6);
      out.push(`<h${level}>${renderInline(heading[2])}</h${level}>`);
      continue;
    }
    if (RULE.test(line)) {
      flush();
      out.push("<hr>");
      continue;
    }
    const bullet = BULLET.exec(line);
    const ordered = ORDERED.exec(line);
    if (bullet || ordered) {
      flush();
      const pattern = bullet ? BULLET : ORDERED;
      const items: string[] = [];
      for (; i < lines.length; i++) {
        const m = pattern.exec(lines[i]);
        if (m) items.push(m[m.length - 1]);
        else if (/^[ \t]{2,}\S/.test(lines[i]) && items.length) {
          items[items.length - 1] += "\n" + lines[i].trim();
        } else break;
      }
      i--;
      const lis = items.map((t) => `<li>${t.split("\n").map((l) => renderInline(l)).join("<br>")}</li>`).join(
        "",
      );
      const start = ordered && ordered[1] !== "1" ? ` start="${Number(ordered[1])}"` : "";
      out.push(bullet ? `<ul>${lis}</ul>` : `<ol${start}>${lis}</ol>`);
      continue;
    }
    const quote = QUOTE.exec(line);
    if (quote) {
      flush();
      const body: string[] = [];
      for (; i < lines.length; i++) {
        const m = QUOTE.exec(lines[i]);
        if (!m) break;
        body.push(m[1]);
      }
      i--;
      out.push(`<blockquote>${renderMarkdown(body.join("\n"))}</blockquote>`);
      continue;
    }
    para.push(line);
  }
  flush();
  return out.join("");
}
