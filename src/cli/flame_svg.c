/* flame_svg.c — the SVG flame graph (see flame.h): lays folded stacks out as frames and writes them as <svg>
 * markup with the script that makes it interactive. The layout is one pass over the stacks in frame order
 * (';' sorting before every other byte, so stacks sharing a prefix are neighbours): a frame opens where a stack
 * first differs from the previous one and closes where a later stack stops sharing it; its width is the sum of
 * the values of the stacks in between. */
#include "flame.h"

#include <stdlib.h>
#include <string.h>

/* Geometry, in SVG pixels. CHAR_W is the advance of the 12 px monospace font, a little generous so labels never
 * overflow their frame; the script truncates with the same rule when zooming. */
enum { SVG_W = 1200, XPAD = 10, FRAME_H = 16, TOP = 60, TOP_EMBEDDED = 36, BOTTOM = 30 };
#define CHAR_W 7.3
#define FULL_W ((double)(SVG_W - 2 * XPAD))
#define HIGHLIGHT "rgb(230,0,230)"

/* ---- text --------------------------------------------------------------------------------------------- */

/* Decodes the UTF-8 character at s (n bytes left): returns its length, or 0 when it is invalid or not allowed
 * in XML (control characters, surrogates, U+FFFE/U+FFFF). */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return (c >= 0x20 && c != 0x7f) ? 1 : 0;
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    if (c == 0xef && s[1] == 0xbf && (s[2] == 0xbe || s[2] == 0xbf))
        return 0;
    return len;
}

/* Characters in s[0..n) as flame_xml_text counts them (an invalid byte is one character). */
static size_t utf8_count(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; chars++) {
        size_t l = utf8_char((const unsigned char *)s + i, n - i);
        i += l ? l : 1;
    }
    return chars;
}

/* Appends at most max_chars characters of s[0..n), escaped. */
static void xml_text_n(struct strbuf *o, const char *s, size_t n, size_t max_chars)
{
    for (size_t i = 0, chars = 0; i < n && chars < max_chars; chars++) {
        size_t l = utf8_char((const unsigned char *)s + i, n - i);
        if (!l) {
            sb_add(o, "?", 1);
            i++;
            continue;
        }
        switch (s[i]) {
        case '<': sb_puts(o, "&lt;"); break;
        case '>': sb_puts(o, "&gt;"); break;
        case '&': sb_puts(o, "&amp;"); break;
        case '"': sb_puts(o, "&quot;"); break;
        case '\'': sb_puts(o, "&#39;"); break;
        case '#': /* "##[" never reaches a log raw (util.h) */
            sb_puts(o, n - i >= 3 && s[i + 1] == '#' && s[i + 2] == '[' ? "&#35;" : "#");
            break;
        default: sb_add(o, s + i, l);
        }
        i += l;
    }
}

void flame_xml_text(struct strbuf *o, const char *s) { xml_text_n(o, s, strlen(s), SIZE_MAX); }

/* The label of a frame `width` pixels wide: the whole name, or its start and "..", or nothing. */
static void label(struct strbuf *o, const char *name, size_t n, double width)
{
    double fit = (width - 6) / CHAR_W;
    if (fit < 3)
        return;
    size_t max = (size_t)fit, chars = utf8_count(name, n);
    if (chars <= max) {
        xml_text_n(o, name, n, SIZE_MAX);
    } else {
        xml_text_n(o, name, n, max - 2);
        sb_puts(o, "..");
    }
}

static void value_text(struct strbuf *o, uint64_t v, uint64_t total, const struct flame_opts *op)
{
    if (op->unit == FLAME_UNIT_US) {
        if (v < 1000)
            sb_printf(o, "%llu \xc2\xb5s", (unsigned long long)v);
        else if (v < 1000000)
            sb_printf(o, "%.3f ms", (double)v / 1e3);
        else
            sb_printf(o, "%.3f s", (double)v / 1e6);
        sb_puts(o, " wait");
    } else {
        sb_printf(o, "%llu %s%s", (unsigned long long)v, op->noun, v == 1 ? "" : "s");
    }
    sb_printf(o, ", %.2f%%", total ? 100.0 * (double)v / (double)total : 0.0);
}

