/* flame.h — interactive flame graphs rendered from folded stacks (folded.h): a self-contained SVG document
 * (inline style and script; no fonts, images, links or network) and an HTML page embedding the same graph with a
 * search box. The renderers see only the folded text, so anything that produces a `struct folded` can be drawn.
 *
 * The picture follows FlameGraph's conventions: a base frame "all", the roots (lock classes) on it, callees on
 * their callers, siblings in alphabetical order, widths proportional to the value. Frames narrower than
 * `minwidth` pixels are left out (their value stays in their parent's width), which keeps graphs of 100,000
 * stacks small. Colour tells the frame's kind, read from its text: the roots (depth 1) are lock classes (blue),
 * a frame ending in `:LINE)` or `.py)` is a Python frame (green), one starting with '[' a placeholder (grey),
 * anything else a native frame (warm); shades vary with a hash of the text, so colours are stable between runs.
 * Hover shows the frame, its value and share on the details line; click zooms into a frame; search highlights
 * the frames matching a regular expression and shows the share of the total they cover. */
#ifndef LP_FLAME_H
#define LP_FLAME_H

#include "folded.h"
#include "util.h"

enum flame_unit {
    FLAME_UNIT_US,    /* values are microseconds of wait */
    FLAME_UNIT_COUNT, /* values are counts of `noun` */
};

struct flame_opts {
    const char *title;    /* top line; the HTML page's title too */
    const char *subtitle; /* one line under it; may be NULL */
    enum flame_unit unit;
    const char *noun;     /* FLAME_UNIT_COUNT: singular of what is counted ("contention"); an 's' makes the plural */
    const char *empty;    /* message shown when there is nothing to draw */
    double minwidth;      /* pixels */
};

/* A standalone SVG document. */
void flame_svg(const struct folded *f, const struct flame_opts *o, struct strbuf *out);
/* An HTML page with the graph inline. */
void flame_html(const struct folded *f, const struct flame_opts *o, struct strbuf *out);

/* Shared by the two renderers. The <svg> element: `embedded` (for flame_html) leaves out the XML prolog, the
 * title and subtitle (the page shows them), the search button and the script. */
void flame_svg_element(const struct folded *f, const struct flame_opts *o, int embedded, struct strbuf *out);
/* The script that makes the graph interactive; it finds the elements by id, in an SVG document or a page. */
extern const char flame_script[];
/* Appends s escaped for XML/HTML text or attributes, replacing invalid UTF-8 and control characters by '?' and
 * writing "##[" as "&#35;#[" (util.h). */
void flame_xml_text(struct strbuf *o, const char *s);

#endif
