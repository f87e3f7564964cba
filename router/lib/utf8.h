/*
 * utf8: validation of UTF-8 text (RFC 3629), fast enough for the publish
 * path: every str a client sends is checked, str bodies of up to max_frame
 * bytes included (ADR 0014).
 */
#ifndef CALLOSUM_UTF8_H
#define CALLOSUM_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when the len bytes at p are well-formed UTF-8: no overlong forms,
 * no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no sequence cut
 * short by the end of the buffer; never 0xC0, 0xC1 or 0xF5..0xFF. NUL and
 * the noncharacters (U+FFFE, ...) are valid. Reads only [p, p + len); p may
 * be NULL when len is 0.
 */
bool	utf8_valid(const void *p, size_t len);

#endif
