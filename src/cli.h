/*
 * cli — the subcommands both binaries share: genkey, pubkey, show. Glue.
 * Each returns the process exit status.
 */
#ifndef VSWITCH_CLI_H
#define VSWITCH_CLI_H

/* Print a new random private key, base64, on stdout. */
int cli_genkey(const char *prog);
/* Read a private key on stdin, print its public key. */
int cli_pubkey(const char *prog);
/* Ask the daemon on control_path for its status and print it.
 * argv holds the arguments after "show" (only --control PATH is accepted). */
int cli_show(const char *prog, int argc, char **argv, const char *default_path);

/* If argv[1] is a shared subcommand, run it and return its exit status through
 * *status; returns 0 when argv[1] is not one. */
int cli_dispatch(const char *prog, int argc, char **argv, const char *default_control,
		 int *status);

/* Print "prog: message" on stderr. */
void cli_report(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Report a startup error and give the exit status 1 (a macro, so that callers
 * and static analysers see the value). */
#define cli_fail(...) (cli_report(__VA_ARGS__), 1)

#endif
