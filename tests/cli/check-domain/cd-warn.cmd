# warnings only: exit 1 (the MX bypasses the gateway)
smexop check-domain lint.example.com --dns-zone @CASES@/domains.zone --mx mx.gw.example.com --only mx
exit 1
