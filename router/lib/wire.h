/*
 * wire: protocol v1 frames, requests and replies (SPEC.md).
 *
 * A frame is a 4-byte big-endian length L, then L bytes holding exactly one
 * msgpack map with string keys. This file knows no socket and no loop: it
 * checks and decodes bytes handed to it, and encodes into msgpack_sbuffers
 * its callers own. Decoded strings point into the caller's frame bytes
 * (borrowed): copy what must outlive the frame.
 */
#ifndef CALLOSUM_WIRE_H
#define CALLOSUM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#define WIRE_VERSION		1
#define WIRE_HDR_LEN		4
#define WIRE_MAX_FRAME_DEFAULT	(1024 * 1024)
/*
 * How much a frame the router sends may exceed max_frame (SPEC): a msg
 * carries the router's own fields (sid, eid, agent, session, model, ts,
 * defaults) on top of what a pub of up to max_frame bytes carried. So a
 * client reads frames of up to max_frame + WIRE_OUT_SLACK bytes and
 * sends at most max_frame.
 */
#define WIRE_OUT_SLACK		1024
#define WIRE_MAX_DEPTH		16	/* nesting bound of the structural check */
#define WIRE_NAME_MAX		64	/* tract names and header keys */
#define WIRE_HDR_MAX_ENTRIES	32
#define WIRE_HDR_VALUE_MAX	1024
#define WIRE_DEMAND_MAX		INT64_MAX	/* total demand saturates here */
/* Room for a msg frame's per-subscriber prefix: length, map header, "sid". */
#define WIRE_PREFIX_MAX		(4 + 5 + 4 + 9)

/* Error codes of the err frame, in SPEC order. */
enum wire_code {
	WIRE_OK = 0,
	WIRE_BAD_FRAME,
	WIRE_BAD_REQUEST,
	WIRE_UNKNOWN_OP,
	WIRE_HELLO_REQUIRED,
	WIRE_UNKNOWN_SID,
	WIRE_DUPLICATE_SID,
	WIRE_RESERVED_TRACT,
	WIRE_BAD_TRACT,
	WIRE_CIRCUIT_OPEN,
	WIRE_BACKPRESSURE,
	WIRE_STORE_UNAVAILABLE,
	WIRE_UNAUTHORIZED,
	WIRE_LIMIT,
	WIRE_SHUTTING_DOWN,
	WIRE_INTERNAL,
	WIRE_CODE_COUNT
};

/*
 * Ops. The client's are the contiguous range WIRE_OP_HELLO ..
 * WIRE_OP_CLIENT_LAST: wire_parse_req() refuses the rest as unknown_op.
 * stats and conns name the request and its reply alike.
 */
enum wire_op {
	WIRE_OP_UNKNOWN = 0,
	/* client -> router */
	WIRE_OP_HELLO,
	WIRE_OP_PUB,
	WIRE_OP_SUB,
	WIRE_OP_REQ,
	WIRE_OP_UNSUB,
	WIRE_OP_REPLAY,
	WIRE_OP_PING,
	WIRE_OP_STATS,
	WIRE_OP_CONNS,		/* only id; the router lists its connections */
	/* router -> client */
	WIRE_OP_WELCOME,
	WIRE_OP_ACK,
	WIRE_OP_ERR,
	WIRE_OP_MSG,
	WIRE_OP_LAG,
	WIRE_OP_END,
	WIRE_OP_PONG,
	WIRE_OP_BYE,
	WIRE_OP_COUNT
};
#define WIRE_OP_CLIENT_LAST	WIRE_OP_CONNS

enum wire_overflow {
	WIRE_OVERFLOW_BLOCK = 0,
	WIRE_OVERFLOW_DROP
};

/* A borrowed byte string; ptr is NULL when the field was absent. */
struct wire_str {
	const char	*ptr;
	uint32_t	 len;
};

/*
 * A decoded client request. Only the fields of req->op are filled; the rest
 * stay zero. Strings and the msgpack objects point into the frame.
 */
