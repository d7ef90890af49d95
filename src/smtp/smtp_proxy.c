/*
 * smtp_proxy - PROXY protocol v2 header parser (see smtp_proxy.h)
 */
#include "smtp/smtp_proxy.h"

#include <string.h>
#include <sys/socket.h>

static const uint8_t proxy_sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
	                               0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

size_t smtp_proxy_need(const uint8_t *p, size_t n)
{
	size_t len;

	if (memcmp(p, proxy_sig, n < 12 ? n : 12) != 0)
		return 0;
	if (n < SMTP_PROXY_FIXED)
		return SMTP_PROXY_FIXED;
	len = SMTP_PROXY_FIXED + (((size_t)p[14] << 8) | p[15]);
	return len > SMTP_PROXY_MAX ? 0 : len;
}

static unsigned get16(const uint8_t *p)
{
	return ((unsigned)p[0] << 8) | p[1];
}

int smtp_proxy_parse(const uint8_t *p, size_t n, struct smtp_proxy_result *out)
{
	size_t need = smtp_proxy_need(p, n), alen, off;
	unsigned cmd, fam, proto;

	memset(out, 0, sizeof(*out));
	if (need == 0)
		return -1;
	if (n < need)
		return 0;
	if ((p[12] >> 4) != 2)
		return -1;
	cmd = p[12] & 0x0f;
	fam = p[13] >> 4;
	proto = p[13] & 0x0f;
	if (cmd > 1 || fam > 3 || proto > 2)
		return -1;
	if (cmd == 0) {
		/* LOCAL: the proxy's own connection (health check); body ignored */
		out->local = true;
		return (int)need;
	}
	switch (fam) {
	case 1:
		alen = 12;
		break;
	case 2:
		alen = 36;
		break;
	case 3:
		alen = 216;
		break;
	default:
		alen = 0;
		break;
	}
	if (SMTP_PROXY_FIXED + alen > need)
		return -1;
	if ((fam == 1 || fam == 2) && proto == 1) {
		const uint8_t *a = p + SMTP_PROXY_FIXED;
		size_t w = fam == 1 ? 4 : 16;

		out->src.family = out->dst.family = fam == 1 ? AF_INET : AF_INET6;
		memcpy(out->src.bytes, a, w);
		memcpy(out->dst.bytes, a + w, w);
		out->src_port = get16(a + 2 * w);
		out->dst_port = get16(a + 2 * w + 2);
		/* an IPv4-mapped source is IPv4, as everywhere else in smexop */
		net_addr_unmap(&out->src);
		net_addr_unmap(&out->dst);
		out->has_addr = true;
	}
	/* TLVs: type, 16-bit length, value; each must fit */
	for (off = SMTP_PROXY_FIXED + alen; off < need;) {
		size_t vlen;

		if (need - off < 3)
			return -1;
		vlen = get16(p + off + 1);
		if (vlen > need - off - 3)
			return -1;
		off += 3 + vlen;
	}
	return (int)need;
}
