/* One thread count for the whole library, and the pool of threads that runs the
 * parallel pieces: large elementwise passes and the blocks of a matrix product.
 *
 * Not OpenMP: a region ends in a barrier that waits for every thread of the team, so on
 * a machine shared with other work each of the ~10 regions of a training step waits
 * whenever another process holds a core. Here a job is cut into a fixed number of chunks
 * (so the numbers never depend on who runs what), the calling thread starts on them at
 * once, and the workers claim what is left; the caller waits only for chunks a worker has
 * actually started. A worker that is not scheduled in time costs nothing but its share of
 * the speed-up. Idle workers spin for a moment (the next job of a training step comes
 * within microseconds) and then sleep.
 *
 * The caller always runs chunk 0 itself, and with 2 threads a worker that is awake
 * runs chunk 1: jobs cut the same way (the blocks of a weight's gradient, then that
 * weight's part of the optimizer step, then its part of the next forward product) find
 * their part of the weights in the cache of the core that used it last.
 *
 * Waiting for a claimed chunk, the caller spins only briefly and then sleeps until the
 * last chunk is done: when the worker that claimed it is preempted, a caller that kept
 * spinning would hold its core for the whole time slice, while a sleeping caller lets
 * the kernel run the worker on its core.
 *
 * The measurements behind these choices: docs/design.md. */
#include "core/core.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

static int cpu_count;        /* cores this process may run on, found once */
static int threads_in_force; /* 0 until nb_set_threads or the first query */
static pthread_once_t cpu_count_once = PTHREAD_ONCE_INIT;

static void find_cpu_count(void)
{
    cpu_set_t set;
    int count = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        count = CPU_COUNT(&set);
    if (count < 1) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        count = online > 0 ? (int)online : 1;
    }
    cpu_count = count;
}

int nb_cpu_count(void)
{
    pthread_once(&cpu_count_once, find_cpu_count);
    return cpu_count;
}

nb_status nb_set_threads(int threads)
{
    if (threads < 0)
        return nb_fail(NB_EARG, "nb_set_threads: thread count must be >= 0 (0 = the %d available cores), got %d",
                       nb_cpu_count(), threads);
    if (threads > NB_MAX_THREADS)
        return nb_fail(NB_EARG, "nb_set_threads: at most %d threads, got %d", NB_MAX_THREADS, threads);
    threads_in_force = threads == 0 ? nb_cpu_count() : threads;
    return NB_OK;
}

int nb_get_threads(void)
{
    if (threads_in_force == 0) {
        int cores = nb_cpu_count();
        threads_in_force = cores < NB_MAX_THREADS ? cores : NB_MAX_THREADS;
    }
    return threads_in_force;
}

/* ---- the pool ------------------------------------------------------------------------- */

/* A worker spins this long for the next job before it sleeps. */
#define SPIN_NANOSECONDS 200000
/* The caller spins this long for chunks that workers still run before it sleeps: longer
 * than a chunk of a training step usually takes once started. */
#define WAIT_SPIN_NANOSECONDS 50000
/* A worker that keeps the caller waiting this long was not running: another process
 * has its core. The caller then runs the jobs of the next SOLO_NANOSECONDS alone. */
#define PREEMPTED_NANOSECONDS 1000000
#define SOLO_NANOSECONDS 20000000
#define SOLO_MAX_NANOSECONDS 640000000

/* Until solo_until (CLOCK_MONOTONIC ns), jobs run on the caller alone, for a period
 * that doubles (up to SOLO_MAX_NANOSECONDS) when a worker is preempted again soon after
 * the last one ended, and starts again from SOLO_NANOSECONDS otherwise: while another
 * process holds a core, job after job would otherwise wait for a worker preempted in the
 * middle of its chunk, and 2 threads would lose to 1 (docs/design.md). The chunks, and
 * so the numbers, stay the same whoever runs them. Only the caller of a job (who holds
 * pool.busy) reads and writes these. */
static int64_t solo_until, solo_period = SOLO_NANOSECONDS;

