/*
 * Unit tests for noise.c. Every vector in tests/data/noise-ik-vectors.json (the
 * published cacophony and noise-c vectors) is replayed: both handshake messages
 * byte for byte, then the transport messages with the split keys. The rest are
 * tables of the ways a handshake must fail: flipped bits, wrong lengths, the
 * wrong responder, calls out of order, a low-order ephemeral, a wrong nonce.
 *
 * The vectors are read with a small extractor instead of a JSON library: it finds
 * each object in the "vectors" array and pulls hex strings out by key, checking
 * every bound. The file is found in $VSWITCH_TEST_DATA, else tests/data.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noise.h"

#define VECTOR_FILE "noise-ik-vectors.json"
#define DEFAULT_DATA_DIR "tests/data"
#define PROTOCOL_NAME "Noise_IK_25519_ChaChaPoly_BLAKE2b"
#define MAX_JSON_LEN (1u << 20)
#define MAX_VECTORS 16
#define MAX_MESSAGES 16
#define MAX_PROLOGUE_LEN 256
#define MAX_PAYLOAD_LEN 1024
#define MAX_MSG_LEN (MAX_PAYLOAD_LEN + NOISE_MSG1_OVERHEAD)
#define MIN_VECTORS 2 /* what the file holds today: fewer means the parser lost some */
#define NOISE_MAX_MSG_LEN 65535

struct message {
	uint8_t payload[MAX_PAYLOAD_LEN];
	size_t payload_len;
	uint8_t ciphertext[MAX_MSG_LEN];
	size_t ciphertext_len;
};

struct vector {
	uint8_t init_prologue[MAX_PROLOGUE_LEN], resp_prologue[MAX_PROLOGUE_LEN];
	size_t init_prologue_len, resp_prologue_len;
	uint8_t init_static[NOISE_KEY_LEN], init_ephemeral[NOISE_KEY_LEN];
	uint8_t init_remote_static[NOISE_KEY_LEN];
	uint8_t resp_static[NOISE_KEY_LEN], resp_ephemeral[NOISE_KEY_LEN];
	uint8_t handshake_hash[NOISE_HASH_LEN];
	bool has_handshake_hash;
	struct message messages[MAX_MESSAGES];
	size_t n_messages;
};

static struct vector *vectors;
static size_t n_vectors;

/* ---- the extractor ---- */

struct span {
	const char *p;
	size_t len;
};

static size_t skip_ws(struct span s, size_t i)
{
	while (i < s.len && (s.p[i] == ' ' || s.p[i] == '\n' || s.p[i] == '\r' || s.p[i] == '\t'))
		i++;
	return i;
}

/* s.p[i] is an opening quote; find the closing one, stepping over escapes. */
static bool string_end(struct span s, size_t i, size_t *end)
{
	for (i++; i < s.len; i++) {
		if (s.p[i] == '\\')
			i++;
		else if (s.p[i] == '"')
			break;
	}
	if (i >= s.len)
		return false;
	*end = i;
	return true;
}

/* s.p[i] opens an object or array; find its matching close, skipping strings. */
static bool container_end(struct span s, size_t i, size_t *end)
{
	size_t depth = 0;

	for (; i < s.len; i++) {
		char c = s.p[i];

		if (c == '"' && !string_end(s, i, &i))
			return false;
		if (c == '{' || c == '[')
			depth++;
		if ((c == '}' || c == ']') && --depth == 0) {
			*end = i;
			return true;
		}
	}
	return false;
}

/* Find key among the members of object obj (its own level only, not nested ones)
 * and return the index where its value starts. */
static bool find_member(struct span obj, const char *key, size_t *value)
{
	size_t depth = 0, key_len = strlen(key);

	for (size_t i = 0; i < obj.len; i++) {
		char c = obj.p[i];
		size_t end, colon;

		if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']') {
			depth--;
		} else if (c == '"') {
			if (!string_end(obj, i, &end))
				return false;
			colon = skip_ws(obj, end + 1);
			if (depth == 1 && end - i - 1 == key_len && !memcmp(obj.p + i + 1, key, key_len) &&
			    colon < obj.len && obj.p[colon] == ':') {
				*value = skip_ws(obj, colon + 1);
				return true;
			}
			i = end;
		}
	}
	return false;
}

