/* junit.c — see junit.h. The structure follows the de-facto JUnit schema (Ant's junitreport): attributes tests,
 * failures, errors and skipped on <testsuites> and <testsuite>; classname and name on <testcase>. */
#include "junit.h"

#include "output.h"
#include "util.h"

int junit_write(const char *path, const char *suite, const struct junit_case *cases, size_t n)
{
    size_t failures = 0;
    for (size_t i = 0; i < n; i++)
        failures += cases[i].failure != NULL;
    struct strbuf o = {0};
    sb_puts(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"");
    sb_xml(&o, suite);
    sb_printf(&o, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n", n, failures);
    sb_puts(&o, "  <testsuite name=\"");
    sb_xml(&o, suite);
    sb_printf(&o, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n", n, failures);
    for (size_t i = 0; i < n; i++) {
        const struct junit_case *c = &cases[i];
        sb_puts(&o, "    <testcase classname=\"");
        sb_xml(&o, c->file ? c->file : suite);
        sb_puts(&o, "\" name=\"");
        sb_xml(&o, c->name);
        sb_puts(&o, "\"");
        if (c->file) {
            sb_puts(&o, " file=\"");
            sb_xml(&o, c->file);
            sb_puts(&o, "\"");
        }
        if (c->line)
            sb_printf(&o, " line=\"%u\"", c->line);
        if (!c->failure && !c->output) {
            sb_puts(&o, "/>\n");
            continue;
        }
        sb_puts(&o, ">\n");
        if (c->failure) {
            sb_puts(&o, "      <failure type=\"failure\" message=\"");
            sb_xml(&o, c->failure);
            sb_puts(&o, "\">");
            sb_xml(&o, c->details ? c->details : c->failure);
            sb_puts(&o, "</failure>\n");
        }
        if (c->output) {
            sb_puts(&o, "      <system-out>");
            sb_xml(&o, c->output);
            sb_puts(&o, "</system-out>\n");
        }
        sb_puts(&o, "    </testcase>\n");
    }
    sb_puts(&o, "  </testsuite>\n</testsuites>\n");
    struct out f;
    int rc = -1;
    if (!out_open(&f, path)) {
        fwrite(o.s, 1, o.len, f.f);
        rc = out_commit(&f);
    }
    sb_free(&o);
    return rc;
}
