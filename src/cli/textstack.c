/* textstack.c — see textstack.h. */
#include "textstack.h"

void text_stack(struct strbuf *o, const struct model *m, int32_t stack, long depth, int all_frames,
                const char *indent)
{
    if (stack < 0) {
        sb_printf(o, "%s(no stack recorded)\n", indent);
        return;
    }
    const struct m_stack *s = &m->stacks[stack];
    long shown = 0;
    int hidden = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        if (!model_frame_shown(m, s, i, all_frames)) {
            hidden++;
            continue;
        }
        if (depth && shown >= depth) {
            sb_printf(o, "%s... %u more frames\n", indent, s->n - i);
            return;
        }
        if (hidden) {
            sb_printf(o, "%s  (%d interpreter/libc frames)\n", indent, hidden);
            hidden = 0;
        }
        sb_printf(o, "%s#%-2u ", indent, i);
        model_frame_text(m, s->frames[i], o);
        sb_puts(o, "\n");
        shown++;
    }
    if (hidden)
        sb_printf(o, "%s  (%d interpreter/libc frames)\n", indent, hidden);
}
