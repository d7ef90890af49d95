# no DOMAIN: usage error, exit 2
smexop check-domain --dns-zone @CASES@/domains.zone
exit 2
