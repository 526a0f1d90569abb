/* waiting.h — the report's deadlocks and waits in progress (see waiting.c). */
#ifndef LP_WAITING_H
#define LP_WAITING_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "util.h"

/* A wait for an event (condition variable, semaphore, notification), not for a lock somebody holds. */
int waiting_is_event(const struct model *m, const struct m_waiting *w);
/* Text: every deadlock, with each member's wait and stack ("DEADLOCK in pid ..."); nothing when there is none. */
void waiting_text_deadlocks(struct strbuf *o, const struct model *m, long depth, int all_frames);
/* Text: every wait in progress, locks first, longest first, with stacks; nothing when there is none. */
void waiting_text(struct strbuf *o, const struct model *m, long depth, int all_frames);
/* JSON members "waiting":[...],"deadlocks":[...] (deadlocks as indices into waiting), frames written by `frames`. */
void waiting_json(struct strbuf *o, const struct model *m,
                  void (*frames)(struct strbuf *, const struct model *, int32_t));
size_t waiting_deadlock_count(const struct model *m);

#endif