static void go_solo(int64_t now)
{
    if (now < solo_until + solo_period)
        solo_period = solo_period * 2 < SOLO_MAX_NANOSECONDS ? solo_period * 2 : SOLO_MAX_NANOSECONDS;
    else
        solo_period = SOLO_NANOSECONDS;
    solo_until = now + solo_period;
}

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;     /* workers: a new job */
    pthread_cond_t finished; /* the caller: the last chunk is done */
    pthread_t workers[NB_MAX_THREADS];
    int n_workers;            /* started so far (they live as long as the process) */
    atomic_flag busy;         /* a job is running: other callers run theirs alone */
    atomic_uint seq;          /* the current job's number; a change wakes the workers */
    atomic_int sleepers;      /* workers waiting on `wake` */
    atomic_bool caller_asleep; /* the caller waits on `finished` */
    /* The current job. A worker reads these after seeing seq change, and uses them only
     * if it then claims a chunk of that same job (claim carries the job's number). On a
     * cache line of their own: the workers spin on seq above. */
    _Alignas(64) _Atomic(nb_chunk_fn) fn;
    _Atomic(void *) ctx;
    atomic_int chunks;
    atomic_uint_least64_t claim; /* (seq << 32) | next unclaimed chunk */
    atomic_int done;             /* chunks finished */
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER,
          .finished = PTHREAD_COND_INITIALIZER, .busy = ATOMIC_FLAG_INIT};

/* Inside a chunk: anything it starts runs on its own thread. */
static _Thread_local bool in_chunk;

static void pause_cpu(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Run one chunk and count it done; the last chunk of the job wakes a caller that has
 * gone to sleep waiting for it (the caller sets caller_asleep before it checks done,
 * under the lock). */
static void run_chunk(nb_chunk_fn fn, void *ctx, int chunk, int chunks)
{
    fn(ctx, chunk);
    if (atomic_fetch_add(&pool.done, 1) + 1 == chunks && atomic_load(&pool.caller_asleep)) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_signal(&pool.finished);
        pthread_mutex_unlock(&pool.lock);
    }
}

/* Claim and run chunks of job `seq` until none is left. */
static void work_on(unsigned seq, nb_chunk_fn fn, void *ctx, int chunks)
{
    in_chunk = true;
    for (;;) {
        uint_least64_t state = atomic_load(&pool.claim);
        if ((unsigned)(state >> 32) != seq || (int)(state & 0xffffffffu) >= chunks)
            break;
        if (!atomic_compare_exchange_weak(&pool.claim, &state, state + 1))
            continue;
        run_chunk(fn, ctx, (int)(state & 0xffffffffu), chunks);
    }
    in_chunk = false;
}

static int64_t nanoseconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* `start` is the job number when the worker was made: the job that made it is the
 * next, and may be published before the worker first runs. */
static void *worker_main(void *start)
{
    unsigned seen = (unsigned)(uintptr_t)start;
    for (;;) {
        unsigned seq = atomic_load(&pool.seq);
        int64_t spin_until = nanoseconds() + SPIN_NANOSECONDS;
        for (int i = 0; seq == seen; i++) {
            pause_cpu();
            seq = atomic_load(&pool.seq);
            if (seq == seen && (i & 255) == 255 && nanoseconds() > spin_until) {
                pthread_mutex_lock(&pool.lock);
                atomic_fetch_add(&pool.sleepers, 1);
                while ((seq = atomic_load(&pool.seq)) == seen)
                    pthread_cond_wait(&pool.wake, &pool.lock);
                atomic_fetch_sub(&pool.sleepers, 1);
                pthread_mutex_unlock(&pool.lock);
            }
        }
        seen = seq;
        work_on(seq, atomic_load(&pool.fn), atomic_load(&pool.ctx), atomic_load(&pool.chunks));
    }
    return NULL;
}

/* Start workers until there are `wanted`; false if none could be started. */
static bool ensure_workers(int wanted)
{
    if (pool.n_workers >= wanted)
        return true;
    pthread_mutex_lock(&pool.lock);
    while (pool.n_workers < wanted) {
        void *start = (void *)(uintptr_t)atomic_load(&pool.seq);
        if (pthread_create(&pool.workers[pool.n_workers], NULL, worker_main, start) != 0)
            break;
        pthread_detach(pool.workers[pool.n_workers]);
        pool.n_workers++;
    }
    pthread_mutex_unlock(&pool.lock);
    return pool.n_workers > 0;
}

/* Only chunks a worker has claimed are left: spin a little for them, then sleep until
 * the worker that finishes the last one signals. A wait long enough that the worker
 * cannot have been running (the cores are shared with other work) sends the next jobs
 * to the caller alone for a while (see solo_until). */