/* ---- colours ------------------------------------------------------------------------------------------ */

enum fkind { FK_ALL, FK_LOCK, FK_PYTHON, FK_NATIVE, FK_OTHER };

static enum fkind frame_kind(const char *s, size_t n, uint32_t depth)
{
    if (depth == 0)
        return FK_ALL;
    if (depth == 1)
        return FK_LOCK;
    if (n && s[0] == '[')
        return FK_OTHER;
    if (n >= 4 && s[n - 1] == ')') {
        if (!memcmp(s + n - 4, ".py)", 4))
            return FK_PYTHON;
        size_t i = n - 1;
        while (i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9')
            i--;
        if (i < n - 1 && i > 0 && s[i - 1] == ':')
            return FK_PYTHON;
    }
    return FK_NATIVE;
}

static void fill(char *buf, size_t cap, const char *s, size_t n, enum fkind k)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    double a = (double)(h & 0xff) / 255.0, b = (double)((h >> 8) & 0xff) / 255.0,
           c = (double)((h >> 16) & 0xff) / 255.0;
    int r, g, bl;
    switch (k) {
    case FK_ALL: r = g = bl = 205; break;
    case FK_LOCK: r = 90 + (int)(50 * a); g = 135 + (int)(50 * b); bl = 215 + (int)(40 * c); break;
    case FK_PYTHON: r = 70 + (int)(60 * a); g = 185 + (int)(50 * b); bl = 90 + (int)(60 * c); break;
    case FK_OTHER: r = g = bl = 180 + (int)(30 * a); break;
    default: r = 215 + (int)(40 * a); g = 90 + (int)(110 * b); bl = 40 + (int)(40 * c); break;
    }
    snprintf(buf, cap, "rgb(%d,%d,%d)", r, g, bl);
}

/* ---- layout ------------------------------------------------------------------------------------------- */

struct node {
    const char *name;
    uint32_t len, depth;
    uint64_t x, w; /* in value units */
};

struct layout {
    struct node *nodes;
    size_t n, cap;
    uint32_t max_depth;
    uint64_t total;
    double min_value; /* frames narrower than this (in value units) are left out */
};

static void emit(struct layout *l, const char *name, size_t len, uint32_t depth, uint64_t x, uint64_t w)
{
    if ((double)w < l->min_value || !w)
        return;
    GROWV(l->nodes, l->cap, l->n + 1);
    l->nodes[l->n++] = (struct node){name, (uint32_t)len, depth, x, w};
    if (depth > l->max_depth)
        l->max_depth = depth;
}

/* Frame order: compares frame by frame (';' below every byte a frame can hold). */
static int cmp_frame_order(const void *a, const void *b)
{
    const unsigned char *x = (const unsigned char *)(*(const struct folded_line *const *)a)->stack;
    const unsigned char *y = (const unsigned char *)(*(const struct folded_line *const *)b)->stack;
    for (;; x++, y++) {
        unsigned cx = *x == ';' ? 1u : *x, cy = *y == ';' ? 1u : *y;
        if (cx != cy)
            return cx < cy ? -1 : 1;
        if (!cx)
            return 0;
    }
}

/* Pre-order: a frame's descendants start at or after it and lie deeper; frames have positive widths, so the next
 * sibling starts after all of them. */
static int cmp_preorder(const void *a, const void *b)
{
    const struct node *x = a, *y = b;
    if (x->x != y->x)
        return x->x < y->x ? -1 : 1;
    return x->depth < y->depth ? -1 : x->depth > y->depth;
}

struct open_frame {
    const char *name;
    size_t len;
    uint64_t start;
};

