/* flags — country codes: the lists, and flags2_common.expand_cc_args()
 * (positional codes, -a, -e, -g, the limit) over a bitmap of every two-
 * and three-letter code. */
#include <string.h>

#include "flags.h"

/* ISO 3166-1 alpha-2, every officially assigned code (Debian's iso-codes,
 * iso_3166-1.json). The book reads its list from country_codes.txt, the
 * 194 sovereign states; the full list makes -a cover every code a flag
 * site may have. */
const char *const fl_iso_codes[] = {
	"AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS",
	"AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG",
	"BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT",
	"BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI",
	"CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY",
	"CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH",
	"ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB",
	"GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ",
	"GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT",
	"HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT",
	"JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP",
	"KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS",
	"LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH",
	"MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU",
	"MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI",
	"NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
	"PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA",
	"RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG",
	"SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST",
	"SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK",
	"TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG",
	"UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU",
	"WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
};
const size_t fl_iso_count = sizeof(fl_iso_codes) / sizeof(fl_iso_codes[0]);

const char *const fl_pop20_codes[] = {
	"CN", "IN", "US", "ID", "BR", "PK", "NG", "BD", "RU", "JP",
	"MX", "PH", "VN", "ET", "EG", "DE", "IR", "TR", "CD", "FR",
};
const size_t fl_pop20_count =
	sizeof(fl_pop20_codes) / sizeof(fl_pop20_codes[0]);

static int letter(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a';
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	return -1;
}

/* Bitmap index: the two-letter codes first, then the three-letter ones,
 * each block in alphabetical order, so that index order is the sorted
 * order of fl_ccset_sorted(). -1 when cc is not two or three letters. */
static long code_index(const char *cc)
{
	size_t len = strlen(cc);
	long i = 0;

	if (len != 2 && len != 3)
		return -1;
	for (size_t k = 0; k < len; k++) {
		if (letter(cc[k]) < 0)
			return -1;
		i = i * 26 + letter(cc[k]);
	}
	return len == 2 ? i : FL_CODES2 + i;
}

static void index_code(size_t i, char out[FL_CC_SIZE])
{
	size_t k = 0;

	if (i >= FL_CODES2) {
		i -= FL_CODES2;
		out[k++] = (char)('A' + i / (26 * 26));
		i %= 26 * 26;
	}
	out[k++] = (char)('A' + i / 26);
	out[k++] = (char)('A' + i % 26);
	out[k] = '\0';
}

void fl_generate_code(size_t n, char out[FL_CC_SIZE])
{
	size_t k = fl_iso_count, iso = 0;

	if (n < fl_iso_count) {
		memcpy(out, fl_iso_codes[n], 3);
		return;
	}
	if (n >= FL_CODES2) {
		index_code(n < FL_ALL_CODES ? n : FL_ALL_CODES - 1, out);
		return;
	}
	/* The two-letter codes that are not ISO's, in order: walk both
	 * sorted lists side by side. */
	for (size_t i = 0; i < FL_CODES2; i++) {
		if (iso < fl_iso_count &&
		    (size_t)code_index(fl_iso_codes[iso]) == i) {
			iso++;
			continue;
		}
		if (k++ == n) {
			index_code(i, out);
			return;
		}
	}
}

bool fl_ccset_add_arg(struct fl_ccset *s, const char *arg)
{
	long i;

	if (strlen(arg) == 1 && letter(arg[0]) >= 0) {
		for (int b = 0; b < 26; b++)
			s->has[letter(arg[0]) * 26 + b] = true;
		return true;
	}
	if ((i = code_index(arg)) < 0)
		return false;
	s->has[i] = true;
	return true;
}

bool fl_ccset_add_range(struct fl_ccset *s, const char *range)
{
	int first, last;

	if (strlen(range) == 1) {
		first = last = letter(range[0]);
	} else {
		if (strlen(range) != 4 || strncmp(range + 1, "..", 2) != 0)
			return false;
		first = letter(range[0]);
		last = letter(range[3]);
	}
	if (first < 0 || last < 0 || first > last)
		return false;
	for (int a = first; a <= last; a++)
		for (int b = 0; b < 26; b++)
			s->has[a * 26 + b] = true;
	return true;
}

void fl_ccset_add_list(struct fl_ccset *s, const char *const *codes,
		       size_t n)
{
	for (size_t i = 0; i < n; i++)
		s->has[code_index(codes[i])] = true;
}

void fl_ccset_add_generated(struct fl_ccset *s, size_t n)
{
	size_t iso = n < fl_iso_count ? n : fl_iso_count, more = n - iso;

	fl_ccset_add_list(s, fl_iso_codes, iso);
	/* Then every other code in index order, skipping the ISO ones (the
	 * two sorted lists walked side by side). */
	iso = 0;
	for (size_t i = 0; i < FL_ALL_CODES && more > 0; i++) {
		if (iso < fl_iso_count &&
		    (size_t)code_index(fl_iso_codes[iso]) == i) {
			iso++;
			continue;
		}
		s->has[i] = true;
		more--;
	}
}

size_t fl_ccset_sorted(const struct fl_ccset *s, size_t limit,
		       char (*out)[FL_CC_SIZE])
{
	size_t n = 0;

	/* Index order is the sorted order: AA ... ZZ, then AAA ... ZZZ. */
	for (size_t i = 0; i < FL_ALL_CODES && (!limit || n < limit); i++)
		if (s->has[i])
			index_code(i, out[n++]);
	return n;
}
