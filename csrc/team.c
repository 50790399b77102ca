/* team.c -- the C core's own worker threads, for kernels short enough that waking a
 * sleeping thread would cost more than the work: the GEMM (gemm.c, gemm_small.c), the
 * elementwise kernels (elementwise.c) and the reductions (reduce.c).  The other kernels
 * still use OpenMP.
 *
 * OpenMP offers two ways for an idle worker to wait for the next parallel region, and on a
 * machine shared with other programs neither is right for back-to-back 0.1-1 ms kernels:
 *   - sleep (OMP_WAIT_POLICY=passive, the package default, docs/threads.md): waking the
 *     worker is a futex call plus a scheduler wake-up, measured at 0.1-0.7 ms (up to ~1 ms)
 *     on the development VM, so a 2-thread 256x256 product was slower than a 1-thread one;
 *   - spin (libgomp's default, OpenBLAS's habit): the worker burns a core for milliseconds
 *     after every region without ever giving it up, and on a loaded machine the thread it
 *     waits for may be the one it keeps off the CPU (a LeNet step went from 5 ms to 35 ms).
 * A team worker does both, in turn (await_post): after each task it stays awake for about a
 * millisecond (spinning on its mailbox, then calling sched_yield between looks, so that any
 * other runnable thread gets the core first), and then sleeps on a condition variable.  It
 * leaves the awake window early when another thread wants its CPU, and after being preempted
 * in the middle of a task it sleeps right after each task for a while (note_contention).
 *
 * A task is posted to the workers' mailboxes (only the workers it needs: others stay asleep)
 * and "opened" in one atomic word; a worker joins it with a compare-and-swap.  The caller runs
 * its own part as thread 0.  A static task (tg_team_run_) gives each thread a fixed share, so
 * the caller waits for every worker; a dynamic one (tg_team_run_dynamic_) hands out chunks
 * from a counter, so the caller closes it when its own part returns and waits only for the
 * workers that joined in time.
 *
 * One task at a time: a second caller (another Python thread; cffi releases the GIL) finds
 * the team busy and runs its task alone, as does a call from inside a task or an OpenMP
 * region.  Tasks therefore give the same result for every thread count they are handed (the
 * GEMM splits C, never a sum; elementwise ops compute each element the same way anywhere;
 * reductions combine fixed chunks in a fixed order).
 * After fork() the child has no workers: a handler forgets them and they are started again
 * on first use.
 */
#define _GNU_SOURCE /* pthread_atfork, sched_yield, nanosleep, clock_gettime */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h> /* _mm_pause */
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#include "internal.h"

#define TEAM_MAX 64          /* workers at most (thread ids 1..TEAM_MAX) */
#define SPIN_NS 50000L       /* a waiting thread spins this long, then yields between looks */
#define YIELD_NS 1000000L    /* ... and a caller waiting for its workers naps after this */
#ifndef TG_TEAM_AWAKE_US
#define TG_TEAM_AWAKE_US 1000 /* how long an idle worker stays awake (TINYGRAD_EDU_AWAKE_US) */
#endif

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tg_wait_(atomic_int *word, int value, int differ) {
    int64_t t0 = 0;
    for (unsigned i = 0;; i++) {
        int w = atomic_load_explicit(word, memory_order_acquire);
        if (differ ? w != value : w == value) return;
        CPU_RELAX();
        if (i % 64 != 63) continue; /* look at the clock now and then */
        int64_t t = now_ns();
        if (t0 == 0) t0 = t;
        if (t - t0 > YIELD_NS) {
            struct timespec nap = {0, 20000};
            nanosleep(&nap, NULL);
        } else if (t - t0 > SPIN_NS) {
            sched_yield();
        }
    }
}

typedef struct {
    _Alignas(64) atomic_uint post; /* bumped by the caller: one new task */
    atomic_int sleeping;           /* 1 while the worker waits on `wake` */
    int nudged;                    /* under `lock`: wake up without a task */
    pthread_mutex_t lock;
    pthread_cond_t wake;
} mailbox_t;

static mailbox_t g_box[TEAM_MAX + 1]; /* index = thread id; 0 (the caller) unused */
static int g_started;                 /* workers running; changed only by the team owner */
static atomic_flag g_busy = ATOMIC_FLAG_INIT; /* held by the caller running a task */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static _Atomic int64_t g_awake_ns = (int64_t)TG_TEAM_AWAKE_US * 1000;
/* Until this time (now_ns) workers sleep right after each task: set when a worker was
   preempted during a task (another program wants the CPUs). */
/* After a worker was preempted during a task, workers sleep right after each task for a
   while: 10 ms after a lone event (a blip of the host), doubling up to 0.32 s while events
   keep coming within four such windows of each other (another program wants the CPUs). */
