# the same, SPF and DMARC only, as one JSON object
smexop check-domain lint.example.com --dns-zone @CASES@/domains.zone --only spf,dmarc --json
exit 2
