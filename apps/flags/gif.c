/* flags — fake flags for flags-server --generate: small GIF89a images
 * that any decoder accepts, different for every code (size, colours,
 * stripe direction), so that a mixed-up download shows as a wrong file.
 *
 * The image data is "uncompressed" LZW: with a minimum code size of 7
 * every code is 8 bits wide, hence one byte, as long as the decoder's
 * table does not reach 256 entries; a clear code every CLEAR_EVERY pixels
 * resets it long before (130 + 99 < 256). Bigger than real LZW, and
 * valid.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flags.h"

#define MIN_CODE_SIZE 7
#define COLORS (1u << MIN_CODE_SIZE) /* 128 */
#define CLEAR_CODE COLORS
#define EOI_CODE (COLORS + 1)
#define CLEAR_EVERY 100

/* FNV-1a, then a murmur finaliser: neighbouring codes look unrelated. */
static uint32_t code_hash(const char *cc, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)cc[i]) * 16777619u;
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

static uint8_t *put16(uint8_t *p, unsigned v)
{
	*p++ = (uint8_t)(v & 0xff);
	*p++ = (uint8_t)(v >> 8);
	return p;
}

size_t fl_gif_make(const char *cc, uint8_t *buf)
{
	size_t len = strnlen(cc, FL_CC_SIZE - 1);
	uint32_t h = code_hash(cc, len);
	unsigned w = 30 + h % 31, ht = 20 + (h >> 8) % 21; /* <= 60 x 40 */
	bool vertical = (h >> 16) & 1;
	uint8_t *p = buf, codes[60 * 40 + 60 * 40 / CLEAR_EVERY + 8];
	size_t nc = 0;

	memcpy(p, "GIF89a", 6);
	p += 6;
	p = put16(p, w);
	p = put16(p, ht);
	/* Global colour table of 2^(6+1) entries, 8 bits per primary. */
	*p++ = 0x80 | 0x70 | (MIN_CODE_SIZE - 1);
	*p++ = 0; /* background colour */
	*p++ = 0; /* no aspect ratio */
	for (unsigned i = 0; i < COLORS; i++) {
		/* A two-letter code's palette is what it was before there
		 * were three-letter codes: its flag keeps its bytes. */
		char v[FL_CC_SIZE] = { (char)(cc[0] + i), (char)(cc[1] ^ i),
				       len > 2 ? cc[2] : '\0' };
		uint32_t c = code_hash(v, len);
		*p++ = (uint8_t)c;
		*p++ = (uint8_t)(c >> 8);
		*p++ = (uint8_t)(c >> 16);
	}
	*p++ = 0x2C; /* image descriptor: whole screen, no local table */
	p = put16(p, 0);
	p = put16(p, 0);
	p = put16(p, w);
	p = put16(p, ht);
	*p++ = 0;
	*p++ = MIN_CODE_SIZE;

	/* Three stripes and, on some flags, a square in the middle. */
	for (unsigned y = 0, k = 0; y < ht; y++) {
		for (unsigned x = 0; x < w; x++, k++) {
			unsigned stripe = vertical ? x * 3 / w : y * 3 / ht;
			bool centre = (h >> 17) & 1 && x > w / 3 &&
				      x < 2 * w / 3 && y > ht / 3 &&
				      y < 2 * ht / 3;
			if (k % CLEAR_EVERY == 0)
				codes[nc++] = CLEAR_CODE;
			codes[nc++] = (uint8_t)(centre ? 3 : stripe);
		}
	}
	codes[nc++] = EOI_CODE;
	/* Image data in sub-blocks of at most 255 bytes, then a 0. */
	for (size_t off = 0; off < nc;) {
		size_t len = nc - off < 255 ? nc - off : 255;
		*p++ = (uint8_t)len;
		memcpy(p, codes + off, len);
		p += len;
		off += len;
	}
	*p++ = 0;
	*p++ = 0x3B; /* trailer */
	return (size_t)(p - buf);
}

static int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -errno;
	size_t n = fwrite(data, 1, len, f);
	int err = n == len ? 0 : -(errno ? errno : EIO);
	if (fclose(f) != 0 && !err)
		err = -errno;
	return err;
}

int fl_generate(const char *dir, size_t n, char *failed, size_t cap)
{
	char path[4096 + 32], cc[FL_CC_SIZE], lc[FL_CC_SIZE];
	uint8_t gif[FL_GIF_MAX];
	int ret;

	/* Setup before the server starts: plain stdio is the simple way. */
	for (size_t i = 0; i < n; i++) {
		fl_generate_code(i, cc);
		for (size_t k = 0; k < FL_CC_SIZE; k++)
			lc[k] = cc[k] ? (char)(cc[k] | 0x20) : '\0';
		snprintf(path, sizeof(path), "%s/flags/%s", dir, lc);
		if ((ret = fl_make_dirs(path)) < 0)
			goto fail;
		snprintf(path, sizeof(path), "%s/flags/%s/%s.gif", dir, lc, lc);
		if ((ret = write_file(path, gif, fl_gif_make(cc, gif))) < 0)
			goto fail;
	}
	return 0;
fail:
	snprintf(failed, cap, "%s", path);
	return ret;
}