#define CONTENDED_MIN_NS 10000000L
#define CONTENDED_MAX_NS 320000000L
static _Atomic int64_t g_sleep_until_ns = 0, g_backoff_ns = CONTENDED_MIN_NS;
static atomic_long g_contended;   /* how often (tg_team_stats) */
static atomic_long g_tasks, g_joins, g_lone; /* tasks posted; workers' joins; tasks run alone
                                                 because the team was busy or nested */

static void note_contention(int64_t now) {
    /* NOTE: two workers may race here; either outcome is a sensible window */
    int64_t until = atomic_load_explicit(&g_sleep_until_ns, memory_order_relaxed);
    int64_t b = atomic_load_explicit(&g_backoff_ns, memory_order_relaxed);
    if (now - until < 4 * b)
        b = 2 * b < CONTENDED_MAX_NS ? 2 * b : CONTENDED_MAX_NS;
    else
        b = CONTENDED_MIN_NS;
    atomic_store_explicit(&g_backoff_ns, b, memory_order_relaxed);
    atomic_store_explicit(&g_sleep_until_ns, now + b, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_contended, 1, memory_order_relaxed);
}

/* The task: written by the owner before it opens the task, read by workers that joined. */
static tg_team_fn g_fn;
static void *g_arg;
static uint32_t g_seq; /* tasks posted so far (the owner's counter) */
/* The join word: the task's sequence number (bits 32-63), its thread count (bits 17-31),
   "open" (bit 16) and how many workers joined it (bits 0-15).  A worker joins with one
   compare-and-swap, only an open task, only once, only if its id is below the thread count;
   the owner closes the task, and then waits for exactly the workers that joined.  One word,
   so that a worker that slept through a task cannot join the next one by mistake. */
#define J_OPEN ((uint64_t)1 << 16)
#define J_COUNT(w) ((int)((w)&0xffff))
#define J_NT(w) ((int)(((w) >> 17) & 0x7fff))
#define J_SEQ(w) ((uint32_t)((w) >> 32))
static _Alignas(64) _Atomic uint64_t g_join;
static _Alignas(64) atomic_int g_done; /* workers of the current task that finished it */

static _Thread_local int t_in_team; /* set in workers and in the owner during a task */
static int g_owner_cpu = -1;         /* the CPU the owner was on when it posted the task */

/* A worker that finds itself on the owner's CPU moves to another one it may use.
   Seen on the development VM: while another thread (numpy's BLAS spinning after a call)
   had the second core, a woken worker was put on the owner's core, and then both stayed
   there: the scheduler does not move a thread that ran within the last half millisecond
   ("cache hot"), and these two are never idle that long.  Every product then ran its two
   halves in turn on one core, plus the waits: 150 us instead of 25 us for 128x128x128.
   Excluding the owner's CPU from the worker's affinity mask forces the move; the mask is
   put back at once, which leaves the thread where it now is. */
static void move_off_cpu(int cpu) {
#ifdef __linux__
    cpu_set_t allowed, others;
    if (cpu < 0 || cpu >= CPU_SETSIZE) return;
    if (pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0) return;
    others = allowed;
    CPU_CLR(cpu, &others);
    if (CPU_COUNT(&others) == 0) return; /* nowhere else to go */
    if (pthread_setaffinity_np(pthread_self(), sizeof others, &others) == 0)
        pthread_setaffinity_np(pthread_self(), sizeof allowed, &allowed);
#else
    (void)cpu;
#endif
}

static int current_cpu(void) {
#ifdef __linux__
    return sched_getcpu();
#else
    return -1;
#endif
}

/* CPU time this thread has used; the wall-clock time beyond it, over an interval in which
   the thread never blocked, is time it spent runnable but off the CPU: preempted by
   another thread, or handing the CPU over in sched_yield. */
static int64_t thread_cpu_ns(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
#define LOST_NS 400000L /* off the CPU this long: another program wants it (kernel threads'
                           blips are microseconds) */

/* Wait for the mailbox to move past `seen`: stay awake (spin, then yield between looks) for
   the awake window, then sleep.  The window ends early as soon as another thread wanted this
   CPU (this one spent over LOST_NS runnable but off it), and for a while after a worker was
   preempted during a task (note_contention), workers sleep right after each task: on a
   loaded machine an awake worker only takes
   CPU time from others, and a worker that was preempted while awake is not running when the
   next task comes: the owner then waited a whole time slice (4 ms instead of 0.2 ms for a
   256x256 product with one busy process beside it, measured on the development VM), while a
   sleeping worker is woken with the scheduler's preference for threads that slept.  A nudge
   (tg_team_wake_) ends the sleep without a task and starts the awake window again. */
