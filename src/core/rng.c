/* The seeded generator: xoshiro256** (Blackman & Vigna), seeded by splitmix64 so that
 * any 64-bit seed, even 0, gives a well-mixed state. */
#include "core/core.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void nb_rng_seed(nb_rng *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->state[i] = splitmix64(&seed);
    rng->has_spare = false;
    rng->spare_normal = 0;
}

uint64_t nb_rng_next(nb_rng *rng)
{
    uint64_t *s = rng->state;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double nb_rng_uniform(nb_rng *rng) { return (double)(nb_rng_next(rng) >> 11) * 0x1.0p-53; }

/* Box-Muller; the second normal of each pair is kept for the next call. */
double nb_rng_normal(nb_rng *rng)
{
    if (rng->has_spare) {
        rng->has_spare = false;
        return rng->spare_normal;
    }
    double u1 = 1.0 - nb_rng_uniform(rng); /* (0, 1]: log stays finite */
    double u2 = nb_rng_uniform(rng);
    double radius = sqrt(-2.0 * log(u1));
    double angle = 2.0 * M_PI * u2;
    rng->spare_normal = radius * sin(angle);
    rng->has_spare = true;
    return radius * cos(angle);
}

/* Lemire's multiply-and-reject: unbiased and without division in the common case. */
uint64_t nb_rng_below(nb_rng *rng, uint64_t n)
{
    unsigned __int128 m = (unsigned __int128)nb_rng_next(rng) * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            m = (unsigned __int128)nb_rng_next(rng) * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

void nb_rng_shuffle(nb_rng *rng, int64_t *index, int64_t n)
{
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)nb_rng_below(rng, (uint64_t)i + 1);
        int64_t tmp = index[i];
        index[i] = index[j];
        index[j] = tmp;
    }
}
