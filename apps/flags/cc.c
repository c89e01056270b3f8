/* flags — country codes: the lists, and flags2_common.expand_cc_args()
 * (positional codes, -a, -e, the limit) over a 26 x 26 bitmap. */
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

static size_t code_index(const char *cc)
{
	return (size_t)letter(cc[0]) * 26 + (size_t)letter(cc[1]);
}

static void index_code(size_t i, char out[3])
{
	out[0] = (char)('A' + i / 26);
	out[1] = (char)('A' + i % 26);
	out[2] = '\0';
}

void fl_generate_code(size_t n, char out[3])
{
	struct fl_ccset iso = { { false } };
	size_t k = fl_iso_count;

	if (n < fl_iso_count) {
		memcpy(out, fl_iso_codes[n], 3);
		return;
	}
	/* The non-ISO codes in order; n stays small, so a scan is fine. */
	fl_ccset_add_list(&iso, fl_iso_codes, fl_iso_count);
	for (size_t i = 0; i < FL_ALL_CODES; i++) {
		if (iso.has[i])
			continue;
		if (k++ == n) {
			index_code(i, out);
			return;
		}
	}
	index_code(FL_ALL_CODES - 1, out); /* n out of range: ZZ */
}

bool fl_ccset_add_arg(struct fl_ccset *s, const char *arg)
{
	size_t len = strlen(arg);

	if (len == 1 && letter(arg[0]) >= 0) {
		for (int b = 0; b < 26; b++)
			s->has[letter(arg[0]) * 26 + b] = true;
		return true;
	}
	if (len == 2 && letter(arg[0]) >= 0 && letter(arg[1]) >= 0) {
		s->has[code_index(arg)] = true;
		return true;
	}
	return false;
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

size_t fl_ccset_sorted(const struct fl_ccset *s, size_t limit,
		       char (*out)[3])
{
	size_t n = 0;

	/* Index order is alphabetical order: AA, AB, ..., ZZ. */
	for (size_t i = 0; i < FL_ALL_CODES && (!limit || n < limit); i++)
		if (s->has[i])
			index_code(i, out[n++]);
	return n;
}