static unsigned await_post(mailbox_t *box, unsigned seen) {
    for (;;) {
        int64_t t0 = now_ns(), cpu0 = thread_cpu_ns();
        int64_t awake = atomic_load_explicit(&g_awake_ns, memory_order_relaxed);
        if (t0 < atomic_load_explicit(&g_sleep_until_ns, memory_order_relaxed)) awake = 0;
        for (unsigned i = 0;; i++) {
            unsigned p = atomic_load_explicit(&box->post, memory_order_acquire);
            if (p != seen) return p;
            CPU_RELAX();
            if (i % 64 != 63) continue;
            int64_t t = now_ns() - t0;
            if (t > awake) break;
            if (cpu0 >= 0 && t - (thread_cpu_ns() - cpu0) > LOST_NS)
                break; /* another thread wants this CPU (perhaps one of our OpenMP workers) */
            if (t > SPIN_NS) sched_yield();
        }
        pthread_mutex_lock(&box->lock);
        /* seq_cst store then load here, seq_cst bump then load in tg_team_run_: at least
           one of the two sees the other's write, so a wake-up cannot be lost. */
        atomic_store(&box->sleeping, 1);
        unsigned p;
        while ((p = atomic_load(&box->post)) == seen && !box->nudged)
            pthread_cond_wait(&box->wake, &box->lock);
        atomic_store(&box->sleeping, 0);
        box->nudged = 0;
        pthread_mutex_unlock(&box->lock);
        if (p != seen) return p;
    }
}

static void *worker_main(void *arg) {
    int tid = (int)(intptr_t)arg;
    mailbox_t *box = &g_box[tid];
    unsigned seen = 0; /* a new worker's mailbox starts at 0 (init_box); its first post may
                          come before the thread runs */
    uint32_t last = 0;  /* the last task joined (sequence numbers start at 1) */
    t_in_team = 1;
    for (;;) {
        seen = await_post(box, seen);
        uint64_t w = atomic_load_explicit(&g_join, memory_order_acquire);
        int joined = 0;
        while (!joined && (w & J_OPEN) && J_SEQ(w) != last && tid < J_NT(w))
            joined = atomic_compare_exchange_weak_explicit(&g_join, &w, w + 1,
                                                           memory_order_acq_rel,
                                                           memory_order_acquire);
        if (!joined) continue; /* too late: the owner did the work itself */
        atomic_fetch_add_explicit(&g_joins, 1, memory_order_relaxed);
        last = J_SEQ(w);
        int cpu = current_cpu();
        if (cpu >= 0 && cpu == g_owner_cpu) move_off_cpu(cpu);
        int64_t t0 = now_ns(), cpu0 = thread_cpu_ns();
        g_fn(g_arg, tid, J_NT(w));
        atomic_fetch_add_explicit(&g_done, 1, memory_order_release);
        int64_t t1 = now_ns();
        if (cpu0 >= 0 && (t1 - t0) - (thread_cpu_ns() - cpu0) > LOST_NS)
            note_contention(t1); /* preempted during the task */
    }
    return NULL;
}

static void init_box(mailbox_t *box) {
    atomic_init(&box->post, 0);
    atomic_init(&box->sleeping, 0);
    box->nudged = 0;
    pthread_mutex_init(&box->lock, NULL);
    pthread_cond_init(&box->wake, NULL);
}

/* In a forked child only the forking thread exists: forget the workers. */
static void after_fork_in_child(void) {
    for (int i = 1; i <= TEAM_MAX; i++) init_box(&g_box[i]);
    g_started = 0;
    atomic_store(&g_join, 0);
    atomic_store(&g_done, 0);
    atomic_flag_clear(&g_busy);
}

