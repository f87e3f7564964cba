/*
 * agent: a small C agent on libcallosum. It subscribes to a tract,
 * publishes a question into it, reads its own message back, pings the
 * router and exits 0.
 *
 *	cc agent.c $(pkg-config --cflags --libs callosum) -o agent
 *	./agent [SOCKET]
 */
#include <stdio.h>
#include <string.h>

#include <callosum.h>

int
main(int argc, char **argv)
{
	struct callosum_opts	 o = { .agent = "c-agent", .session = "s-c",
				    .model = "m-c", .tract = "internal" };
	struct callosum_pub	 p = { .to = "external", .body = "hello",
				    .len = 5 };
	struct callosum_err	 err;
	struct callosum_event	 ev;
	struct callosum_ack	 ack;
	struct callosum		*c;
	double			 rtt;

	o.socket = argc > 1 ? argv[1] : NULL;
	if ((c = callosum_connect(&o, &err)) == NULL) {
		fprintf(stderr, "connect: %s: %s\n", err.code, err.msg);
		return (1);
	}
	if (callosum_subscribe(c, 1, "external", 8, NULL, &err) == -1 ||
	    callosum_publish(c, &p, &ack, &err) == -1 ||
	    callosum_next(c, 5000, &ev, &err) != 1)
		goto fail;
	/* ev's strings are valid until the next call on c: use them now. */
	printf("published %s (%s); got %.*s from %.*s on sid %llu\n",
	    ack.eid, ack.stored, (int)ev.body.len, ev.body.ptr,
	    (int)ev.from.len, ev.from.ptr, (unsigned long long)ev.sid);
	if (callosum_ping(c, &rtt, &err) == -1)
		goto fail;
	callosum_close(c);
	return (0);
fail:
	fprintf(stderr, "agent: %s: %s\n", err.code, err.msg);
	callosum_close(c);
	return (1);
}
