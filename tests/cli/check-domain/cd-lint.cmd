# a domain with a finding of every level: text output, exit 2
smexop check-domain lint.example.com --dns-zone @CASES@/domains.zone --mx mx.gw.example.com
exit 2
