/*
 * xmalloc: the router's allocation policy. Every queue is bounded, so
 * running out of memory is a sizing bug: log it and abort rather than
 * carry on half-working. router/lib, eventstore/ and synth/ do not use
 * this; they return NULL to their caller.
 */
#ifndef CALLOSUM_XMALLOC_H
#define CALLOSUM_XMALLOC_H

#include <stddef.h>

void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xrealloc(void *, size_t);
void		*xreallocarray(void *, size_t, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
/*
 * For allocations made by a library that reports failure by -1 (an
 * evbuffer growing): the same policy, log and abort, when rc is -1.
 */
void		 xcheck(int rc, size_t n);
int		 xasprintf(char **, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

#endif
