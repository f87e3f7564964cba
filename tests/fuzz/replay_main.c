/*
 * Replays fuzz inputs through a target without libFuzzer, so every
 * compiler's build runs the corpus (and each past finding) under ctest:
 *   fuzz_replay_wire FILE...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
main(int argc, char **argv)
{
	FILE		*f;
	uint8_t		*buf;
	long		 n;
	int		 i;

	for (i = 1; i < argc; i++) {
		if ((f = fopen(argv[i], "rb")) == NULL) {
			perror(argv[i]);
			return (1);
		}
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		if ((buf = malloc(n > 0 ? (size_t)n : 1)) == NULL ||
		    fread(buf, 1, (size_t)n, f) != (size_t)n) {
			perror(argv[i]);
			return (1);
		}
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
	}
	printf("%d passed, 0 failed\n", argc - 1);
	return (0);
}
