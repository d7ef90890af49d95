# --dns-zone names a file that is not there
smexop dkim verify --dns-zone @TMP@/none.zone @CASES@/signed-rsa.eml
exit 2
