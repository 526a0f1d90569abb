/* flame_html.c — the HTML flame graph (see flame.h): one self-contained page with the title, the subtitle, a
 * search box and the SVG of flame_svg.c inline, made interactive by the same script. A Content-Security-Policy
 * forbids every fetch, so the page provably needs nothing but itself. */
#include "flame.h"

static const char page_style[] =
    "body { font-family: sans-serif; margin: 16px; color: #222; background: #fff; }\n"
    "h1 { font-size: 20px; margin: 0 0 4px 0; font-weight: normal; }\n"
    "#lpf-page-subtitle { margin: 0 0 10px 0; color: #555; font-size: 13px; }\n"
    ".lpf-bar { margin: 0 0 8px 0; font-size: 13px; }\n"
    ".lpf-bar input { width: 28em; font-family: monospace; }\n"
    ".lpf-bar .lpf-hint { color: #777; margin-left: 1em; }\n"
    ".lpf-graph { overflow-x: auto; }\n";

void flame_html(const struct folded *f, const struct flame_opts *o, struct strbuf *out)
{
    sb_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                 "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
                 "<meta name=\"generator\" content=\"lockprof " LOCKPROF_VERSION "\">\n<title>");
    flame_xml_text(out, o->title);
    sb_puts(out, "</title>\n<style>\n");
    sb_puts(out, page_style);
    sb_puts(out, "</style>\n</head>\n<body>\n<h1 id=\"lpf-page-title\">");
    flame_xml_text(out, o->title);
    sb_puts(out, "</h1>\n");
    if (o->subtitle) {
        sb_puts(out, "<p id=\"lpf-page-subtitle\">");
        flame_xml_text(out, o->subtitle);
        sb_puts(out, "</p>\n");
    }
    sb_puts(out, "<div class=\"lpf-bar\"><label>Search frames: <input id=\"lpf-search-input\" type=\"search\" "
                 "placeholder=\"regular expression\" autocomplete=\"off\" spellcheck=\"false\"></label> "
                 "<button id=\"lpf-search-clear\" type=\"button\">Clear</button>"
                 "<span class=\"lpf-hint\">Hover a frame for details, click to zoom, Esc to reset the zoom.</span>"
                 "</div>\n<div class=\"lpf-graph\">\n");
    flame_svg_element(f, o, 1, out);
    sb_puts(out, "</div>\n<script>\n");
    sb_puts(out, flame_script);
    sb_puts(out, "</script>\n</body>\n</html>\n");
}
