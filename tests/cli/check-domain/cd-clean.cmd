# every finding ok: exit 0 (PTR left out with --only)
smexop check-domain clean.example.com --dns-zone @CASES@/domains.zone --mx mx.gw.example.com --gateway-ip 192.0.2.25 --only mx,spf,dmarc,mta-sts,tls-rpt
