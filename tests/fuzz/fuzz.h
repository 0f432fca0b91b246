/* What every libFuzzer target here shares. */
#ifndef VSWITCH_FUZZ_H
#define VSWITCH_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken promise stops the fuzzer with the input that broke it. */
#define check(cond)                                                                            \
	do {                                                                                   \
		if (!(cond))                                                                   \
			abort();                                                               \
	} while (0)

#endif
