/*
 * op: one handler per client op: check the fields, act, answer ack or err.
 */
#ifndef CALLOSUM_OP_H
#define CALLOSUM_OP_H

#include <stddef.h>

struct conn;

enum op_result {
	OP_DONE = 0,	/* the frame was consumed */
	OP_PARK		/* a pub waits for room: keep the frame, stop reading */
};

/* Handles one frame body of c. */
enum op_result	 op_dispatch(struct conn *c, const char *body, size_t len);
/* Frees the encoding buffers (at exit, so that leak checks see nothing). */
void		 op_free(void);

#endif
