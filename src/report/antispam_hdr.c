/*
 * antispam_hdr - the antispam report fields in words (see antispam_hdr.h)
 *
 * One table of keys; the keys whose values are documented point at a
 * table of values (exact codes) or a function (numeric ranges).  Sources:
 * Microsoft's "Anti-spam message headers", "Spam confidence level",
 * "Bulk complaint level" and "Order and precedence" pages as summarised in
 * shared/reference/eop-and-peers.md A; ACT and MID are smexop's own.
 */
#include <string.h>

#include "core/arena.h"
#include "core/str.h"
#include "report/antispam_hdr.h"

struct code {
	const char *code;
	const char *meaning;
};

static const struct code sfv_codes[] = {
	{ "SPM", "spam (spam filtering marked it)" },
	{ "NSPM", "not spam" },
	{ "SKS", "marked as spam before spam filtering (e.g. by a mail flow rule)" },
	{ "SKA", "filtering skipped: the sender is on the anti-spam policy's allow list" },
	{ "SKB", "marked as spam: the sender is on the anti-spam policy's block list" },
	{ "SKN", "marked as not spam before spam filtering (SCL -1, bypass)" },
	{ "SKQ", "released from quarantine" },
	{ "SFE", "filtering skipped: the sender is in the user's Safe Senders" },
	{ "BLK", "filtering skipped, blocked: the sender is in the user's Blocked Senders" },
	{ NULL, NULL },
};

static const struct code cat_codes[] = {
	{ "NONE", "no verdict" },
	{ "MALW", "malware" },
	{ "HPHSH", "high confidence phishing" },
	{ "HPHISH", "high confidence phishing" },
	{ "PHSH", "phishing" },
	{ "HSPM", "high confidence spam" },
	{ "SPOOF", "spoofing (composite authentication failed)" },
	{ "UIMP", "user impersonation" },
	{ "DIMP", "domain impersonation" },
	{ "GIMP", "mailbox intelligence impersonation" },
	{ "SPM", "spam" },
	{ "BULK", "bulk" },
	{ "AMP", "anti-malware policy" },
	{ "BIMP", "brand impersonation" },
	{ "FTBP", "anti-malware common attachments filter (file type block)" },
	{ "INTOS", "intra-organisation phishing" },
	{ "OSPM", "outbound spam" },
	{ "SAP", "Safe Attachments policy" },
	{ NULL, NULL },
};

static const struct code ipv_codes[] = {
	{ "CAL", "the source IP is on the IP Allow List (connection filtering)" },
	{ "NLI", "the IP address is not on any IP reputation list" },
	{ NULL, NULL },
};

static const struct code sfty_codes[] = {
	{ "9.19", "domain impersonation" },
	{ "9.20", "user impersonation" },
	{ "9.25", "first contact safety tip" },
	{ NULL, NULL },
};

static const struct code dir_codes[] = {
	{ "INB", "inbound" },
	{ "OUT", "outbound" },
	{ "INT", "internal (within the organisation)" },
	{ NULL, NULL },
};

static const struct code srv_codes[] = {
	{ "BULK", "bulk: spam filtering and the BCL threshold found the message to be bulk mail" },
	{ "", "no service verdict" },
	{ NULL, NULL },
};

static const struct code act_codes[] = {
	{ "deliver", "delivered to the inbox" },
	{ "junk", "delivered to the Junk Email folder" },
	{ "quarantine", "quarantined" },
	{ "reject", "rejected during the SMTP session" },
	{ "drop", "accepted and dropped" },
	{ "tempfail", "temporarily refused (4xx): the sender retries" },
	{ NULL, NULL },
};

static const struct code dest_codes[] = {
	{ "I", "Inbox" },
	{ "J", "Junk Email folder" },
	{ NULL, NULL },
};

/* number_in - value is an integer in [lo, hi] ("-1" allowed) */
static bool number_in(const char *v, int lo, int hi, int *out)
{
	int sign = 1, x = 0;
	size_t n = 0;

	if (*v == '-') {
		sign = -1;
		v++;
	}
	for (; str_is_digit((unsigned char)*v) && n < 4; v++, n++)
		x = x * 10 + (*v - '0');
	if (n == 0 || *v != '\0')
		return false;
	x *= sign;
	*out = x;
	return x >= lo && x <= hi;
}

static const char *scl_meaning(const char *v)
{
	int x;

	if (!number_in(v, -1, 9, &x))
		return NULL;
	if (x == -1)
		return "filtering skipped (safe sender, IP Allow List, bypass rule): Inbox";
	if (x <= 1)
		return "not spam: Inbox";
	if (x <= 4)
		return "not spam: Inbox (EOP never stamps 2-4)";
	if (x <= 6)
		return "spam: Junk Email folder";
	return "high confidence spam";
}

static const char *bcl_meaning(const char *v)
{
	int x;

	if (!number_in(v, 0, 9, &x))
		return NULL;
	if (x == 0)
		return "not from a bulk sender";
	if (x <= 3)
		return "bulk sender with few complaints";
	if (x <= 7)
		return "bulk sender with a mixed number of complaints";
	return "bulk sender with many complaints";
}

static const char *pcl_meaning(const char *v)
{
	int x;

	if (!number_in(v, 0, 8, &x))
		return NULL;
	return x <= 3 ? "content not likely to be phishing" : "content likely to be phishing";
}

