/* Fuzz the control socket's request parser: any bytes a local client sends. */
#include "fuzz.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char req[CONTROL_REQUEST_MAX];

	if (control_parse_request((const char *)data, size, req) == 0) {
		size_t n = strlen(req);

		/* A parsed request is printable, non-empty and fits. */
		if (n == 0 || n >= CONTROL_REQUEST_MAX)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (req[i] < 0x20 || req[i] > 0x7e)
				__builtin_trap();
	}
	return 0;
}