struct wire_req {
	enum wire_op		 op;
	bool			 has_id;
	uint64_t		 id;

	/* hello */
	struct wire_str		 agent;
	struct wire_str		 session;
	struct wire_str		 model;
	struct wire_str		 tract;		/* hello home tract; sub, replay */

	/* pub */
	struct wire_str		 to;
	struct wire_str		 from;
	struct wire_str		 kind;
	struct wire_str		 body;
	bool			 body_is_str;
	struct wire_str		 pattern;
	bool			 has_pri;
	double			 pri;
	const msgpack_object	*hdr;		/* checked map, or NULL */

	/* sub, req, unsub, replay */
	bool			 has_sid;
	uint64_t		 sid;
	uint64_t		 credit;
	enum wire_overflow	 overflow;
	bool			 has_max_pending;
	uint64_t		 max_pending;
	const msgpack_object	*kinds;		/* checked array of str, or NULL */
	struct wire_str		 from_eid;	/* sub from_eid; replay from */
	struct wire_str		 to_eid;	/* replay to */
	bool			 has_limit;
	uint64_t		 limit;
	uint64_t		 n;		/* req, >= 1 (saturated to int64) */
};

/* Reusable decoding state: one msgpack zone, cleared between frames. */
struct wire_decoder {
	msgpack_zone	zone;
};

/* Fields of a msg frame that are the same for every subscriber. */
struct wire_msg {
	struct wire_str		 eid;
	struct wire_str		 from;
	struct wire_str		 to;
	struct wire_str		 kind;
	double			 pri;
	struct wire_str		 agent;
	struct wire_str		 session;
	struct wire_str		 model;
	int64_t			 ts_us;
	struct wire_str		 body;
	bool			 body_is_str;
	struct wire_str		 pattern;	/* omitted when ptr is NULL */
	struct wire_str		 hdr;		/* msgpack map bytes, or NULL */
};

/* The name of an err code, as on the wire ("bad_frame"). */
const char	*wire_code_name(enum wire_code);
/* The name of an op ("pub"); "unknown" for WIRE_OP_UNKNOWN. */
const char	*wire_op_name(enum wire_op);
/* The op named by s, or WIRE_OP_UNKNOWN. */
enum wire_op	 wire_op_lookup(const char *s, size_t len);

/* The body length announced by a frame header (4 bytes, big-endian). */
uint32_t	 wire_frame_len(const unsigned char hdr[WIRE_HDR_LEN]);
/* Writes the big-endian length of a frame body into hdr. */
void		 wire_put_len(unsigned char hdr[WIRE_HDR_LEN], uint32_t len);

/*
 * Checks that buf holds exactly one msgpack map, nested at most
 * WIRE_MAX_DEPTH deep, whose every container announces no more elements
 * than bytes remain. Returns 0, or -1 with *why set to a static reason.
 * It is wire_decode()'s own walk building no objects: the two always agree.
 */
int		 wire_check(const char *buf, size_t len, const char **why);

/* Returns 0, or -1 when the zone's first chunk cannot be allocated. */
int		 wire_decoder_init(struct wire_decoder *);
void		 wire_decoder_free(struct wire_decoder *);
/*
 * Checks and decodes one frame body into *root (a map). The objects live in
 * the decoder's zone until the next call and point into buf. Returns 0, or
 * -1 (bad_frame) with *why set.
 */
int		 wire_decode(struct wire_decoder *, const char *buf, size_t len,
		    msgpack_object *root, const char **why);

/* The value of key in map, or NULL. */
const msgpack_object *wire_map_get(const msgpack_object *map, const char *key);

/*
 * Parses a decoded request map. Returns WIRE_OK, or WIRE_BAD_REQUEST /
 * WIRE_UNKNOWN_OP with *why set to a static human reason. req->has_id and
 * req->id are set even on failure when the id itself was readable, so the
 * err can carry it. The text fields (agent, session, model, kind, pattern,
 * a str body, hdr values, kinds entries) must be valid UTF-8, else
 * WIRE_BAD_REQUEST ("body is not valid UTF-8"); tract names and eids are
 * left to the router's ASCII syntax checks (ADR 0014).
 */
