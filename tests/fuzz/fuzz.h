/*
 * fuzz: what the targets share. FUZZ_CHECK is an assert no build type
 * turns off: a broken invariant names itself on stderr and aborts, which
 * libFuzzer reports as a crash and the replay driver as a failed test.
 */
#ifndef CALLOSUM_FUZZ_H
#define CALLOSUM_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		fuzz_fail(__FILE__, __LINE__, #cond);			\
} while (0)

static inline void __attribute__((noreturn))
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	abort();
}

/* True when [p, p + len) lies inside [base, base + size). */
static inline int
fuzz_inside(const void *p, size_t len, const void *base, size_t size)
{
	uintptr_t	q = (uintptr_t)p, b = (uintptr_t)base;

	return (q >= b && q - b <= size && len <= size - (q - b));
}

/* FNV-1a of the input: values a target derives from it, reproducibly. */
static inline uint64_t
fuzz_hash(const uint8_t *data, size_t size)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	size_t		i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 0x100000001b3ULL;
	return (h);
}

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