static void layout_build(struct layout *l, const struct folded *f, double minwidth)
{
    memset(l, 0, sizeof *l);
    l->total = f->total;
    l->min_value = minwidth > 0 ? minwidth * (double)f->total / FULL_W : 0;
    const struct folded_line **order = xmalloc((f->n + 1) * sizeof *order);
    for (size_t i = 0; i < f->n; i++)
        order[i] = &f->lines[i];
    qsort(order, f->n, sizeof *order, cmp_frame_order);

    struct open_frame *open = NULL; /* open[d] is the open frame at depth d + 1 */
    size_t n_open = 0, cap_open = 0;
    uint64_t x = 0;
    for (size_t i = 0; i < f->n; i++) {
        const char *p = order[i]->stack;
        size_t d = 0;
        int same = 1;
        for (;;) {
            const char *e = strchr(p, ';');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            if (same && d < n_open && open[d].len == len && !memcmp(open[d].name, p, len)) {
                d++;
            } else {
                if (same) { /* the first frame this stack does not share: close the previous stack's rest */
                    while (n_open > d) {
                        n_open--;
                        emit(l, open[n_open].name, open[n_open].len, (uint32_t)n_open + 1, open[n_open].start,
                             x - open[n_open].start);
                    }
                    same = 0;
                }
                GROWV(open, cap_open, n_open + 1);
                open[n_open++] = (struct open_frame){p, len, x};
                d++;
            }
            if (!e)
                break;
            p = e + 1;
        }
        while (n_open > d) { /* a shorter stack than the previous one */
            n_open--;
            emit(l, open[n_open].name, open[n_open].len, (uint32_t)n_open + 1, open[n_open].start,
                 x - open[n_open].start);
        }
        x += order[i]->value;
    }
    while (n_open > 0) {
        n_open--;
        emit(l, open[n_open].name, open[n_open].len, (uint32_t)n_open + 1, open[n_open].start,
             x - open[n_open].start);
    }
    emit(l, "all", 3, 0, 0, x);
    free(open);
    free(order);
    if (l->n) /* no contention: not even the root was emitted, and nodes is NULL */
        qsort(l->nodes, l->n, sizeof *l->nodes, cmp_preorder);
}

/* ---- SVG ---------------------------------------------------------------------------------------------- */

static const char style[] =
    "<style>\n"
    "text { font-family: ui-monospace, 'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace; "
    "font-size: 12px; fill: #000; }\n"
    ".lpf-f { cursor: pointer; }\n"
    ".lpf-f text { pointer-events: none; }\n"
    ".lpf-f > rect:hover { stroke: #000; stroke-width: 0.7; }\n"
    ".lpf-anc > rect, .lpf-anc > text { opacity: 0.55; }\n"
    ".lpf-ui { font-family: sans-serif; fill: #333; }\n"
    ".lpf-btn { font-family: sans-serif; fill: #1a5fb4; cursor: pointer; text-decoration: underline; }\n"
    ".lpf-hide { display: none; }\n"
    "#lpf-title { font-family: sans-serif; font-size: 17px; text-anchor: middle; }\n"
    "</style>\n";

static void legend(struct strbuf *o, int y)
{
    static const struct {
        const char *label;
        enum fkind kind;
    } items[] = {{"lock class", FK_LOCK}, {"Python", FK_PYTHON}, {"native", FK_NATIVE}, {"no stack", FK_OTHER}};
    double x = SVG_W - XPAD;
    for (size_t i = sizeof items / sizeof items[0]; i-- > 0;) /* right to left */
        x -= 14 + 6.3 * (double)strlen(items[i].label) + (i ? 12 : 0);
    sb_puts(o, "<g id=\"lpf-legend\">\n");
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++) {
        char c[48];
        fill(c, sizeof c, "", 0, items[i].kind);
        sb_printf(o, "<rect x=\"%.1f\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>", x, y - 9, c);
        sb_printf(o, "<text class=\"lpf-ui\" x=\"%.1f\" y=\"%d\">%s</text>\n", x + 14, y, items[i].label);
        x += 14 + 6.3 * (double)strlen(items[i].label) + 12;
    }
    sb_puts(o, "</g>\n");
}