struct key {
	const char *key;
	const char *name;
	const struct code *codes;           /* exact values, or NULL */
	const char *(*range)(const char *); /* or a function, or NULL */
	bool exact_case;                    /* smexop's ACT values are lower case */
};

static const struct key keys[] = {
	{ "CIP", "connecting IP address", NULL, NULL, false },
	{ "CTRY", "source country (from the connecting IP)", NULL, NULL, false },
	{ "LANG", "language of the message", NULL, NULL, false },
	{ "H", "HELO/EHLO name of the connecting server", NULL, NULL, false },
	{ "PTR", "reverse DNS (PTR) name of the connecting IP", NULL, NULL, false },
	{ "DIR", "direction", dir_codes, NULL, false },
	{ "SCL", "spam confidence level", NULL, scl_meaning, false },
	{ "SRV", "service verdict", srv_codes, NULL, false },
	{ "IPV", "IP reputation", ipv_codes, NULL, false },
	{ "SFV", "spam filtering verdict", sfv_codes, NULL, false },
	{ "CAT", "category: the protection that decided", cat_codes, NULL, false },
	{ "SFTY", "safety tip / phishing classification", sfty_codes, NULL, false },
	{ "SFS", "spam filter rules that matched (Microsoft internal IDs)", NULL, NULL, false },
	{ "SFP", "spam filter property (Microsoft internal)", NULL, NULL, false },
	{ "RULEID", "rule ID (Microsoft internal)", NULL, NULL, false },
	{ "ARC", "ARC fields seen (AAR, AMS, AS)", NULL, NULL, false },
	{ "BCL", "bulk complaint level", NULL, bcl_meaning, false },
	{ "PCL", "phishing confidence level (legacy)", NULL, pcl_meaning, false },
	{ "ARA", "anti-spam rule hits (Microsoft internal)", NULL, NULL, false },
	{ "ACT", "action smexop took", act_codes, NULL, true },
	{ "MID", "smexop message ID (logs, quarantine)", NULL, NULL, false },
	{ "dest", "destination folder", dest_codes, NULL, true },
};

static const struct key *key_find(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (str_casecmp(key, keys[i].key) == 0)
			return &keys[i];
	return NULL;
}

const char *antispam_key_name(const char *key)
{
	const struct key *k = key == NULL ? NULL : key_find(key);

	return k != NULL ? k->name : NULL;
}

const char *antispam_value_meaning(const char *key, const char *value)
{
	const struct key *k = key == NULL || value == NULL ? NULL : key_find(key);
	const struct code *c;

	if (k == NULL)
		return NULL;
	if (k->range != NULL)
		return k->range(value);
	for (c = k->codes; c != NULL && c->code != NULL; c++)
		if (k->exact_case ? strcmp(value, c->code) == 0 : str_casecmp(value, c->code) == 0)
			return c->meaning;
	return NULL;
}

char *antispam_collapse(struct arena *a, const char *s, size_t n)
{
	char *out, *o;
	size_t i;
	bool sp = false;

	while (n > 0 && str_is_space((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && str_is_space((unsigned char)s[n - 1]))
		n--;
	out = arena_alloc(a, n + 1);
	if (out == NULL)
		return NULL;
	for (o = out, i = 0; i < n; i++) {
		if (str_is_space((unsigned char)s[i])) {
			sp = true;
			continue;
		}
		if (sp)
			*o++ = ' ';
		sp = false;
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

int antispam_report_parse(struct antispam_report *r, struct arena *a, const char *value, size_t len)
{
	const char *p, *end, *semi, *colon;
	size_t cap = 0;

	if (r == NULL)
		return -1;
	memset(r, 0, sizeof(*r));
	if (value == NULL || len > ANTISPAM_MAX_LEN)
		return -1;
	end = value + len;
	for (p = value; p < end; p = semi + 1) {
		semi = memchr(p, ';', (size_t)(end - p));
		if (semi == NULL)
			semi = end;
		cap++;
		if (semi == end)
			break;
	}
	if (cap > ANTISPAM_MAX_ITEMS)
		cap = ANTISPAM_MAX_ITEMS;
	r->items = arena_array(a, cap == 0 ? 1 : cap, sizeof(*r->items));
	if (r->items == NULL)
		return -1;
	for (p = value; p < end; p = semi + 1) {
		struct antispam_item *it;
		const char *q = p;

		semi = memchr(p, ';', (size_t)(end - p));
		if (semi == NULL)
			semi = end;
		while (q < semi && str_is_space((unsigned char)*q))
			q++;
		if (q < semi) {
			if (r->n == cap) {
				r->truncated = true;
				break;
			}
			it = &r->items[r->n];
			colon = memchr(q, ':', (size_t)(semi - q));
			it->key =
			    antispam_collapse(a, q, (size_t)((colon != NULL ? colon : semi) - q));
			it->value = colon != NULL ? antispam_collapse(a, colon + 1,
			                                              (size_t)(semi - colon - 1))
			                          : antispam_collapse(a, "", 0);
			if (it->key == NULL || it->value == NULL)
				return -1;
			it->name = antispam_key_name(it->key);
			it->meaning = antispam_value_meaning(it->key, it->value);
			r->n++;
		}
		if (semi == end)
			break;
	}
	return 0;
}

const char *antispam_report_find(const struct antispam_report *r, const char *key)
{
	size_t i;

	if (r == NULL || key == NULL)
		return NULL;
	for (i = 0; i < r->n; i++)
		if (str_casecmp(r->items[i].key, key) == 0)
			return r->items[i].value;
	return NULL;
}
