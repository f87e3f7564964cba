/*
 * fuzz_wire: the request decoder on arbitrary frame bodies. It must never
 * crash or leak, wire_check() and wire_decode() must agree on every input,
 * and whatever decodes goes through wire_parse_req().
 */
#include <stdint.h>
#include <stdlib.h>

#include "router/lib/wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wire_decoder	 dec;
	static int			 ready;
	struct wire_req			 req;
	msgpack_object			 root;
	const char			*why = NULL;
	int				 checked, decoded;

	if (!ready) {
		if (wire_decoder_init(&dec) == -1)
			abort();
		ready = 1;
	}
	checked = wire_check((const char *)data, size, &why);
	decoded = wire_decode(&dec, (const char *)data, size, &root, &why);
	if (checked != decoded)
		abort();	/* the two walks disagree */
	if (decoded == 0)
		(void)wire_parse_req(&root, &req, &why);
	return (0);
}