void flame_svg_element(const struct folded *f, const struct flame_opts *op, int embedded, struct strbuf *o)
{
    struct layout l;
    layout_build(&l, f, op->minwidth);
    int top = embedded ? TOP_EMBEDDED : TOP;
    int rows = l.total ? (int)l.max_depth + 1 : 2;
    int height = top + rows * FRAME_H + BOTTOM;

    sb_printf(o,
              "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"lpf-svg\" width=\"%d\" height=\"%d\" "
              "viewBox=\"0 0 %d %d\" data-width=\"%d\" data-pad=\"%d\" data-charw=\"%.2f\" "
              "data-highlight=\"%s\">\n",
              SVG_W, height, SVG_W, height, SVG_W, XPAD, CHAR_W, HIGHLIGHT);
    sb_puts(o, style);
    sb_printf(o, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fafafa\"/>\n", SVG_W, height);
    if (!embedded) {
        sb_printf(o, "<text id=\"lpf-title\" x=\"%d\" y=\"24\">", SVG_W / 2);
        flame_xml_text(o, op->title);
        sb_puts(o, "</text>\n");
        if (op->subtitle) {
            /* cut so that it never runs into the legend on the same line */
            size_t n = strlen(op->subtitle), max = 120;
            sb_printf(o, "<text id=\"lpf-subtitle\" class=\"lpf-ui\" x=\"%d\" y=\"46\">", XPAD);
            xml_text_n(o, op->subtitle, n, utf8_count(op->subtitle, n) > max ? max - 3 : max);
            sb_puts(o, utf8_count(op->subtitle, n) > max ? "...</text>\n" : "</text>\n");
        }
        sb_printf(o, "<text id=\"lpf-search\" class=\"lpf-btn\" x=\"%d\" y=\"24\" text-anchor=\"end\">Search</text>\n",
                  SVG_W - XPAD);
    }
    legend(o, embedded ? 24 : 46);
    sb_printf(o, "<text id=\"lpf-reset\" class=\"lpf-btn lpf-hide\" x=\"%d\" y=\"24\">Reset zoom</text>\n", XPAD);

    sb_puts(o, "<g id=\"lpf-frames\">\n");
    if (!l.total) {
        sb_printf(o, "<text class=\"lpf-ui\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", SVG_W / 2, top + FRAME_H);
        flame_xml_text(o, op->empty);
        sb_puts(o, "</text>\n");
    }
    /* frames nest like the calls: each <g> holds its frame's title, rect and label, then its callees' <g>s */
    struct strbuf tmp = {0};
    uint32_t open = 0; /* open <g>s: the frames at depths 0 .. open-1 */
    for (size_t i = 0; i < l.n; i++) {
        const struct node *nd = &l.nodes[i];
        for (; open > nd->depth; open--)
            sb_puts(o, "</g>\n");
        open++;
        double x = XPAD + (double)nd->x * FULL_W / (double)l.total;
        double w = (double)nd->w * FULL_W / (double)l.total;
        int y = height - BOTTOM - (int)(nd->depth + 1) * FRAME_H;
        char c[48];
        fill(c, sizeof c, nd->name, nd->len, frame_kind(nd->name, nd->len, nd->depth));
        sb_puts(o, nd->depth ? "<g class=\"lpf-f\"><title>" : "<g class=\"lpf-f lpf-all\"><title>");
        xml_text_n(o, nd->name, nd->len, SIZE_MAX);
        sb_add(o, "\n", 1);
        sb_reset(&tmp);
        value_text(&tmp, nd->w, l.total, op);
        flame_xml_text(o, tmp.s);
        sb_printf(o, "</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" fill=\"%s\" rx=\"2\"/>", x, y, w,
                  FRAME_H - 1, c);
        sb_printf(o, "<text x=\"%.2f\" y=\"%.1f\">", x + 3, y + 11.5);
        label(o, nd->name, nd->len, w);
        sb_puts(o, "</text>\n");
    }
    for (; open > 0; open--)
        sb_puts(o, "</g>\n");
    sb_free(&tmp);
    sb_puts(o, "</g>\n");
    sb_printf(o, "<text id=\"lpf-details\" class=\"lpf-ui\" x=\"%d\" y=\"%d\">%s</text>\n", XPAD, height - 10,
              l.total ? "Hover over a frame for details; click to zoom." : " ");
    sb_printf(o, "<text id=\"lpf-matched\" class=\"lpf-ui\" x=\"%d\" y=\"%d\" text-anchor=\"end\"> </text>\n",
              SVG_W - XPAD, height - 10);
    if (!embedded) {
        sb_puts(o, "<script><![CDATA[\n");
        sb_puts(o, flame_script);
        sb_puts(o, "]]></script>\n");
    }
    sb_puts(o, "</svg>\n");
    free(l.nodes);
}

