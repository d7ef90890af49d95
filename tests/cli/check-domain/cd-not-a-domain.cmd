# not a domain name: exit 2
smexop check-domain localhost --dns-zone @CASES@/domains.zone
exit 2