static bool member_string(struct span obj, const char *key, struct span *out)
{
	size_t start, end;

	if (!find_member(obj, key, &start) || start >= obj.len || obj.p[start] != '"' ||
	    !string_end(obj, start, &end))
		return false;
	*out = (struct span){ obj.p + start + 1, end - start - 1 };
	return true;
}

/* The object or array value of key, brackets included. */
static bool member_container(struct span obj, const char *key, char open, struct span *out)
{
	size_t start, end;

	if (!find_member(obj, key, &start) || start >= obj.len || obj.p[start] != open ||
	    !container_end(obj, start, &end))
		return false;
	*out = (struct span){ obj.p + start, end - start + 1 };
	return true;
}

/* The next object in array arr from *pos on; *pos moves past it. */
static bool next_object(struct span arr, size_t *pos, struct span *obj)
{
	size_t i = *pos, end;

	while (i < arr.len && arr.p[i] != '{')
		i++;
	if (i >= arr.len || !container_end(arr, i, &end))
		return false;
	*obj = (struct span){ arr.p + i, end - i + 1 };
	*pos = end + 1;
	return true;
}

static bool hex_decode(struct span s, uint8_t *out, size_t cap, size_t *out_len)
{
	const char *end = NULL;

	return s.len % 2 == 0 &&
	       sodium_hex2bin(out, cap, s.p, s.len, NULL, out_len, &end) == 0 &&
	       end == s.p + s.len;
}

static bool member_hex(struct span obj, const char *key, uint8_t *out, size_t cap, size_t *out_len)
{
	struct span s;

	return member_string(obj, key, &s) && hex_decode(s, out, cap, out_len);
}

static bool member_key(struct span obj, const char *key, uint8_t out[NOISE_KEY_LEN])
{
	size_t len;

	return member_hex(obj, key, out, NOISE_KEY_LEN, &len) && len == NOISE_KEY_LEN;
}

static bool parse_messages(struct span arr, struct vector *v)
{
	struct span obj;
	size_t pos = 0;

	while (next_object(arr, &pos, &obj)) {
		struct message *m;

		if (v->n_messages == MAX_MESSAGES)
			return false;
		m = &v->messages[v->n_messages++];
		if (!member_hex(obj, "payload", m->payload, sizeof(m->payload), &m->payload_len) ||
		    !member_hex(obj, "ciphertext", m->ciphertext, sizeof(m->ciphertext),
				&m->ciphertext_len))
			return false;
	}
	return v->n_messages >= 2;
}

static bool parse_vector(struct span obj, struct vector *v)
{
	struct span name, messages;
	size_t len;

	if (!member_string(obj, "name", &name) || name.len != strlen(PROTOCOL_NAME) ||
	    memcmp(name.p, PROTOCOL_NAME, name.len) != 0)
		return false;
	if (!member_hex(obj, "init_prologue", v->init_prologue, sizeof(v->init_prologue),
			&v->init_prologue_len) ||
	    !member_hex(obj, "resp_prologue", v->resp_prologue, sizeof(v->resp_prologue),
			&v->resp_prologue_len) ||
	    !member_key(obj, "init_static", v->init_static) ||
	    !member_key(obj, "init_ephemeral", v->init_ephemeral) ||
	    !member_key(obj, "init_remote_static", v->init_remote_static) ||
	    !member_key(obj, "resp_static", v->resp_static) ||
	    !member_key(obj, "resp_ephemeral", v->resp_ephemeral))
		return false;
	if (find_member(obj, "handshake_hash", &len)) {
		if (!member_hex(obj, "handshake_hash", v->handshake_hash, sizeof(v->handshake_hash),
				&len) ||
		    len != NOISE_HASH_LEN)
			return false;
		v->has_handshake_hash = true;
	}
	return member_container(obj, "messages", '[', &messages) && parse_messages(messages, v);
}

