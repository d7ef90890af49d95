/*
 * fuzz_arc - a message with ARC header fields through the validator, keys
 * answered from a fixed in-memory zone (one RSA-1024 test key under
 * arc1._domainkey.example.org, the key the seeds are sealed with), then
 * through the sealer with the verdict as cv: a message sealed on top of a
 * chain that passed (or of none) must validate as pass, one sealed with
 * cv=fail as fail.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/arc.h"
#include "auth/authres.h"
#include "auth/dkim_sign.h"
#include "core/arena.h"
#include "core/dns_zone.h"
#include "mime/raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a throw-away key made for this target; it signs nothing else */
static const char key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIICeAIBADANBgkqhkiG9w0BAQEFAASCAmIwggJeAgEAAoGBAL3e51Oq0zIAzXbJ\n"
                              "pMmFgiq6sD8oopvy0VfzGf/xS1DrIfClErjPZyidtkDnRnuib4iySzSLDAEQ7DwB\n"
                              "EE2cW63K6HAiufcYTA9j/s8uhS4WEkrLC4RzHWecV7otGbS/dcq5IPrmWXGPypL9\n"
                              "++DcDBsdjZGxQICyoN+1x4YfY4KfAgMBAAECgYEApnYzVx4QFOmxOPCmQWuEaFPO\n"
                              "S0Ej9xdWRAZFCCgTQPk0g1cl59Ml/OzwKUzadXA+2ph96K3zM0gT5LOGCJUJpfvZ\n"
                              "IAElBj9iu2GWgWAndzxGWjjumM8Vb7foJEIAp5jetYxgdu8dADgNGkZgJCmg/6rJ\n"
                              "oKxBM/eNIGHMU9X9KaECQQDuX0Kmw0yCg8WRv1WLgPBhjyZvuc5TrqCJeaZRR64e\n"
                              "8jjmUxdnMzi9911rxYGXjh445WNGdvzE+8Nye9Out31PAkEAy+lwhUQ53izvUK6u\n"
                              "JqDizzvY5aHbs7KPZEd0OeYYY4aOsf+Q8CMDM6vEhh9sg8lNayLckxDETXOHou4S\n"
                              "FupxsQJBAOkLKNZwyTQwL8+2B6RDgr9efG1uclFNwJWm4PtF4O1QUmCbi53RbgAK\n"
                              "/sKGbZQF1XY6jTwuyCCtIv+iH+oIafECQA3m2Fj9kcRn49joT88qYMwoFF1zb3sM\n"
                              "zWHUzUO1QCxo3Amels8IVAuNxlQuiENj0fdf5RHRrtBo8/JTsMAHM8ECQQChLXr9\n"
                              "oxW8ulXHMgDBxKpUfhBvibtrzz1sc9oMo396+eVLP8Ethx8cCX1AxnVSe7qvUwMd\n"
                              "Sb53nuNVsa7bXsnY\n"
                              "-----END PRIVATE KEY-----\n";

static const char key_txt[] =
    "v=DKIM1; k=rsa; "
    "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC93udTqtMyAM12yaTJhYIqurA/KKKb8tFX8xn/"
    "8UtQ6yHwpRK4z2conbZA50Z7om+Isks0iwwBEOw8ARBNnFutyuhwIrn3GEwPY/"
    "7PLoUuFhJKywuEcx1nnFe6LRm0v3XKuSD65llxj8qS/fvg3AwbHY2RsUCAsqDftceGH2OCnwIDAQAB";

static struct dns_zone *zone;
static struct arena *keys;
static struct dkim_signer signer;

static void init(void)
{
	const char *strs[1] = { key_txt };
	struct sx_err err;

	zone = dns_zone_new();
	keys = arena_new();
	if (zone == NULL || keys == NULL ||
	    dns_zone_add_txt(zone, "arc1._domainkey.example.org", strs, 1) < 0 ||
	    dkim_signer_from_pem(&signer, keys, key_pem, strlen(key_pem), "example.org", "arc1",
	                         &err) < 0)
		abort();
}

static const struct arc_verdict *validate(struct arena *a, const struct raw_message *m)
{
	struct arc_verify *v = arc_verify_new(a, m, NULL);
	struct dkim_query *const *q;
	size_t i, n;

	if (v == NULL)
		return NULL;
	n = arc_verify_queries(v, &q);
	if (n > 2 * ARC_MAX_INSTANCE)
		abort();
	for (i = 0; i < n; i++) {
		struct dns_answer ans;

		memset(&ans, 0, sizeof(ans));
		if (dns_zone_answer(zone, a, q[i]->name, DNS_T_TXT, &ans) < 0) {
			memset(&ans, 0, sizeof(ans));
			ans.status = DNS_TIMEOUT;
		}
		arc_verify_answer(v, q[i]->name, &ans);
	}
	if (arc_verify_step(v) != ARC_STEP_DONE)
		abort();
	return arc_verify_verdict(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a;
	struct raw_message m, m2;
	const struct arc_verdict *vd, *vd2;
	struct arc_seal_options o;
	struct arc_sealed out;
	struct authres ar;
	struct sx_err err;
	char *sealed;
	size_t i, n;
	int rc;

	if (zone == NULL)
		init();
	a = arena_new();
	if (a == NULL)
		return 0;
	if (raw_message_parse(&m, a, (const char *)data, size, NULL, &err) < 0)
		goto out;
	vd = validate(a, &m);
	if (vd == NULL)
		goto out;
	if (vd->result > ARC_FAIL || vd->reason == NULL || vd->instances > ARC_MAX_INSTANCE ||
	    (vd->sets != NULL && vd->nsets != vd->instances) ||
	    (vd->result == ARC_PASS && (vd->oldest_pass < 1 || vd->oldest_pass > vd->instances)))
		abort();
	for (i = 0; i < vd->nsets; i++)
		if (vd->sets[i].instance != i + 1)
			abort();

	if (arc_collect_results(a, &m, "mx.example.org", &ar) < 0)
		goto out;
	memset(&o, 0, sizeof(o));
	o.authserv_id = "mx.example.org";
	o.cv = vd->result;
	o.results = &ar;
	o.timestamp = 1700000000;
	rc = arc_seal(a, &m, &signer, &o, &out, &err);
	if (rc < -1 || rc > 1)
		abort();
	if (rc != 0)
		goto out;
	n = strlen(out.as) + strlen(out.ams) + strlen(out.aar);
	sealed = arena_alloc(a, n + size + 1);
	if (sealed == NULL)
		goto out;
	memcpy(sealed, out.as, strlen(out.as));
	memcpy(sealed + strlen(out.as), out.ams, strlen(out.ams));
	memcpy(sealed + strlen(out.as) + strlen(out.ams), out.aar, strlen(out.aar));
	memcpy(sealed + n, data, size);
	if (raw_message_parse(&m2, a, sealed, n + size, NULL, &err) < 0)
		goto out;
	/* a message whose first line starts with white space would continue
	 * our last field: no oracle for that malformed input */
	if (size > 0 && (data[0] == ' ' || data[0] == '\t'))
		goto out;
	vd2 = validate(a, &m2);
	if (vd2 != NULL && vd2->result != (vd->result == ARC_FAIL ? ARC_FAIL : ARC_PASS))
		abort();
out:
	arena_free(a);
	return 0;
}
