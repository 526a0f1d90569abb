/* temporary */
#include "py.h"
void lp_py_init(void) {}
int lp_py_active(void) { return 0; }
unsigned lp_py_stack(struct lp_thread *t, uint64_t *words, unsigned max_frames, unsigned *seg_end, unsigned *n_seg) { (void)t;(void)words;(void)max_frames;(void)seg_end; *n_seg=0; return 0; }
int lp_py_is_eval_pc(uintptr_t pc) { (void)pc; return 0; }
int lp_py_classify_sem(sem_t *sem, struct lp_event *ev) { (void)sem;(void)ev; return 0; }
void lp_py_classify_mutex(pthread_mutex_t *m, struct lp_event *ev) { (void)m;(void)ev; }
int lp_py_cond_wait(pthread_cond_t *cond, pthread_mutex_t *m, int timed, int clocked, clockid_t clk, const struct timespec *abstime, int *rc) { (void)cond;(void)m;(void)timed;(void)clocked;(void)clk;(void)abstime;(void)rc; return 0; }
void lp_py_write_meta(struct lpw *w) { (void)w; }
