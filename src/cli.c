/* cli — shared subcommands. See cli.h. */
#include "cli.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "control.h"
#include "key.h"
#include "keyfile.h"
#include "noise.h"

void cli_report(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_genkey(const char *prog)
{
	unsigned char priv[NOISE_KEY_LEN];
	char text[KEY_BASE64_LEN + 1];

	if (sodium_init() < 0)
		return cli_fail(prog, "cannot initialise libsodium");
	randombytes_buf(priv, sizeof(priv));
	key_clamp(priv);
	key_to_base64(text, priv);
	sodium_memzero(priv, sizeof(priv));
	printf("%s\n", text);
	sodium_memzero(text, sizeof(text));
	return fflush(stdout) == 0 ? 0 : cli_fail(prog, "cannot write the key to stdout");
}

int cli_pubkey(const char *prog)
{
	unsigned char priv[NOISE_KEY_LEN], pub[NOISE_KEY_LEN];
	char text[KEY_BASE64_LEN + 1];
	char err[160];
	int ret;

	if (sodium_init() < 0)
		return cli_fail(prog, "cannot initialise libsodium");
	if (keyfile_read_fd(STDIN_FILENO, priv, err, sizeof(err)) < 0)
		return cli_fail(prog, "stdin: %s", err);
	ret = noise_public_key(pub, priv);
	sodium_memzero(priv, sizeof(priv));
	if (ret < 0)
		return cli_fail(prog, "stdin: not a usable private key");
	key_to_base64(text, pub);
	printf("%s\n", text);
	return fflush(stdout) == 0 ? 0 : cli_fail(prog, "cannot write to stdout");
}

int cli_show(const char *prog, int argc, char **argv, const char *default_path)
{
	const char *path = default_path;
	char err[256];

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--control") == 0 && i + 1 < argc)
			path = argv[++i];
		else
			return cli_fail(prog, "show: unexpected argument '%s' (usage: %s show [--control PATH])",
					argv[i], prog);
	}
	if (control_query(path, "show", stdout, err, sizeof(err)) < 0)
		return cli_fail(prog, "%s", err);
	return 0;
}

int cli_dispatch(const char *prog, int argc, char **argv, const char *default_control,
		 int *status)
{
	if (argc < 2)
		return 0;
	if (strcmp(argv[1], "genkey") == 0 && argc == 2)
		*status = cli_genkey(prog);
	else if (strcmp(argv[1], "pubkey") == 0 && argc == 2)
		*status = cli_pubkey(prog);
	else if (strcmp(argv[1], "show") == 0)
		*status = cli_show(prog, argc - 2, argv + 2, default_control);
	else
		return 0;
	return 1;
}
