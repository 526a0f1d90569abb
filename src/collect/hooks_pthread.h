/* hooks_pthread.h — behaviour of the interposed pthread/semaphore functions (see hooks_pthread.c). */
#ifndef LP_HOOKS_PTHREAD_H
#define LP_HOOKS_PTHREAD_H

#include <pthread.h>
#include <semaphore.h>
#include <time.h>

int lp_mutex_lock(pthread_mutex_t *m);
int lp_mutex_timedlock(pthread_mutex_t *m, int clocked, clockid_t clk, const struct timespec *abstime);
int lp_mutex_unlock(pthread_mutex_t *m);
int lp_rwlock_lock(pthread_rwlock_t *l, int write, int timed, int clocked, clockid_t clk,
                   const struct timespec *abstime);
int lp_rwlock_unlock(pthread_rwlock_t *l);
int lp_cond_wait(pthread_cond_t *c, pthread_mutex_t *m, int timed, clockid_t clk, const struct timespec *abstime,
                 int clocked);
int lp_cond_signal(pthread_cond_t *c, int broadcast);
int lp_sem_wait(sem_t *sem, int timed, clockid_t clk, const struct timespec *abstime, int clocked);
int lp_sem_post(sem_t *sem);

#endif