static bool parse_file(struct span json)
{
	struct span root, arr, obj;
	size_t start = skip_ws(json, 0), end, pos = 0;

	if (start >= json.len || json.p[start] != '{' || !container_end(json, start, &end))
		return false;
	root = (struct span){ json.p + start, end - start + 1 };
	if (!member_container(root, "vectors", '[', &arr))
		return false;
	while (next_object(arr, &pos, &obj)) {
		if (n_vectors == MAX_VECTORS || !parse_vector(obj, &vectors[n_vectors]))
			return false;
		n_vectors++;
	}
	return true;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f) {
		fprintf(stderr, "cannot open %s\n", path);
		return NULL;
	}
	buf = malloc(MAX_JSON_LEN);
	*len = buf ? fread(buf, 1, MAX_JSON_LEN, f) : 0;
	if (buf && (ferror(f) || *len == MAX_JSON_LEN)) {
		fprintf(stderr, "cannot read %s, or it is over %u bytes\n", path, MAX_JSON_LEN);
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int free_vectors(void **state)
{
	(void)state;
	free(vectors);
	vectors = NULL;
	return 0;
}

static int load_vectors(void **state)
{
	const char *dir = getenv("VSWITCH_TEST_DATA");
	char path[4096], *json = NULL;
	size_t len;
	int n;

	if (sodium_init() < 0)
		return -1;
	if (!dir || !*dir)
		dir = DEFAULT_DATA_DIR;
	n = snprintf(path, sizeof(path), "%s/%s", dir, VECTOR_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	vectors = calloc(MAX_VECTORS, sizeof(*vectors));
	if (!vectors)
		return -1;
	json = read_file(path, &len);
	if (!json || !parse_file((struct span){ json, len })) {
		fprintf(stderr, "cannot parse test vectors in %s\n", path);
		goto err;
	}
	if (n_vectors < MIN_VECTORS) {
		fprintf(stderr, "%s: found %zu vectors, want at least %d\n", path, n_vectors,
			MIN_VECTORS);
		goto err;
	}
	free(json);
	return 0;
err:
	free(json);
	free_vectors(state);
	return -1;
}

/* ---- helpers shared by the tests ---- */

struct pair {
	struct noise_handshake init, resp;
	uint8_t msg1[MAX_MSG_LEN], msg2[MAX_MSG_LEN];
	size_t msg1_len, msg2_len;
};

static void start(struct pair *p, const struct vector *v)
{
	noise_init_initiator(&p->init, v->init_prologue, v->init_prologue_len, v->init_static,
			     v->init_remote_static);
	noise_init_responder(&p->resp, v->resp_prologue, v->resp_prologue_len, v->resp_static);
}

static void write1(struct pair *p, const struct vector *v)
{
	const struct message *m = &v->messages[0];

	assert_int_equal(noise_write_msg1(&p->init, v->init_ephemeral, m->payload, m->payload_len,
					  p->msg1, sizeof(p->msg1), &p->msg1_len),
			 0);
}

static void write2(struct pair *p, const struct vector *v)
{
	const struct message *m = &v->messages[1];

	assert_int_equal(noise_write_msg2(&p->resp, v->resp_ephemeral, m->payload, m->payload_len,
					  p->msg2, sizeof(p->msg2), &p->msg2_len),
			 0);
}

static int read1(struct pair *p, const uint8_t *msg, size_t len)
{
	uint8_t payload[MAX_MSG_LEN];
	size_t payload_len;

	return noise_read_msg1(&p->resp, msg, len, payload, sizeof(payload), &payload_len);
}

static int read2(struct pair *p, const uint8_t *msg, size_t len)
{
	uint8_t payload[MAX_MSG_LEN];
	size_t payload_len;

	return noise_read_msg2(&p->init, msg, len, payload, sizeof(payload), &payload_len);
}

/* A whole handshake with vector 0, both sides at step 2. */
static void complete(struct pair *p)
{
	start(p, &vectors[0]);
	write1(p, &vectors[0]);
	assert_int_equal(read1(p, p->msg1, p->msg1_len), 0);
	write2(p, &vectors[0]);
	assert_int_equal(read2(p, p->msg2, p->msg2_len), 0);
}

/* ---- the vectors ---- */

static void check_read(int ret, const uint8_t *payload, size_t payload_len, const struct message *m)
{
	assert_int_equal(ret, 0);
	assert_int_equal(payload_len, m->payload_len);
	assert_memory_equal(payload, m->payload, m->payload_len);
}

static void check_handshake(struct pair *p, const struct vector *v)
{
	uint8_t payload[MAX_MSG_LEN], pub[NOISE_KEY_LEN];
	size_t payload_len;
	int ret;

	assert_int_equal(noise_public_key(pub, v->resp_static), 0);
	assert_memory_equal(pub, v->init_remote_static, NOISE_KEY_LEN);
	start(p, v);
	write1(p, v);
	assert_int_equal(p->msg1_len, v->messages[0].ciphertext_len);
	assert_memory_equal(p->msg1, v->messages[0].ciphertext, p->msg1_len);
	ret = noise_read_msg1(&p->resp, p->msg1, p->msg1_len, payload, sizeof(payload), &payload_len);
	check_read(ret, payload, payload_len, &v->messages[0]);
	assert_int_equal(noise_public_key(pub, v->init_static), 0);
	assert_memory_equal(p->resp.rs, pub, NOISE_KEY_LEN);

	write2(p, v);
	assert_int_equal(p->msg2_len, v->messages[1].ciphertext_len);
	assert_memory_equal(p->msg2, v->messages[1].ciphertext, p->msg2_len);
	ret = noise_read_msg2(&p->init, p->msg2, p->msg2_len, payload, sizeof(payload), &payload_len);
	check_read(ret, payload, payload_len, &v->messages[1]);

	assert_memory_equal(p->init.h, p->resp.h, NOISE_HASH_LEN);
	if (v->has_handshake_hash)
		assert_memory_equal(p->init.h, v->handshake_hash, NOISE_HASH_LEN);
}

/* Messages 3..n alternate initiator, responder; each direction counts from 0. */
static void check_transport(struct pair *p, const struct vector *v)
{
	uint8_t init_send[NOISE_KEY_LEN], init_recv[NOISE_KEY_LEN];
	uint8_t resp_send[NOISE_KEY_LEN], resp_recv[NOISE_KEY_LEN];
	uint8_t buf[MAX_MSG_LEN];
	uint64_t n[2] = { 0, 0 };

	assert_int_equal(noise_split(&p->init, init_send, init_recv), 0);
	assert_int_equal(noise_split(&p->resp, resp_send, resp_recv), 0);
	for (size_t i = 2; i < v->n_messages; i++) {
		const struct message *m = &v->messages[i];
		bool from_init = i % 2 == 0;
		uint64_t nonce = n[!from_init]++;

		assert_true(m->payload_len + NOISE_TAG_LEN <= sizeof(buf));
		memcpy(buf, m->payload, m->payload_len);
		noise_aead_seal(from_init ? init_send : resp_send, nonce, NULL, 0, buf, m->payload_len);
		assert_int_equal(m->payload_len + NOISE_TAG_LEN, m->ciphertext_len);
		assert_memory_equal(buf, m->ciphertext, m->ciphertext_len);
		assert_int_equal(noise_aead_open(from_init ? resp_recv : init_recv, nonce, NULL, 0, buf,
						 m->ciphertext_len),
				 0);
		assert_memory_equal(buf, m->payload, m->payload_len);
	}
}

static void test_vectors(void **state)
{
	struct pair p;

	(void)state;
	assert_true(n_vectors >= MIN_VECTORS);
	for (size_t i = 0; i < n_vectors; i++) {
		print_message("vector %zu: %zu messages\n", i, vectors[i].n_messages);
		check_handshake(&p, &vectors[i]);
		check_transport(&p, &vectors[i]);
		noise_wipe(&p.init);
		noise_wipe(&p.resp);
	}
}

/* ---- failures ---- */

/* Every byte of each handshake message, one bit flipped (a different bit per
 * byte): the reader must refuse with -EBADMSG, whichever field it lands in. */
static void test_bit_flips(void **state)
{
	struct pair p;
	uint8_t msg[MAX_MSG_LEN];

	(void)state;
	complete(&p);
	for (size_t i = 0; i < p.msg1_len; i++) {
		struct pair q;

		start(&q, &vectors[0]);
		memcpy(msg, p.msg1, p.msg1_len);
		msg[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(read1(&q, msg, p.msg1_len), -EBADMSG);
		assert_int_equal(read1(&q, p.msg1, p.msg1_len), -EINVAL); /* failed is final */
	}
	for (size_t i = 0; i < p.msg2_len; i++) {
		struct pair q;

		start(&q, &vectors[0]);
		write1(&q, &vectors[0]);
		memcpy(msg, p.msg2, p.msg2_len);
		msg[i] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(read2(&q, msg, p.msg2_len), -EBADMSG);
	}
}

struct length_case {
	int id;
	int msg;      /* 1 or 2 */
	long delta;   /* added to the true message length */
	long cap_delta; /* added to the room the payload needs */
	int want;
};

/* Lengths are relative to the real messages (msg1 carries 16 payload bytes,
 * msg2 15): "-17" on msg1 is one short of its bare overhead. */
static const struct length_case length_cases[] = {
	{ 1, 1, 0, 0, 0 },
	{ 2, 1, -1, 0, -EBADMSG },	/* still long enough: the payload tag fails */
	{ 3, 1, +1, +1, -EBADMSG },
	{ 4, 1, -16, 0, -EBADMSG },	/* exactly the overhead: empty payload, bad tag */
	{ 5, 1, -17, 0, -EMSGSIZE },
	{ 6, 1, -1000, 0, -EMSGSIZE },	/* clamped to zero below */
	{ 7, 1, 0, -1, -EMSGSIZE },	/* payload buffer one byte short */
	{ 8, 2, 0, 0, 0 },
	{ 9, 2, -1, 0, -EBADMSG },
	{ 10, 2, -15, 0, -EBADMSG },
	{ 11, 2, -16, 0, -EMSGSIZE },
	{ 12, 2, 0, -1, -EMSGSIZE },
	{ 13, 2, +1, 0, -EMSGSIZE },	/* one more payload byte than the buffer takes */
};

static void test_read_lengths(void **state)
{
	static uint8_t msg[MAX_MSG_LEN + 1], payload[MAX_MSG_LEN];
	struct pair p;

	(void)state;
	complete(&p);
	for (size_t i = 0; i < sizeof(length_cases) / sizeof(length_cases[0]); i++) {
		const struct length_case *c = &length_cases[i];
		size_t real = c->msg == 1 ? p.msg1_len : p.msg2_len;
		size_t overhead = c->msg == 1 ? NOISE_MSG1_OVERHEAD : NOISE_MSG2_OVERHEAD;
		long len = (long)real + c->delta, cap = (long)(real - overhead) + c->cap_delta;
		size_t payload_len;
		struct pair q;
		int ret;

		memset(msg, 0, sizeof(msg));
		memcpy(msg, c->msg == 1 ? p.msg1 : p.msg2, real);
		len = len < 0 ? 0 : len;
		start(&q, &vectors[0]);
		if (c->msg == 1) {
			ret = noise_read_msg1(&q.resp, msg, (size_t)len, payload, (size_t)cap, &payload_len);
		} else {
			write1(&q, &vectors[0]);
			ret = noise_read_msg2(&q.init, msg, (size_t)len, payload, (size_t)cap, &payload_len);
		}
		if (ret != c->want)
			fail_msg("length case %d: got %d, want %d", c->id, ret, c->want);
	}
}

/* A length error is checked before the state changes, so a retry succeeds. */
static void test_write_lengths(void **state)
{
	const struct vector *v = &vectors[0];
	const struct message *m1 = &v->messages[0], *m2 = &v->messages[1];
	static uint8_t big[NOISE_MAX_MSG_LEN];
	uint8_t out[MAX_MSG_LEN];
	size_t out_len = 0;
	struct pair p;

	(void)state;
	start(&p, v);
	assert_int_equal(noise_write_msg1(&p.init, v->init_ephemeral, m1->payload, m1->payload_len, out,
					  m1->ciphertext_len - 1, &out_len),
			 -EMSGSIZE);
	assert_int_equal(noise_write_msg1(&p.init, v->init_ephemeral, big,
					  NOISE_MAX_MSG_LEN - NOISE_MSG1_OVERHEAD + 1, big, SIZE_MAX,
					  &out_len),
			 -EMSGSIZE);
	assert_int_equal(noise_write_msg1(&p.init, v->init_ephemeral, m1->payload, m1->payload_len, out,
					  m1->ciphertext_len, &out_len),
			 0);
	assert_memory_equal(out, m1->ciphertext, out_len);
	assert_int_equal(read1(&p, out, out_len), 0);
	assert_int_equal(noise_write_msg2(&p.resp, v->resp_ephemeral, m2->payload, m2->payload_len, out,
					  m2->ciphertext_len - 1, &out_len),
			 -EMSGSIZE);
	assert_int_equal(noise_write_msg2(&p.resp, v->resp_ephemeral, m2->payload, m2->payload_len, out,
					  m2->ciphertext_len, &out_len),
			 0);
	assert_memory_equal(out, m2->ciphertext, out_len);
}

/* The payload may be passed already in place inside the output buffer. */
static void test_write_in_place(void **state)
{
	const struct vector *v = &vectors[0];
	const struct message *m1 = &v->messages[0];
	uint8_t out[MAX_MSG_LEN];
	size_t out_len;
	struct pair p;

	(void)state;
	start(&p, v);
	memcpy(out, m1->payload, m1->payload_len);
	assert_int_equal(noise_write_msg1(&p.init, v->init_ephemeral, out, m1->payload_len, out,
					  sizeof(out), &out_len),
			 0);
	assert_memory_equal(out, m1->ciphertext, m1->ciphertext_len);
}

/* IK: the initiator encrypts to one responder's static key; another can't read it. */
static void test_wrong_responder(void **state)
{
	const struct vector *v = &vectors[0];
	uint8_t other_priv[NOISE_KEY_LEN], other_pub[NOISE_KEY_LEN];
	struct pair p;

	(void)state;
	memset(other_priv, 0x42, sizeof(other_priv));
	assert_int_equal(noise_public_key(other_pub, other_priv), 0);
	start(&p, v);
	noise_init_initiator(&p.init, v->init_prologue, v->init_prologue_len, v->init_static,
			     other_pub);
	write1(&p, v);
	assert_int_equal(read1(&p, p.msg1, p.msg1_len), -EBADMSG);
}

/* A different prologue on one side is a different transcript: the reader fails. */
static void test_prologue_mismatch(void **state)
{
	const struct vector *v = &vectors[0];
	struct pair p;

	(void)state;
	start(&p, v);
	noise_init_responder(&p.resp, (const uint8_t *)"other", 5, v->resp_static);
	write1(&p, v);
	assert_int_equal(read1(&p, p.msg1, p.msg1_len), -EBADMSG);
}

/* An ephemeral of all zeros is a low-order point: the DH result is zero. */
static void test_low_order_ephemeral(void **state)
{
	struct pair p;
	uint8_t msg[MAX_MSG_LEN];

	(void)state;
	complete(&p);
	memcpy(msg, p.msg1, p.msg1_len);
	memset(msg, 0, NOISE_KEY_LEN);
	start(&p, &vectors[0]);
	assert_int_equal(read1(&p, msg, p.msg1_len), -EINVAL);

	start(&p, &vectors[0]);
	write1(&p, &vectors[0]);
	memset(p.msg2, 0, NOISE_KEY_LEN);
	assert_int_equal(read2(&p, p.msg2, p.msg2_len), -EINVAL);
}

enum op { WRITE1, READ1, WRITE2, READ2, SPLIT };

struct order_case {
	int id;
	bool initiator;
	int done;	/* messages exchanged before the call: 0, 1 or 2 */
	enum op op;
};

/* Every call that is on the wrong side or at the wrong step. */
static const struct order_case order_cases[] = {
	{ 1, true, 0, READ1 },  { 2, true, 0, WRITE2 }, { 3, true, 0, READ2 },
	{ 4, true, 0, SPLIT },  { 5, true, 1, WRITE1 }, { 6, true, 1, SPLIT },
	{ 7, true, 2, READ2 },  { 8, true, 2, WRITE1 }, { 9, false, 0, WRITE1 },
	{ 10, false, 0, WRITE2 }, { 11, false, 0, READ2 }, { 12, false, 0, SPLIT },
	{ 13, false, 1, READ1 }, { 14, false, 1, SPLIT }, { 15, false, 2, WRITE2 },
	{ 16, false, 2, READ1 },
};

static int call(struct pair *p, bool initiator, enum op op)
{
	struct noise_handshake *hs = initiator ? &p->init : &p->resp;
	const struct vector *v = &vectors[0];
	uint8_t out[MAX_MSG_LEN], k1[NOISE_KEY_LEN], k2[NOISE_KEY_LEN];
	size_t out_len;

	switch (op) {
	case WRITE1:
		return noise_write_msg1(hs, v->init_ephemeral, NULL, 0, out, sizeof(out), &out_len);
	case READ1:
		return noise_read_msg1(hs, p->msg1, p->msg1_len, out, sizeof(out), &out_len);
	case WRITE2:
		return noise_write_msg2(hs, v->resp_ephemeral, NULL, 0, out, sizeof(out), &out_len);
	case READ2:
		return noise_read_msg2(hs, p->msg2, p->msg2_len, out, sizeof(out), &out_len);
	case SPLIT:
		return noise_split(hs, k1, k2);
	}
	return 0;
}

static void test_out_of_order(void **state)
{
	struct pair done;
	int ret;

	(void)state;
	complete(&done);
	for (size_t i = 0; i < sizeof(order_cases) / sizeof(order_cases[0]); i++) {
		const struct order_case *c = &order_cases[i];
		struct pair p = done;

		start(&p, &vectors[0]);
		if (c->done >= 1) {
			write1(&p, &vectors[0]);
			assert_int_equal(read1(&p, p.msg1, p.msg1_len), 0);
		}
		if (c->done >= 2) {
			write2(&p, &vectors[0]);
			assert_int_equal(read2(&p, p.msg2, p.msg2_len), 0);
		}
		ret = call(&p, c->initiator, c->op);
		if (ret != -EINVAL)
			fail_msg("order case %d: got %d, want %d", c->id, ret, -EINVAL);
	}
}

static void test_split_keys_cross(void **state)
{
	uint8_t is[NOISE_KEY_LEN], ir[NOISE_KEY_LEN], rs[NOISE_KEY_LEN], rr[NOISE_KEY_LEN];
	struct pair p;

	(void)state;
	complete(&p);
	assert_int_equal(noise_split(&p.init, is, ir), 0);
	assert_int_equal(noise_split(&p.resp, rs, rr), 0);
	assert_memory_equal(is, rr, NOISE_KEY_LEN);
	assert_memory_equal(ir, rs, NOISE_KEY_LEN);
	assert_memory_not_equal(is, ir, NOISE_KEY_LEN);
}

struct aead_case {
	int id;
	uint64_t open_n;
	size_t ad_len;	/* of "ad!" sealed with 3 */
	size_t len;	/* ciphertext length given to open */
	int want;
};

#define SEAL_N 5
#define PLAIN_LEN 20

static const struct aead_case aead_cases[] = {
	{ 1, SEAL_N, 3, PLAIN_LEN + NOISE_TAG_LEN, 0 },
	{ 2, SEAL_N - 1, 3, PLAIN_LEN + NOISE_TAG_LEN, -EBADMSG },
	{ 3, SEAL_N + 1, 3, PLAIN_LEN + NOISE_TAG_LEN, -EBADMSG },
	{ 4, SEAL_N + (1ull << 32), 3, PLAIN_LEN + NOISE_TAG_LEN, -EBADMSG }, /* high half counts */
	{ 5, SEAL_N, 2, PLAIN_LEN + NOISE_TAG_LEN, -EBADMSG },
	{ 6, SEAL_N, 3, PLAIN_LEN + NOISE_TAG_LEN - 1, -EBADMSG },
	{ 7, SEAL_N, 3, NOISE_TAG_LEN - 1, -EBADMSG },
	{ 8, SEAL_N, 3, 0, -EBADMSG },
};

static void test_aead(void **state)
{
	static const uint8_t key[NOISE_KEY_LEN] = { 1, 2, 3 };
	static const uint8_t ad[] = "ad!";

	(void)state;
	for (size_t i = 0; i < sizeof(aead_cases) / sizeof(aead_cases[0]); i++) {
		const struct aead_case *c = &aead_cases[i];
		uint8_t buf[PLAIN_LEN + NOISE_TAG_LEN], plain[PLAIN_LEN];
		int ret;

		memset(plain, 0xa5, sizeof(plain));
		memcpy(buf, plain, sizeof(plain));
		noise_aead_seal(key, SEAL_N, ad, 3, buf, PLAIN_LEN);
		assert_memory_not_equal(buf, plain, PLAIN_LEN);
		ret = noise_aead_open(key, c->open_n, ad, c->ad_len, buf, c->len);
		if (ret != c->want)
			fail_msg("aead case %d: got %d, want %d", c->id, ret, c->want);
		if (c->want == 0)
			assert_memory_equal(buf, plain, PLAIN_LEN);
	}
}

static void test_wipe(void **state)
{
	struct pair p;

	(void)state;
	complete(&p);
	noise_wipe(&p.init);
	assert_true(sodium_is_zero((const unsigned char *)&p.init, sizeof(p.init)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_read_lengths),
		cmocka_unit_test(test_write_lengths),
		cmocka_unit_test(test_write_in_place),
		cmocka_unit_test(test_wrong_responder),
		cmocka_unit_test(test_prologue_mismatch),
		cmocka_unit_test(test_low_order_ephemeral),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_split_keys_cross),
		cmocka_unit_test(test_aead),
		cmocka_unit_test(test_wipe),
	};

	return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
