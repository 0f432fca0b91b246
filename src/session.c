/* session — keypairs, counters and the replay window. See session.h. */
#include "session.h"

#include <sodium.h>
#include <string.h>

#include "aead.h"

static const char *const result_names[SESSION_RESULT_COUNT] = {
	[SESSION_OK] = "ok",
	[SESSION_NO_KEY] = "no_key",
	[SESSION_EXPIRED] = "expired",
	[SESSION_BAD_AUTH] = "bad_auth",
	[SESSION_REPLAY] = "replay",
	[SESSION_CRYPTO_ERROR] = "crypto_error",
};

const char *session_result_name(enum session_result r)
{
	return (unsigned)r < SESSION_RESULT_COUNT ? result_names[r] : "unknown";
}

/*
 * RFC 6479, section 2: the window is a ring of blocks; advancing clears the
 * blocks passed over (at most the whole ring), then the counter's bit is
 * tested and set. Counters are shifted by one inside so that "next == 0"
 * means nothing received yet and counter 0 is still acceptable.
 */
bool replay_accept(struct replay_window *w, uint64_t counter)
{
	uint64_t n, block, bit;

	if (counter >= SESSION_REJECT_AFTER_MESSAGES)
		return false;
	n = counter + 1;
	if (n + REPLAY_WINDOW_SIZE < w->next)
		return false;
	block = n / REPLAY_BLOCK_BITS;
	if (n > w->next) {
		uint64_t cur = w->next / REPLAY_BLOCK_BITS;
		uint64_t steps = block - cur;

		if (steps > REPLAY_BLOCKS)
			steps = REPLAY_BLOCKS;
		for (uint64_t i = 1; i <= steps; i++)
			w->bitmap[(cur + i) % REPLAY_BLOCKS] = 0;
		w->next = n;
	}
	bit = 1ULL << (n % REPLAY_BLOCK_BITS);
	block %= REPLAY_BLOCKS;
	if (w->bitmap[block] & bit)
		return false;
	w->bitmap[block] |= bit;
	return true;
}

static bool keypair_too_old(const struct keypair *kp, uint64_t now_ms)
{
	return now_ms - kp->birth_ms >= SESSION_REJECT_AFTER_MS;
}

enum session_result keypair_take_counter(struct keypair *kp, uint64_t now_ms, uint64_t *counter)
{
	if (!kp->is_valid)
		return SESSION_NO_KEY;
	if (keypair_too_old(kp, now_ms) || kp->send_counter >= SESSION_REJECT_AFTER_MESSAGES)
		return SESSION_EXPIRED;
	*counter = kp->send_counter++;
	return SESSION_OK;
}

enum session_result keypair_seal(struct keypair *kp, uint8_t *payload, size_t len,
				 uint64_t now_ms, uint64_t *counter)
{
	enum session_result r = keypair_take_counter(kp, now_ms, counter);

	if (r != SESSION_OK)
		return r;
	if (noise_frame_seal(kp->send_key, *counter, payload, len) != 0)
		return SESSION_CRYPTO_ERROR;
	return SESSION_OK;
}

enum session_result keypair_may_open(const struct keypair *kp, uint64_t now_ms)
{
	if (!kp->is_valid)
		return SESSION_NO_KEY;
	if (keypair_too_old(kp, now_ms))
		return SESSION_EXPIRED;
	return SESSION_OK;
}

enum session_result keypair_accept(struct keypair *kp, uint64_t counter)
{
	return replay_accept(&kp->replay, counter) ? SESSION_OK : SESSION_REPLAY;
}

enum session_result keypair_open(struct keypair *kp, uint64_t counter, uint8_t *buf, size_t len,
				 uint64_t now_ms)
{
	enum session_result r = keypair_may_open(kp, now_ms);

	if (r != SESSION_OK)
		return r;
	if (len < NOISE_TAG_LEN || noise_frame_open(kp->recv_key, counter, buf, len) != 0)
		return SESSION_BAD_AUTH;
	return keypair_accept(kp, counter);
}

void keypair_wipe(struct keypair *kp)
{
	/* The cipher may keep the last keys it used; not past their keypair. */
	if (kp->is_valid) {
		aead_forget_key(kp->send_key);
		aead_forget_key(kp->recv_key);
	}
	sodium_memzero(kp, sizeof(*kp));
}

/* Move src into dst, wiping what dst held and leaving src empty. */
static void keypair_move(struct keypair *dst, struct keypair *src)
{
	keypair_wipe(dst);
	memcpy(dst, src, sizeof(*dst));
	sodium_memzero(src, sizeof(*src)); /* its keys live on in dst */
}

void session_install(struct session *s, const uint8_t send_key[NOISE_KEY_LEN],
		     const uint8_t recv_key[NOISE_KEY_LEN], uint32_t local_index,
		     uint32_t remote_index, bool is_initiator, uint64_t now_ms)
{
	struct keypair *slot = is_initiator ? &s->current : &s->next;

	if (is_initiator) {
		/* A pending responder keypair can never be confirmed now. */
		keypair_wipe(&s->next);
		keypair_move(&s->previous, &s->current);
	}
	keypair_wipe(slot);
	memcpy(slot->send_key, send_key, NOISE_KEY_LEN);
	memcpy(slot->recv_key, recv_key, NOISE_KEY_LEN);
	slot->local_index = local_index;
	slot->remote_index = remote_index;
	slot->birth_ms = now_ms;
	slot->is_initiator = is_initiator;
	slot->is_valid = true;
}

struct keypair *session_find(struct session *s, uint32_t local_index)
{
	struct keypair *all[] = { &s->current, &s->next, &s->previous };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->is_valid && all[i]->local_index == local_index)
			return all[i];
	return NULL;
}

void session_received_on(struct session *s, struct keypair *kp)
{
	if (kp != &s->next)
		return;
	keypair_move(&s->previous, &s->current);
	keypair_move(&s->current, &s->next);
}

struct keypair *session_send_keypair(struct session *s, uint64_t now_ms)
{
	struct keypair *kp = &s->current;

	if (!kp->is_valid || keypair_too_old(kp, now_ms) ||
	    kp->send_counter >= SESSION_REJECT_AFTER_MESSAGES)
		return NULL;
	return kp;
}

bool session_needs_rekey(const struct session *s, uint64_t now_ms)
{
	const struct keypair *kp = &s->current;

	if (!kp->is_valid)
		return true;
	/* A responder never rekeys on its own: its peer rekeys in time (below). */
	if (kp->is_initiator && now_ms - kp->birth_ms >= SESSION_REKEY_AFTER_MS)
		return true;
	return kp->send_counter >= SESSION_REKEY_AFTER_MESSAGES ||
	       kp->replay.next > SESSION_REKEY_AFTER_MESSAGES;
}

void session_expire(struct session *s, uint64_t now_ms)
{
	struct keypair *all[] = { &s->current, &s->next, &s->previous };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->is_valid && keypair_too_old(all[i], now_ms))
			keypair_wipe(all[i]);
}

void session_wipe(struct session *s)
{
	keypair_wipe(&s->current);
	keypair_wipe(&s->previous);
	keypair_wipe(&s->next);
}