static void wait_for_chunks(int chunks)
{
    int64_t start = 0;
    for (int i = 0; atomic_load(&pool.done) < chunks; i++) {
        pause_cpu();
        if ((i & 63) != 63)
            continue;
        int64_t now = nanoseconds();
        if (start == 0) {
            start = now;
        } else if (now > start + WAIT_SPIN_NANOSECONDS) {
            pthread_mutex_lock(&pool.lock);
            atomic_store(&pool.caller_asleep, true);
            while (atomic_load(&pool.done) < chunks)
                pthread_cond_wait(&pool.finished, &pool.lock);
            atomic_store(&pool.caller_asleep, false);
            pthread_mutex_unlock(&pool.lock);
            now = nanoseconds();
            if (now > start + PREEMPTED_NANOSECONDS)
                go_solo(now);
            return;
        }
    }
}

static void run_alone(int chunks, nb_chunk_fn fn, void *ctx)
{
    bool outer = in_chunk;
    in_chunk = true;
    for (int c = 0; c < chunks; c++)
        fn(ctx, c);
    in_chunk = outer;
}

void nb_parallel_chunks(int chunks, nb_chunk_fn fn, void *ctx)
{
    if (chunks <= 0)
        return;
    /* one chunk, inside a chunk, another job running, or no threads: all here */
    if (chunks == 1 || in_chunk || atomic_flag_test_and_set(&pool.busy)) {
        run_alone(chunks, fn, ctx);
        return;
    }
    int threads = nb_get_threads();
    if (threads <= 1 || (solo_until != 0 && nanoseconds() < solo_until) ||
        !ensure_workers((threads < chunks ? threads : chunks) - 1)) {
        atomic_flag_clear(&pool.busy);
        run_alone(chunks, fn, ctx);
        return;
    }
    unsigned seq = atomic_load(&pool.seq) + 1;
    /* Close the last job's claims first: a worker that saw its number but reads this
     * job's fn and chunks must not claim a chunk under the old number. */
    atomic_store(&pool.claim, (uint_least64_t)(seq - 1) << 32 | INT32_MAX);
    atomic_store(&pool.fn, fn);
    atomic_store(&pool.ctx, ctx);
    atomic_store(&pool.chunks, chunks);
    atomic_store(&pool.done, 0);
    /* chunk 0 is the caller's own; the workers start claiming at 1 */
    atomic_store(&pool.claim, (uint_least64_t)seq << 32 | 1);
    atomic_store(&pool.seq, seq);
    if (atomic_load(&pool.sleepers) > 0) {
        pthread_mutex_lock(&pool.lock);
        pthread_cond_broadcast(&pool.wake);
        pthread_mutex_unlock(&pool.lock);
    }
    in_chunk = true;
    run_chunk(fn, ctx, 0, chunks);
    work_on(seq, fn, ctx, chunks);
    wait_for_chunks(chunks);
    atomic_flag_clear(&pool.busy);
}

int nb_threads_for(int64_t work, int64_t grain)
{
    if (in_chunk)
        return 1;
    int64_t threads = nb_get_threads();
    int64_t useful = grain > 0 ? work / grain : threads;
    if (useful < threads)
        threads = useful;
    return threads < 1 ? 1 : (int)threads;
}

/* nb_parallel_ranges: chunk c of `parts` covers [count·c/parts, count·(c+1)/parts). */
typedef struct ranges_job {
    int64_t count;
    int parts;
    void (*fn)(void *ctx, int64_t from, int64_t to);
    void *ctx;
} ranges_job;

static void ranges_chunk(void *ctx, int chunk)
{
    const ranges_job *job = ctx;
    job->fn(job->ctx, job->count * chunk / job->parts, job->count * (chunk + 1) / job->parts);
}

void nb_parallel_ranges(int64_t count, int64_t work, void (*fn)(void *ctx, int64_t from, int64_t to), void *ctx)
{
    if (count <= 0)
        return;
    int threads = nb_threads_for(work, NB_PARALLEL_GRAIN);
    if (threads > count)
        threads = (int)count;
    if (threads <= 1) {
        fn(ctx, 0, count);
        return;
    }
    ranges_job job = {count, threads, fn, ctx};
    nb_parallel_chunks(threads, ranges_chunk, &job);
}
