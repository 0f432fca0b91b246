/* control_query against a fake daemon in a child process: an answer is
 * printed; a refusal, a close without an answer and no daemon are errors
 * that say what happened. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"

struct fake {
	char dir[64];
	char path[96];
	pid_t pid;
};

/* Listen at a fresh path; the child accepts one client, reads its request
 * and writes answer (NULL: closes without a word). */
static void fake_start(struct fake *f, const char *answer)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int lfd;

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_control.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/d.sock", f->dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		char req[64];
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0 || read(fd, req, sizeof(req)) <= 0)
			_exit(1);
		if (answer && write(fd, answer, strlen(answer)) != (ssize_t)strlen(answer))
			_exit(1);
		close(fd);
		_exit(0);
	}
	close(lfd);
}

static void fake_stop(struct fake *f)
{
	int status;

	assert_int_equal(waitpid(f->pid, &status, 0), f->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(f->path);
	rmdir(f->dir);
}

/* control_query's result; what it printed in out, its message in err. */
static int query(const char *path, char *out, size_t out_len, char *err, size_t err_len)
{
	FILE *o = fmemopen(out, out_len, "w");
	int ret;

	assert_non_null(o);
	err[0] = '\0';
	ret = control_query(path, "show", o, err, err_len);
	fclose(o);
	return ret;
}

struct answer_case {
	const char *answer;   /* what the fake daemon says; NULL: it just closes */
	const char *want_out; /* printed, on success */
	const char *want_err; /* in the message, on failure (then nothing printed) */
};

static const struct answer_case answer_cases[] = {
	{ "switch\n  members: 2\n", "switch\n  members: 2\n", NULL },
	{ "error: busy, try again\n", NULL, "busy, try again" },
	{ NULL, NULL, "closed the connection without answering" },
};

static void test_answers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(answer_cases) / sizeof(answer_cases[0]); i++) {
		const struct answer_case *c = &answer_cases[i];
		struct fake f;
		char out[256] = { 0 }, err[256];
		int ret;

		fake_start(&f, c->answer);
		ret = query(f.path, out, sizeof(out), err, sizeof(err));
		if (c->want_out) {
			assert_int_equal(ret, 0);
			assert_string_equal(out, c->want_out);
		} else {
			assert_true(ret < 0);
			assert_string_equal(out, "");
			assert_non_null(strstr(err, c->want_err));
			assert_non_null(strstr(err, f.path));
		}
		fake_stop(&f);
	}
}

static void test_no_daemon(void **state)
{
	char out[256] = { 0 }, err[256];

	(void)state;
	assert_true(query("/tmp/test_control.none/d.sock", out, sizeof(out), err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "is the daemon running?"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_no_daemon),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
