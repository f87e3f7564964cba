/*
 * synth_internal: what synth.c, balance.c and patterns.c share: byte order
 * and the snapshot's small readers and writers. Not for outside callers.
 */
#ifndef CALLOSUM_SYNTH_INTERNAL_H
#define CALLOSUM_SYNTH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "synth/synth.h"

/*
 * Byte order: memcmp over the common length, then the shorter first. The
 * first bytes are compared here: in a tree of names most comparisons end
 * there, and the call is most of the cost of a pair lookup.
 */
static inline int
synth_bytes_cmp(const struct synth_bytes *x, const struct synth_bytes *y)
{
	size_t	n = x->len < y->len ? x->len : y->len;
	int	c;

	if (n == 0)
		c = 0;
	else if (x->ptr[0] != y->ptr[0])
		c = (unsigned char)x->ptr[0] - (unsigned char)y->ptr[0];
	else
		c = memcmp(x->ptr, y->ptr, n);
	if (c != 0)
		return (c);
	return ((x->len > y->len) - (x->len < y->len));
}

static inline bool
synth_bytes_eq(const struct synth_bytes *x, const char *s, size_t len)
{
	return (x->len == len && (len == 0 || memcmp(x->ptr, s, len) == 0));
}

/* Writers: 0, or -1 when the buffer could not grow. */
static inline int
synth_pack_bytes(msgpack_packer *pk, const char *p, size_t len)
{
	if (len > UINT32_MAX || msgpack_pack_bin(pk, len) != 0)
		return (-1);
	return (len == 0 ? 0 : msgpack_pack_bin_body(pk, p, len));
}

static inline int
synth_pack_eid(msgpack_packer *pk, const struct synth_eid *e)
{
	if (msgpack_pack_uint64(pk, e->ms) != 0)
		return (-1);
	return (msgpack_pack_uint64(pk, e->seq));
}

/* Readers: 0, or -1 when o is not what the snapshot format puts there. */
static inline int
synth_obj_array(const msgpack_object *o, uint32_t n,
    const msgpack_object **items)
{
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != n)
		return (-1);
	*items = o->via.array.ptr;
	return (0);
}

/* An array of any length: its items and their count. */
static inline int
synth_obj_list(const msgpack_object *o, const msgpack_object **items,
    uint32_t *n)
{
	if (o->type != MSGPACK_OBJECT_ARRAY)
		return (-1);
	*items = o->via.array.ptr;
	*n = o->via.array.size;
	return (0);
}

static inline int
synth_obj_u64(const msgpack_object *o, uint64_t *v)
{
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (-1);
	*v = o->via.u64;
	return (0);
}

static inline int
synth_obj_i64(const msgpack_object *o, int64_t *v)
{
	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		*v = o->via.i64;
	else if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= INT64_MAX)
		*v = (int64_t)o->via.u64;
	else
		return (-1);
	return (0);
}

static inline int
synth_obj_f64(const msgpack_object *o, double *v)
{
	if (o->type != MSGPACK_OBJECT_FLOAT64)
		return (-1);
	*v = o->via.f64;
	return (0);
}

static inline int
synth_obj_bool(const msgpack_object *o, bool *v)
{
	if (o->type != MSGPACK_OBJECT_BOOLEAN)
		return (-1);
	*v = o->via.boolean;
	return (0);
}

/* A bin of at most max bytes, pointing into the decoded buffer. */
static inline int
synth_obj_bytes(const msgpack_object *o, size_t max, struct synth_bytes *b)
{
	if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size > max)
		return (-1);
	b->ptr = o->via.bin.ptr;
	b->len = o->via.bin.size;
	return (0);
}

static inline int
synth_obj_eid(const msgpack_object *ms, struct synth_eid *e)
{
	if (synth_obj_u64(&ms[0], &e->ms) == -1 ||
	    synth_obj_u64(&ms[1], &e->seq) == -1)
		return (-1);
	return (0);
}

#endif
