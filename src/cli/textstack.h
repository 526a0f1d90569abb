/* textstack.h — a stack as the text report shows it (used by the report's tables and its waits in progress). */
#ifndef LP_TEXTSTACK_H
#define LP_TEXTSTACK_H

#include <stdint.h>

#include "model.h"
#include "util.h"

/* One line per frame, leaf first, each "INDENT#N  frame"; frames the user-frames rule hides (model_frame_shown,
 * unless all_frames) are counted in "(N interpreter/libc frames)" lines; at most `depth` frames (0 = all). */
void text_stack(struct strbuf *o, const struct model *m, int32_t stack, long depth, int all_frames,
                const char *indent);

#endif