static void team_init(void) {
    for (int i = 1; i <= TEAM_MAX; i++) init_box(&g_box[i]);
    const char *awake = getenv("TINYGRAD_EDU_AWAKE_US");
    if (awake != NULL && *awake != '\0') {
        long us = strtol(awake, NULL, 10);
        g_awake_ns = us < 0 ? 0 : (int64_t)us * 1000;
    }
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

/* Start workers up to thread id nt - 1; returns how many threads the team now has. */
static int grow(int nt) {
    while (g_started + 1 < nt) {
        pthread_t th;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int err = pthread_create(&th, &attr, worker_main, (void *)(intptr_t)(g_started + 1));
        pthread_attr_destroy(&attr);
        if (err != 0) break; /* run with the workers we have */
        g_started++;
    }
    return g_started + 1 < nt ? g_started + 1 : nt;
}

static int team_run(int nt, tg_team_fn fn, void *arg, int dynamic) {
    if (nt > TEAM_MAX + 1) nt = TEAM_MAX + 1;
#ifdef _OPENMP
    if (omp_in_parallel()) nt = 1;
#endif
    if (nt <= 1 || t_in_team || atomic_flag_test_and_set_explicit(&g_busy, memory_order_acquire)) {
        if (nt > 1) atomic_fetch_add_explicit(&g_lone, 1, memory_order_relaxed);
        fn(arg, 0, 1);
        return 1;
    }
    pthread_once(&g_once, team_init);
    nt = grow(nt);
    atomic_fetch_add_explicit(&g_tasks, 1, memory_order_relaxed);
    g_fn = fn, g_arg = arg, g_owner_cpu = current_cpu();
    atomic_store_explicit(&g_done, 0, memory_order_relaxed);
    if (++g_seq == 0) g_seq = 1; /* 0 means "none" to a new worker */
    atomic_store_explicit(&g_join, (uint64_t)g_seq << 32 | (uint64_t)nt << 17 | J_OPEN,
                          memory_order_release);
    for (int i = 1; i < nt; i++) {
        mailbox_t *box = &g_box[i];
        atomic_fetch_add(&box->post, 1); /* seq_cst: see await_post */
        if (atomic_load(&box->sleeping)) {
            pthread_mutex_lock(&box->lock);
            pthread_cond_signal(&box->wake);
            pthread_mutex_unlock(&box->lock);
        }
    }
    t_in_team = 1;
    fn(arg, 0, nt);
    t_in_team = 0;
    /* A static task needs every worker (each owns a share); a dynamic one is finished when
       the owner's fn returns, so it closes the task and waits only for the workers that
       joined in time -- not for one that is asleep or preempted. */
    int joined = nt - 1;
    if (dynamic)
        joined = J_COUNT(atomic_fetch_and_explicit(&g_join, ~J_OPEN, memory_order_acq_rel));
    tg_wait_(&g_done, joined, 0);
    atomic_store_explicit(&g_join, 0, memory_order_relaxed);
    atomic_flag_clear_explicit(&g_busy, memory_order_release);
    return nt;
}

int tg_team_run_(int nt, tg_team_fn fn, void *arg) { return team_run(nt, fn, arg, 0); }

int tg_team_run_dynamic_(int nt, tg_team_fn fn, void *arg) { return team_run(nt, fn, arg, 1); }

/* tg_team_for_: the threads take [lo, lo + chunk) ranges of [0, total) from one counter. */
typedef struct {
    tg_range_fn fn;
    void *ctx;
    int64_t total, chunk;
    atomic_llong next;
} range_job_t;

static void range_task(void *job, int tid, int nt) {
    range_job_t *J = (range_job_t *)job;
    (void)tid, (void)nt;
    for (;;) {
        int64_t lo = atomic_fetch_add_explicit(&J->next, J->chunk, memory_order_relaxed);
        if (lo >= J->total) return;
        J->fn(J->ctx, lo, lo + J->chunk < J->total ? lo + J->chunk : J->total);
    }
}

void tg_team_for_(int nt, int64_t total, int64_t chunk, tg_range_fn fn, void *ctx) {
    if (total <= 0) return;
    if (nt <= 1 || chunk >= total) {
        fn(ctx, 0, total);
        return;
    }
    range_job_t J = {fn, ctx, total, chunk < 1 ? 1 : chunk, 0};
    tg_team_run_dynamic_(nt, range_task, &J);
}

int tg_team_awake_(int nt) {
    if (nt > TEAM_MAX + 1) nt = TEAM_MAX + 1;
    if (nt - 1 > g_started) return 0;
    for (int i = 1; i < nt; i++)
        if (atomic_load(&g_box[i].sleeping)) return 0;
    return 1;
}

void tg_team_wake_(int nt) {
    if (nt > TEAM_MAX + 1) nt = TEAM_MAX + 1;
    if (nt <= 1 || t_in_team || atomic_flag_test_and_set_explicit(&g_busy, memory_order_acquire))
        return;
    pthread_once(&g_once, team_init);
    nt = grow(nt);
    for (int i = 1; i < nt; i++) {
        mailbox_t *box = &g_box[i];
        if (!atomic_load(&box->sleeping)) continue;
        pthread_mutex_lock(&box->lock);
        box->nudged = 1;
        pthread_cond_signal(&box->wake);
        pthread_mutex_unlock(&box->lock);
    }
    atomic_flag_clear_explicit(&g_busy, memory_order_release);
}

void tg_team_stats(int64_t *out) {
    out[0] = atomic_load(&g_tasks);
    out[1] = atomic_load(&g_joins);
    out[2] = atomic_load(&g_contended);
    out[3] = atomic_load(&g_lone);
}

int tg_team_size(void) { return g_started + 1; }

int64_t tg_team_set_awake_us(int64_t us) {
    pthread_once(&g_once, team_init); /* so that the environment is read first */
    int64_t previous = atomic_load(&g_awake_ns) / 1000;
    if (us >= 0) atomic_store(&g_awake_ns, us * 1000);
    return previous;
}