void flame_svg(const struct folded *f, const struct flame_opts *o, struct strbuf *out)
{
    sb_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
    sb_puts(out, "<!-- Flame graph written by lockprof " LOCKPROF_VERSION ". Self-contained: no fonts, images or "
                 "network. -->\n");
    flame_svg_element(f, o, 0, out);
}

/* ---- script ------------------------------------------------------------------------------------------- */

/* Kept free of "]]>" and "</" so it can sit in a CDATA section and in an HTML <script>. */
const char flame_script[] =
    "(function () {\n"
    "  \"use strict\";\n"
    "  var svg = document.getElementById(\"lpf-svg\");\n"
    "  if (!svg) return;\n"
    "  var W = parseFloat(svg.getAttribute(\"data-width\")), PAD = parseFloat(svg.getAttribute(\"data-pad\"));\n"
    "  var CHAR_W = parseFloat(svg.getAttribute(\"data-charw\")), HIGHLIGHT = svg.getAttribute(\"data-highlight\");\n"
    "  var FULL = W - 2 * PAD;\n"
    "  var box = document.getElementById(\"lpf-frames\"), details = document.getElementById(\"lpf-details\");\n"
    "  var matched = document.getElementById(\"lpf-matched\"), reset = document.getElementById(\"lpf-reset\");\n"
    "  var searchBtn = document.getElementById(\"lpf-search\"), input = document.getElementById(\"lpf-search-input\");\n"
    "  var clearBtn = document.getElementById(\"lpf-search-clear\");\n"
    "  var hint = details.textContent, frames = [], byEl = new Map(), base = null, term = \"\";\n"
    "\n"
    "  /* the frames nest like the calls: <g> = title, rect, label, then the callees' <g>s */\n"
    "  Array.prototype.forEach.call(box.querySelectorAll(\"g.lpf-f\"), function (g) {\n"
    "    var rect = g.querySelector(\":scope > rect\"), title = g.querySelector(\":scope > title\").textContent;\n"
    "    var nl = title.lastIndexOf(\"\\n\");\n"
    "    var f = {g: g, rect: rect, text: g.querySelector(\":scope > text\"), name: title.slice(0, nl),\n"
    "             info: title.slice(nl + 1), x: parseFloat(rect.getAttribute(\"x\")),\n"
    "             w: parseFloat(rect.getAttribute(\"width\")), fill: rect.getAttribute(\"fill\"),\n"
    "             parent: byEl.get(g.parentNode) || null, kids: []};\n"
    "    if (f.parent) f.parent.kids.push(f); else base = f;\n"
    "    frames.push(f);\n"
    "    byEl.set(g, f);\n"
    "  });\n"
    "\n"
    "  /* the same rule as the C renderer: whole name, or its start and \"..\", or nothing */\n"
    "  function label(name, width) {\n"
    "    var fit = Math.floor((width - 6) / CHAR_W);\n"
    "    if (fit < 3) return \"\";\n"
    "    var chars = Array.from(name);\n"
    "    return chars.length <= fit ? name : chars.slice(0, fit - 2).join(\"\") + \"..\";\n"
    "  }\n"
    "\n"
    "  function place(f, x, w) {\n"
    "    f.rect.setAttribute(\"x\", x.toFixed(2));\n"
    "    f.rect.setAttribute(\"width\", w.toFixed(2));\n"
    "    f.text.setAttribute(\"x\", (x + 3).toFixed(2));\n"
    "    f.text.textContent = label(f.name, w);\n"
    "  }\n"
    "\n"
    "  /* z fills the width; its callers span it (dimmed), its callees scale, everything else hides */\n"
    "  function zoom(z) {\n"
    "    var k = FULL / z.w;\n"
    "    frames.forEach(function (f) {\n"
    "      f.g.style.display = \"\";\n"
    "      f.g.classList.remove(\"lpf-anc\");\n"
    "    });\n"
    "    for (var child = z, a = z.parent; a; child = a, a = a.parent) {\n"
    "      a.kids.forEach(function (s) { if (s !== child) s.g.style.display = \"none\"; });\n"
    "      a.g.classList.add(\"lpf-anc\");\n"
    "      place(a, PAD, FULL);\n"
    "    }\n"
    "    (function scale(f) {\n"
    "      place(f, PAD + (f.x - z.x) * k, f.w * k);\n"
    "      f.kids.forEach(scale);\n"
    "    })(z);\n"
    "    reset.classList.toggle(\"lpf-hide\", z === base);\n"
    "  }\n"
    "\n"
    "  function unzoom() {\n"
    "    if (base) zoom(base);\n"
    "  }\n"
    "\n"
    "  /* highlights the frames matching t (a regular expression, else plain text); the share is the part of the\n"
    "     width they cover, a match inside a match counted once */\n"
    "  function search(t) {\n"
    "    term = t || \"\";\n"
    "    var re = null, n = 0, covered = 0;\n"
    "    if (term) {\n"
    "      try { re = new RegExp(term); } catch (e) { re = new RegExp(term.replace(/[.*+?^${}()|[\\]\\\\]/g, \"\\\\$&\")); }\n"
    "    }\n"
    "    frames.forEach(function (f) {\n"
    "      f.hit = re !== null && f !== base && re.test(f.name);\n"
    "      f.rect.setAttribute(\"fill\", f.hit ? HIGHLIGHT : f.fill);\n"
    "      f.g.classList.toggle(\"lpf-match\", f.hit);\n"
    "      if (!f.hit) return;\n"
    "      n++;\n"
    "      for (var a = f.parent; a; a = a.parent) if (a.hit) return;\n"
    "      covered += f.w;\n"
    "    });\n"
    "    matched.textContent = re === null ? \" \" : \"Matched: \" + (100 * covered / FULL).toFixed(1) + \"% of all (\" +\n"
    "      n + (n === 1 ? \" frame)\" : \" frames)\");\n"
    "    if (searchBtn) searchBtn.textContent = re === null ? \"Search\" : \"Clear search\";\n"
    "  }\n"
    "\n"
    "  function ask() {\n"
    "    var t = window.prompt(\"Search frames (regular expression):\", term);\n"
    "    if (t !== null) search(t);\n"
    "  }\n"
    "\n"
    "  function frameOf(el) {\n"
    "    for (; el && el !== box; el = el.parentNode) if (byEl.has(el)) return byEl.get(el);\n"
    "    return null;\n"
    "  }\n"
    "\n"
    "  box.addEventListener(\"mouseover\", function (e) {\n"
    "    var f = frameOf(e.target);\n"
    "    if (f) details.textContent = f.name + \" \\u2014 \" + f.info;\n"
    "  });\n"
    "  box.addEventListener(\"mouseout\", function (e) {\n"
    "    if (frameOf(e.target)) details.textContent = hint;\n"
    "  });\n"
    "  box.addEventListener(\"click\", function (e) {\n"
    "    var f = frameOf(e.target);\n"
    "    if (f) zoom(f);\n"
    "  });\n"
    "  reset.addEventListener(\"click\", unzoom);\n"
    "  if (searchBtn) searchBtn.addEventListener(\"click\", function () { if (term) search(\"\"); else ask(); });\n"
    "  if (input) input.addEventListener(\"input\", function () { search(input.value); });\n"
    "  if (clearBtn) clearBtn.addEventListener(\"click\", function () { if (input) input.value = \"\"; search(\"\"); });\n"
    "  document.addEventListener(\"keydown\", function (e) {\n"
    "    if ((e.ctrlKey || e.metaKey) && (e.key === \"f\" || e.key === \"F\")) {\n"
    "      e.preventDefault();\n"
    "      if (input) input.focus(); else ask();\n"
    "    } else if (e.key === \"Escape\") {\n"
    "      unzoom();\n"
    "    }\n"
    "  });\n"
    "})();\n";
