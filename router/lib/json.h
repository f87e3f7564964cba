/*
 * json: msgpack objects as one line of JSON text (RFC 8259), for the CLI's
 * --json output, /stats.json and webhook bodies.
 *
 * Byte strings (str or bin) become JSON strings when they are valid UTF-8
 * and base64 strings otherwise; in a map, an invalid "body" is written as
 * "body_b64" so that a reader can tell text from base64. Nothing here
 * aborts: every function that can allocate returns -1 with errno ENOMEM,
 * and a failed call leaves the buffer as it was. Floats are formatted
 * with printf, so callers keep LC_NUMERIC at "C".
 */
#ifndef CALLOSUM_JSON_H
#define CALLOSUM_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

/* utf8_valid(): what tells text from base64 here, and for callers. */
#include "router/lib/utf8.h"

/* Containers nested deeper than this are refused (EINVAL). */
#define JSON_MAX_DEPTH	64

/*
 * A growable text buffer. data is NUL-terminated after every successful
 * call that wrote to it (NULL only while nothing was ever written).
 */
struct json_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	 json_buf_init(struct json_buf *);
/* Frees the memory; the buffer is then empty and may be used again. */
void	 json_buf_free(struct json_buf *);
/* Empties the buffer, keeping its memory. */
void	 json_buf_clear(struct json_buf *);
/* Appends len raw bytes. 0 or -1. */
int	 json_buf_add(struct json_buf *, const void *, size_t len);

/*
 * Appends s as a JSON string: its escaped text when it is valid UTF-8,
 * else the base64 of its bytes. 0 or -1.
 */
int	 json_put_bytes(struct json_buf *, const void *s, size_t len);

/*
 * Appends o as JSON. Maps whose keys are not strings get the key's JSON
 * text as a string ({"1":...}); NaN and infinities become null; an ext
 * becomes {"ext":TYPE,"data_b64":"..."}. 0, or -1 with errno ENOMEM, or
 * EINVAL when o nests deeper than JSON_MAX_DEPTH.
 */
int	 json_render(struct json_buf *, const msgpack_object *o);

/*
 * Appends the map as a JSON object, leaving out the string keys listed in
 * omit (NULL-terminated; NULL omits nothing). EINVAL when map is not a map.
 */
int	 json_render_map(struct json_buf *, const msgpack_object *map,
	    const char *const *omit);

/* The length of the base64 text for len bytes, without the NUL. */
size_t	 base64_encoded_len(size_t len);
/*
 * Writes the padded base64 (RFC 4648, section 4) of len bytes of in to out,
 * which has room for base64_encoded_len(len) + 1 bytes, NUL-terminates it
 * and returns its length.
 */
size_t	 base64_encode(char *out, const void *in, size_t len);

#endif