enum wire_code	 wire_parse_req(const msgpack_object *root, struct wire_req *req,
		    const char **why);

/* True when s is a valid tract name: [A-Za-z0-9_.-]{1,64}, or '$' then that. */
bool		 wire_tract_name_ok(const char *s, size_t len);
/* True when the name is reserved for the router ('$' first). */
bool		 wire_tract_reserved(const char *s, size_t len);
/* Saturating demand addition: min(a + b, WIRE_DEMAND_MAX). */
uint64_t	 wire_demand_add(uint64_t a, uint64_t b);

/*
 * Encoding. A frame is built in a msgpack_sbuffer: wire_frame_begin()
 * reserves the length, the caller packs one map with the packer bound to
 * that sbuffer, wire_frame_end() fills the length in. Several frames may
 * follow each other in one sbuffer. The sbuffer must be writable by
 * msgpack_sbuffer_write; encoders return -1 only when it fails to grow.
 */
/* Returns the frame's start offset, or (size_t)-1 when sb cannot grow. */
size_t		 wire_frame_begin(msgpack_sbuffer *);
void		 wire_frame_end(msgpack_sbuffer *, size_t start);

int		 wire_pack_str(msgpack_packer *, const char *s, size_t len);
int		 wire_pack_cstr(msgpack_packer *, const char *s);
/* Any msgpack number as a double in *out; false (out untouched) else. */
bool		 wire_obj_number(const msgpack_object *, double *out);

/*
 * welcome answers hello; it carries hello's id when it had one, and
 * "truncated": true when the tract list was cut to fit the frame bound.
 */
int		 wire_enc_welcome(msgpack_sbuffer *, bool has_id, uint64_t id,
		    uint64_t conn, uint64_t max_frame, const char *const *tracts,
		    size_t ntracts, bool truncated);
int		 wire_enc_ack(msgpack_sbuffer *, uint64_t id);
int		 wire_enc_ack_pub(msgpack_sbuffer *, uint64_t id, const char *eid,
		    const char *stored);
int		 wire_enc_err(msgpack_sbuffer *, bool has_id, uint64_t id,
		    enum wire_code code, const char *msg);
int		 wire_enc_pong(msgpack_sbuffer *, bool has_id, uint64_t id);
int		 wire_enc_lag(msgpack_sbuffer *, uint64_t sid, uint64_t dropped,
		    const char *first, const char *last);
int		 wire_enc_end(msgpack_sbuffer *, uint64_t sid);
int		 wire_enc_bye(msgpack_sbuffer *, const char *reason);

/*
 * A msg frame is a per-subscriber prefix (length, map header, "sid" and its
 * value) followed by a tail shared by every subscriber: the encoded
 * remaining pairs. wire_enc_msg_tail() appends the tail to sb (no frame
 * header) and returns the number of pairs it holds, or -1.
 * wire_msg_prefix() writes the prefix for that tail into out and returns its
 * length (at most WIRE_PREFIX_MAX).
 */
int		 wire_enc_msg_tail(msgpack_sbuffer *, const struct wire_msg *);
/* An upper bound of the tail's size, for wire_msg_tail_write(). */
size_t		 wire_msg_tail_bound(const struct wire_msg *);
/* The tail's exact size: what wire_msg_tail_write() will write. */
size_t		 wire_msg_tail_size(const struct wire_msg *);
/*
 * Writes the tail into buf (at least wire_msg_tail_bound() bytes); returns
 * its length and sets *pairs. The allocation-free form of the above.
 */
size_t		 wire_msg_tail_write(void *buf, const struct wire_msg *,
		    uint32_t *pairs);
size_t		 wire_msg_prefix(unsigned char out[WIRE_PREFIX_MAX],
		    uint32_t tail_pairs, size_t tail_len, uint64_t sid);

#endif
